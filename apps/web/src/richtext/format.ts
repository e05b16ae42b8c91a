/**
 * Message formatting as people write it in messengers (C15): *bold*, _italic_, ~strike~, `code`
 * and ``` blocks ```, plus links (`findLinks`). A marker counts only when it hugs its text: the
 * opening one starts the text or follows a space or punctuation and is followed by a non-space,
 * the closing one follows a non-space and ends the text or comes before a space or punctuation,
 * both on one line; so "2 * 3 * 4" and "snake_case_name" stay plain. The result is a tree of
 * plain data, which `RichText.tsx` turns into React elements: no text is ever read as HTML.
 */
import { findLinks } from '@parley/sdk';

/** One piece of formatted text. `start` is where a leaf's text begins in the original message. */
export type FormatNode =
  | { kind: 'text'; text: string; start: number }
  | { kind: 'link'; text: string; href: string; start: number }
  | { kind: 'code'; text: string; start: number }
  | { kind: 'pre'; text: string; start: number }
  | { kind: 'bold' | 'italic' | 'strike'; children: FormatNode[] };

type Style = 'bold' | 'italic' | 'strike' | 'code';
const MARKERS: Record<string, Style> = { '*': 'bold', _: 'italic', '~': 'strike', '`': 'code' };

const WORD = /[\p{L}\p{N}]/u;
const SPACE = /\s/u;

/** The message `text` as a tree of formatted pieces. */
export function formatMessage(text: string): FormatNode[] {
  const nodes: FormatNode[] = [];
  // ``` blocks first: their content is shown as written, markers and links included.
  const fence = /```([\s\S]+?)```/g;
  let at = 0;
  for (const m of text.matchAll(fence)) {
    if (!m[1]!.trim()) continue;
    nodes.push(...inline(text, at, m.index, new Set()));
    // A line break just inside the fences only places them: it is not shown.
    const lead = m[1]!.startsWith('\n') ? 1 : 0;
    nodes.push({ kind: 'pre', text: m[1]!.slice(lead).replace(/\n$/, ''), start: m.index + 3 + lead });
    at = m.index + m[0].length;
  }
  nodes.push(...inline(text, at, text.length, new Set()));
  return nodes;
}

/**
 * `text[from, to)` with inline markers applied. `outer` holds the styles already applied around it,
 * which are not applied again (this also bounds the depth to four).
 */
function inline(text: string, from: number, to: number, outer: Set<Style>): FormatNode[] {
  if (from >= to) return [];
  const links = findLinks(text.slice(from, to)).map((l) => ({ ...l, start: l.start + from, end: l.end + from }));
  const inLink = (i: number) => links.some((l) => i >= l.start && i < l.end);
  const nodes: FormatNode[] = [];
  let plainFrom = from;
  let i = from;
  // Closing candidates per marker, found once: each opening then takes the first after it.
  const closers = closingPositions(text, from, to, inLink);
  // The next line break at or after i, kept up to date rather than searched for at each marker.
  let newline = text.indexOf('\n', from);
  while (i < to) {
    if (newline >= 0 && newline < i) newline = text.indexOf('\n', i);
    const style = MARKERS[text[i]!];
    if (style && !outer.has(style) && opens(text, i, from, to) && !inLink(i)) {
      const close = firstAfter(closers[text[i]!]!, i + 1);
      if (close !== undefined && close > i + 1 && close < to && (newline < 0 || newline > close)) {
        nodes.push(...plain(text, plainFrom, i, links));
        if (style === 'code') nodes.push({ kind: 'code', text: text.slice(i + 1, close), start: i + 1 });
        else nodes.push({ kind: style, children: inline(text, i + 1, close, new Set([...outer, style])) });
        i = close + 1;
        plainFrom = i;
        continue;
      }
    }
    i++;
  }
  nodes.push(...plain(text, plainFrom, to, links));
  return nodes;
}

/** An opening marker: after the start, a space or punctuation (not a letter or digit), before a non-space. */
function opens(text: string, i: number, from: number, to: number): boolean {
  const before = i > from ? text[i - 1]! : '';
  const after = i + 1 < to ? text[i + 1]! : '';
  return !WORD.test(before) && after !== '' && !SPACE.test(after) && after !== text[i];
}

/** Per marker, the ascending positions that can close it: after a non-space, before the end, a space or punctuation. */
function closingPositions(text: string, from: number, to: number, inLink: (i: number) => boolean) {
  const out: Record<string, number[]> = { '*': [], _: [], '~': [], '`': [] };
  for (let j = from + 1; j < to; j++) {
    const list = out[text[j]!];
    if (!list) continue;
    const before = text[j - 1]!;
    const after = j + 1 < to ? text[j + 1]! : '';
    if (!SPACE.test(before) && before !== text[j] && !WORD.test(after) && !inLink(j)) list.push(j);
  }
  return out;
}

/** The first value of the ascending `list` at or past `min` (binary search: hostile text stays fast). */
function firstAfter(list: number[], min: number): number | undefined {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]! < min) lo = mid + 1;
    else hi = mid;
  }
  return list[lo];
}

/** `text[from, to)` without markers: plain text and the links that lie wholly inside it. */
function plain(text: string, from: number, to: number, links: { start: number; end: number; href: string }[]) {
  const nodes: FormatNode[] = [];
  let at = from;
  for (const l of links) {
    if (l.start < from || l.end > to) continue;
    if (l.start > at) nodes.push({ kind: 'text', text: text.slice(at, l.start), start: at });
    nodes.push({ kind: 'link', text: text.slice(l.start, l.end), href: l.href, start: l.start });
    at = l.end;
  }
  if (at < to) nodes.push({ kind: 'text', text: text.slice(at, to), start: at });
  return nodes;
}
