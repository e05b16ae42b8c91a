/**
 * The storage interfaces (C19): one repository per entity (`Storage` lists them), each with two
 * drivers, SQLite (embedded default) and PostgreSQL (scale-out). Every method is async so both
 * drivers share it; every multi-row write is atomic. Stores never call actions and never emit
 * events: that is the actions layer's job. The conformance suite in
 * `test/storage.conformance.test.ts` runs every entity unchanged on both drivers.
 *
 * Byte columns are `Uint8Array`; times are milliseconds since the epoch (numbers).
 */

import type { AdminStore } from './admin.ts';
import type { BusinessStore } from './business.ts';
import type { PushStore } from './push.ts';
import type { BusinessMessageStore } from './business-messages.ts';
import type { BusinessRuleStore } from './business-rules.ts';
import type { BusinessTemplateStore } from './business-templates.ts';
import type { BusinessMediaStore } from './business-media.ts';

export type { AdminRow, AdminStore, AuditFields, AuditRow, ServerCounts } from './admin.ts';
export type { BusinessNumberRow, BusinessProfile, BusinessRow, BusinessStore, BusinessTokenRow } from './business.ts';
export type { PushStore, PushSubscriptionRow, PutPushResult } from './push.ts';
export type { BusinessMessageStore, WebhookJobRow, WebhookJobState } from './business-messages.ts';
export type { BusinessTemplateStore, TemplateFilter, TemplateRow } from './business-templates.ts';
export type { BusinessMediaRow, BusinessMediaStore } from './business-media.ts';

/** Who sees a profile field or presence. */
export type VisibilityValue = 'everyone' | 'contacts' | 'nobody';

/** A stored profile: ciphertext fields (see docs/profiles.md). */
export interface ProfileRow {
  accountId: string;
  version: number;
  name: Uint8Array | null;
  about: Uint8Array | null;
  photo: Uint8Array | null;
  /** Fields encrypted under `openKey` (readable by anyone who may fetch them). */
  openFields: ('about' | 'photo')[];
  openKey: Uint8Array | null;
  updatedAt: number;
}

/** Visibility of photo, about, last seen and online. */
export interface PrivacyRow {
  accountId: string;
  photo: VisibilityValue;
  about: VisibilityValue;
  lastSeen: VisibilityValue;
  online: VisibilityValue;
}

/** Domain errors a store throws; the actions layer maps them to catalogue codes. */
export class StorageConflict extends Error {
  constructor(
    readonly code:
      | 'key_reused'
      | 'stale_epoch'
      | 'member_conflict'
      | 'conversation_exists'
      | 'phone_taken'
      | 'not_found'
      | 'quota_exceeded'
      | 'uploads_exceeded'
      | 'offset_mismatch'
      | 'username_taken',
    message?: string,
  ) {
    super(message ?? code);
    this.name = 'StorageConflict';
  }
}

/** One KeyPackage handed out by `claimKeyPackages`. */
export interface ClaimedKeyPackage {
  deviceId: string;
  data: Uint8Array;
  /** True for the device's last-resort KeyPackage, which stays stored. */
  lastResort: boolean;
}

/** The outcome of `claimKeyPackages`: every device's KeyPackage, or the first device that had none (and nothing was claimed). */
export type KeyPackageClaim =
  { keyPackages: ClaimedKeyPackage[]; exhausted?: undefined } | { exhausted: string; keyPackages?: undefined };

export interface AccountRow {
  id: string;
  phone: string;
  identityKey: Uint8Array;
  /** scrypt hash of the registration-lock PIN, or null. */
  pinHash: string | null;
  discoverable: boolean;
  createdAt: number;
}

export interface DeviceRow {
  id: string;
  accountId: string;
  name: string;
  signingKey: Uint8Array;
  signingKeyCert: Uint8Array;
  /** SHA-256 of the bearer token; the token itself is never stored. */
  tokenHash: Uint8Array;
  createdAt: number;
  /** Set when the device was unlinked or replaced by a re-registration. */
  revokedAt: number | null;
}

/** A server secret's value as the database holds it, and the id of the key it is sealed under. */
export interface SealedSecret {
  value: Uint8Array;
  /** Id of the key-encryption key (services/secret-key.ts); null for a value stored in clear by an older version. */
  keyId: string | null;
}

