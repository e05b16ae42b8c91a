/**
 * The Parley client (C1–C4, C12, C13, C15): a facade that builds the client's services once and
 * forwards each public method to the one that owns it (`client/`; table in docs/architecture.md).
 * Most are forwarded unchanged, by name, from the `FORWARDED` table: their signatures and doc
 * comments are the services' own. The services are `Session`, `Connection`, `Directory`, `Trust`, `Groups`, `Conversations`, `Outbox`, `Sending`,
 * `Receiving`, `Search`, `DeviceLinks` and `CallLink` (what `CallManager` gets). Each service is handed the few others it
 * uses, as small interfaces where one suffices (`Requester`, `ContentSender`, `DeliveryHandler`,
 * `ClientEventSink`); none imports this file. Runs unchanged in Node and browsers: what differs
 * (WebSocket class, device store) is passed in.
 */
import { Emitter } from './events.ts';
import type { HttpApi } from './transport/http.ts';
import { resolveTimeouts } from './transport/deadline.ts';
import { History, type LocalConversation, type LocalMessage } from './history.ts';
import { CallManager } from './calls/index.ts';
import type { BindingCheck } from './transparency.ts';
import { Session } from './client/session.ts';
import { Connection } from './client/connection.ts';
import { Trust } from './client/trust.ts';
import { Groups } from './client/groups.ts';
import { Outbox } from './client/outbox.ts';
import { Directory } from './client/directory.ts';
import { Conversations } from './client/conversations.ts';
import { Sending } from './client/sending.ts';
import { Receiving } from './client/receiving.ts';
import { CallLink } from './client/call-link.ts';
import { MessageActions } from './client/message-actions.ts';
import { GroupLog } from './client/group-log.ts';
import { Search } from './search.ts';
import { Safety } from './client/safety.ts';
import { Disappearing } from './client/disappearing.ts';
import { DeviceLinks } from './client/device-links.ts';
import { Push } from './client/push.ts';
import { Imagine } from './client/imagine.ts';
import type { Content } from '@parley/protocol';
import type { SendAnswer } from './client/outbox.ts';
import { reportError, type ClientEvents, type ClientOptions, type DeviceRecord } from './client/types.ts';

export type { ClientEvents, ClientOptions, DeviceRecord, PendingRegistration } from './client/types.ts';

/**
 * Public methods the facade forwards unchanged to the service that owns them. The client's type
 * gets each one from the service's own signature and doc comment (the interface below), and the
 * prototype gets a one-line forwarder for it (after the class).
 */
const FORWARDED = {
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
    'react',
    'editMessage',
    'deleteForEveryone',
    'deleteForMe',
    'forward',
  ],
  finder: ['search'],
  safety: ['block', 'unblock', 'blockedAccounts', 'isBlocked', 'report'],
  timers: ['setTimer', 'timerOf', 'setDefaultTimer', 'defaultTimer', 'sweepExpired'],
  links: ['startLink', 'joinLink', 'devices', 'unlinkDevice', 'publishDeviceList'],
  push: [
    'pushVapidKey',
    'pushState',
    'subscribePush',
    'unsubscribePush',
    'notificationSettings',
    'setNotificationSettings',
    'writeNotificationView',
  ],
  imaging: ['imageModels', 'imagine', 'sendImagined', 'addImageProvider', 'removeImageProvider'],
} as const satisfies { [K in keyof Services]: readonly (keyof Services[K])[] };

/** The services behind the facade, by the field that holds each. */
interface Services {
  session: Session;
  connection: Connection;
  directory: Directory;
  trust: Trust;
  chats: Conversations;
  sending: Sending;
  actions: MessageActions;
  finder: Search;
  safety: Safety;
  timers: Disappearing;
  links: DeviceLinks;
  push: Push;
  imaging: Imagine;
}
type Forwarded<K extends keyof Services> = Pick<Services[K], Extract<(typeof FORWARDED)[K][number], keyof Services[K]>>;

