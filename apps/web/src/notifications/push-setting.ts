/**
 * Web Push in the page (C18, docs/notifications.md): registers the service worker (`/sw.js`),
 * subscribes this device (browser permission, `PushManager.subscribe` with the server's VAPID key,
 * then the subscription to the server) or unsubscribes it, keeps the service worker's snapshot of
 * chat names and mutes current, and acts on what the service worker asks (open a chat, mark one
 * read).
 */
import { useEffect } from 'react';
import type { LocalConversation, ParleyClient } from '@parley/sdk';
import { isWorkerMessage, type WorkerToPage } from './messages.ts';

/** The service worker's URL: stable (not content-hashed), so a new release replaces the old worker. */
export const SERVICE_WORKER_URL = '/sw.js';

/** Whether this browser can receive Web Push at all. */
export function pushSupported(): boolean {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

/** Register the service worker (module type: it imports the SDK); resolves to null where unsupported. */
export async function registerServiceWorker(): Promise<ServiceWorkerRegistration | null> {
  if (!('serviceWorker' in navigator)) return null;
  try {
    return await navigator.serviceWorker.register(SERVICE_WORKER_URL, { type: 'module', scope: '/' });
  } catch (e) {
    console.warn('parley: service worker not registered', e);
    return null;
  }
}

/** `applicationServerKey` from the server's base64url VAPID key. */
function keyBytes(b64url: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64url.replaceAll('-', '+').replaceAll('_', '/'));
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Ask for permission, subscribe this browser and give the subscription to the server. */
export async function subscribeThisDevice(client: ParleyClient): Promise<void> {
  if (!pushSupported()) throw new Error('This browser cannot receive notifications.');
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') throw new Error('Notifications are blocked for this site in the browser.');
  const reg = (await registerServiceWorker()) ?? (await navigator.serviceWorker.ready);
  const key = await client.pushVapidKey();
  const sub =
    (await reg.pushManager.getSubscription()) ??
    (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) }));
  const json = sub.toJSON() as { endpoint?: string; keys?: { p256dh?: string; auth?: string } };
  if (!json.endpoint || !json.keys?.p256dh || !json.keys.auth)
    throw new Error('The browser gave no usable subscription.');
  await client.subscribePush({ endpoint: json.endpoint, keys: { p256dh: json.keys.p256dh, auth: json.keys.auth } });
}

/** Drop this browser's subscription, here and on the server. */
export async function unsubscribeThisDevice(client: ParleyClient): Promise<void> {
  const reg = 'serviceWorker' in navigator ? await navigator.serviceWorker.getRegistration('/') : undefined;
  const sub = await reg?.pushManager.getSubscription();
  await sub?.unsubscribe().catch(() => undefined);
  await client.unsubscribePush();
}

/** Mark a chat's messages from others read (the same receipts opening the chat sends). */
export async function markChatRead(client: ParleyClient, conversationId: string): Promise<void> {
  const messages = await client.messages(conversationId);
  const ids = messages.filter((m) => !m.outgoing && !m.system).map((m) => m.id);
  await client.markRead(conversationId, ids);
}

/**
 * Keep the service worker's snapshot current: rewritten whenever a chat's title (as the chat list
 * shows it, so profile visibility already applies) or mute changes.
 */
export function useNotificationView(
  client: ParleyClient,
  conversations: readonly LocalConversation[],
  titleOf: (c: LocalConversation) => string,
): void {
  const rows = conversations.map((c) => [c.id, titleOf(c), c.mutedUntil ?? 0] as const);
  const signature = JSON.stringify(rows);
  useEffect(() => {
    const titles = new Map(rows.map(([id, title]) => [id, title]));
    client.writeNotificationView((id) => titles.get(id)).catch(() => undefined);
    // `rows` is what `signature` spells: it changes exactly when the snapshot must.
  }, [client, signature]);
}

/** Listen to the service worker; returns the unsubscribe function. */
export function onWorkerMessage(fn: (m: WorkerToPage) => void): () => void {
  if (!('serviceWorker' in navigator)) return () => undefined;
  const listener = (e: MessageEvent) => {
    if (isWorkerMessage(e.data)) fn(e.data);
  };
  navigator.serviceWorker.addEventListener('message', listener);
  return () => navigator.serviceWorker.removeEventListener('message', listener);
}