/** A row of `server_secrets`. */
export interface StoredSecret extends SealedSecret {
  name: string;
}

/**
 * One code request (C1): the code sent to `phone`, bound to the session id the requester got back.
 * Several may be pending for one number (one per request), each with its own attempt count.
 */
export interface VerificationSessionRow {
  id: string;
  phone: string;
  codeHash: string;
  expiresAt: number;
  /** Wrong codes tried under this session. */
  attempts: number;
  createdAt: number;
}

/** A public key recorded so no device, account or KeyPackage can ever reuse it (C13). */
export interface PublicKeyClaim {
  key: Uint8Array;
  purpose: 'identity' | 'signing' | 'init' | 'encryption';
  deviceId: string | null;
  accountId: string;
}

export interface KeyPackageInput {
  data: Uint8Array;
  initKey: Uint8Array;
  encryptionKey: Uint8Array;
}

export interface ConversationRow {
  id: string;
  kind: 'direct' | 'group';
  /** Current MLS epoch as accepted by the server (number of accepted commits). */
  epoch: number;
  createdAt: number;
  createdBy: string;
}

export interface MemberRow {
  conversationId: string;
  accountId: string;
  role: 'admin' | 'member';
}

export interface ConversationDeviceRow {
  conversationId: string;
  deviceId: string;
  accountId: string;
}

export type MessageKind = 'application' | 'commit' | 'welcome';

export interface MessageRow {
  id: string;
  conversationId: string;
  /** Position in the conversation, 1-based, gap-free over stored messages. */
  seq: number;
  kind: MessageKind;
  epoch: number;
  senderAccount: string;
  senderDevice: string;
  clientMessageId: string;
  payload: Uint8Array;
  sentAt: number;
}

/** One message to store (its seq is assigned by the store) and the devices whose queues receive it. */
export interface NewMessage extends Omit<MessageRow, 'seq'> {
  recipients: string[];
  /**
   * A disappearing message's expiry (C17, ms since the epoch): `expireMessages` deletes its
   * ciphertext and queue entries then.
   */
  expiresAt?: number;
}

export interface AppendResult {
  /** The stored message: the new one, or the earlier one with the same sender device + clientMessageId. */
  message: Omit<MessageRow, 'payload'>;
  duplicate: boolean;
  /** Queue entries created (empty for a duplicate). */
  deliveries: { deviceId: string; cursor: number }[];
}

export interface PendingDelivery {
  cursor: number;
  message: MessageRow;
}

export interface CommitInput {
  conversationId: string;
  /** The epoch the commit was built on; must equal the stored epoch or StorageConflict('stale_epoch'). */
  expectedEpoch: number;
  commit: NewMessage;
  /** Welcome for the added devices (stored as its own message of kind 'welcome'). */
  welcome: NewMessage | null;
  adds: { accountId: string; deviceId: string }[];
  removes: string[];
}

export interface CommitResult {
  /** Same shape as appendMessages: duplicate true when this clientMessageId was already accepted. */
  commit: AppendResult;
  welcome: AppendResult | null;
  epoch: number;
}

/**
 * An encrypted blob, or an upload that will become one (C4). The server knows its size, the SHA-256
 * of its ciphertext and who uploaded it; never its key, type or content.
 */
export interface MediaBlobRow {
  id: string;
  ownerAccount: string;
  state: 'uploading' | 'complete';
  /** Declared ciphertext size (what counts against the owner's quota from the start). */
  size: number;
  /** Declared SHA-256 of the ciphertext, checked when the upload is finished. */
  digest: Uint8Array;
  /** Bytes received so far; equals `size` once complete. */
  received: number;
  createdAt: number;
  completedAt: number | null;
  /** After this instant the sweeper deletes it (an unfinished upload, or a blob nobody fetched). */
  expiresAt: number;
  lastFetchedAt: number | null;
  /**
   * The expiry of the disappearing message the blob goes with (C17): `expiresAt` never passes it,
   * whatever downloads do. Absent or null for ordinary media.
   */
  disappearsAt?: number | null;
}

/** One received chunk of an upload, stored in the blob store under `objectKey`. */
export interface MediaPartRow {
  blobId: string;
  offset: number;
  length: number;
  objectKey: string;
}

