/**
 * The Parley client (C1–C3, C15): a thin facade over small services — registration (`session`),
 * MLS groups (`groups`), delivery processing and the local history. It runs unchanged in Node and
 * browsers; what differs (WebSocket class, device store) is passed in.
 */
import {
  LIMITS, ParleyError, deviceCertMessage, envelopeSchema, fromB64, identityProofMessage, toB64,
  type BlobRef, type Content, type DeliverEvent, type Envelope, type FindByNumber, type Settings,
} from '@parley/protocol';
import { generateSigningKeyPair, inspectKeyPackage, sign, usernameHash, verifySignature } from '@parley/crypto';
import { normaliseUsername } from './usernames.ts';
import { Profiles, type Profile } from './profiles.ts';
import { Emitter } from './events.ts';
import { HttpApi, type FetchLike } from './transport/http.ts';
import { Socket, type SocketEvents, type SocketState, type WebSocketCtor } from './transport/socket.ts';
import { resolveTimeouts, type Timeouts } from './transport/deadline.ts';
import type { DeviceStore } from './store/types.ts';
import { History, type LocalConversation, type LocalMessage } from './history.ts';
import { KeyedLock } from './lock.ts';
import { newClientMessageId, randomBytes } from './random.ts';
import * as mls from './mls.ts';
import { discover as discoverNumbers } from './discovery.ts';
import { openBlob, prepareAttachment, type SendMediaInput, type TransferOptions } from './media.ts';
import { CallManager, type CallLayerContent, type CallOptions } from './calls/index.ts';
import { safetyNumber as computeSafetyNumber, safetyNumberQrPayload } from '@parley/crypto';
import { KeyTransparencyChecker, KtApi, isKtWarning, type BindingCheck, type KeyTransparencyWarning } from './transparency.ts';

/** What a registered device keeps about itself. */
export interface DeviceRecord {
  serverUrl: string;
  phone: string;
  accountId: string;
  deviceId: string;
  token: string;
  identity: { publicKey: Uint8Array; privateKey: Uint8Array };
  signing: { publicKey: Uint8Array; privateKey: Uint8Array };
}

/**
 * A code request waiting for its code (kept in the device store under `pending-registration`):
 * `sessionId` is what the server answered the request with, and `verify` must send it back.
 */
export interface PendingRegistration {
  serverUrl: string;
  phone: string;
  /** Absent in records from before sessions existed: such a record needs a new code request. */
  sessionId?: string;
}

/** Events a client emits. */
export interface ClientEvents extends Record<string, unknown> {
  /** A text or media message arrived (already stored locally and acknowledged). */
  message: LocalMessage;
  /** An outgoing message changed status (sent, delivered, read). */
  status: LocalMessage;
  receipt: { conversationId: string; from: string; receipt: 'delivered' | 'read' | 'played'; messageIds: string[] };
  typing: { conversationId: string; from: string; typing: boolean };
  /** A conversation was created, joined, renamed or changed membership. */
  conversation: LocalConversation;
  connection: SocketState;
  /**
   * A connection attempt failed or the connection dropped: the next attempt starts in `inMs`
   * (exponential backoff with jitter, up to 10 s). `reason` says what went wrong.
   */
  reconnecting: SocketEvents['reconnecting'];
  /** A contact's identity key differs from the one this device saw first: compare safety numbers. */
  identityChanged: { accountId: string; previous: string; current: string };
  /** A key-transparency check failed: the server serves a key its log does not bind, or its log is not append-only. */
  'key-transparency-warning': KeyTransparencyWarning;
  /**
   * Another account's profile key arrived in a conversation (already kept). It comes just before
   * that account's first own message there, which is also when the server starts counting this
   * account as its contact, so `profileOf(accountId)` may now show and read more than before.
   */
  'profile-key': { accountId: string; conversationId: string; version: number };
  /** Something went wrong while processing a delivery (it is still acknowledged if unrecoverable). */
  error: { error: unknown; context: string };
}

/** Options for `ParleyClient.open`. */
export interface ClientOptions {
  store: DeviceStore;
  /** WebSocket class: the global one in browsers, `ws` in Node. */
  WebSocket?: WebSocketCtor;
  fetch?: FetchLike;
  /**
   * Deadlines in ms (defaults: 30 s per request, 10 s to connect; 0 or `Infinity` for none).
   * Past one, the call fails with the retryable `timeout` error.
   */
  timeouts?: Partial<Timeouts>;
  /** One-time KeyPackages to keep on the server. */
  keyPackageTarget?: number;
  /** Calls: peer-connection class, local media, ICE servers, timeouts (`docs/calls.md`). */
  calls?: CallOptions;
  /**
   * The server's key-transparency log key (unpadded base64url, `logKey` of `GET /v1/kt/head`),
   * learned from the operator out of band. When set, every head must be signed by it, from the
   * first check on; when not, the first key seen is pinned (docs/key-transparency.md).
   */
  ktLogKey?: string;
  /** Refuse key-transparency heads older than this by the device's clock (default 24 h, `KT_MAX_HEAD_AGE_MS`). */
  ktMaxHeadAgeMs?: number;
}

const KP_TARGET = 40;
/** Most delivered receipts held for a chat not yet accepted (one receipt carries at most 500 ids). */
const MAX_HELD_RECEIPTS = 500;
const KP_LOW_WATER = 10;

/** A Parley device: register, connect, chat. */
export class ParleyClient extends Emitter<ClientEvents> {
  private device: DeviceRecord | null = null;
  private pendingPhone: PendingRegistration | null = null;
  private http: HttpApi | null = null;
  private socket: Socket | null = null;
  readonly history: History;
  private readonly lock = new KeyedLock();
  private inbox: Promise<void> = Promise.resolve();
  private ackQueue: number[] = [];
  private ackTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly keyPackageTarget: number;
  /** Deliveries the server said were queued at hello, and how many were processed since. */
  private expectedAtHello = 0;
  private processedSinceHello = 0;
  private readonly timeouts: Timeouts;

  /** 1:1 calls, group-call frame keys and live reactions (C6–C8), all signalled inside MLS. */
  readonly calls: CallManager;
  /** Encrypted profile and the profile keys others shared (C12). */
  private readonly profiles: Profiles;

