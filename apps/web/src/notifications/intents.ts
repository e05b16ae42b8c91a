/**
 * What a notification click asks of the page (C18): open a chat, open it with the composer
 * focused ("Reply"), or mark it read ("Mark as read": the read receipts go out through the SDK,
 * encrypted like any message). Asked by the service worker over `postMessage` when a page is
 * open, or by the start URL of a window it opened (`/?chat=…&do=…`), which is then cleared.
 */
import { useEffect, useRef } from 'react';
import type { ParleyClient } from '@parley/sdk';
import { intentOf, type ChatIntent } from './messages.ts';
import { markChatRead, onWorkerMessage, registerServiceWorker } from './push-setting.ts';

/** Focus the composer once the chat has rendered it (a few frames at most). */
function focusComposer(triesLeft = 60): void {
  const el = document.getElementById('composer');
  if (el) el.focus();
  else if (triesLeft > 0) requestAnimationFrame(() => focusComposer(triesLeft - 1));
}

/** Register the service worker and act on notification clicks; `openChat` shows a chat. */
export function useNotificationIntents(
  client: ParleyClient,
  registered: boolean,
  openChat: (conversationId: string) => void,
): void {
  const open = useRef(openChat);
  open.current = openChat;
  useEffect(() => {
    if (!registered) return;
    void registerServiceWorker();
    // Registered before the app connects, so the first 'ready' is seen.
    let online = false;
    const offConnection = client.on('connection', (state) => {
      online = state === 'ready';
    });
    const whenOnline = () =>
      online
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const off = client.on('connection', (state) => {
              if (state !== 'ready') return;
              off();
              resolve();
            });
          });
    const act = (conversationId: string, intent: ChatIntent) => {
      if (intent === 'read') {
        // Once what was queued while away has arrived, so the message the notification was about is marked too.
        void whenOnline()
          .then(() => client.drain())
          .then(() => markChatRead(client, conversationId))
          .catch((e: unknown) => console.warn('parley: mark as read', e));
        return;
      }
      open.current(conversationId);
      if (intent === 'reply') focusComposer();
    };
    const start = intentOf(location.search);
    if (start) {
      history.replaceState(null, '', location.pathname);
      act(start.conversationId, start.intent);
    }
    const offWorker = onWorkerMessage((m) =>
      act(m.conversationId, m.type === 'parley:mark-read' ? 'read' : m.compose ? 'reply' : 'open'),
    );
    return () => {
      offWorker();
      offConnection();
    };
  }, [client, registered]);
}
