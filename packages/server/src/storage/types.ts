/**
 * The storage interface (C19): one repository contract with two drivers, SQLite (embedded default)
 * and PostgreSQL (scale-out). Every method is async so both drivers share it; every multi-row write
 * is atomic. Stores never call actions and never emit events: that is the actions layer's job.
 * The conformance suite in `test/storage.conformance.test.ts` runs unchanged on both drivers.
 *
 * Byte columns are `Uint8Array`; times are milliseconds since the epoch (numbers).
 */

/** Domain errors a store throws; the actions layer maps them to catalogue codes. */
export class StorageConflict extends Error {
  constructor(readonly code: 'key_reused' | 'stale_epoch' | 'member_conflict' | 'conversation_exists' | 'phone_taken' | 'not_found' | 'quota_exceeded' | 'offset_mismatch', message?: string) {
    super(message ?? code);
    this.name = 'StorageConflict';
  }
}

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

export interface VerificationCodeRow {
  phone: string;
  codeHash: string;
  expiresAt: number;
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
}

/** One received chunk of an upload, stored in the blob store under `objectKey`. */
export interface MediaPartRow {
  blobId: string;
  offset: number;
  length: number;
  objectKey: string;
}

export interface Storage {
  /** Which driver this is, for logs and metrics. */
  readonly driver: 'sqlite' | 'postgres';
  /** Create or upgrade the schema; safe to call on every start. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  // ----- verification codes (C1)
  /** Insert or replace the pending code for a number. */
  putVerificationCode(row: VerificationCodeRow): Promise<void>;
  getVerificationCode(phone: string): Promise<VerificationCodeRow | null>;
  /** Add one failed attempt; returns the new count. */
  incrementVerificationAttempts(phone: string): Promise<number>;
  deleteVerificationCode(phone: string): Promise<void>;

  // ----- accounts and devices (C1)
  /**
   * Create an account with its first device, or (when an account with this phone exists) replace
   * its identity key, revoke all its devices and add the new one. Claims the identity and signing
   * keys atomically: StorageConflict('key_reused') if either was ever used by another account.
   */
  registerAccount(input: { account: AccountRow; device: DeviceRow }): Promise<{ account: AccountRow; device: DeviceRow; newAccount: boolean }>;
  getAccount(id: string): Promise<AccountRow | null>;
  getAccountByPhone(phone: string): Promise<AccountRow | null>;
  setAccountPin(accountId: string, pinHash: string | null): Promise<void>;
  /** Add a further (linked) device to an account; claims its signing key. */
  addDevice(device: DeviceRow): Promise<void>;
  getDevice(id: string): Promise<DeviceRow | null>;
  getDeviceByTokenHash(tokenHash: Uint8Array): Promise<DeviceRow | null>;
  /** Active (not revoked) devices of an account, oldest first. */
  listDevices(accountId: string): Promise<DeviceRow[]>;

  // ----- public keys and KeyPackages (C2, C13)
  /** True if any of these keys was claimed before. */
  anyPublicKeyUsed(keys: Uint8Array[]): Promise<boolean>;
  /**
   * Store KeyPackages for a device and claim their init and encryption keys, all or nothing:
   * StorageConflict('key_reused') when any key was claimed before (by anyone, including this device).
   * A new last-resort KeyPackage replaces the previous one.
   */
  addKeyPackages(deviceId: string, accountId: string, oneTime: KeyPackageInput[], lastResort: KeyPackageInput | null): Promise<void>;
  countKeyPackages(deviceId: string): Promise<{ available: number; lastResort: boolean }>;
  /** Remove and return one one-time KeyPackage, else return (without removing) the last-resort one, else null. */
  claimKeyPackage(deviceId: string): Promise<{ data: Uint8Array; lastResort: boolean } | null>;

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
  countPendingDeliveries(deviceId: string): Promise<number>;
  /** Delete acknowledged deliveries (only the device's own); returns how many were removed. */
  ackDeliveries(deviceId: string, cursors: number[]): Promise<number>;

  // ----- media (C4)
  /**
   * Record a new upload, atomically with the quota check: StorageConflict('quota_exceeded') when the
   * owner's bytes (see mediaBytesUsed) plus `row.size` would exceed `quotaBytes`.
   */
  createMediaUpload(row: MediaBlobRow, quotaBytes: number): Promise<void>;
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
  deleteMediaBlob(id: string, opts?: { expiredAt?: number }): Promise<{ blob: MediaBlobRow; parts: MediaPartRow[] } | null>;
}