  private constructor(private readonly opts: ClientOptions) {
    super();
    this.history = new History(opts.store);
    this.profiles = new Profiles(() => this.api, opts.store, () => this.device?.accountId);
    this.keyPackageTarget = opts.keyPackageTarget ?? KP_TARGET;
    this.timeouts = resolveTimeouts(opts.timeouts);
    this.calls = new CallManager({
      self: () => ({ accountId: this.self.accountId, deviceId: this.self.deviceId }),
      conversation: (id) => this.history.conversation(id),
      send: (id, content, o) => this.sendContent(id, content, o),
      sendCallLog: (id, content) => this.sendRecorded(id, content),
      // The whole backlog queued at connect, not just what arrived so far: a cancel may be behind the offer.
      idle: () => this.drain(5_000),
      error: (error, context) => this.emit('error', { error, context }),
    }, opts.calls);
    this.calls.useGroupSignalling({ request: (op, body) => this.ws.request(op, body) });
  }

  /** Load (or start) a device from its store. */
  static async open(opts: ClientOptions): Promise<ParleyClient> {
    const c = new ParleyClient(opts);
    c.device = (await opts.store.get<DeviceRecord>('device')) ?? null;
    c.pendingPhone = (await opts.store.get<PendingRegistration>('pending-registration')) ?? null;
    if (c.device) c.http = c.httpApi(c.device.serverUrl, () => c.device?.token);
    await c.history.load();
    return c;
  }

  /** True once this device has an account. */
  get registered(): boolean {
    return this.device !== null;
  }

  /** This device's account id, device id and number. */
  get self(): { accountId: string; deviceId: string; phone: string; serverUrl: string } {
    const d = this.requireDevice();
    return { accountId: d.accountId, deviceId: d.deviceId, phone: d.phone, serverUrl: d.serverUrl };
  }

  /** The HTTP API of the server this device is registered with. */
  get api(): HttpApi {
    if (!this.http) throw new ParleyError('unauthenticated', { message: 'This device is not registered.' });
    return this.http;
  }

  /** An HTTP API for `serverUrl` with this client's fetch and request deadline. */
  private httpApi(serverUrl: string, token: () => string | undefined): HttpApi {
    return new HttpApi(serverUrl, token, this.opts.fetch, this.timeouts.requestMs);
  }

  private requireDevice(): DeviceRecord {
    if (!this.device) throw new ParleyError('unauthenticated', { message: 'This device is not registered.' });
    return this.device;
  }

  // ------------------------------------------------------------------ registration (C1)

  /**
   * Ask the server to send a verification code to `phone`. The session id it answers with is kept
   * in the device store (so a later process can `verify`): only that request's code is accepted.
   */
  async requestCode(serverUrl: string, phone: string) {
    const api = this.httpApi(serverUrl, () => undefined);
    const res = await api.requestCode(phone);
    this.pendingPhone = { serverUrl, phone, sessionId: res.sessionId };
    await this.opts.store.set('pending-registration', this.pendingPhone);
    return res;
  }

  /**
   * Finish registration with the code: create identity and device keys, prove possession, store
   * the credentials and upload KeyPackages.
   */
  async verify(code: string, opts: { deviceName?: string; pin?: string; serverUrl?: string; phone?: string; sessionId?: string } = {}) {
    const serverUrl = opts.serverUrl ?? this.pendingPhone?.serverUrl;
    const phone = opts.phone ?? this.pendingPhone?.phone;
    const sessionId = opts.sessionId ?? this.pendingPhone?.sessionId;
    if (!serverUrl || !phone || !sessionId) throw new ParleyError('code_expired', { message: 'Request a code first.' });
    const identity = generateSigningKeyPair();
    const signing = generateSigningKeyPair();
    const identityKey = toB64(identity.publicKey);
    const signingKey = toB64(signing.publicKey);
    const api = this.httpApi(serverUrl, () => undefined);
    const res = await api.verify({
      sessionId,
      phone,
      code,
      identityKey,
      identityProof: toB64(sign(identity.privateKey, identityProofMessage(phone, code, identityKey))),
      ...(opts.pin ? { registrationLockPin: opts.pin } : {}),
      device: { name: opts.deviceName ?? 'Parley device', signingKey, signingKeyCert: toB64(sign(identity.privateKey, deviceCertMessage(signingKey))) },
    });
    this.device = { serverUrl, phone, accountId: res.accountId, deviceId: res.deviceId, token: res.token, identity, signing };
    await this.opts.store.set('device', this.device);
    await this.opts.store.delete('pending-registration');
    this.http = this.httpApi(serverUrl, () => this.device?.token);
    await this.replenishKeyPackages(true);
    return res;
  }

  /** Keep enough one-time KeyPackages (and a last-resort one) on the server. */
  async replenishKeyPackages(initial = false): Promise<number> {
    const d = this.requireDevice();
    const count = initial ? { available: 0, lastResort: false } : await this.api.countKeyPackages();
    if (count.available >= KP_LOW_WATER && count.lastResort) return 0;
    const need = Math.max(0, this.keyPackageTarget - count.available);
    const made = await mls.makeKeyPackages(d, need, !count.lastResort);
    const secrets = (await this.opts.store.get<unknown[]>('kp-secrets')) ?? [];
    await this.opts.store.set('kp-secrets', [...secrets, ...made.secrets]);
    await this.api.uploadKeyPackages(made.oneTime.map(toB64), made.lastResort ? toB64(made.lastResort) : undefined);
    return need;
  }

  /** Set or clear the registration-lock PIN. */
  setPin(pin: string | null) {
    return this.api.setPin(pin);
  }

  // ------------------------------------------------------------------ connection (C3)