/** Set by {@link ParleyClient}'s static block: it alone can read its private session. */
let readRecord: (client: ParleyClient) => DeviceRecord | null;
/** Set by {@link ParleyClient}'s static block: sends any content, unchecked (tests only). */
let sendRaw: (client: ParleyClient, conversationId: string, content: Content) => Promise<SendAnswer>;

/**
 * This device's stored record (credentials included; null before registration). Not re-exported
 * by the package: `@parley/sdk/testing` uses it for `deviceToken`, apps never need it.
 */
export function deviceRecordOf(client: ParleyClient): DeviceRecord | null {
  return readRecord(client);
}

// The forwarded methods, typed from the services (registration, connection, directory and profiles,
// trust, conversations, messages, message actions, search). The interface merges into the class's type, and the loop after
// the class puts a forwarder for each on its prototype.
export interface ParleyClient
  extends
    Forwarded<'session'>,
    Forwarded<'connection'>,
    Forwarded<'directory'>,
    Forwarded<'trust'>,
    Forwarded<'chats'>,
    Forwarded<'sending'>,
    Forwarded<'actions'>,
    Forwarded<'finder'>,
    Forwarded<'safety'>,
    Forwarded<'timers'>,
    Forwarded<'links'>,
    Forwarded<'push'>,
    Forwarded<'imaging'> {}

/**
 * Encrypt and send one content as it is, past every check this client makes before sending. Not
 * re-exported by the package: `@parley/sdk/testing` uses it to show what receivers do with content
 * a modified client could send (an edit of someone else's message, a reaction to no message).
 */
export function sendRawContent(client: ParleyClient, conversationId: string, content: Content): Promise<SendAnswer> {
  return sendRaw(client, conversationId, content);
}

/** A Parley device: register, connect, chat. */
export class ParleyClient extends Emitter<ClientEvents> {
  /** Conversations and messages as this device stores them. */
  readonly history: History;
  /** 1:1 calls, group calls, frame keys and live reactions (C6–C8), all signalled inside MLS. */
  readonly calls: CallManager;
  private readonly session: Session;
  private readonly connection: Connection;
  private readonly directory: Directory;
  private readonly trust: Trust;
  private readonly chats: Conversations;
  private readonly sending: Sending;
  private readonly actions: MessageActions;
  private readonly finder: Search;
  private readonly safety: Safety;
  private readonly timers: Disappearing;
  private readonly links: DeviceLinks;
  private readonly push: Push;
  private readonly imaging: Imagine;
  private readonly outbox: Outbox;
  private readonly store: ClientOptions['store'];

  private constructor(opts: ClientOptions) {
    super();
    const { store } = opts;
    this.store = store;
    const timeouts = resolveTimeouts(opts.timeouts);
    const http = { fetch: opts.fetch, requestMs: timeouts.requestMs };
    this.history = new History(store);
    this.finder = new Search(this.history);
    this.session = new Session(store, http, opts.keyPackageTarget);
    this.connection = new Connection(this.session, store, { WebSocket: opts.WebSocket, timeouts }, this);
    this.trust = new Trust(
      this.session,
      store,
      { ...http, ktLogKey: opts.ktLogKey, ktMaxHeadAgeMs: opts.ktMaxHeadAgeMs },
      this,
    );
    const groups = new Groups(this.session, store, this.connection);
    const outbox = (this.outbox = new Outbox(groups, this.connection));
    this.directory = new Directory(this.session, store, outbox);
    const { profiles } = this.directory;
    const log = new GroupLog(this.history, () => this.session.device().accountId, this);
    this.timers = new Disappearing(this.session, this.history, outbox, store, log, this, opts.now ?? Date.now);
    this.chats = new Conversations(
      this.session,
      this.history,
      groups,
      this.trust,
      outbox,
      profiles,
      this,
      log,
      this.timers,
    );
    this.sending = new Sending(this.session, this.history, outbox, this.chats, profiles, this, this.timers);
    this.actions = new MessageActions(
      this.session,
      this.history,
      outbox,
      this.sending,
      this,
      opts.messageActionWindows,
    );
    this.safety = new Safety(this.session, store, this.history, this);
    this.links = new DeviceLinks(this.session, this.history, this.chats, this);
    this.push = new Push(this.session, store, this.history);
    this.imaging = new Imagine(this.session, store, this.sending);
    this.calls = new CallManager(
      new CallLink(this.session, this.history, outbox, this.sending, this.connection, this),
      opts.calls,
    );
    this.calls.useGroupSignalling(this.connection);
    this.connection.attach(
      new Receiving(
        this.session,
        this.history,
        groups,
        this.chats,
        profiles,
        this.calls,
        this.actions,
        this.safety,
        this,
        this.timers,
      ),
      this.calls.groups,
    );
  }

