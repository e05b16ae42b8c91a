/**
 * The Parley client (C1–C4, C12, C13, C15): a facade that builds the client's services once and
 * forwards each public method to the one that owns it (`client/`; table in docs/architecture.md):
 * `Session`, `Connection`, `Directory`, `Trust`, `Groups`, `Conversations`, `Outbox`, `Sending`,
 * `Receiving` and `CallLink` (what `CallManager` gets). Each service is handed the few others it
 * uses, as small interfaces where one suffices (`Requester`, `ContentSender`, `DeliveryHandler`,
 * `ClientEventSink`); none imports this file. Runs unchanged in Node and browsers: what differs
 * (WebSocket class, device store) is passed in.
 */
import type { BlobRef, FindByNumber, Settings } from '@parley/protocol';
import { Emitter } from './events.ts';
import type { HttpApi } from './transport/http.ts';
import { resolveTimeouts } from './transport/deadline.ts';
import { History, type LocalConversation, type LocalMessage } from './history.ts';
import type { SendMediaInput, TransferOptions } from './media.ts';
import { CallManager } from './calls/index.ts';
import type { Profile } from './profiles.ts';
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
import type { Content } from '@parley/protocol';
import type { SendAnswer } from './client/outbox.ts';
import { reportError, type ClientEvents, type ClientOptions, type DeviceRecord } from './client/types.ts';