  /**
   * Open the WebSocket and start receiving; resolves once authenticated. Rejects with the
   * retryable `timeout` error when that takes longer than `timeoutMs` (default: the connect
   * deadline; 0 or `Infinity` waits for ever). The client keeps trying in the background, with
   * backoff and a `reconnecting` event per failed attempt, until `close()`: calling `connect()`
   * again waits for that same connection.
   */
  async connect(opts: { timeoutMs?: number } = {}): Promise<void> {
    this.requireDevice();
    const timeoutMs = opts.timeoutMs ?? this.timeouts.connectMs;
    if (this.socket) return this.socket.ready(timeoutMs);
    const WS = this.opts.WebSocket ?? (globalThis as unknown as { WebSocket?: WebSocketCtor }).WebSocket;
    if (!WS) throw new Error('No WebSocket implementation: pass options.WebSocket');
    const socket = new Socket(this.device!.serverUrl, () => this.device?.token, WS, this.timeouts);
    this.socket = socket;
    socket.on('reconnecting', (r) => this.emit('reconnecting', r));
    socket.on('state', (s) => {
      this.emit('connection', s);
      // A dropped socket means the server took this device out of its group calls.
      if (s === 'closed') this.calls.groups.socketLost();
    });
    socket.on('hello', (h) => {
      this.expectedAtHello = h.pending;
      this.processedSinceHello = 0;
    });
    socket.on('deliver', ({ event, payload }) => {
      this.inbox = this.inbox.then(() => this.process(event, payload)).catch((error) => this.emit('error', { error, context: 'inbox' }));
    });
    // Group-call events the server pushes.
    socket.on('call', ({ event, body }) => this.calls.groups.event(event, body));
    socket.start();
    await socket.ready(timeoutMs);
    void this.replenishKeyPackages().catch((error) => this.emit('error', { error, context: 'keypackages' }));
  }

  /** Drop and re-open the socket (resumes from the last acknowledged delivery). */
  reconnect(): void {
    this.socket?.reconnect();
  }

  /** Wait until everything received so far is processed and acknowledged. */
  async idle(): Promise<void> {
    let before: Promise<void>;
    do {
      before = this.inbox;
      await before;
    } while (before !== this.inbox);
    await this.flushAcks();
  }

  /**
   * Wait until every delivery that was queued when this connection was made has been processed
   * (or `timeoutMs` passed), then until the inbox is idle. Bots call this before acting.
   */
  async drain(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.processedSinceHello < this.expectedAtHello && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await this.idle();
  }

  /** Close the socket and the store. */
  async close(): Promise<void> {
    await this.idle().catch(() => undefined);
    this.socket?.close();
    this.socket = null;
    await this.opts.store.close?.();
  }

  private get ws(): Socket {
    if (!this.socket) throw new ParleyError('unavailable', { message: 'Call connect() first.' });
    return this.socket;
  }

  private queueAck(cursor: number): void {
    if (cursor <= 0) return;
    this.ackQueue.push(cursor);
    if (this.ackQueue.length >= LIMITS.ackBatch) void this.flushAcks();
    else if (!this.ackTimer) this.ackTimer = setTimeout(() => void this.flushAcks(), LIMITS.ackDelayMs);
  }

  private async flushAcks(): Promise<void> {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    const cursors = this.ackQueue.splice(0);
    // Quiet acks: no answer frame. An ack lost with a dropped socket only means a redelivery,
    // which de-duplication by message id absorbs.
    if (cursors.length && this.socket) this.socket.notify('ack', { cursors, quiet: true });
  }

  // ------------------------------------------------------------------ directory

  /** Resolve a phone number to an account id (and remember it). */
  async lookupPhone(phone: string): Promise<string> {
    const account = (await this.discover([phone])).get(phone);
    if (!account) throw new ParleyError('account_not_found');
    return account;
  }

  /**
   * Private contact discovery (C12): which of these E.164 numbers belong to accounts that can be
   * found by number (number → account id, or null). The server never sees the numbers; answers are
   * cached on this device, so asking again about known contacts sends nothing.
   */
  async discover(numbers: string[]): Promise<Map<string, string | null>> {
    const found = await discoverNumbers(this.api, this.opts.store, numbers);
    const contacts = (await this.opts.store.get<Record<string, string>>('contacts')) ?? {};
    let changed = false;
    for (const [n, a] of found) {
      if (a && contacts[n] !== a) {
        contacts[n] = a;
        changed = true;
      }
    }
    if (changed) await this.opts.store.set('contacts', contacts);
    return found;
  }

  /**
   * Set (or with null clear) this account's username, `name.42` style. Only a hash leaves the
   * device. Throws `username_invalid` for a malformed name, `username_taken` when it is someone else's.
   */
  async setUsername(name: string | null): Promise<string | null> {
    this.requireDevice();
    if (name === null) {
      await this.api.clearUsername();
      await this.opts.store.delete('username');
      return null;
    }
    const normalised = normaliseUsername(name);
    await this.api.setUsername(toB64(usernameHash(normalised)));
    await this.opts.store.set('username', normalised);
    return normalised;
  }

  /**
   * This account's username as this device last set it with `setUsername` (normalised), or null.
   * The server keeps only a keyed hash, so this is the device's own record: another device of the
   * account, or this one after a reinstall, does not know it.
   */
  async username(): Promise<string | null> {
    return (await this.opts.store.get<string>('username')) ?? null;
  }

  /** The account with exactly this username (`account_not_found` otherwise); the server never learns the name. */
  async lookupUsername(name: string): Promise<string> {
    this.requireDevice();
    const r = await this.api.lookupUsername(toB64(usernameHash(normaliseUsername(name))));
    return r.accountId;
  }

  /** Who can find this account by its number: `everyone` (the default) or `nobody`. */
  async findByNumber(value?: FindByNumber): Promise<FindByNumber> {
    return (await this.settings(value ? { findByNumber: value } : undefined)).findByNumber;
  }

  /**
   * Privacy settings (C12): read them, or change some. Moving photo or about to or from
   * `everyone` re-encrypts the profile under the matching key (docs/profiles.md).
   */
  async settings(changes?: Partial<Settings>): Promise<Settings> {
    this.requireDevice();
    if (!changes) return this.api.getSettings();
    const next = await this.api.setSettings(changes);
    if (changes.photo !== undefined || changes.about !== undefined) await this.profiles.republish(next);
    return next;
  }

  /** Set profile fields (undefined keeps a field, null clears it); encrypted on this device. Returns the version. */
  async setProfile(changes: { name?: string | null; about?: string | null; photo?: Uint8Array | null }): Promise<number> {
    this.requireDevice();
    return this.profiles.set(changes, await this.api.getSettings());
  }

  /** This account's own profile (name, about, photo) as this device holds it. */
  ownProfile(): Promise<Profile> {
    this.requireDevice();
    return this.profiles.own();
  }

