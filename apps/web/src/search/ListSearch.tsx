/**
 * Search across all chats (C15), from the chat list: a search field; while it holds a query the
 * list gives way to the results, in two groups: "Chats" whose name matches, and "Messages" whose
 * text matches (newest first; each names the chat, the sender and the time, with the matched words
 * marked). Choosing a message opens its chat scrolled to it. Everything runs on this device over
 * its decrypted history (`client.search`); the query is never sent. Escape in the field clears it.
 */
import { useEffect, useState, type ReactNode } from 'react';
import { matchRanges, type LocalConversation, type ParleyClient, type SearchHit, type TextRange } from '@parley/sdk';
import { useNames } from '../hooks.ts';
import { listTime } from '../chatlist/format.ts';
import { marked } from '../richtext/RichText.tsx';
import { SearchIcon } from './icons.tsx';
import './search.css';

/** How much of a long message is shown before its first match. */
const LEAD_CHARS = 24;
/** Messages listed at most (the newest). */
const MAX_HITS = 50;

/** The field, and the results while it holds a query (null otherwise: the chat list shows). */
export function useListSearch({
  client,
  conversations,
  titleOf,
  onOpenChat,
  onOpenMessage,
}: {
  client: ParleyClient;
  conversations: LocalConversation[];
  titleOf: (c: LocalConversation) => string;
  onOpenChat: (conversationId: string) => void;
  onOpenMessage: (conversationId: string, messageId: string) => void;
}): { field: ReactNode; results: ReactNode | null } {
  const [query, setQuery] = useState('');
  const [hits, setHits] = useState<{ query: string; hits: SearchHit[] }>({ query: '', hits: [] });
  const trimmed = query.trim();

  useEffect(() => {
    if (!trimmed) return undefined;
    let alive = true;
    const run = () =>
      void client
        .search(trimmed, { limit: MAX_HITS })
        .then((found) => alive && setHits({ query: trimmed, hits: found }));
    run();
    // New and changed messages show up in results that are open.
    const offs = [client.on('message', run), client.on('message-changed', run), client.on('message-removed', run)];
    return () => {
      alive = false;
      offs.forEach((off) => off());
    };
  }, [client, trimmed]);

  const shown = hits.query === trimmed ? hits.hits : [];
  const names = useNames(client, [...new Set(shown.map((h) => h.from))]);

  const field = (
    <div className="list-search" role="search" aria-label="Search chats and messages">
      <label className="visually-hidden" htmlFor="list-search">
        Search chats and messages
      </label>
      <input
        id="list-search"
        type="search"
        placeholder="Search"
        autoComplete="off"
        maxLength={200}
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') setQuery('');
        }}
      />
    </div>
  );
  if (!trimmed) return { field, results: null };

  const chats = conversations
    .map((c) => ({ c, title: titleOf(c) }))
    .map((x) => ({ ...x, ranges: matchRanges(x.title, trimmed) }))
    .filter((x) => x.ranges.length);
  const byId = new Map(conversations.map((c) => [c.id, c]));
  const messages = shown.filter((h) => byId.has(h.conversationId));
  const me = client.self.accountId;

  const results = (
    <section className="search-results" aria-label="Search results">
      <p className="visually-hidden" role="status">
        {chats.length + messages.length === 0
          ? 'No results'
          : `${chats.length} ${chats.length === 1 ? 'chat' : 'chats'}, ${messages.length} ${messages.length === 1 ? 'message' : 'messages'}`}
      </p>
      {chats.length > 0 && (
        <>
          <h2 id="search-chats">Chats</h2>
          <ul aria-labelledby="search-chats">
            {chats.map(({ c, title, ranges }) => (
              <li key={c.id}>
                <button type="button" className="search-hit" onClick={() => onOpenChat(c.id)}>
                  <span className="search-hit-chat">{marked(title, 0, ranges)}</span>
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      {messages.length > 0 && (
        <>
          <h2 id="search-messages">Messages</h2>
          <ul aria-labelledby="search-messages">
            {messages.map((h) => {
              const chat = titleOf(byId.get(h.conversationId)!);
              const sender = h.from === me ? 'You' : (names[h.from] ?? 'Member');
              const ex = excerpt(h.text, h.ranges);
              const when = listTime(h.time);
              return (
                <li key={`${h.conversationId}/${h.messageId}`}>
                  <button
                    type="button"
                    className="search-hit"
                    aria-label={`${sender} in ${chat}, ${when}: ${h.text}`}
                    onClick={() => onOpenMessage(h.conversationId, h.messageId)}
                  >
                    <span className="search-hit-top">
                      <span className="search-hit-chat">{chat}</span>
                      <span className="search-hit-time">{when}</span>
                    </span>
                    <span className="search-hit-text">
                      {sender}: {marked(ex.text, 0, ex.ranges)}
                    </span>
                  </button>
                </li>
              );
            })}
          </ul>
        </>
      )}
      {chats.length + messages.length === 0 && <p className="search-empty">No chats or messages match “{trimmed}”.</p>}
    </section>
  );
  return { field, results };
}

/** The text from a little before its first match, on one line, with the ranges moved to match. */
export function excerpt(text: string, ranges: readonly TextRange[]): { text: string; ranges: TextRange[] } {
  const first = ranges[0]?.[0] ?? 0;
  let cut = Math.max(0, first - LEAD_CHARS);
  // Not inside a surrogate pair.
  if (cut > 0 && /[\uDC00-\uDFFF]/.test(text[cut]!)) cut--;
  const lead = cut > 0 ? '…' : '';
  const shift = lead.length - cut;
  return {
    text: lead + text.slice(cut).replace(/\s/g, ' '),
    ranges: ranges.map(([s, e]) => [s + shift, e + shift] as const),
  };
}
