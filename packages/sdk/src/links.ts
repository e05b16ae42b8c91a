/**
 * Link detection in message text (C15): `http://` and `https://` links and bare `www.` names.
 * Nothing else is ever a link: `javascript:`, `data:`, `file:` and every other scheme stay text,
 * so a UI can turn each found link into an anchor without checking it again. The same rules pick
 * the link a sending device makes a preview of.
 */

/** One link in a text. */
export interface FoundLink {
  /** `[start, end)` of the link in the text, in UTF-16 code units. */
  start: number;
  end: number;
  /** The link as written. */
  text: string;
  /** What to open: the written link, with `https://` before a bare `www.` name. Always http(s). */
  href: string;
}

/** Longest link taken; past it the text is left alone (no real address is this long). */
const MAX_LINK_LENGTH = 2048;

/**
 * Candidates: a scheme or `www.` at the start of the text or after a character that cannot be part
 * of a word or another address (so the `https://` inside `javascript:x//https://…` or
 * `mailto:a@www.x` is not taken), then everything up to a space or a character never written
 * unescaped in a link.
 */
const CANDIDATE = /(?<![\p{L}\p{N}_/:.@\-+])(?:https?:\/\/|www\.)[^\s<>"`{}|\\^]+/giu;

/** Punctuation that ends a sentence rather than the link when it comes last. */
const TRAILING = /[.,;:!?'"*_~]+$/u;

const CLOSERS: Record<string, string> = { ')': '(', ']': '[' };

/** The links in `text`, in order. */
export function findLinks(text: string): FoundLink[] {
  const links: FoundLink[] = [];
  for (const m of text.matchAll(CANDIDATE)) {
    // Checked before trimming, so that hostile input cannot make the trimming slow.
    if (m[0].length > MAX_LINK_LENGTH) continue;
    const raw = trimEnd(m[0]);
    const isWww = /^www\./i.test(raw);
    const href = checked(isWww ? `https://${raw}` : raw);
    if (!href) continue;
    links.push({ start: m.index, end: m.index + raw.length, text: raw, href });
  }
  return links;
}

/** Drops trailing sentence punctuation and closing brackets that were not opened inside the link. */
function trimEnd(s: string): string {
  for (;;) {
    const before = s;
    s = s.replace(TRAILING, '');
    const last = s.at(-1);
    if (last && CLOSERS[last]) {
      const open = CLOSERS[last];
      const opened = [...s].filter((c) => c === open).length;
      const closed = [...s].filter((c) => c === last).length;
      if (closed > opened) s = s.slice(0, -1);
    }
    if (s === before) return s;
  }
}

/** The link as the URL parser reads it, when it is http(s) with a real host name; else null. */
function checked(candidate: string): string | null {
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  // A host with at least one dot and a label after it ("example.com"), or localhost.
  const host = url.hostname;
  if (host !== 'localhost' && !/\.[^.]+$/.test(host)) return null;
  if (url.username || url.password) return null;
  return url.href;
}