/**
 * The whole store: lifecycle, and one repository per entity. Each entity's methods touch its own
 * tables (a transaction may also update rows it owns elsewhere, as revoking a device drops its
 * queue), so a new capability adds an entity here rather than methods to a shared god object.
 */
export interface Storage {
  /** Which driver this is, for logs and metrics. */
  readonly driver: 'sqlite' | 'postgres';
  /** Create or upgrade the schema; safe to call on every start. */
  migrate(): Promise<void>;
  /** Release connections and helpers; calling it again is harmless. */
  close(): Promise<void>;
  /** One trivial query, to prove the database answers (readiness, C19); throws when it does not. */
  ping(): Promise<void>;

  /** Code requests, accounts, devices, public keys and KeyPackages (C1, C2, C13). */
  readonly accounts: AccountStore;
  /** Conversations, membership, the handshake log, messages and per-device queues (C2, C3). */
  readonly conversations: ConversationStore;
  /** Encrypted blobs and uploads in progress (C4). */
  readonly media: MediaStore;
  /** Server secrets, sealed under a key kept outside the database. */
  readonly secrets: SecretStore;
  /** Contact discovery index, lookup quotas and usernames (C12). */
  readonly discovery: DiscoveryStore;
  /** Encrypted profiles, privacy settings, contacts and last seen (C12). */
  readonly profiles: ProfileStore;
  /** The append-only key-transparency log and its signed heads (C13). */
  readonly keyTransparency: KeyTransparencyStore;
  /** Staff accounts and the append-only audit log (C14, docs/admin.md). */
  readonly admin: AdminStore;
  /** Block lists and reports filed by users (C15, docs/privacy.md). */
  readonly safety: SafetyStore;
  /** Business accounts: numbers, API tokens and profiles (C10, docs/business.md). */
  readonly business: BusinessStore;
  /** Web Push subscriptions, one per device (C18, docs/notifications.md). */
  readonly push: PushStore;
  /** Hosted business devices' sealed state and the webhook queue and log (C10, docs/business.md). */
  readonly businessMessages: BusinessMessageStore;
  /** Customer-service windows and marketing opt-outs per business number and user (C10). */
  readonly businessRules: BusinessRuleStore;
  /** Businesses' message templates and their review (C10, docs/business.md "Templates"). */
  readonly businessTemplates: BusinessTemplateStore;
  /** Media businesses uploaded through the Business API (C10, docs/business.md "Media"). */
  readonly businessMedia: BusinessMediaStore;
}

/** State of a link session (docs/devices.md): open → joined → approved → delivered. */
export type LinkState = 'open' | 'joined' | 'approved' | 'delivered';

/** A link session: what the server relays between an existing device and the one it links. */
export interface LinkSessionRow {
  id: string;
  accountId: string;
  /** The existing device that opened it; only it may read and approve it. */
  deviceId: string;
  state: LinkState;
  ephemeralKey: Uint8Array | null;
  request: Uint8Array | null;
  tokenHash: Uint8Array | null;
  newDeviceId: string | null;
  reply: Uint8Array | null;
  createdAt: number;
  expiresAt: number;
}

/** An account's device list as its identity key signed it (entries as JSON text). */
export interface DeviceListRow {
  accountId: string;
  identityKey: Uint8Array;
  version: number;
  issuedAt: number;
  devices: { deviceId: string; signingKey: string }[];
  signature: Uint8Array;
}

/** What `approveLinkSession` did: the device was added, or why not. */
export type LinkApproval = { ok: true } | { ok: false; reason: 'expired' | 'not_joined' | 'used' | 'device_limit' };

/** Code requests, accounts and devices, public keys and KeyPackages (C1, C2, C13). */
export interface AccountStore {
  // ----- verification sessions (C1)
  /** Insert a new code request; other pending requests for the same number are left alone. */
  putVerificationSession(row: VerificationSessionRow): Promise<void>;
  getVerificationSession(id: string): Promise<VerificationSessionRow | null>;
  /** Add one wrong code to this session only; returns the new count (0 when the session is gone). */
  incrementVerificationAttempts(id: string): Promise<number>;
  deleteVerificationSession(id: string): Promise<void>;
  /** Delete every session that expired before `now`; returns how many. */
  deleteExpiredVerificationSessions(now: number): Promise<number>;

