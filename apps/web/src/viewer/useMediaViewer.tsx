/**
 * The chat's side of the media viewer (C15): which of its messages the viewer shows (pictures and
 * video files, oldest first, as the history lists them), which one is open, and where the focus
 * goes when it closes: to the thumbnail of the item last on screen. ChatView calls the hook once.
 */
import { useState, type ReactNode } from 'react';
import type { LocalMessage, ParleyClient } from '@parley/sdk';
import { MediaViewer, isViewable } from './MediaViewer.tsx';

/** Viewer state for one open chat: `open(id)` shows a message's media, `viewer` is the element to place. */
export function useMediaViewer(
  client: ParleyClient,
  messages: LocalMessage[],
  senderName: (m: LocalMessage) => string,
  onForward: (m: LocalMessage) => void,
): { open: (messageId: string) => void; viewer: ReactNode } {
  const [openId, setOpenId] = useState<string | null>(null);
  const items = messages.filter(isViewable);
  const index = openId ? items.findIndex((m) => m.id === openId) : -1;

  const close = (focusId: string | null) => {
    setOpenId(null);
    // After the viewer is gone (and its focus trap has handed the focus back to the first thumbnail).
    if (focusId)
      requestAnimationFrame(() =>
        document.querySelector<HTMLElement>(`[data-media-id="${CSS.escape(focusId)}"]`)?.focus(),
      );
  };

  const current = items[index];
  const viewer =
    current && index >= 0 ? (
      <MediaViewer
        client={client}
        items={items}
        index={index}
        onIndex={(i) => setOpenId(items[i]?.id ?? null)}
        onClose={() => close(current.id)}
        senderName={senderName}
        // The same rule as the message's own menu: a message the server stored and not deleted.
        onForward={
          current.serverTime !== undefined
            ? (m) => {
                close(m.id);
                onForward(m);
              }
            : undefined
        }
      />
    ) : null;
  return { open: setOpenId, viewer };
}