  /** Another account's profile, as far as its owner lets us see and read it (null: nothing visible). */
  profileOf(accountId: string): Promise<Profile | null> {
    this.requireDevice();
    return this.profiles.of(accountId);
  }

  /** Online and last seen of an account, each only if its owner lets us see it. */
  presenceOf(accountId: string): Promise<{ online?: boolean; lastSeen?: number }> {
    this.requireDevice();
    return this.api.getPresence(accountId);
  }

  /** The phone number this device knows for an account, if any. */
  async phoneOf(accountId: string): Promise<string | undefined> {
    if (this.device?.accountId === accountId) return this.device.phone;
    const cached = (await this.opts.store.get<Record<string, string>>('contacts')) ?? {};
    return Object.entries(cached).find(([, a]) => a === accountId)?.[0];
  }

  // ------------------------------------------------------------------ conversations (C2)

  /** Conversations, most recent first. */
  conversations(): LocalConversation[] {
    return this.history.conversations();
  }

  /** Messages of one conversation, oldest first. */
  messages(conversationId: string): Promise<LocalMessage[]> {
    return this.history.messages(conversationId);
  }

  /** The direct conversation with an account, created (and the peer invited) if needed. */
  async startDirect(accountId: string): Promise<string> {
    const d = this.requireDevice();
    const existing = this.history.conversations().find((c) => c.kind === 'direct' && c.peer === accountId && c.active);
    if (existing) return existing.id;
    if (accountId === d.accountId) throw new ParleyError('bad_request', { message: 'Cannot start a direct chat with yourself.' });
    return this.createConversation('direct', [accountId]);
  }

  /** Create a group with a name and members (account ids); the creator is admin. */
  async createGroup(name: string, accountIds: string[]): Promise<string> {
    const id = await this.createConversation('group', accountIds);
    await this.rename(id, name);
    return id;
  }

  private async createConversation(kind: 'direct' | 'group', accountIds: string[]): Promise<string> {
    const d = this.requireDevice();
    const groupId = randomBytes(16);
    const id = toB64(groupId);
    await this.lock.run(id, async () => {
      const group = await mls.newGroup(d, groupId);
      await this.api.createConversation(id, kind);
      await this.opts.store.set(`group:${id}`, group);
    });
    const now = Date.now();
    // Opening a chat is accepting it: the other members' messages get delivered receipts at once.
    const conv: LocalConversation = { id, kind, members: [d.accountId], admins: [d.accountId], createdAt: now, lastActivity: now, unread: 0, active: true, accepted: true, ...(kind === 'direct' ? { peer: accountIds[0] } : {}) };
    await this.history.saveConversation(conv);
    try {
      await this.addMembers(id, [...new Set([...accountIds, d.accountId])]);
    } catch (e) {
      // Nobody could be added (refused KeyPackage, unknown account…): drop the empty conversation.
      await this.api.leave(id).catch(() => undefined);
      await this.history.saveConversation({ ...conv, active: false });
      throw e;
    }
    return id;
  }

  /** Add accounts (all their devices) to a conversation. */
  async addMembers(conversationId: string, accountIds: string[]): Promise<void> {
    const d = this.requireDevice();
    await this.lock.run(conversationId, async () => {
      const claimed = (await this.api.claimKeyPackages(accountIds)).keyPackages;
      if (!claimed.length) return;
      await this.verifyClaimed(claimed);
      await this.commitWithRetry(conversationId, async (group) => {
        const r = await mls.add(d, group, claimed.map((k) => fromB64(k.keyPackage)));
        return { ...r, adds: claimed.map((k) => ({ accountId: k.accountId, deviceId: k.deviceId })), removes: [] };
      });
    });
    await this.refreshConversation(conversationId);
    const conv = this.history.conversation(conversationId);
    // New members learn the group name from the encrypted state only: re-send it.
    if (conv?.kind === 'group' && conv.name) await this.sendContent(conversationId, { type: 'group-meta', name: conv.name });
  }

  /**
   * Check that every claimed KeyPackage belongs to a device its account's identity key certified,
   * so the server cannot slip a device of its own into a group, and remember each account's
   * identity key (a change is reported as `identityChanged`).
   */
  private async verifyClaimed(claimed: { accountId: string; deviceId: string; keyPackage: string }[]): Promise<void> {
    const seen = (await this.opts.store.get<Record<string, string>>('identities')) ?? {};
    for (const accountId of new Set(claimed.map((c) => c.accountId))) {
      const info = await this.api.getAccount(accountId);
      // Before the key is trusted for anything: the server must have logged exactly this binding.
      await this.checkTransparency(accountId, info.identityKey);
      const identityKey = fromB64(info.identityKey);
      if (seen[accountId] && seen[accountId] !== info.identityKey) this.emit('identityChanged', { accountId, previous: seen[accountId]!, current: info.identityKey });
      seen[accountId] = info.identityKey;
      for (const c of claimed.filter((x) => x.accountId === accountId)) {
        const device = info.devices.find((d) => d.deviceId === c.deviceId);
        if (!device) throw new ParleyError('device_not_found', { message: `KeyPackage for unknown device ${c.deviceId}` });
        if (!verifySignature(identityKey, deviceCertMessage(device.signingKey), fromB64(device.signingKeyCert))) {
          throw new ParleyError('signature_invalid', { message: `Device ${c.deviceId} is not certified by its account's identity key` });
        }
        inspectKeyPackage(fromB64(c.keyPackage), { deviceId: c.deviceId, signingKey: fromB64(device.signingKey) });
      }
    }
    await this.opts.store.set('identities', seen);
  }

  // ------------------------------------------------------------------ key transparency and safety numbers (C13)

  private transparency(): KeyTransparencyChecker {
    return new KeyTransparencyChecker(new KtApi(this.api.baseUrl, () => this.device?.token, this.opts.fetch, this.timeouts.requestMs), this.opts.store, {
      ...(this.opts.ktLogKey !== undefined ? { logKey: this.opts.ktLogKey } : {}),
      ...(this.opts.ktMaxHeadAgeMs !== undefined ? { maxHeadAgeMs: this.opts.ktMaxHeadAgeMs } : {}),
    });
  }

