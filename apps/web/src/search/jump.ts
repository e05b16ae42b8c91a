/**
 * Opening a chat at a search result (C15): once the message is in the history, it is scrolled to
 * the middle of the view and briefly highlighted (a CSS animation on `.flash`, dropped when it ends).
 */
import { useEffect, useState, type RefObject } from 'react';
import type { LocalMessage } from '@parley/sdk';

/** Which message to show: `seq` changes when the same one is chosen again. */
export interface MessageTarget {
  messageId: string;
  seq: number;
}

/** Scroll `list` to `target` once its bubble exists; returns the id to flash (null once done). */
export function useJumpToMessage(
  list: RefObject<HTMLElement | null>,
  messages: LocalMessage[],
  target: MessageTarget | undefined,
): { flashId: string | null; flashDone: () => void } {
  const [flashId, setFlashId] = useState<string | null>(null);
  const [doneSeq, setDoneSeq] = useState<number | null>(null);
  useEffect(() => {
    if (!target || doneSeq === target.seq) return;
    const el = list.current?.querySelector(`[data-message-id="${CSS.escape(target.messageId)}"]`);
    if (!el) return; // not loaded yet: the next messages update tries again
    centreIn(list.current!, el);
    setFlashId(target.messageId);
    setDoneSeq(target.seq);
  }, [list, messages, target, doneSeq]);
  return { flashId, flashDone: () => setFlashId(null) };
}

/**
 * Scroll the list `list` so that `el` is in its middle. Only the list moves: `scrollIntoView` would
 * also scroll the page and push a phone's chat header out of sight.
 */
export function centreIn(list: HTMLElement, el: Element): void {
  const a = list.getBoundingClientRect();
  const b = el.getBoundingClientRect();
  list.scrollTop += b.top - a.top - (a.height - b.height) / 2;
}
