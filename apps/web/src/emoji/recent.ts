/**
 * Recently picked emoji (C15), kept on this device only: localStorage `parley:recent-emoji`, a JSON
 * list of at most 24, newest first. Nothing about them is sent anywhere.
 */
const KEY = 'parley:recent-emoji';
const MAX = 24;

/** The recent emoji, newest first (empty when none or unreadable). */
export function recentEmoji(): string[] {
  try {
    const list: unknown = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    return Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string').slice(0, MAX) : [];
  } catch {
    return [];
  }
}

/** Put `emoji` first in the recent list; returns the new list. */
export function rememberEmoji(emoji: string): string[] {
  const list = [emoji, ...recentEmoji().filter((e) => e !== emoji)].slice(0, MAX);
  try {
    localStorage.setItem(KEY, JSON.stringify(list));
  } catch {
    // Storage full or refused: the list just is not kept.
  }
  return list;
}