  /**
   * Check the key-transparency proof of a key the server served for an account; a failure is
   * emitted as `key-transparency-warning` and thrown (the key is not used).
   */
  private async checkTransparency(accountId: string, identityKey: string, force = false): Promise<BindingCheck> {
    const d = this.requireDevice();
    try {
      // The server must serve this device's own account with the key this device holds.
      if (accountId === d.accountId && identityKey !== toB64(d.identity.publicKey)) {
        throw new ParleyError('kt_key_mismatch', { message: 'The server serves another identity key for this device\'s own account.', details: { accountId } });
      }
      return await this.transparency().checkBinding(accountId, identityKey, { force });
    } catch (e) {
      if (isKtWarning(e)) {
        this.emit('key-transparency-warning', { accountId, code: e.code, message: e.message });
      }
      throw e;
    }
  }

  /**
   * Fetch an account's identity key and check now that the server's transparency log binds it
   * (for this device's own account: that the log binds this device's key, so nobody else's key
   * is logged under its name). Throws like the automatic checks.
   */
  async verifyKeyTransparency(accountId: string = this.self.accountId): Promise<BindingCheck> {
    const info = await this.api.getAccount(accountId);
    return this.checkTransparency(accountId, info.identityKey, true);
  }

  /** The identity key this device trusts for an account: the one it verified, else fetched and checked now. */
  private async trustedIdentityKey(accountId: string): Promise<Uint8Array> {
    const d = this.requireDevice();
    if (accountId === d.accountId) return d.identity.publicKey;
    const seen = (await this.opts.store.get<Record<string, string>>('identities')) ?? {};
    if (seen[accountId]) return fromB64(seen[accountId]!);
    const info = await this.api.getAccount(accountId);
    await this.checkTransparency(accountId, info.identityKey);
    return fromB64(info.identityKey);
  }

  /** The 60-digit safety number to compare in person with an account (12 groups of 5 digits). */
  async safetyNumber(accountId: string): Promise<string> {
    const d = this.requireDevice();
    return computeSafetyNumber({ accountId: d.accountId, identityKey: d.identity.publicKey }, { accountId, identityKey: await this.trustedIdentityKey(accountId) });
  }

  /** The QR payload for the same comparison (scan each other's; see `verifySafetyNumberQr` in @parley/crypto). */
  async safetyQr(accountId: string): Promise<string> {
    const d = this.requireDevice();
    return safetyNumberQrPayload({ accountId: d.accountId, identityKey: d.identity.publicKey }, { accountId, identityKey: await this.trustedIdentityKey(accountId) });
  }

  /** Remove an account (all its devices) from a group; admins only. */
  async removeMember(conversationId: string, accountId: string): Promise<void> {
    const d = this.requireDevice();
    let needsUpdate = false;
    await this.lock.run(conversationId, async () => {
      await this.commitWithRetry(conversationId, async (group) => {
        const devices = mls.membersOf(group).filter((dev) => dev !== d.deviceId);
        // Devices of a member who already left are no longer routed: ask the account's device list too.
        const info = await this.api.getConversation(conversationId);
        const routed = info.members.find((m) => m.accountId === accountId)?.devices ?? [];
        const listed = (await this.api.getAccount(accountId).catch(() => null))?.devices.map((x) => x.deviceId) ?? [];
        const theirs = new Set([...routed, ...listed]);
        const removes = devices.filter((dev) => theirs.has(dev));
        if (!removes.length) return null;
        const r = await mls.remove(d, group, removes);
        needsUpdate = r.needsKeyUpdate;
        return { commit: r.commit, next: r.next, welcome: undefined, adds: [], removes };
      });
      // A remove without an UpdatePath leaves secrets the removed devices could derive: rotate now.
      if (needsUpdate) {
        await this.commitWithRetry(conversationId, async (group) => ({ ...(await mls.update(d, group)), welcome: undefined, adds: [], removes: [] }));
      }
    });
    await this.refreshConversation(conversationId);
  }

  /** Rename a group; the name lives only inside the encrypted state. */
  async rename(conversationId: string, name: string): Promise<void> {
    await this.sendContent(conversationId, { type: 'group-meta', name });
    const conv = this.history.conversation(conversationId);
    if (conv) {
      conv.name = name;
      await this.history.saveConversation(conv);
      this.emit('conversation', conv);
    }
  }

  /** Make an account admin or member (admins only). */
  async setRole(conversationId: string, accountId: string, role: 'admin' | 'member'): Promise<void> {
    await this.api.setRole(conversationId, accountId, role);
    await this.refreshConversation(conversationId);
  }

  /** Leave a conversation: tell the members (encrypted), then stop receiving it. */
  async leave(conversationId: string): Promise<void> {
    await this.sendContent(conversationId, { type: 'leave' });
    await this.api.leave(conversationId);
    const conv = this.history.conversation(conversationId);
    if (conv) {
      conv.active = false;
      await this.history.saveConversation(conv);
      this.emit('conversation', conv);
    }
  }

  /**
   * Build a commit on the current epoch and submit it; on `stale_epoch` catch up from the
   * handshake log and rebuild (at most 5 times). Adopts the new state only once accepted.
   */
  private async commitWithRetry(
    conversationId: string,
    build: (group: Uint8Array) => Promise<{ commit: Uint8Array; welcome?: Uint8Array | undefined; next: Uint8Array; adds: { accountId: string; deviceId: string }[]; removes: string[] } | null>,
  ): Promise<void> {
    const clientMessageId = newClientMessageId();
    for (let attempt = 0; ; attempt++) {
      const group = await this.groupState(conversationId);
      const built = await build(group);
      if (!built) return;
      const epoch = mls.epochOf(group);
      const payload = built.welcome ? concat(built.commit, built.welcome) : built.commit;
      try {
        await this.ws.request('commit', { conversationId, clientMessageId: `${clientMessageId.slice(0, 20)}${attempt}`, epoch, adds: built.adds, removes: built.removes, welcomeLength: built.welcome?.length ?? 0 }, { payload, idempotent: true });
        await this.opts.store.set(`group:${conversationId}`, built.next);
        return;
      } catch (e) {
        if (e instanceof ParleyError && e.code === 'stale_epoch' && attempt < 5) {
          await this.catchUp(conversationId);
          continue;
        }
        throw e;
      }
    }
  }

