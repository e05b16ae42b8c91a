/**
 * Search within the open chat (C15), over the messages this device decrypted; nothing is sent.
 * "Search in chat" (header button, also in "More options") opens a bar above the history: the
 * matches are counted ("2 of 5", newest first), "Older match" / "Newer match" (and Enter /
 * Shift+Enter, ArrowUp / ArrowDown in the box) move between them, the current one is scrolled into
 * view and its matched words are marked, and Escape or "Close search" closes the bar and gives the
 * focus back to where it came from.
 */
import { useEffect, useMemo, useRef, useState, type KeyboardEvent, type RefObject } from 'react';
import { matchRanges, type LocalMessage, type TextRange } from '@parley/sdk';
import { ChevronIcon, CloseIcon } from './icons.tsx';
import { centreIn } from './jump.ts';
import './search.css';

/** One message that matches, with where. */
interface Match {
  id: string;
  ranges: TextRange[];
}

/** State and parts of the in-chat search: the bar, and what each bubble marks. */
export interface ChatSearch {
  /** Whether the bar is open. */
  active: boolean;
  /** Open the bar (focus goes to its box); `returnTo` gets the focus back when it closes. */
  open: (returnTo?: HTMLElement | null) => void;
  /** The ranges to mark in a message's text while searching (empty for others). */
  rangesOf: (messageId: string) => readonly TextRange[];
  /** The id of the match in view. */
  currentId: string | null;
  /** The bar (null while closed). */
  bar: React.ReactNode;
}

/** In-chat search over `messages`; `list` is the scrolling history whose bubbles carry `data-message-id`. */
export function useChatSearch(messages: LocalMessage[], list: RefObject<HTMLElement | null>): ChatSearch {
  const [active, setActive] = useState(false);
  const [query, setQuery] = useState('');
  const [index, setIndex] = useState(0);
  const returnTo = useRef<HTMLElement | null>(null);
  const input = useRef<HTMLInputElement>(null);

  // Newest first: the first match is the one nearest the end of the chat, where the reader is.
  const matches = useMemo<Match[]>(() => {
    if (!active) return [];
    const out: Match[] = [];
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = messages[i]!;
      if (m.deletedAt !== undefined || m.callLog || !m.text) continue;
      const ranges = matchRanges(m.text, query);
      if (ranges.length) out.push({ id: m.id, ranges });
    }
    return out;
  }, [active, messages, query]);
  const byId = useMemo(() => new Map(matches.map((m) => [m.id, m.ranges])), [matches]);
  const current = matches[Math.min(index, matches.length - 1)];
  const currentId = current?.id ?? null;

  useEffect(() => setIndex(0), [query]);
  useEffect(() => {
    if (active) input.current?.focus();
  }, [active]);
  useEffect(() => {
    if (!currentId) return;
    const el = list.current?.querySelector(`[data-message-id="${CSS.escape(currentId)}"]`);
    if (el) centreIn(list.current!, el);
  }, [currentId, list]);

  const close = () => {
    setActive(false);
    setQuery('');
    returnTo.current?.focus();
  };
  const older = () => matches.length && setIndex((i) => Math.min(i + 1, matches.length - 1));
  const newer = () => setIndex((i) => Math.max(i - 1, 0));
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      close();
    } else if ((e.key === 'Enter' && !e.shiftKey) || e.key === 'ArrowUp') {
      e.preventDefault();
      older();
    } else if ((e.key === 'Enter' && e.shiftKey) || e.key === 'ArrowDown') {
      e.preventDefault();
      newer();
    }
  };

  const position = matches.length ? Math.min(index, matches.length - 1) + 1 : 0;
  const count = !query.trim() ? '' : matches.length ? `${position} of ${matches.length}` : 'No matches';
  const bar = active ? (
    <div className="chat-search" role="search" aria-label="Search in this chat" onKeyDown={onKey}>
      <input
        ref={input}
        type="search"
        aria-label="Search messages in this chat"
        placeholder="Search in chat"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        maxLength={200}
        autoComplete="off"
      />
      <span className="chat-search-count" role="status" aria-live="polite">
        {count}
      </span>
      <button
        type="button"
        className="icon-button"
        aria-label="Older match"
        title="Older match (Enter)"
        disabled={position >= matches.length}
        onClick={older}
      >
        <ChevronIcon up />
      </button>
      <button
        type="button"
        className="icon-button"
        aria-label="Newer match"
        title="Newer match (Shift+Enter)"
        disabled={position <= 1}
        onClick={newer}
      >
        <ChevronIcon />
      </button>
      <button
        type="button"
        className="icon-button"
        aria-label="Close search"
        title="Close search (Esc)"
        onClick={close}
      >
        <CloseIcon />
      </button>
    </div>
  ) : null;

  return {
    active,
    open: (from) => {
      returnTo.current = from ?? (document.activeElement as HTMLElement | null);
      setActive(true);
      // Already open: take the focus back to the box.
      input.current?.focus();
    },
    rangesOf: (id) => byId.get(id) ?? [],
    currentId,
    bar,
  };
}