  /** Load (or start) a device from its store. */
  static async open(opts: ClientOptions): Promise<ParleyClient> {
    const c = new ParleyClient(opts);
    await c.session.load();
    await c.history.load();
    await c.safety.load();
    // Messages that expired while the device was off go before anything shows them (C17).
    await c.timers.sweepExpired();
    return c;
  }

  /** True once this device has an account. */
  get registered(): boolean {
    return this.session.record !== null;
  }

  /** This device's account id, device id and number. */
  get self(): { accountId: string; deviceId: string; phone: string; serverUrl: string } {
    const d = this.session.device();
    return { accountId: d.accountId, deviceId: d.deviceId, phone: d.phone, serverUrl: d.serverUrl };
  }

  /** The HTTP API of the server this device is registered with. */
  get api(): HttpApi {
    return this.session.api;
  }

  static {
    // The one way outside code reaches the record: `@parley/sdk/testing`'s `deviceToken` reads it
    // through `deviceRecordOf`, so tests and benchmarks need no casts to private fields.
    readRecord = (c) => c.session.record;
    sendRaw = (c, conversationId, content) => c.outbox.send(conversationId, content);
  }

  /** Set or clear the registration-lock PIN. */
  setPin(pin: string | null) {
    return this.api.setPin(pin);
  }

  /**
   * Open the WebSocket and start receiving; resolves once authenticated, rejects with the retryable
   * `timeout` past `timeoutMs` (default: the connect deadline; 0 or `Infinity`: no limit). Attempts
   * go on in the background with backoff and a `reconnecting` event each, until `close()`.
   */
  async connect(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (await this.connection.connect(opts)) {
      void this.session.replenishKeyPackages().catch(reportError(this, 'keypackages'));
      // A linked device may have changed the block list meanwhile.
      void this.safety.blockedAccounts().catch(reportError(this, 'block list'));
    }
  }

  /** Check now that the server's transparency log binds an account's identity key (default: this account's). */
  verifyKeyTransparency(accountId: string = this.self.accountId): Promise<BindingCheck> {
    return this.trust.verifyKeyTransparency(accountId);
  }

  /**
   * Log this device out (C1): the server revokes its credentials (its token is refused from then
   * on; the account, its other devices and contacts are unaffected), the connection closes, and
   * every key of the device store is deleted: keys, groups and local history are gone from this
   * device. Do not use the client afterwards; a browser should also drop the store's database.
   */
  async logout(): Promise<void> {
    await this.api.logout();
    for (const key of await this.store.keys('')) await this.store.delete(key);
    await this.connection.close();
  }

  /** Conversations, most recent first. */
  conversations(): LocalConversation[] {
    return this.history.conversations();
  }
  /** Messages of one conversation, oldest first. */
  messages(conversationId: string): Promise<LocalMessage[]> {
    return this.history.messages(conversationId);
  }
}

for (const [service, names] of Object.entries(FORWARDED) as [keyof Services, readonly string[]][])
  for (const name of names)
    Object.defineProperty(ParleyClient.prototype, name, {
      configurable: true,
      writable: true,
      value: function forward(this: ParleyClient, ...args: unknown[]) {
        const owner = (this as unknown as Services)[service] as unknown as Record<string, (...a: unknown[]) => unknown>;
        return owner[name]!(...args);
      },
    });