  /** Apply every commit since our epoch from the server's handshake log. Caller holds the lock. */
  private async catchUp(conversationId: string): Promise<void> {
    const d = this.requireDevice();
    let group = await this.groupState(conversationId);
    const log = await this.api.listCommits(conversationId, mls.epochOf(group));
    for (const c of log.commits) {
      if (c.epoch < mls.epochOf(group)) continue;
      if (c.senderDevice === d.deviceId) continue;
      group = (await mls.applyCommit(d, group, fromB64(c.commit))).group;
      if (!mls.isActive(group)) break;
    }
    await this.opts.store.set(`group:${conversationId}`, group);
  }

  private async groupState(conversationId: string): Promise<Uint8Array> {
    const g = await this.opts.store.get<Uint8Array>(`group:${conversationId}`);
    if (!g) throw new ParleyError('conversation_not_found', { message: 'No local MLS state for this conversation.' });
    return g;
  }

  /** Refresh member accounts and roles from the server's routing table. */
  private async refreshConversation(conversationId: string): Promise<LocalConversation | undefined> {
    const d = this.requireDevice();
    const info = await this.api.getConversation(conversationId).catch(() => null);
    if (!info) return undefined;
    const now = Date.now();
    const prev = this.history.conversation(conversationId);
    const members = info.members.map((m) => m.accountId);
    const conv: LocalConversation = {
      id: conversationId,
      kind: info.kind,
      members,
      admins: info.members.filter((m) => m.role === 'admin').map((m) => m.accountId),
      createdAt: prev?.createdAt ?? info.createdAt,
      lastActivity: prev?.lastActivity ?? now,
      unread: prev?.unread ?? 0,
      active: true,
      // A chat first seen here was opened by someone else: not accepted until this account writes.
      ...(prev ? (prev.accepted !== undefined ? { accepted: prev.accepted } : {}) : { accepted: false }),
      ...(prev?.heldReceipts ? { heldReceipts: prev.heldReceipts } : {}),
      ...(prev?.name ? { name: prev.name } : {}),
    };
    if (info.kind === 'direct') {
      const peer = prev?.peer ?? members.find((a) => a !== d.accountId);
      if (peer) conv.peer = peer;
    }
    await this.history.saveConversation(conv);
    this.emit('conversation', conv);
    return conv;
  }

  // ------------------------------------------------------------------ message requests and delivered receipts (C3, C12)

  /** Whether this account accepted the chat (see `LocalConversation.accepted`). */
  private async isAccepted(conv: LocalConversation): Promise<boolean> {
    return conv.accepted ?? (await this.profiles.sharedIn(conv.id));
  }

  /**
   * Whether delivered receipts may go to this conversation now: once this account accepted it, or
   * when every other member is already a contact (a member of another active chat this account
   * accepted). A receipt goes to every member, and its timing shows when this device is online, so
   * a stranger's message request gets none until it is accepted (docs/privacy.md).
   */
  private async mayAcknowledge(conv: LocalConversation): Promise<boolean> {
    if (await this.isAccepted(conv)) return true;
    const me = this.self.accountId;
    const contacts = new Set<string>([me]);
    for (const c of this.history.conversations()) {
      if (c.id !== conv.id && c.active && (await this.isAccepted(c))) for (const m of c.members) contacts.add(m);
    }
    return conv.members.every((m) => contacts.has(m));
  }

  /** Send the delivered receipt for a received message, or hold it until the chat is accepted. */
  private async acknowledge(conv: LocalConversation | undefined, messageId: string): Promise<void> {
    // An unknown conversation (its details could not be fetched) is not known to be accepted.
    if (!conv) return;
    if (!(await this.mayAcknowledge(conv))) {
      conv.heldReceipts = [...(conv.heldReceipts ?? []), messageId].slice(-MAX_HELD_RECEIPTS);
      await this.history.saveConversation(conv);
      return;
    }
    void this.sendContent(conv.id, { type: 'receipt', receipt: 'delivered', messageIds: [messageId] }).catch((error) => this.emit('error', { error, context: 'receipt' }));
  }

  /** Record that this account accepted the chat, and send the delivered receipts held until now. */
  private async acceptConversation(conversationId: string): Promise<void> {
    const conv = this.history.conversation(conversationId);
    if (!conv || (conv.accepted === true && !conv.heldReceipts?.length)) return;
    const held = conv.heldReceipts ?? [];
    conv.accepted = true;
    delete conv.heldReceipts;
    await this.history.saveConversation(conv);
    this.emit('conversation', conv);
    if (held.length) void this.sendContent(conversationId, { type: 'receipt', receipt: 'delivered', messageIds: held }).catch((error) => this.emit('error', { error, context: 'receipt' }));
  }

  // ------------------------------------------------------------------ messages (C3)

  /** Send a text message; resolves once the server has stored it. */
  async sendText(conversationId: string, text: string): Promise<LocalMessage> {
    return this.sendRecorded(conversationId, { type: 'text', text });
  }

  /**
   * Send a file, image, voice or video note (C4): encrypted on this device with a fresh key,
   * uploaded in chunks (progress via `onProgress`, resumed from the server's offset after a failed
   * chunk), then its reference sent end-to-end encrypted. Resolves once the server stored the message.
   */
  async sendMedia(conversationId: string, input: SendMediaInput): Promise<LocalMessage> {
    this.requireDevice();
    const attachment = await prepareAttachment(this.api, input);
    const content: TextOrAttachment = { type: 'attachment', attachment, ...(input.caption ? { caption: input.caption } : {}), ...(input.callId ? { callId: input.callId } : {}) };
    return this.sendRecorded(conversationId, content);
  }

  /**
   * Download an attachment (or its thumbnail), check its size and SHA-256 digest, then decrypt it.
   * Throws `blob_digest_mismatch` for altered bytes and `blob_not_found` once the blob expired.
   */
  downloadMedia(ref: BlobRef, opts: TransferOptions = {}): Promise<Uint8Array> {
    return openBlob(this.api, ref, opts);
  }

