/**
 * What a round avatar without a photo shows (C12, C15): the first letters of the first and last
 * words of a name ("Ada Lovelace" → "AL", "Ada Byron Lovelace" → "AL", "Weekend plans" → "WP",
 * "@queen_of_hearts.77" → "QH"), one letter for a single word, and nothing for a phone number or
 * an unnamed "Contact …": the avatar then shows a person outline, since digits say nothing.
 */

/** The letters standing for a name, or "" when a person outline fits better. */
export function initialsOf(name: string): string {
  let t = name.trim();
  if (!t || /^[+(\d]/.test(t) || /^Contact [\w-]+$/i.test(t)) return '';
  // A username: the name part, without the @ and the digits after the dot.
  if (t.startsWith('@')) t = t.slice(1).replace(/\.\d+$/, '');
  // The first letter (or digit) of each word; words of only symbols or emoji count for nothing.
  const firsts = t
    .split(/[\s._\-–—/]+/)
    .map((w) => /[\p{L}\p{N}]/u.exec(w)?.[0])
    .filter((c): c is string => Boolean(c));
  if (!firsts.length) return '';
  const letters = firsts.length > 1 ? firsts[0]! + firsts[firsts.length - 1]! : firsts[0]!;
  return letters.toLocaleUpperCase();
}