  // ----- accounts and devices (C1)
  /**
   * Create an account with its first device, or (when an account with this phone exists) replace
   * its identity key, revoke all its devices and add the new one. Claims the identity and signing
   * keys atomically: StorageConflict('key_reused') if either was ever used by another account.
   * `revokedDeviceIds` lists the devices this revoked (as `revokeDevices` does), none for a new account.
   */
  registerAccount(input: {
    account: AccountRow;
    device: DeviceRow;
  }): Promise<{ account: AccountRow; device: DeviceRow; newAccount: boolean; revokedDeviceIds: string[] }>;
  getAccount(id: string): Promise<AccountRow | null>;
  getAccountByPhone(phone: string): Promise<AccountRow | null>;
  setAccountPin(accountId: string, pinHash: string | null): Promise<void>;
  /** Add a further (linked) device to an account; claims its signing key. */
  addDevice(device: DeviceRow): Promise<void>;
  getDevice(id: string): Promise<DeviceRow | null>;
  getDeviceByTokenHash(tokenHash: Uint8Array): Promise<DeviceRow | null>;
  /** Active (not revoked) devices of an account, oldest first. */
  listDevices(accountId: string): Promise<DeviceRow[]>;
  /**
   * Revoke active devices of an account in one transaction: all of them (`deviceIds` null) or those
   * listed (ids of other accounts or already revoked are ignored). A revoked device stops
   * authenticating and leaves every conversation; its queue and KeyPackages are deleted. Returns
   * the ids revoked by this call.
   */
  revokeDevices(accountId: string, deviceIds: readonly string[] | null, at: number): Promise<string[]>;
  /** Those of `deviceIds` that are revoked or do not exist (the rest are active). */
  inactiveDevices(deviceIds: readonly string[]): Promise<string[]>;

  // ----- linked devices (C1, docs/devices.md)
  /** Store a new link session (state `open`), first deleting every expired one. */
  createLinkSession(row: LinkSessionRow): Promise<void>;
  getLinkSession(id: string): Promise<LinkSessionRow | null>;
  /**
   * The new device's answer, taken once: `open` → `joined` with its key, sealed request and token
   * hash. 'expired' for an unknown or expired session, 'used' when another device answered first.
   */
  joinLinkSession(
    id: string,
    join: { ephemeralKey: Uint8Array; request: Uint8Array; tokenHash: Uint8Array },
    now: number,
  ): Promise<'joined' | 'expired' | 'used'>;
  /**
   * In one transaction: check the session is `joined` and unexpired and that the account has fewer
   * than `maxDevices` active devices, claim the device's signing key (StorageConflict 'key_reused'),
   * add the device with the token hash the new device chose, and keep the sealed reply.
   */
  approveLinkSession(
    id: string,
    device: Omit<DeviceRow, 'tokenHash'>,
    reply: Uint8Array,
    maxDevices: number,
    now: number,
  ): Promise<LinkApproval>;
  /** Hand the reply over once (`approved` → `delivered`, the reply dropped). */
  deliverLinkReply(id: string): Promise<void>;
  /** Delete a session (cancelled by its device). */
  deleteLinkSession(id: string): Promise<void>;
  /** Delete every link session that expired before `now`; returns how many. */
  deleteExpiredLinkSessions(now: number): Promise<number>;
  /** The stored device list of an account, if any. */
  getDeviceList(accountId: string): Promise<DeviceListRow | null>;
  /** Store a device list if its version is higher than the stored one's; false otherwise. */
  putDeviceList(row: DeviceListRow): Promise<boolean>;

  // ----- public keys and KeyPackages (C2, C13)
  /** True if any of these keys was claimed before. */
  anyPublicKeyUsed(keys: Uint8Array[]): Promise<boolean>;
  /**
   * Store KeyPackages for a device and claim their init and encryption keys, all or nothing:
   * StorageConflict('key_reused') when any key was claimed before (by anyone, including this device).
   * A new last-resort KeyPackage replaces the previous one.
   */
  addKeyPackages(
    deviceId: string,
    accountId: string,
    oneTime: KeyPackageInput[],
    lastResort: KeyPackageInput | null,
  ): Promise<void>;
  countKeyPackages(deviceId: string): Promise<{ available: number; lastResort: boolean }>;
  /**
   * Claim one KeyPackage for each device, all or nothing, in one transaction: a one-time KeyPackage
   * (removed) where one is left, else the last-resort one (returned, not removed). When a device has
   * neither, nothing at all is removed and the answer names that device.
   */
  claimKeyPackages(deviceIds: string[]): Promise<KeyPackageClaim>;
}