  /** Record an outgoing message locally, send it, and record the server's answer. */
  private async sendRecorded(conversationId: string, content: TextOrAttachment): Promise<LocalMessage> {
    const d = this.requireDevice();
    // Writing in a chat accepts it: its members get our profile key (end to end, once per key).
    const members = this.history.conversation(conversationId)?.members ?? [];
    await this.profiles.shareKey(conversationId, members, (content) => this.sendContent(conversationId, content, { accept: true }));
    const clientMessageId = newClientMessageId();
    const sentAt = Date.now();
    const local: LocalMessage = { id: clientMessageId, clientMessageId, conversationId, from: d.accountId, fromDevice: d.deviceId, ...shownFields(content), sentAt, outgoing: true, status: 'sending', deliveredTo: [], readBy: [] };
    await this.history.upsertMessage(local);
    const res = await this.sendContent(conversationId, content, { clientMessageId, sentAt });
    // Writing accepted the chat; the receipts held until now follow the message, which shows the
    // other members that this device is online anyway.
    await this.acceptConversation(conversationId);
    const stored: LocalMessage = { ...local, id: res.messageId, seq: res.seq, serverTime: res.sentAt, status: 'sent' };
    await this.history.upsertMessage(stored);
    const conv = this.history.conversation(conversationId);
    if (conv) {
      conv.lastActivity = res.sentAt;
      await this.history.saveConversation(conv);
    }
    this.emit('status', stored);
    return stored;
  }

  /** Mark messages as read and tell their senders (encrypted read receipt). */
  async markRead(conversationId: string, messageIds: string[]): Promise<void> {
    if (!messageIds.length) return;
    await this.sendContent(conversationId, { type: 'receipt', receipt: 'read', messageIds });
    const conv = this.history.conversation(conversationId);
    if (conv && conv.unread) {
      conv.unread = 0;
      await this.history.saveConversation(conv);
      this.emit('conversation', conv);
    }
  }

  /**
   * Tell the senders of voice or video notes that this account played them (encrypted 'played'
   * receipt), and remember it on the local copies so a UI sends it once per note.
   */
  async markPlayed(conversationId: string, messageIds: string[]): Promise<void> {
    const d = this.requireDevice();
    if (!messageIds.length) return;
    await this.sendContent(conversationId, { type: 'receipt', receipt: 'played', messageIds });
    await this.history.updateMessages(conversationId, messageIds, (m) => {
      if (m.outgoing || !isNote(m) || m.playedBy?.includes(d.accountId)) return false;
      m.playedBy = [...(m.playedBy ?? []), d.accountId];
      return true;
    });
  }

  /** Tell the other members this device is (not) typing; never stored by the server. */
  async setTyping(conversationId: string, typing: boolean): Promise<void> {
    await this.sendContent(conversationId, { type: 'typing', typing }, { ephemeral: true });
  }

  /** Encrypt content for a conversation and hand it to the server (idempotent by client id). */
  private async sendContent(conversationId: string, content: Content, opts: { clientMessageId?: string; sentAt?: number; ephemeral?: boolean; accept?: true } = {}) {
    const d = this.requireDevice();
    const envelope: Envelope = { v: 1, content, sentAt: opts.sentAt ?? Date.now() };
    // The request is queued while the group lock is held, so messages leave in encryption order;
    // the lock does not wait for the server's answer.
    const { answer } = await this.lock.run(conversationId, async () => {
      const group = await this.groupState(conversationId);
      const r = await mls.encrypt(d, group, new TextEncoder().encode(JSON.stringify(envelope)));
      await this.opts.store.set(`group:${conversationId}`, r.next);
      return {
        answer: this.ws.request<{ messageId: string; seq: number; sentAt: number; duplicate: boolean }>(
          'send',
          { conversationId, clientMessageId: opts.clientMessageId ?? newClientMessageId(), ...(opts.ephemeral ? { ephemeral: true } : {}), ...(opts.accept ? { accept: true } : {}) },
          { payload: r.ciphertext, idempotent: !opts.ephemeral },
        ),
      };
    });
    return answer;
  }

  // ------------------------------------------------------------------ receiving

  /** Handle one delivery; acknowledges it once its effect is stored. */
  private async process(event: DeliverEvent, payload: Uint8Array): Promise<void> {
    try {
      if (!event.ephemeral && (await this.history.wasSeen(event.conversationId, event.messageId))) return;
      switch (event.kind) {
        case 'welcome':
          await this.onWelcome(event, payload);
          break;
        case 'commit':
          await this.onCommit(event, payload);
          break;
        case 'application':
          await this.onApplication(event, payload);
          break;
        default: {
          const never: never = event.kind;
          throw new Error(`unknown delivery kind ${String(never)}`);
        }
      }
      if (!event.ephemeral) await this.history.markSeen(event.conversationId, event.messageId);
    } catch (error) {
      // A delivery that cannot be processed now will not be processable later either: record it
      // and acknowledge, so one bad message does not block the queue forever.
      this.emit('error', { error, context: `deliver ${event.kind} ${event.messageId}` });
      if (!event.ephemeral) await this.history.markSeen(event.conversationId, event.messageId).catch(() => undefined);
    } finally {
      if (!event.ephemeral) {
        this.processedSinceHello++;
        this.queueAck(event.cursor);
      }
    }
  }

  /** Hand a call content to the call layer, with the sender MLS authenticated. */
  private toCalls(event: DeliverEvent, content: CallLayerContent): Promise<void> {
    return this.calls.receive(event.conversationId, { accountId: event.sender.accountId, deviceId: event.sender.deviceId }, content, { messageId: event.messageId, serverTime: event.sentAt });
  }

  private async onWelcome(event: DeliverEvent, payload: Uint8Array): Promise<void> {
    const d = this.requireDevice();
    await this.lock.run(event.conversationId, async () => {
      if (await this.opts.store.get(`group:${event.conversationId}`)) return;
      const secrets = (await this.opts.store.get<unknown[]>('kp-secrets')) ?? [];
      const joined = await mls.join(d, payload, secrets);
      await this.opts.store.set(`group:${event.conversationId}`, joined.group);
      await this.opts.store.set('kp-secrets', joined.remainingSecrets);
    });
    await this.refreshConversation(event.conversationId);
    // Another device of this account opened the chat: the account accepted it.
    if (event.sender.accountId === d.accountId) await this.acceptConversation(event.conversationId);
    void this.replenishKeyPackages().catch((error) => this.emit('error', { error, context: 'keypackages' }));
  }

