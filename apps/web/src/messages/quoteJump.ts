/**
 * Jumping from a reply's quote to the message it quotes (C15): the original is scrolled to the
 * middle of the history (only the list moves), briefly highlighted (the search's `.flash`), and
 * given the focus, so a keyboard or screen-reader user lands where a sighted reader looks.
 */
import { useCallback, useState, type RefObject } from 'react';
import { centreIn } from '../search/jump.ts';

/** What the chat needs to offer the jump: `jumpTo` (false when the original is not shown here). */
export function useQuoteJump(list: RefObject<HTMLElement | null>): {
  jumpTo: (messageId: string) => boolean;
  flashId: string | null;
  flashDone: () => void;
} {
  const [flashId, setFlashId] = useState<string | null>(null);
  const jumpTo = useCallback(
    (messageId: string) => {
      const box = list.current;
      const el = box?.querySelector<HTMLElement>(`[data-message-id="${CSS.escape(messageId)}"]`);
      if (!box || !el) return false;
      centreIn(box, el);
      // Focusable by script only: the history stays one Tab stop.
      if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
      el.focus({ preventScroll: true });
      // The same id again restarts the highlight: clear it first, then set it on the next frame.
      setFlashId(null);
      requestAnimationFrame(() => setFlashId(messageId));
      return true;
    },
    [list],
  );
  return { jumpTo, flashId, flashDone: () => setFlashId(null) };
}