/** Conversations, membership and the handshake log (C2); messages and per-device queues (C3). */
export interface ConversationStore {
  // ----- conversations (C2)
  /** StorageConflict('conversation_exists') if the id is taken. The creator becomes admin. */
  createConversation(row: ConversationRow, creatorDeviceId: string): Promise<void>;
  getConversation(id: string): Promise<ConversationRow | null>;
  /** Conversations the device currently belongs to. */
  listConversationsForDevice(deviceId: string): Promise<ConversationRow[]>;
  listMembers(conversationId: string): Promise<MemberRow[]>;
  listConversationDevices(conversationId: string): Promise<ConversationDeviceRow[]>;
  isDeviceInConversation(conversationId: string, deviceId: string): Promise<boolean>;
  setRole(conversationId: string, accountId: string, role: 'admin' | 'member'): Promise<void>;
  /**
   * Accept one commit atomically: check the epoch, store commit (+ welcome), apply adds/removes
   * (an account with no device left stops being a member; a newly added account becomes 'member'),
   * bump the epoch, enqueue deliveries. Idempotent on (sender device, clientMessageId): a retried
   * commit that was already accepted returns the original with duplicate=true and no epoch check.
   * Throws StorageConflict('stale_epoch') or ('member_conflict').
   */
  applyCommit(input: CommitInput): Promise<CommitResult>;
  /** Commits with epoch >= sinceEpoch, in epoch order (the handshake log). */
  listCommits(conversationId: string, sinceEpoch: number): Promise<MessageRow[]>;
  /** Drop an account's devices from a conversation without a commit (leaving); returns removed device ids. */
  removeAccountFromConversation(conversationId: string, accountId: string): Promise<string[]>;

  // ----- messages and queues (C3)
  /**
   * Store a batch of application messages in one transaction (group commit), assigning per-conversation
   * seq in batch order and enqueueing one delivery per recipient. Idempotent per (sender device,
   * clientMessageId). Results are in input order.
   */
  appendMessages(batch: NewMessage[]): Promise<AppendResult[]>;
  /** Un-acknowledged deliveries for a device with cursor > afterCursor, oldest first. */
  pendingDeliveries(deviceId: string, afterCursor: number, limit: number): Promise<PendingDelivery[]>;
  /** Queue entries waiting for any device: the metrics' queue depth, read at scrape time (a full count, so not on a hot path). */
  countAllPendingDeliveries(): Promise<number>;
  /**
   * Disappearing messages (C17): for up to `limit` messages whose expiry is at or before `now`,
   * delete their queue entries, wipe their ciphertext (the row stays, so a resent client message
   * id is still recognised) and forget the expiry. Returns how many messages and queue entries
   * went. Idempotent, so several processes may sweep at once.
   */
  expireMessages(now: number, limit: number): Promise<{ messages: number; deliveries: number }>;
  countPendingDeliveries(deviceId: string): Promise<number>;
  /** Delete acknowledged deliveries (only the device's own); returns how many were removed. */
  ackDeliveries(deviceId: string, cursors: number[]): Promise<number>;
}