export type { ClientEvents, ClientOptions, DeviceRecord, PendingRegistration } from './client/types.ts';

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
  private readonly outbox: Outbox;

  private constructor(opts: ClientOptions) {
    super();
    const { store } = opts;
    const timeouts = resolveTimeouts(opts.timeouts);
    const http = { fetch: opts.fetch, requestMs: timeouts.requestMs };
    this.history = new History(store);
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
    this.chats = new Conversations(this.session, this.history, groups, this.trust, outbox, profiles, this);
    this.sending = new Sending(this.session, this.history, outbox, this.chats, profiles, this);
    this.actions = new MessageActions(
      this.session,
      this.history,
      outbox,
      this.sending,
      this,
      opts.messageActionWindows,
    );
    this.calls = new CallManager(
      new CallLink(this.session, this.history, outbox, this.sending, this.connection, this),
      opts.calls,
    );
    this.calls.useGroupSignalling(this.connection);
    this.connection.attach(
      new Receiving(this.session, this.history, groups, this.chats, profiles, this.calls, this.actions, this),
      this.calls.groups,
    );
  }

  /** Load (or start) a device from its store. */
  static async open(opts: ClientOptions): Promise<ParleyClient> {
    const c = new ParleyClient(opts);
    await c.session.load();
    await c.history.load();
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

  // registration (C1): `Session`
  /** Ask the server to text a verification code to `phone`; kept in the store so a later process can `verify`. */
  requestCode(serverUrl: string, phone: string) {
    return this.session.requestCode(serverUrl, phone);
  }
  /** Finish registration with the code: make keys, prove possession, store credentials, upload KeyPackages. */
  verify(
    code: string,
    opts: { deviceName?: string; pin?: string; serverUrl?: string; phone?: string; sessionId?: string } = {},
  ) {
    return this.session.verify(code, opts);
  }
  /** Keep enough one-time KeyPackages (and a last-resort one) on the server. */
  replenishKeyPackages(initial = false): Promise<number> {
    return this.session.replenishKeyPackages(initial);
  }
  /** Set or clear the registration-lock PIN. */
  setPin(pin: string | null) {
    return this.api.setPin(pin);
  }

  // connection (C3): `Connection`
  /**
   * Open the WebSocket and start receiving; resolves once authenticated, rejects with the retryable
   * `timeout` past `timeoutMs` (default: the connect deadline; 0 or `Infinity`: no limit). Attempts
   * go on in the background with backoff and a `reconnecting` event each, until `close()`.
   */
  async connect(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (await this.connection.connect(opts))
      void this.session.replenishKeyPackages().catch(reportError(this, 'keypackages'));
  }
  /** Drop and re-open the socket (resumes from the last acknowledged delivery). */
  reconnect(): void {
    this.connection.reconnect();
  }
  /** Wait until everything received so far is processed and acknowledged. */
  idle(): Promise<void> {
    return this.connection.idle();
  }
  /** Wait until the deliveries queued at connect are processed (or `timeoutMs` passed), then until idle. Bots call this before acting. */
  drain(timeoutMs = 10_000): Promise<void> {
    return this.connection.drain(timeoutMs);
  }
  /** Close the socket and the store. */
  close(): Promise<void> {
    return this.connection.close();
  }

  // directory and profiles (C12): `Directory`
  /** Resolve a phone number to an account id (and remember it). */
  lookupPhone(phone: string): Promise<string> {
    return this.directory.lookupPhone(phone);
  }
  /** Private contact discovery: number → account id or null; the server never sees the numbers, answers are cached. */
  discover(numbers: string[]): Promise<Map<string, string | null>> {
    return this.directory.discover(numbers);
  }
  /** Set (null: clear) this account's username, `name.42` style; only a hash leaves the device (`username_invalid`, `username_taken`). */
  setUsername(name: string | null): Promise<string | null> {
    return this.directory.setUsername(name);
  }
  /** This account's username as this device last set it (normalised), or null: the server keeps only a keyed hash. */
  username(): Promise<string | null> {
    return this.directory.username();
  }
  /** The account with exactly this username (`account_not_found` otherwise); the server never learns the name. */
  lookupUsername(name: string): Promise<string> {
    return this.directory.lookupUsername(name);
  }
  /** Who can find this account by its number: `everyone` (the default) or `nobody`. */
  findByNumber(value?: FindByNumber): Promise<FindByNumber> {
    return this.directory.findByNumber(value);
  }
  /** Privacy settings: read them, or change some (moving photo or about to or from `everyone` re-encrypts the profile). */
  settings(changes?: Partial<Settings>): Promise<Settings> {
    return this.directory.settings(changes);
  }
  /** Set profile fields (undefined keeps a field, null clears it); encrypted on this device. Returns the version. */
  setProfile(changes: { name?: string | null; about?: string | null; photo?: Uint8Array | null }): Promise<number> {
    return this.directory.setProfile(changes);
  }
  /** This account's own profile (name, about, photo) as this device holds it. */
  ownProfile(): Promise<Profile> {
    return this.directory.ownProfile();
  }
  /** Another account's profile, as far as its owner lets us see and read it (null: nothing visible). */
  profileOf(accountId: string): Promise<Profile | null> {
    return this.directory.profileOf(accountId);
  }
  /** Online and last seen of an account, each only if its owner lets us see it. */
  presenceOf(accountId: string): Promise<{ online?: boolean; lastSeen?: number }> {
    return this.directory.presenceOf(accountId);
  }
  /** The phone number this device knows for an account, if any. */
  phoneOf(accountId: string): Promise<string | undefined> {
    return this.directory.phoneOf(accountId);
  }

  // trust (C13): `Trust`
  /** Check now that the server's transparency log binds an account's identity key (default: this account's). */
  verifyKeyTransparency(accountId: string = this.self.accountId): Promise<BindingCheck> {
    return this.trust.verifyKeyTransparency(accountId);
  }
  /** The 60-digit safety number to compare in person with an account (12 groups of 5 digits). */
  safetyNumber(accountId: string): Promise<string> {
    return this.trust.safetyNumber(accountId);
  }
  /** The QR payload for the same comparison (scan each other's; see `verifySafetyNumberQr` in @parley/crypto). */
  safetyQr(accountId: string): Promise<string> {
    return this.trust.safetyQr(accountId);
  }

  // conversations (C2): `Conversations`
  /** Conversations, most recent first. */
  conversations(): LocalConversation[] {
    return this.history.conversations();
  }
  /** Messages of one conversation, oldest first. */
  messages(conversationId: string): Promise<LocalMessage[]> {
    return this.history.messages(conversationId);
  }
  /** The direct conversation with an account, created (and the peer invited) if needed. */
  startDirect(accountId: string): Promise<string> {
    return this.chats.startDirect(accountId);
  }
  /** Create a group with a name and members (account ids); the creator is admin. */
  createGroup(name: string, accountIds: string[]): Promise<string> {
    return this.chats.createGroup(name, accountIds);
  }
  /** Add accounts (all their devices) to a conversation. */
  addMembers(conversationId: string, accountIds: string[]): Promise<void> {
    return this.chats.addMembers(conversationId, accountIds);
  }
  /** Remove an account (all its devices) from a group; admins only. */
  removeMember(conversationId: string, accountId: string): Promise<void> {
    return this.chats.removeMember(conversationId, accountId);
  }
  /** Rename a group; the name lives only inside the encrypted state. */
  rename(conversationId: string, name: string): Promise<void> {
    return this.chats.rename(conversationId, name);
  }
  /** Make an account admin or member (admins only). */
  setRole(conversationId: string, accountId: string, role: 'admin' | 'member'): Promise<void> {
    return this.chats.setRole(conversationId, accountId, role);
  }
  /** Leave a conversation: tell the members (encrypted), then stop receiving it. */
  leave(conversationId: string): Promise<void> {
    return this.chats.leave(conversationId);
  }

  // messages (C3, C4): `Sending`
  /** Send a text message; resolves once the server has stored it. */
  sendText(conversationId: string, text: string): Promise<LocalMessage> {
    return this.sending.sendText(conversationId, text);
  }
  /**
   * Send a file, image, voice or video note: encrypted here with a fresh key, uploaded in chunks
   * (progress via `onProgress`, resumed after a failed chunk), then its reference sent end to end.
   */
  sendMedia(conversationId: string, input: SendMediaInput): Promise<LocalMessage> {
    return this.sending.sendMedia(conversationId, input);
  }
  /** Download an attachment or thumbnail, check size and SHA-256 (`blob_digest_mismatch`, `blob_not_found`), decrypt. */
  downloadMedia(ref: BlobRef, opts: TransferOptions = {}): Promise<Uint8Array> {
    return this.sending.downloadMedia(ref, opts);
  }
  /** Mark messages as read and tell their senders (encrypted read receipt). */
  markRead(conversationId: string, messageIds: string[]): Promise<void> {
    return this.sending.markRead(conversationId, messageIds);
  }
  /** Tell the senders of voice or video notes that this account played them (sent once per note). */
  markPlayed(conversationId: string, messageIds: string[]): Promise<void> {
    return this.sending.markPlayed(conversationId, messageIds);
  }
  /** Tell the other members this device is (not) typing; never stored by the server. */
  setTyping(conversationId: string, typing: boolean): Promise<void> {
    return this.sending.setTyping(conversationId, typing);
  }

  // message actions (C15): `MessageActions`; each is end to end, checked here and on receipt
  /**
   * Send a text replying to `messageId`: it carries the quoted message's id, sender and up to 200
   * characters of its text. `message_not_found` / `message_action_refused` (deleted, not stored yet).
   */
  reply(conversationId: string, messageId: string, text: string): Promise<LocalMessage> {
    return this.actions.reply(conversationId, messageId, text);
  }
  /**
   * React to any message with exactly one emoji (replacing this account's earlier reaction to it),
   * or take the reaction back with `null`. Resolves with the message as now stored here.
   */
  react(conversationId: string, messageId: string, emoji: string | null): Promise<LocalMessage> {
    return this.actions.react(conversationId, messageId, emoji);
  }
  /**
   * Replace the text (or caption) of one of this account's messages, within 24 h of it being
   * stored; every device keeps only the latest text and shows "edited" (`editedAt`).
   */
  editMessage(conversationId: string, messageId: string, text: string): Promise<LocalMessage> {
    return this.actions.edit(conversationId, messageId, text);
  }
  /**
   * Delete one of this account's messages for everyone, within 48 h of it being stored: every
   * device keeps only "This message was deleted" (`deletedAt`), dropping text and attachment key.
   */
  deleteForEveryone(conversationId: string, messageId: string): Promise<LocalMessage> {
    return this.actions.deleteForEveryone(conversationId, messageId);
  }
  /** Remove any message from this device only (`message-removed`); nothing is sent. */
  deleteForMe(conversationId: string, messageId: string): Promise<void> {
    return this.actions.deleteForMe(conversationId, messageId);
  }
  /**
   * Send a copy of a message's text or attachment into another chat, marked "Forwarded" (an
   * attachment is decrypted and uploaded again under a fresh key).
   */
  forward(
    conversationId: string,
    messageId: string,
    toConversationId: string,
    opts: TransferOptions = {},
  ): Promise<LocalMessage> {
    return this.actions.forward(conversationId, messageId, toConversationId, opts);
  }
}
