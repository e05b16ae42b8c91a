/**
 * Keeping a chat at its newest message (C15): the list opens scrolled to the end and follows what
 * arrives while the reader is at the end; once they scrolled up, arrivals are counted instead and a
 * "new messages" button takes them down. Messages this device sends always bring the end into view
 * (the person just wrote them). Media that finishes loading keeps a following list at the end.
 */
import { useCallback, useLayoutEffect, useRef, useState, type RefObject } from 'react';
import type { LocalMessage } from '@parley/sdk';

/** How close to the end (px) still counts as "at the newest message". */
const AT_END_PX = 48;

/**
 * Follow the newest message of the scrolling list `list`. `onArrived` hears of each batch of
 * messages that arrived from others after the list first showed (what a screen reader announces).
 */
export function useFollowNewest(
  list: RefObject<HTMLElement | null>,
  messages: LocalMessage[],
  onArrived: (arrived: LocalMessage[]) => void,
): { unseen: number; jumpToNewest: () => void } {
  const known = useRef<Set<string> | null>(null);
  const atEnd = useRef(true);
  const [unseen, setUnseen] = useState(0);

  const toEnd = useCallback(() => {
    const el = list.current;
    if (el) el.scrollTop = el.scrollHeight;
    atEnd.current = true;
    setUnseen(0);
  }, [list]);

  useLayoutEffect(() => {
    const el = list.current;
    if (!el) return undefined;
    const onScroll = () => {
      atEnd.current = el.scrollHeight - el.scrollTop - el.clientHeight <= AT_END_PX;
      if (atEnd.current) setUnseen(0);
    };
    // Images and notes load after their bubble is shown and push the end further down.
    const onLoad = () => {
      if (atEnd.current) el.scrollTop = el.scrollHeight;
    };
    el.addEventListener('scroll', onScroll, { passive: true });
    el.addEventListener('load', onLoad, true);
    el.addEventListener('loadedmetadata', onLoad, true);
    return () => {
      el.removeEventListener('scroll', onScroll);
      el.removeEventListener('load', onLoad, true);
      el.removeEventListener('loadedmetadata', onLoad, true);
    };
  }, [list]);

  useLayoutEffect(() => {
    if (!messages.length) return;
    const ids = (m: LocalMessage) => [m.id, ...(m.clientMessageId ? [m.clientMessageId] : [])];
    if (!known.current) {
      // The first load of the history: open at its end, announce nothing.
      known.current = new Set(messages.flatMap(ids));
      toEnd();
      return;
    }
    const seen = known.current;
    const fresh = messages.filter((m) => !ids(m).some((id) => seen.has(id)));
    if (!fresh.length) return;
    fresh.forEach((m) => ids(m).forEach((id) => seen.add(id)));
    // A group's system lines are no new messages: they neither count nor get announced.
    const arrived = fresh.filter((m) => !m.outgoing && !m.system);
    if (arrived.length) onArrived(arrived);
    if (atEnd.current || fresh.some((m) => m.outgoing)) toEnd();
    else setUnseen((n) => n + arrived.length);
  }, [messages, toEnd, onArrived]);

  return { unseen, jumpToNewest: toEnd };
}

/** The button over the list's end while messages arrived below the reader. */
export function NewMessagesButton({ count, onClick }: { count: number; onClick: () => void }) {
  if (count <= 0) return null;
  return (
    <button type="button" className="new-messages" onClick={onClick}>
      {count} new {count === 1 ? 'message' : 'messages'}
      <span aria-hidden="true"> ↓</span>
    </button>
  );
}
