/**
 * Search on the device over decrypted history (C15). Nothing is sent to the server: the history is
 * only ever readable here. Matching ignores case and accents ("cafe" finds "Café", "ÉTÉ" finds
 * "été"), and every hit carries the ranges of the original text it matched, so a UI can highlight
 * them without normalising again.
 */
import type { History, LocalMessage } from './history.ts';

/** A range of the original text, `[start, end)` in UTF-16 code units. */
export type TextRange = readonly [start: number, end: number];

/** One message that matches a query. */
export interface SearchHit {
  conversationId: string;
  /** The message id (what the chat view and `reply` / `react` take). */
  messageId: string;
  /** Sender account id. */
  from: string;
  outgoing: boolean;
  /** The server's time of the message, else the sender's. */
  time: number;
  /** The message text (an attachment's caption). */
  text: string;
  /** Where the query matched in `text`, in order and not overlapping. */
  ranges: TextRange[];
}

/** Options of {@link Search.search}. */
export interface SearchOptions {
  /** Only this conversation; otherwise every conversation on the device. */
  conversationId?: string;
  /** At most this many hits, newest first (default 200). */
  limit?: number;
}

/** Longest query taken; longer ones are cut (a query is typed, not pasted books). */
export const MAX_QUERY_LENGTH = 200;
const DEFAULT_LIMIT = 200;

/**
 * `text` folded for matching (compatibility forms, so "ﬁ" → "fi" and full-width letters to plain
 * ones; lower case; accents and other combining marks dropped), with, for each folded code unit,
 * the index of the original code unit it came from. Folding one code point at a time keeps that
 * map exact where folding changes a length ("ﬁ" → "fi", "İ" → "i").
 */
export function foldText(text: string): { folded: string; origin: number[] } {
  let folded = '';
  const origin: number[] = [];
  let i = 0;
  for (const ch of text) {
    const f = ch.normalize('NFKD').toLowerCase().replace(/\p{M}/gu, '');
    folded += f;
    for (let k = 0; k < f.length; k++) origin.push(i);
    i += ch.length;
  }
  origin.push(i);
  return { folded, origin };
}

/** The query as matched: folded, spaces collapsed and trimmed, at most {@link MAX_QUERY_LENGTH}. */
export function foldQuery(query: string): string {
  return foldText(query.slice(0, MAX_QUERY_LENGTH).replace(/\s+/g, ' ').trim()).folded;
}

/**
 * Where `query` occurs in `text`, ignoring case and accents: ranges of the original text, in
 * order, not overlapping. Empty for an empty query.
 */
export function matchRanges(text: string, query: string): TextRange[] {
  const q = foldQuery(query);
  if (!q) return [];
  const { folded, origin } = foldText(text);
  const ranges: TextRange[] = [];
  for (let at = folded.indexOf(q); at >= 0; at = folded.indexOf(q, at + q.length)) {
    const start = origin[at]!;
    // The end is the start of the first original code point after the last one matched (a code
    // point that folds to several units may be matched only in part: it is then taken whole).
    const lastOrigin = origin[at + q.length - 1]!;
    let k = at + q.length;
    while (origin[k]! <= lastOrigin) k++;
    const end = origin[k]!;
    const prev = ranges.at(-1);
    if (prev && start < prev[1]) continue;
    ranges.push([start, end]);
  }
  return ranges;
}

/** Searches the history this device holds. */
export class Search {
  constructor(private readonly history: History) {}

  /**
   * Messages whose text matches `query` (ignoring case and accents), newest first, from one
   * conversation or all. Deleted messages and call-log entries are never hits. Runs on this device
   * only: nothing about the query leaves it.
   */
  async search(query: string, opts: SearchOptions = {}): Promise<SearchHit[]> {
    if (!foldQuery(query)) return [];
    const ids = opts.conversationId ? [opts.conversationId] : this.history.conversations().map((c) => c.id);
    const hits: SearchHit[] = [];
    for (const id of ids)
      for (const m of await this.history.messages(id)) {
        const hit = hitOf(m, query);
        if (hit) hits.push(hit);
      }
    hits.sort((a, b) => b.time - a.time);
    return hits.slice(0, opts.limit ?? DEFAULT_LIMIT);
  }
}

function hitOf(m: LocalMessage, query: string): SearchHit | null {
  if (m.deletedAt !== undefined || m.callLog || !m.text) return null;
  const ranges = matchRanges(m.text, query);
  if (!ranges.length) return null;
  return {
    conversationId: m.conversationId,
    messageId: m.id,
    from: m.from,
    outgoing: m.outgoing,
    time: m.serverTime ?? m.sentAt,
    text: m.text,
    ranges,
  };
}