/** Encrypted blobs and uploads in progress (C4). */
export interface MediaStore {
  /**
   * Record a new upload, atomically with the quota checks: StorageConflict('quota_exceeded') when the
   * owner's bytes (see mediaBytesUsed) plus `row.size` would exceed `quotaBytes`,
   * StorageConflict('uploads_exceeded') when the owner already has `maxUploads` unfinished uploads
   * that have not expired (as of `row.createdAt`).
   */
  createMediaUpload(row: MediaBlobRow, quotaBytes: number, maxUploads: number): Promise<void>;
  getMediaBlob(id: string): Promise<MediaBlobRow | null>;
  /** Bytes an account holds: finished blobs plus the declared size of its uploads in progress. */
  mediaBytesUsed(accountId: string): Promise<number>;
  /** An upload's recorded parts, in offset order. */
  listMediaParts(blobId: string): Promise<MediaPartRow[]>;
  /** Blobs and uploads whose expiry is at or before `now`, soonest first. */
  listExpiredMedia(now: number, limit: number): Promise<MediaBlobRow[]>;
  /**
   * Record one received chunk and move the upload's expiry to `expiresAt`, only while the upload
   * is in progress with exactly `part.offset` bytes received: StorageConflict('offset_mismatch')
   * otherwise (nothing changes then). Returns the new number of bytes received.
   */
  addMediaPart(part: MediaPartRow, expiresAt: number): Promise<number>;
  /**
   * Turn a fully received upload into a blob (state, completion time, expiry) and drop its part
   * rows. False when it was not in progress (already finished, or gone).
   */
  completeMediaUpload(id: string, completedAt: number, expiresAt: number): Promise<boolean>;
  /** Record a download: the fetch time, and an expiry that is never moved earlier. */
  touchMediaBlob(id: string, fetchedAt: number, expiresAt: number): Promise<void>;
  /**
   * Delete a blob or upload with its part rows; with `expiredAt`, only if it is still expired at
   * that instant (a download may have extended it meanwhile). Returns what was deleted, or null.
   */
  deleteMediaBlob(
    id: string,
    opts?: { expiredAt?: number },
  ): Promise<{ blob: MediaBlobRow; parts: MediaPartRow[] } | null>;
}

/** Server secrets (services/secrets.ts), sealed under a key kept outside the database. */
export interface SecretStore {
  /** The named server secret as stored; the first caller's `make()` wins, so every process gets the same row. */
  getOrCreateSecret(name: string, make: () => SealedSecret, now: number): Promise<StoredSecret>;
  /** Every stored server secret (sealed, or in clear when written before secrets were encrypted). */
  listSecrets(): Promise<StoredSecret[]>;
  /**
   * Replace a secret's stored value only while it is still stored under `fromKeyId` (null: in
   * clear); returns whether it did, so processes rewriting it together do it once.
   */
  replaceSecret(name: string, fromKeyId: string | null, to: SealedSecret): Promise<boolean>;
  /**
   * After `replaceSecret`: leave no copy of a replaced value in the database's files (SQLite: the
   * replaced bytes were zeroed, and the WAL is checkpointed and truncated; PostgreSQL: the table is
   * rewritten, so dead row versions go with the old file).
   */
  purgeReplacedSecrets(): Promise<void>;
}

/** Contact discovery (C12): the index of discoverable accounts, lookup quotas, and usernames. */
export interface DiscoveryStore {
  /**
   * Set who can find an account by number: with a tag the account becomes discoverable under it,
   * with null its index entry is removed. One transaction with the account's flag.
   */
  setDiscoverable(accountId: string, tag: Uint8Array | null): Promise<void>;
  /** Discoverable accounts that have no index entry yet (after an upgrade or a key change). */
  listUnindexedDiscoverable(limit: number): Promise<{ accountId: string; phone: string }[]>;
  /** The discoverable accounts among `tags` (tags of numbers nobody registered, or hidden, are absent). */
  findDiscoverable(tags: Uint8Array[]): Promise<{ tag: Uint8Array; accountId: string }[]>;
  /** How many distinct numbers the account has looked up so far. */
  discoveryUsed(accountId: string): Promise<number>;
  /** How many of `digests` the account has not looked up before. */
  discoveryFresh(accountId: string, digests: Uint8Array[]): Promise<number>;
  /**
   * Record a lookup atomically with the quota check: counts the digests not seen before and, when
   * used + fresh <= allowance, stores them and adds `fresh` to the day's global count. Over the
   * allowance nothing is written.
   */
  recordDiscoveryLookup(
    accountId: string,
    digests: Uint8Array[],
    day: number,
    allowance: number,
  ): Promise<{ allowed: boolean; used: number; fresh: number }>;
  /** Global lookups of unseen numbers per day, for days in [fromDay, toDay]. Days without lookups are absent. */
  discoveryDays(fromDay: number, toDay: number): Promise<Map<number, number>>;

  // ----- usernames (C12)
  /** Give an account a username (its keyed hash), replacing its old one; null removes it. StorageConflict('username_taken') when another account holds it. */
  setUsername(accountId: string, keyedHash: Uint8Array | null): Promise<void>;
  /** The account holding exactly this keyed hash, if any. */
  findUsername(keyedHash: Uint8Array): Promise<string | null>;
  /** Whether an account has a username. */
  hasUsername(accountId: string): Promise<boolean>;
}

