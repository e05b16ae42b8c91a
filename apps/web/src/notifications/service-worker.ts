/**
 * The service worker (C18, docs/notifications.md), built to the stable URL `/sw.js`. A push is a
 * content-free wake-up (`pushWakeSchema`); this worker turns it into a notification from what the
 * device itself keeps (the `NotificationView` the page writes: this device's settings, each chat's
 * name as the app shows it, and its mute), so a muted chat or a device with notifications off shows
 * nothing, and no message content is ever in the push. A visible window of the app already shows
 * the message over its socket, so then nothing is shown either.
 *
 * Each notification offers "Reply" (opens the chat with the composer focused) and "Mark as read"
 * (the page sends the encrypted read receipt through the SDK; with no page open, a window opens on
 * the chat in the background of the browser, which marks it read as it loads).
 */
// First: zod must not probe for `new Function` under the strict CSP (jitless.ts).
import '../jitless.ts';
import { pushWakeSchema } from '@parley/protocol';
import { IndexedDbStore, notificationFor, NOTIFY_VIEW_KEY, type NotificationView } from '@parley/sdk';
import { chatUrl, type WorkerToPage } from './messages.ts';

// The worker's own types, written out: the web app compiles against the DOM library, and the
// WebWorker library cannot join it in one program.
interface ExtendableEvent extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface PushData {
  json(): unknown;
}
interface PushEvent extends ExtendableEvent {
  readonly data: PushData | null;
}
interface NotificationEvent extends ExtendableEvent {
  readonly action: string;
  readonly notification: Notification;
}
interface WindowClient {
  readonly url: string;
  readonly visibilityState: DocumentVisibilityState;
  postMessage(message: unknown): void;
  focus(): Promise<WindowClient>;
}
interface WorkerScope {
  readonly location: Location;
  readonly registration: ServiceWorkerRegistration;
  readonly clients: {
    matchAll(o: { type: 'window'; includeUncontrolled: boolean }): Promise<readonly WindowClient[]>;
    openWindow(url: string): Promise<WindowClient | null>;
    claim(): Promise<void>;
  };
  skipWaiting(): Promise<void>;
  addEventListener(type: 'install' | 'activate', fn: (e: ExtendableEvent) => void): void;
  addEventListener(type: 'push', fn: (e: PushEvent) => void): void;
  addEventListener(type: 'notificationclick', fn: (e: NotificationEvent) => void): void;
}
const sw = self as unknown as WorkerScope;

sw.addEventListener('install', () => void sw.skipWaiting());
sw.addEventListener('activate', (event) => event.waitUntil(sw.clients.claim()));

/**
 * Keep the worker alive for `work`. A script-dispatched event (not the browser's own) cannot be
 * extended; its work still runs.
 */
function extend(event: ExtendableEvent, work: Promise<unknown>): void {
  try {
    event.waitUntil(work);
  } catch {
    void work;
  }
}

sw.addEventListener('push', (event) => extend(event, onPush(event.data)));
sw.addEventListener('notificationclick', (event) => extend(event, onClick(event.action, event.notification)));

async function readView(): Promise<NotificationView | undefined> {
  const store = await IndexedDbStore.open('parley');
  try {
    return await store.get<NotificationView>(NOTIFY_VIEW_KEY);
  } finally {
    await store.close();
  }
}

async function onPush(data: PushData | null): Promise<void> {
  let raw: unknown;
  try {
    raw = data?.json();
  } catch {
    return;
  }
  const parsed = pushWakeSchema.safeParse(raw);
  if (!parsed.success) return;
  const wake = parsed.data;
  const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
  if (windows.some((w) => w.visibilityState === 'visible')) return;
  const decision = notificationFor(wake, await readView());
  if (!decision.show) return;
  await sw.registration.showNotification(decision.title, {
    body: decision.body,
    tag: decision.tag,
    data: decision.data,
    icon: '/favicon.svg',
    // Notification actions are not in TypeScript's DOM typings yet; browsers that lack them ignore the field.
    ...({
      actions: [
        { action: 'reply', title: 'Reply' },
        { action: 'read', title: 'Mark as read' },
      ],
    } as NotificationOptions),
  });
}

async function onClick(action: string, notification: Notification): Promise<void> {
  const data = notification.data as { conversationId?: unknown; messageId?: unknown } | null;
  notification.close();
  if (typeof data?.conversationId !== 'string') return;
  const conversationId = data.conversationId;
  const mode = action === 'read' ? 'read' : action === 'reply' ? 'reply' : 'open';
  const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const page = windows.find((w) => new URL(w.url).origin === sw.location.origin);
  if (page) {
    const msg: WorkerToPage =
      mode === 'read'
        ? { type: 'parley:mark-read', conversationId }
        : { type: 'parley:open-chat', conversationId, compose: mode === 'reply' };
    page.postMessage(msg);
    if (mode !== 'read') await page.focus().catch(() => undefined);
    return;
  }
  await sw.clients.openWindow(chatUrl(conversationId, mode));
}
