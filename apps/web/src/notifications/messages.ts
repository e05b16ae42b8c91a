/**
 * What the service worker tells the page (C18): open a chat (focused on the composer for
 * "Reply"), or mark a chat read (the page sends the encrypted read receipt). Also the URL a fresh
 * window opens with when no page is open, which the page reads once at start.
 */

/** A message from the service worker to an open page. */
export type WorkerToPage =
  | { type: 'parley:open-chat'; conversationId: string; compose: boolean }
  | { type: 'parley:mark-read'; conversationId: string };

/** What a notification click asks the app to do with a chat. */
export type ChatIntent = 'open' | 'reply' | 'read';

/** The URL that opens the app on a chat with an intent (`/?chat=ID&do=reply`). */
export function chatUrl(conversationId: string, intent: ChatIntent): string {
  return `/?chat=${encodeURIComponent(conversationId)}&do=${intent}`;
}

/** The chat and intent of a start URL, or null (then removed from the address bar by the caller). */
export function intentOf(search: string): { conversationId: string; intent: ChatIntent } | null {
  const q = new URLSearchParams(search);
  const conversationId = q.get('chat');
  const intent = q.get('do');
  if (!conversationId || !/^[A-Za-z0-9_-]{22}$/.test(conversationId)) return null;
  return { conversationId, intent: intent === 'reply' || intent === 'read' ? intent : 'open' };
}

/** Whether `data` (a `message` event's data from the service worker) is one of ours. */
export function isWorkerMessage(data: unknown): data is WorkerToPage {
  const d = data as { type?: unknown; conversationId?: unknown } | null;
  return (
    typeof d === 'object' &&
    d !== null &&
    (d.type === 'parley:open-chat' || d.type === 'parley:mark-read') &&
    typeof d.conversationId === 'string'
  );
}