/** Profiles and presence visibility (C12). */
export interface ProfileStore {
  putProfile(row: ProfileRow): Promise<void>;
  getProfile(accountId: string): Promise<ProfileRow | null>;
  /** Visibility settings, each `contacts` until set. */
  getPrivacy(accountId: string): Promise<PrivacyRow>;
  setPrivacy(accountId: string, changes: Partial<Omit<PrivacyRow, 'accountId'>>): Promise<PrivacyRow>;
  /** Record that an account sent something in a conversation (it accepted the chat). Idempotent. */
  noteAccepted(accountId: string, conversationId: string): Promise<void>;
  /** True when `viewer` is a current member of a conversation `owner` has accepted. */
  isContact(owner: string, viewer: string): Promise<boolean>;
  setLastSeen(accountId: string, at: number): Promise<void>;
  getLastSeen(accountId: string): Promise<number | null>;
}

/** The key-transparency log (C13, docs/key-transparency.md); append-only: no update or delete path. */
export interface KeyTransparencyStore {
  /**
   * Append a binding at the next index, its version one more than the label's newest (1 for a new
   * label). Appends from several processes are serialised; returns the stored leaf.
   */
  appendKtLeaf(input: { label: Uint8Array; identityKey: Uint8Array; time: number }): Promise<KtLeafRow>;
  /** Leaves with index >= `from`, in index order, at most `limit`. */
  listKtLeaves(from: number, limit: number): Promise<KtLeafRow[]>;
  /** Number of leaves in the log. */
  ktLeafCount(): Promise<number>;
  /** The newest binding of a label, or null. */
  latestKtLeaf(label: Uint8Array): Promise<KtLeafRow | null>;
  /** Store a signed head unless one of that size exists; returns the stored head of that size. */
  putKtHead(head: KtHeadRow): Promise<KtHeadRow>;
  latestKtHead(): Promise<KtHeadRow | null>;
  getKtHead(treeSize: number): Promise<KtHeadRow | null>;
  /** Heads with treeSize >= `fromSize`, smallest first, at most `limit`. */
  listKtHeads(fromSize: number, limit: number): Promise<KtHeadRow[]>;
  /** Accounts whose current identity key has no leaf in the log (after an upgrade or a crash). */
  listUnloggedAccounts(limit: number): Promise<{ accountId: string; identityKey: Uint8Array }[]>;
}

/** One leaf of the key-transparency log: a hidden label bound to an identity key. */
export interface KtLeafRow {
  index: number;
  label: Uint8Array;
  identityKey: Uint8Array;
  version: number;
  time: number;
}

/** A signed tree head of the key-transparency log. */
export interface KtHeadRow {
  treeSize: number;
  rootHash: Uint8Array;
  timestamp: number;
  signature: Uint8Array;
}

/** One entry of an account's block list. */
export interface BlockRow {
  accountId: string;
  blockedAccountId: string;
  createdAt: number;
}

/** A report as stored: who reported whom, where, why, and the messages the reporter included. */
export interface ReportRow {
  id: string;
  reporterAccount: string;
  reportedAccount: string;
  conversationId: string | null;
  category: string;
  reason: string;
  messages: { messageId: string; sender: string; sentAt: number; text: string }[];
  createdAt: number;
}

/** Block lists and reports (C15). */
export interface SafetyStore {
  /** Add `blocked` to `accountId`'s list (idempotent: an existing entry keeps its time); false when the list is full. */
  block(row: BlockRow, maxEntries: number): Promise<boolean>;
  /** Remove `blocked` from `accountId`'s list; true when it was there. */
  unblock(accountId: string, blocked: string): Promise<boolean>;
  /** `accountId`'s block list, newest first. */
  listBlocked(accountId: string): Promise<BlockRow[]>;
  /** The accounts among `candidates` that have blocked `sender`. */
  blockersOf(sender: string, candidates: readonly string[]): Promise<string[]>;
  putReport(row: ReportRow): Promise<void>;
  /** Reports filed by `reporter` since `since` (for the daily limit). */
  countReportsBy(reporter: string, since: number): Promise<number>;
  /** Reports newest first, created before `before` (a page of at most `limit`), without their messages. */
  listReports(before: number, limit: number): Promise<Omit<ReportRow, 'messages'>[]>;
  getReport(id: string): Promise<ReportRow | null>;
}