  private async onCommit(event: DeliverEvent, payload: Uint8Array): Promise<void> {
    const d = this.requireDevice();
    let removedMe = false;
    await this.lock.run(event.conversationId, async () => {
      const group = await this.opts.store.get<Uint8Array>(`group:${event.conversationId}`);
      if (!group || !mls.isActive(group)) return;
      const epoch = mls.epochOf(group);
      if (event.epoch < epoch) return; // already applied while catching up
      if (event.epoch > epoch) await this.catchUp(event.conversationId);
      const current = await this.groupState(event.conversationId);
      if (mls.epochOf(current) !== event.epoch) return;
      const applied = await mls.applyCommit(d, current, payload);
      removedMe = applied.selfRemoved;
      await this.opts.store.set(`group:${event.conversationId}`, applied.group);
    });
    if (removedMe) {
      const conv = this.history.conversation(event.conversationId);
      if (conv) {
        conv.active = false;
        await this.history.saveConversation(conv);
        this.emit('conversation', conv);
      }
    } else await this.refreshConversation(event.conversationId);
  }

  private async onApplication(event: DeliverEvent, payload: Uint8Array): Promise<void> {
    const d = this.requireDevice();
    const plain = await this.lock.run(event.conversationId, async () => {
      let group = await this.opts.store.get<Uint8Array>(`group:${event.conversationId}`);
      if (!group) throw new ParleyError('conversation_not_found', { message: 'message for an unknown group' });
      if (event.epoch > mls.epochOf(group)) {
        await this.catchUp(event.conversationId);
        group = await this.groupState(event.conversationId);
      }
      const r = await mls.decrypt(d, group, payload);
      await this.opts.store.set(`group:${event.conversationId}`, r.next);
      return r;
    });
    const parsed = envelopeSchema.safeParse(JSON.parse(new TextDecoder().decode(plain.plaintext)));
    if (!parsed.success) throw new ParleyError('bad_request', { message: 'undecodable content' });
    const { content, sentAt } = parsed.data;
    const from = event.sender.accountId;
    switch (content.type) {
      case 'text':
      case 'attachment':
      case 'call-log': {
        const m: LocalMessage = {
          id: event.messageId, conversationId: event.conversationId, from, fromDevice: event.sender.deviceId, ...shownFields(content),
          sentAt, serverTime: event.sentAt, seq: event.seq, outgoing: from === d.accountId, status: from === d.accountId ? 'sent' : 'delivered', deliveredTo: [], readBy: [],
        };
        await this.history.upsertMessage(m);
        const conv = this.history.conversation(event.conversationId) ?? (await this.refreshConversation(event.conversationId));
        if (conv) {
          conv.lastActivity = Math.max(conv.lastActivity, event.sentAt);
          if (from !== d.accountId) conv.unread++;
          await this.history.saveConversation(conv);
          this.emit('conversation', conv);
        }
        this.emit('message', m);
        // Another device of this account wrote here: the account accepted the chat.
        if (from === d.accountId) await this.acceptConversation(event.conversationId);
        else await this.acknowledge(conv, event.messageId);
        if (content.type === 'call-log') await this.toCalls(event, content);
        break;
      }
      case 'call':
      case 'call-key':
      case 'reaction':
        // Call signalling, frame keys and reactions go to the call layer, never into the chat.
        await this.toCalls(event, content);
        break;
      case 'receipt': {
        if (from === d.accountId) break;
        const changed = await this.history.updateMessages(event.conversationId, content.messageIds, (m) => {
          if (!m.outgoing) return false;
          // Only voice and video notes are played; playing one implies it was delivered and read.
          if (content.receipt === 'played' && !isNote(m)) return false;
          const list = content.receipt === 'played' ? (m.playedBy ??= []) : content.receipt === 'read' ? m.readBy : m.deliveredTo;
          if (list.includes(from)) return false;
          list.push(from);
          if (content.receipt === 'played' && !m.readBy.includes(from)) m.readBy.push(from);
          if (content.receipt !== 'delivered' && !m.deliveredTo.includes(from)) m.deliveredTo.push(from);
          m.status = m.readBy.length ? 'read' : 'delivered';
          return true;
        });
        this.emit('receipt', { conversationId: event.conversationId, from, receipt: content.receipt, messageIds: content.messageIds });
        for (const m of changed) this.emit('status', m);
        break;
      }
      case 'typing':
        this.emit('typing', { conversationId: event.conversationId, from, typing: content.typing });
        break;
      case 'profile-key':
        if (from === d.accountId) break;
        await this.profiles.rememberKey(from, content.key, content.version, sentAt);
        this.emit('profile-key', { accountId: from, conversationId: event.conversationId, version: content.version });
        break;
      case 'group-meta': {
        const conv = this.history.conversation(event.conversationId) ?? (await this.refreshConversation(event.conversationId));
        if (conv) {
          conv.name = content.name;
          await this.history.saveConversation(conv);
          this.emit('conversation', conv);
        }
        break;
      }
      case 'leave': {
        const conv = this.history.conversation(event.conversationId);
        if (conv?.admins.includes(d.accountId) && from !== d.accountId) {
          void this.removeMember(event.conversationId, from).catch((error) => this.emit('error', { error, context: 'remove leaver' }));
        }
        break;
      }
      default: {
        const never: never = content;
        throw new Error(`unknown content ${JSON.stringify(never)}`);
      }
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** A voice or video note: the only messages that get 'played' receipts. */
function isNote(m: LocalMessage): boolean {
  return m.attachment?.kind === 'voice' || m.attachment?.kind === 'video';
}

type TextOrAttachment = Extract<Content, { type: 'text' | 'attachment' | 'call-log' }>;

/**
 * What a chat shows of a message: an attachment is a message like a text, its caption the text; a
 * call-log entry has no text and carries the call's outcome.
 */
function shownFields(content: TextOrAttachment): Pick<LocalMessage, 'text' | 'attachment' | 'callId' | 'callLog'> {
  if (content.type === 'text') return { text: content.text };
  if (content.type === 'call-log') {
    const { type: _type, ...callLog } = content;
    return { text: '', callId: content.callId, callLog };
  }
  return { text: content.caption ?? '', attachment: content.attachment, ...(content.callId ? { callId: content.callId } : {}) };
}
