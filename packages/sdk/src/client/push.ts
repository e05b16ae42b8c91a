/**
 * Web Push on this device (C18, docs/notifications.md): the device's one push subscription on the
 * server, this device's notification settings (on/off, whether mentions in muted chats still
 * notify, whether names show), and the small snapshot a service worker reads to decide what a
 * wake-up shows (`NotificationView`, kept in the device store under `NOTIFY_VIEW_KEY`). Nothing
 * here is sent to the server except the subscription itself: settings and mute stay on the device.
 */
import type { PushState, PushSubscriptionBody, PushWake } from '@parley/protocol';
import type { History } from '../history.ts';
import { isMuted } from '../mute.ts';
import type { DeviceStore } from '../store/types.ts';
import type { Session } from './session.ts';

/** This device's notification settings. */
export interface NotificationSettings {
  /** Notifications on this device at all (off also unsubscribes it from Web Push). */
  enabled: boolean;
  /** Mentions still notify in a muted chat (applies once a message is known to mention this account). */
  mentions: boolean;
  /** Show the chat's name; off shows only "New message". */
  showNames: boolean;
}

/** What a service worker needs to turn a wake-up into a notification, without the client. */
export interface NotificationView {
  settings: NotificationSettings;
  /** Per chat: the name this device shows for it (already as profile visibility allows) and its mute. */
  chats: Record<string, { name: string; mutedUntil?: number }>;
}

/** A notification to show, or why none is shown. */
export type NotificationDecision =
  | { show: false; reason: 'disabled' | 'muted' }
  | {
      show: true;
      title: string;
      body: string;
      /** One notification per chat: a newer message replaces the older one. */
      tag: string;
      data: { conversationId: string; messageId: string; sentAt: number };
    };

/** Device-store key of the notification settings. */
export const NOTIFY_SETTINGS_KEY = 'notify:settings';
/** Device-store key of the service worker's snapshot. */
export const NOTIFY_VIEW_KEY = 'notify:view';

/** The settings a device starts with: on, mentions notify, names show. */
export const DEFAULT_NOTIFICATION_SETTINGS: NotificationSettings = { enabled: true, mentions: true, showNames: true };

/**
 * What a wake-up shows (the service worker's rule, shared so it is tested in Node too): nothing
 * when notifications are off on this device or the chat is muted; otherwise the chat's name (when
 * names show) and "New message". The wake-up carries no content, so nothing of the message shows.
 */
export function notificationFor(
  wake: PushWake,
  view: NotificationView | undefined,
  now = Date.now(),
): NotificationDecision {
  const settings = view?.settings ?? DEFAULT_NOTIFICATION_SETTINGS;
  if (!settings.enabled) return { show: false, reason: 'disabled' };
  const chat = view?.chats[wake.conversationId];
  if (chat && isMuted(chat, now)) return { show: false, reason: 'muted' };
  const named = settings.showNames && chat?.name;
  return {
    show: true,
    title: named ? chat.name : 'Parley',
    body: 'New message',
    tag: `chat:${wake.conversationId}`,
    data: { conversationId: wake.conversationId, messageId: wake.messageId, sentAt: wake.sentAt },
  };
}

/** This device's push subscription and notification settings. */
export class Push {
  constructor(
    private readonly session: Session,
    private readonly store: DeviceStore,
    private readonly history: History,
  ) {}

  /** The server's VAPID public key (base64url): `applicationServerKey` for `PushManager.subscribe`. */
  async pushVapidKey(): Promise<string> {
    return (await this.session.api.pushVapidKey()).publicKey;
  }

  /** Whether the server holds a push subscription for this device. */
  pushState(): Promise<PushState> {
    return this.session.api.getPush();
  }

  /** Give the server this device's subscription (`PushSubscription.toJSON()`), replacing any earlier one. */
  subscribePush(subscription: PushSubscriptionBody): Promise<PushState> {
    return this.session.api.setPush({
      endpoint: subscription.endpoint,
      keys: { p256dh: subscription.keys.p256dh, auth: subscription.keys.auth },
      ...(subscription.expirationTime !== undefined ? { expirationTime: subscription.expirationTime } : {}),
    });
  }

  /** Delete this device's subscription on the server: no more wake-ups. */
  unsubscribePush(): Promise<PushState> {
    return this.session.api.deletePush();
  }

  /** This device's notification settings. */
  async notificationSettings(): Promise<NotificationSettings> {
    return {
      ...DEFAULT_NOTIFICATION_SETTINGS,
      ...((await this.store.get<NotificationSettings>(NOTIFY_SETTINGS_KEY)) ?? {}),
    };
  }

  /** Change this device's notification settings (kept on this device only) and refresh the snapshot. */
  async setNotificationSettings(change: Partial<NotificationSettings>): Promise<NotificationSettings> {
    const next = { ...(await this.notificationSettings()), ...change };
    await this.store.set(NOTIFY_SETTINGS_KEY, next);
    await this.writeNotificationView();
    return next;
  }

  /**
   * Write the service worker's snapshot: the settings, and each chat's mute and the name the app
   * shows for it (`nameOf`, which already follows the profile-visibility rules; by default a group's
   * name, and nothing for a direct chat, whose title then falls back to "Parley").
   */
  async writeNotificationView(nameOf?: (conversationId: string) => string | undefined): Promise<NotificationView> {
    const chats: NotificationView['chats'] = {};
    for (const c of this.history.conversations()) {
      const name = nameOf?.(c.id) ?? c.name ?? '';
      chats[c.id] = c.mutedUntil !== undefined ? { name, mutedUntil: c.mutedUntil } : { name };
    }
    const view: NotificationView = { settings: await this.notificationSettings(), chats };
    await this.store.set(NOTIFY_VIEW_KEY, view);
    return view;
  }
}
