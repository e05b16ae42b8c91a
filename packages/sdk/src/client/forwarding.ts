/**
 * The client's forwarded methods (C15): which public methods of `ParleyClient` are a service's own
 * method, unchanged. From the one table below the client's type takes their signatures and doc
 * comments ({@link ForwardedApi}) and its prototype gets a one-line forwarder for each
 * ({@link installForwarders}). A new service method becomes public by adding its name here.
 */
import type { Services } from './wiring.ts';

/** Public methods the facade forwards unchanged, by the service that owns them. */
export const FORWARDED = {
  session: ['requestCode', 'verify', 'replenishKeyPackages'],
  connection: ['reconnect', 'networkChanged', 'idle', 'drain', 'close'],
  directory: [
    'lookupPhone',
    'discover',
    'setUsername',
    'username',
    'lookupUsername',
    'findByNumber',
    'settings',
    'setProfile',
    'ownProfile',
    'profileOf',
    'presenceOf',
    'phoneOf',
    'businessInfo',
  ],
  trust: ['safetyNumber', 'safetyQr', 'deviceListOf'],
  chats: [
    'startDirect',
    'createGroup',
    'addMembers',
    'removeMember',
    'rename',
    'describe',
    'setRole',
    'leave',
    'pin',
    'archive',
    'mute',
  ],
  sending: [
    'sendText',
    'sendMedia',
    'retrySend',
    'discardFailed',
    'downloadMedia',
    'markRead',
    'markPlayed',
    'setTyping',
  ],
  actions: [
    'reply',
    'replyWithMedia',
    'sendBusiness',
    'setBusinessMarketing',
    'react',
    'editMessage',
    'deleteForEveryone',
    'deleteForMe',
    'forward',
  ],
  finder: ['search'],
  safety: ['block', 'unblock', 'blockedAccounts', 'isBlocked', 'report'],
  timers: ['setTimer', 'timerOf', 'setDefaultTimer', 'defaultTimer', 'sweepExpired'],
  links: ['startLink', 'joinLink', 'resumeLinkHistory', 'devices', 'unlinkDevice', 'publishDeviceList'],
  push: [
    'pushVapidKey',
    'pushState',
    'subscribePush',
    'unsubscribePush',
    'notificationSettings',
    'setNotificationSettings',
    'writeNotificationView',
  ],
  imaging: ['imageModels', 'imagine', 'sendImagined', 'addImageProvider', 'removeImageProvider', 'imageProviders'],
  backups: ['createBackup', 'restoreBackup'],
} as const satisfies { [K in keyof Services]: readonly (keyof Services[K])[] };

/** The methods of one service that the table forwards, with their own signatures and doc comments. */
type Forwarded<K extends keyof Services> = Pick<Services[K], Extract<(typeof FORWARDED)[K][number], keyof Services[K]>>;

/** Every forwarded method: the part of `ParleyClient`'s type that the table gives it. */
export type ForwardedApi = Forwarded<'session'> &
  Forwarded<'connection'> &
  Forwarded<'directory'> &
  Forwarded<'trust'> &
  Forwarded<'chats'> &
  Forwarded<'sending'> &
  Forwarded<'actions'> &
  Forwarded<'finder'> &
  Forwarded<'safety'> &
  Forwarded<'timers'> &
  Forwarded<'links'> &
  Forwarded<'push'> &
  Forwarded<'imaging'> &
  Forwarded<'backups'>;

/**
 * Put a forwarder for every name in the table on `proto`. `servicesOf` reads a client's services
 * (the facade passes it from inside its class, where its private field is readable).
 */
export function installForwarders<C>(proto: C, servicesOf: (client: C) => Services): void {
  for (const [service, names] of Object.entries(FORWARDED) as [keyof Services, readonly string[]][])
    for (const name of names)
      Object.defineProperty(proto, name, {
        configurable: true,
        writable: true,
        value: function forward(this: C, ...args: unknown[]) {
          const owner = servicesOf(this)[service] as unknown as Record<string, (...a: unknown[]) => unknown>;
          return owner[name]!(...args);
        },
      });
}
