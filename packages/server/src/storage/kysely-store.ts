/**
 * The storage contract implemented once over Kysely (C19), shared by the SQLite and PostgreSQL
 * drivers. Every multi-row write is one transaction. Drivers override the hot paths (appending
 * and pushing messages) where a driver-specific form is much faster.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import {
  StorageConflict, type AccountRow, type AppendResult, type CommitInput, type CommitResult, type ConversationDeviceRow,
  type ConversationRow, type DeviceRow, type KeyPackageInput, type ClaimedKeyPackage, type KeyPackageClaim, type MemberRow, type MessageKind, type MessageRow,
  type NewMessage, type PendingDelivery, type PublicKeyClaim, type Storage, type VerificationSessionRow,
  type AccountStore, type ConversationStore, type MediaStore, type SecretStore, type DiscoveryStore, type ProfileStore, type KeyTransparencyStore,
} from './types.ts';
import type { MediaBlobRow, MediaPartRow, PrivacyRow, ProfileRow, VisibilityValue } from './types.ts';
import type { KtHeadRow, KtLeafRow, SealedSecret, StoredSecret } from './types.ts';
import type { Tables } from './tables.ts';
import { migrateToLatest } from './schema.ts';
import { KyselyAdminStore, type AdminStore } from './admin.ts';
import { isUniqueViolation, num, u8 } from './rows.ts';

export { isUniqueViolation, num, u8 };

type Db = Kysely<Tables>;
type Tx = Transaction<Tables>;
type AnyDb = Db | Tx;

/** Map a database account row. */
export function toAccount(r: Tables['accounts']): AccountRow {
  return { id: r.id, phone: r.phone, identityKey: u8(r.identity_key), pinHash: r.pin_hash, discoverable: Boolean(r.discoverable), createdAt: num(r.created_at) };
}

/** Map a database device row. */
export function toDevice(r: Tables['devices']): DeviceRow {
  return {
    id: r.id, accountId: r.account_id, name: r.name, signingKey: u8(r.signing_key), signingKeyCert: u8(r.signing_key_cert),
    tokenHash: u8(r.token_hash), createdAt: num(r.created_at), revokedAt: r.revoked_at === null ? null : num(r.revoked_at),
  };
}

function toConversation(r: Tables['conversations']): ConversationRow {
  return { id: r.id, kind: r.kind as ConversationRow['kind'], epoch: num(r.epoch), createdAt: num(r.created_at), createdBy: r.created_by };
}

/** Map a database message row (payload kept as the driver's bytes: no copy on the hot path). */
export function toMessage(r: Tables['messages']): MessageRow {
  return {
    id: r.id, conversationId: r.conversation_id, seq: num(r.seq), kind: r.kind as MessageKind, epoch: num(r.epoch), senderAccount: r.sender_account,
    senderDevice: r.sender_device, clientMessageId: r.client_message_id, payload: r.payload, sentAt: num(r.sent_at),
  };
}

function withoutPayload(m: MessageRow): Omit<MessageRow, 'payload'> {
  const { payload: _p, ...rest } = m;
  return rest;
}

/**
 * Storage over any Kysely dialect; `dialect` selects row locking and conflict handling. The send
 * path (appending batches, acknowledgements) is each driver's own: sqlite.ts with prepared
 * statements, postgres.ts with a fixed number of round trips per batch.
 */
export abstract class KyselyStorage implements Storage, AccountStore, ConversationStore, MediaStore, SecretStore, DiscoveryStore, ProfileStore, KeyTransparencyStore {
  constructor(protected readonly db: Db, readonly driver: 'sqlite' | 'postgres', private readonly onClose: () => Promise<void>) {}

  get accounts(): AccountStore { return this; }
  get conversations(): ConversationStore { return this; }
  get media(): MediaStore { return this; }
  get secrets(): SecretStore { return this; }
  get discovery(): DiscoveryStore { return this; }
  get profiles(): ProfileStore { return this; }
  get keyTransparency(): KeyTransparencyStore { return this; }

  /** Run `fn` in one transaction (drivers may track open transactions, see sqlite.ts). */
  protected transact<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }

  async migrate(): Promise<void> {
    await migrateToLatest(this.db as unknown as Kysely<unknown>, this.driver);
  }

  private adminStore: AdminStore | undefined;

  /** Staff accounts and the audit log (C14), on the same connection. */
  get admin(): AdminStore {
    return (this.adminStore ??= new KyselyAdminStore(this.db));
  }

  private readonly closers: (() => Promise<void>)[] = [];

  /** Run `fn` when the storage closes, before the connection goes (drivers release helpers this way). */
  onClosed(fn: () => Promise<void>): void {
    this.closers.push(fn);
  }

  private closing: Promise<void> | null = null;

  /** Release the connection; a second call waits for the first instead of writing to a closed database. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const fn of this.closers) await fn();
      await this.db.destroy();
      await this.onClose();
    })();
    return this.closing;
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  // ----- verification sessions
  async putVerificationSession(row: VerificationSessionRow): Promise<void> {
    await this.db.insertInto('verification_sessions')
      .values({ id: row.id, phone: row.phone, code_hash: row.codeHash, expires_at: row.expiresAt, attempts: row.attempts, created_at: row.createdAt })
      .execute();
  }

  async getVerificationSession(id: string): Promise<VerificationSessionRow | null> {
    const r = await this.db.selectFrom('verification_sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? { id: r.id, phone: r.phone, codeHash: r.code_hash, expiresAt: num(r.expires_at), attempts: r.attempts, createdAt: num(r.created_at) } : null;
  }

  async incrementVerificationAttempts(id: string): Promise<number> {
    const r = await this.db.updateTable('verification_sessions').set({ attempts: sql`attempts + 1` }).where('id', '=', id).returning('attempts').executeTakeFirst();
    return r?.attempts ?? 0;
  }

  async deleteVerificationSession(id: string): Promise<void> {
    await this.db.deleteFrom('verification_sessions').where('id', '=', id).execute();
  }

  async deleteExpiredVerificationSessions(now: number): Promise<number> {
    const r = await this.db.deleteFrom('verification_sessions').where('expires_at', '<', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  // ----- public keys
  /** Insert claims; any key already present (even from the same owner) is key_reused. */
  protected async claimKeys(tx: AnyDb, claims: PublicKeyClaim[]): Promise<void> {
    if (!claims.length) return;
    const keys = claims.map((c) => c.key);
    const existing = await tx.selectFrom('public_keys').select('key').where('key', 'in', keys).executeTakeFirst();
    if (existing) throw new StorageConflict('key_reused');
    try {
      await tx.insertInto('public_keys').values(claims.map((c) => ({ key: c.key, purpose: c.purpose, device_id: c.deviceId, account_id: c.accountId }))).execute();
    } catch (e) {
      if (isUniqueViolation(e)) throw new StorageConflict('key_reused');
      throw e;
    }
  }

  async anyPublicKeyUsed(keys: Uint8Array[]): Promise<boolean> {
    if (!keys.length) return false;
    return Boolean(await this.db.selectFrom('public_keys').select('key').where('key', 'in', keys).executeTakeFirst());
  }

  // ----- accounts and devices
  async registerAccount(input: { account: AccountRow; device: DeviceRow }): Promise<{ account: AccountRow; device: DeviceRow; newAccount: boolean; revokedDeviceIds: string[] }> {
    return this.transact(async (tx) => {
      let revokedDeviceIds: string[] = [];
      const existingRow = await tx.selectFrom('accounts').selectAll().where('phone', '=', input.account.phone).executeTakeFirst();
      const existing = existingRow ? toAccount(existingRow) : null;
      let account: AccountRow;
      if (existing) {
        const owner = await tx.selectFrom('public_keys').select('account_id').where('key', '=', input.account.identityKey).executeTakeFirst();
        if (owner && owner.account_id !== existing.id) throw new StorageConflict('key_reused');
        if (!owner) await this.claimKeys(tx, [{ key: input.account.identityKey, purpose: 'identity', deviceId: null, accountId: existing.id }]);
        await tx.updateTable('accounts').set({ identity_key: input.account.identityKey }).where('id', '=', existing.id).execute();
        // Re-registration replaces every device: they stop authenticating and receiving.
        revokedDeviceIds = await this.revokeInTx(tx, existing.id, null, input.device.createdAt);
        account = { ...existing, identityKey: input.account.identityKey };
      } else {
        account = input.account;
        await this.claimKeys(tx, [{ key: account.identityKey, purpose: 'identity', deviceId: null, accountId: account.id }]);
        await tx.insertInto('accounts').values({
          id: account.id, phone: account.phone, identity_key: account.identityKey, pin_hash: account.pinHash, discoverable: account.discoverable ? 1 : 0, created_at: account.createdAt,
        }).execute();
      }
      const device = { ...input.device, accountId: account.id };
      await this.claimKeys(tx, [{ key: device.signingKey, purpose: 'signing', deviceId: device.id, accountId: account.id }]);
      await this.insertDevice(tx, device);
      return { account, device, newAccount: !existing, revokedDeviceIds };
    });
  }

  async revokeDevices(accountId: string, deviceIds: readonly string[] | null, at: number): Promise<string[]> {
    if (deviceIds && !deviceIds.length) return [];
    return this.transact((tx) => this.revokeInTx(tx, accountId, deviceIds, at));
  }

  async inactiveDevices(deviceIds: readonly string[]): Promise<string[]> {
    if (!deviceIds.length) return [];
    const active = await this.db.selectFrom('devices').select('id').where('id', 'in', [...deviceIds]).where('revoked_at', 'is', null).execute();
    const live = new Set(active.map((d) => d.id));
    return deviceIds.filter((d) => !live.has(d));
  }

  /**
   * Revoke the account's active devices (all, or those of `deviceIds`) inside `tx`: they stop
   * authenticating, leave every conversation, and lose their queues and KeyPackages. Returns the
   * ids that were active until now (the ones revoked by this call).
   */
  private async revokeInTx(tx: AnyDb, accountId: string, deviceIds: readonly string[] | null, at: number): Promise<string[]> {
    let q = tx.selectFrom('devices').select('id').where('account_id', '=', accountId).where('revoked_at', 'is', null);
    if (deviceIds) q = q.where('id', 'in', [...deviceIds]);
    const ids = (await q.execute()).map((d) => d.id);
    if (!ids.length) return [];
    await tx.updateTable('devices').set({ revoked_at: at }).where('id', 'in', ids).execute();
    await tx.deleteFrom('conversation_devices').where('device_id', 'in', ids).execute();
    await tx.deleteFrom('deliveries').where('device_id', 'in', ids).execute();
    await tx.deleteFrom('key_packages').where('device_id', 'in', ids).execute();
    return ids;
  }

  private async insertDevice(tx: AnyDb, d: DeviceRow): Promise<void> {
    await tx.insertInto('devices').values({
      id: d.id, account_id: d.accountId, name: d.name, signing_key: d.signingKey, signing_key_cert: d.signingKeyCert, token_hash: d.tokenHash, created_at: d.createdAt, revoked_at: d.revokedAt,
    }).execute();
  }

  async getAccount(id: string): Promise<AccountRow | null> {
    const r = await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toAccount(r) : null;
  }

  async getAccountByPhone(phone: string): Promise<AccountRow | null> {
    const r = await this.db.selectFrom('accounts').selectAll().where('phone', '=', phone).executeTakeFirst();
    return r ? toAccount(r) : null;
  }

  async setAccountPin(accountId: string, pinHash: string | null): Promise<void> {
    await this.db.updateTable('accounts').set({ pin_hash: pinHash }).where('id', '=', accountId).execute();
  }

  async addDevice(device: DeviceRow): Promise<void> {
    await this.transact(async (tx) => {
      await this.claimKeys(tx, [{ key: device.signingKey, purpose: 'signing', deviceId: device.id, accountId: device.accountId }]);
      await this.insertDevice(tx, device);
    });
  }

  async getDevice(id: string): Promise<DeviceRow | null> {
    const r = await this.db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toDevice(r) : null;
  }

  async getDeviceByTokenHash(tokenHash: Uint8Array): Promise<DeviceRow | null> {
    const r = await this.db.selectFrom('devices').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return r ? toDevice(r) : null;
  }

  async listDevices(accountId: string): Promise<DeviceRow[]> {
    const rows = await this.db.selectFrom('devices').selectAll().where('account_id', '=', accountId).where('revoked_at', 'is', null).orderBy('created_at').orderBy('id').execute();
    return rows.map(toDevice);
  }

  // ----- KeyPackages
  async addKeyPackages(deviceId: string, accountId: string, oneTime: KeyPackageInput[], lastResort: KeyPackageInput | null): Promise<void> {
    const all = [...oneTime, ...(lastResort ? [lastResort] : [])];
    await this.transact(async (tx) => {
      await this.claimKeys(tx, all.flatMap((k) => [
        { key: k.initKey, purpose: 'init' as const, deviceId, accountId },
        { key: k.encryptionKey, purpose: 'encryption' as const, deviceId, accountId },
      ]));
      const now = Date.now();
      if (lastResort) await tx.deleteFrom('key_packages').where('device_id', '=', deviceId).where('last_resort', '=', 1).execute();
      if (all.length) {
        await tx.insertInto('key_packages').values([
          ...oneTime.map((k) => ({ device_id: deviceId, data: k.data, last_resort: 0, created_at: now })),
          ...(lastResort ? [{ device_id: deviceId, data: lastResort.data, last_resort: 1, created_at: now }] : []),
        ]).execute();
      }
    });
  }

  async countKeyPackages(deviceId: string): Promise<{ available: number; lastResort: boolean }> {
    const rows = await this.db.selectFrom('key_packages').select(['last_resort', (eb) => eb.fn.countAll<number>().as('n')]).where('device_id', '=', deviceId).groupBy('last_resort').execute();
    return { available: num(rows.find((r) => num(r.last_resort) === 0)?.n ?? 0), lastResort: rows.some((r) => num(r.last_resort) === 1 && num(r.n) > 0) };
  }

  async claimKeyPackages(deviceIds: string[]): Promise<KeyPackageClaim> {
    const none = Symbol('exhausted');
    let exhausted = '';
    try {
      const keyPackages = await this.transact(async (tx) => {
        const out: ClaimedKeyPackage[] = [];
        for (const deviceId of deviceIds) {
          const q = tx.selectFrom('key_packages').select(['id', 'data']).where('device_id', '=', deviceId).where('last_resort', '=', 0).orderBy('id').limit(1);
          // PostgreSQL: a row another claim has locked is skipped rather than waited for, so two
          // claims never hand out the same KeyPackage. SQLite runs transactions one at a time.
          const kp = this.driver === 'postgres' ? await q.forUpdate().skipLocked().executeTakeFirst() : await q.executeTakeFirst();
          if (kp) {
            await tx.deleteFrom('key_packages').where('id', '=', kp.id).execute();
            out.push({ deviceId, data: u8(kp.data), lastResort: false });
            continue;
          }
          const last = await tx.selectFrom('key_packages').select('data').where('device_id', '=', deviceId).where('last_resort', '=', 1).orderBy('id', 'desc').limit(1).executeTakeFirst();
          if (!last) {
            // Throwing rolls back the one-time KeyPackages already taken for earlier devices.
            exhausted = deviceId;
            throw none;
          }
          out.push({ deviceId, data: u8(last.data), lastResort: true });
        }
        return out;
      });
      return { keyPackages };
    } catch (e) {
      if (e === none) return { exhausted };
      throw e;
    }
  }

  // ----- conversations
  async createConversation(row: ConversationRow, creatorDeviceId: string): Promise<void> {
    await this.transact(async (tx) => {
      const exists = await tx.selectFrom('conversations').select('id').where('id', '=', row.id).executeTakeFirst();
      if (exists) throw new StorageConflict('conversation_exists');
      try {
        await tx.insertInto('conversations').values({ id: row.id, kind: row.kind, epoch: row.epoch, next_seq: 1, created_at: row.createdAt, created_by: row.createdBy }).execute();
      } catch (e) {
        if (isUniqueViolation(e)) throw new StorageConflict('conversation_exists');
        throw e;
      }
      await tx.insertInto('conversation_members').values({ conversation_id: row.id, account_id: row.createdBy, role: 'admin' }).execute();
      await tx.insertInto('conversation_devices').values({ conversation_id: row.id, device_id: creatorDeviceId, account_id: row.createdBy }).execute();
    });
  }

  async getConversation(id: string): Promise<ConversationRow | null> {
    const r = await this.db.selectFrom('conversations').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toConversation(r) : null;
  }

  async listConversationsForDevice(deviceId: string): Promise<ConversationRow[]> {
    const rows = await this.db.selectFrom('conversations').innerJoin('conversation_devices as cd', 'cd.conversation_id', 'conversations.id')
      .selectAll('conversations').where('cd.device_id', '=', deviceId).orderBy('conversations.created_at').execute();
    return rows.map(toConversation);
  }

  async listMembers(conversationId: string): Promise<MemberRow[]> {
    const rows = await this.db.selectFrom('conversation_members').selectAll().where('conversation_id', '=', conversationId).orderBy('account_id').execute();
    return rows.map((r) => ({ conversationId: r.conversation_id, accountId: r.account_id, role: r.role as MemberRow['role'] }));
  }

  async listConversationDevices(conversationId: string): Promise<ConversationDeviceRow[]> {
    const rows = await this.db.selectFrom('conversation_devices').selectAll().where('conversation_id', '=', conversationId).orderBy('device_id').execute();
    return rows.map((r) => ({ conversationId: r.conversation_id, deviceId: r.device_id, accountId: r.account_id }));
  }

  async isDeviceInConversation(conversationId: string, deviceId: string): Promise<boolean> {
    return Boolean(await this.db.selectFrom('conversation_devices').select('device_id').where('conversation_id', '=', conversationId).where('device_id', '=', deviceId).executeTakeFirst());
  }

  async setRole(conversationId: string, accountId: string, role: 'admin' | 'member'): Promise<void> {
    await this.db.updateTable('conversation_members').set({ role }).where('conversation_id', '=', conversationId).where('account_id', '=', accountId).execute();
  }

  async removeAccountFromConversation(conversationId: string, accountId: string): Promise<string[]> {
    return this.transact(async (tx) => {
      const devices = await tx.selectFrom('conversation_devices').select('device_id').where('conversation_id', '=', conversationId).where('account_id', '=', accountId).execute();
      await tx.deleteFrom('conversation_devices').where('conversation_id', '=', conversationId).where('account_id', '=', accountId).execute();
      await tx.deleteFrom('conversation_members').where('conversation_id', '=', conversationId).where('account_id', '=', accountId).execute();
      return devices.map((d) => d.device_id);
    });
  }

  /** Lock the conversation row for the rest of the transaction (PostgreSQL); SQLite is serialised already. */
  protected async lockConversation(tx: Tx, id: string): Promise<Tables['conversations'] | undefined> {
    const q = tx.selectFrom('conversations').selectAll().where('id', '=', id);
    return this.driver === 'postgres' ? q.forUpdate().executeTakeFirst() : q.executeTakeFirst();
  }

  /**
   * Called inside the commit transaction once the conversation row holds `nextSeq`: a driver that
   * hands out seqs from memory (sqlite.ts) moves its counter there, so later sends continue after it.
   */
  protected seqWritten(_conversationId: string, _nextSeq: number): void {}

  private async findDuplicate(tx: AnyDb, senderDevice: string, clientMessageId: string): Promise<MessageRow | null> {
    const r = await tx.selectFrom('messages').selectAll().where('client_message_id', '=', clientMessageId).where('sender_device', '=', senderDevice).executeTakeFirst();
    return r ? toMessage(r) : null;
  }

  private async insertMessage(tx: AnyDb, m: NewMessage, seq: number): Promise<AppendResult> {
    await tx.insertInto('messages').values({
      id: m.id, conversation_id: m.conversationId, seq, kind: m.kind, epoch: m.epoch, sender_account: m.senderAccount, sender_device: m.senderDevice,
      client_message_id: m.clientMessageId, payload: m.payload, sent_at: m.sentAt,
    }).execute();
    const deliveries: { deviceId: string; cursor: number }[] = [];
    if (m.recipients.length) {
      const rows = await tx.insertInto('deliveries').values(m.recipients.map((d) => ({ device_id: d, message_id: m.id }))).returning(['cursor', 'device_id']).execute();
      for (const r of rows) deliveries.push({ deviceId: r.device_id, cursor: num(r.cursor) });
      deliveries.sort((a, b) => a.cursor - b.cursor);
    }
    const { payload: _p, recipients: _r, ...rest } = m;
    return { message: { ...rest, seq }, duplicate: false, deliveries };
  }

  async applyCommit(input: CommitInput): Promise<CommitResult> {
    return this.transact(async (tx) => {
      const conv = await this.lockConversation(tx, input.conversationId);
      if (!conv) throw new StorageConflict('not_found');
      const dup = await this.findDuplicate(tx, input.commit.senderDevice, input.commit.clientMessageId);
      if (dup) {
        const w = input.welcome ? await this.findDuplicate(tx, input.welcome.senderDevice, input.welcome.clientMessageId) : null;
        return {
          commit: { message: withoutPayload(dup), duplicate: true, deliveries: [] },
          welcome: w ? { message: withoutPayload(w), duplicate: true, deliveries: [] } : null,
          epoch: dup.epoch + 1,
        };
      }
      if (num(conv.epoch) !== input.expectedEpoch) throw new StorageConflict('stale_epoch');
      const current = await tx.selectFrom('conversation_devices').select(['device_id', 'account_id']).where('conversation_id', '=', input.conversationId).execute();
      const inConv = new Set(current.map((d) => d.device_id));
      if (input.adds.some((a) => inConv.has(a.deviceId)) || input.removes.some((r) => !inConv.has(r))) throw new StorageConflict('member_conflict');
      let seq = num(conv.next_seq);
      const commit = await this.insertMessage(tx, input.commit, seq++);
      if (input.removes.length) {
        await tx.deleteFrom('conversation_devices').where('conversation_id', '=', input.conversationId).where('device_id', 'in', input.removes).execute();
      }
      for (const a of input.adds) {
        await tx.insertInto('conversation_devices').values({ conversation_id: input.conversationId, device_id: a.deviceId, account_id: a.accountId }).execute();
      }
      // Membership follows devices: an account with no device left stops being a member.
      const left = await tx.selectFrom('conversation_devices').select('account_id').distinct().where('conversation_id', '=', input.conversationId).execute();
      const stillIn = new Set(left.map((r) => r.account_id));
      const members = await tx.selectFrom('conversation_members').select('account_id').where('conversation_id', '=', input.conversationId).execute();
      const known = new Set(members.map((m) => m.account_id));
      const gone = [...known].filter((a) => !stillIn.has(a));
      if (gone.length) await tx.deleteFrom('conversation_members').where('conversation_id', '=', input.conversationId).where('account_id', 'in', gone).execute();
      const fresh = [...stillIn].filter((a) => !known.has(a));
      if (fresh.length) await tx.insertInto('conversation_members').values(fresh.map((a) => ({ conversation_id: input.conversationId, account_id: a, role: 'member' }))).execute();
      const welcome = input.welcome ? await this.insertMessage(tx, input.welcome, seq++) : null;
      const epoch = input.expectedEpoch + 1;
      await tx.updateTable('conversations').set({ epoch, next_seq: seq }).where('id', '=', input.conversationId).execute();
      this.seqWritten(input.conversationId, seq);
      return { commit, welcome, epoch };
    });
  }

  async listCommits(conversationId: string, sinceEpoch: number): Promise<MessageRow[]> {
    const rows = await this.db.selectFrom('messages').selectAll().where('conversation_id', '=', conversationId).where('kind', '=', 'commit').where('epoch', '>=', sinceEpoch).orderBy('epoch').execute();
    return rows.map((r) => ({ ...toMessage(r), payload: u8(r.payload) }));
  }

  // ----- messages and queues
  abstract appendMessages(batch: NewMessage[]): Promise<AppendResult[]>;

  async pendingDeliveries(deviceId: string, afterCursor: number, limit: number): Promise<PendingDelivery[]> {
    const rows = await this.db.selectFrom('deliveries as d').innerJoin('messages as m', 'm.id', 'd.message_id')
      .select(['d.cursor', 'm.id', 'm.conversation_id', 'm.seq', 'm.kind', 'm.epoch', 'm.sender_account', 'm.sender_device', 'm.client_message_id', 'm.payload', 'm.sent_at'])
      .where('d.device_id', '=', deviceId).where('d.cursor', '>', afterCursor).orderBy('d.cursor').limit(limit).execute();
    return rows.map((r) => ({ cursor: num(r.cursor), message: toMessage(r as unknown as Tables['messages']) }));
  }

  async countAllPendingDeliveries(): Promise<number> {
    const r = await this.db.selectFrom('deliveries').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    return num(r?.n ?? 0);
  }

  async countPendingDeliveries(deviceId: string): Promise<number> {
    const r = await this.db.selectFrom('deliveries').select((eb) => eb.fn.countAll<number>().as('n')).where('device_id', '=', deviceId).executeTakeFirst();
    return num(r?.n ?? 0);
  }

  abstract ackDeliveries(deviceId: string, cursors: number[]): Promise<number>;

  // ----- media (C4)
  async createMediaUpload(row: MediaBlobRow, quotaBytes: number, maxUploads: number): Promise<void> {
    await this.transact(async (tx) => {
      // Two uploads of one account starting together must not both fit the same free space (or the
      // last free upload slot): the account row is locked for the checks on PostgreSQL (SQLite runs
      // transactions one at a time).
      if (this.driver === 'postgres') await tx.selectFrom('accounts').select('id').where('id', '=', row.ownerAccount).forUpdate().executeTakeFirst();
      const open = await tx.selectFrom('media_blobs').select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('owner_account', '=', row.ownerAccount).where('state', '=', 'uploading').where('expires_at', '>', row.createdAt).executeTakeFirst();
      if (num(open?.n ?? 0) >= maxUploads) throw new StorageConflict('uploads_exceeded');
      const used = await this.bytesUsedWithin(tx, row.ownerAccount);
      if (used + row.size > quotaBytes) throw new StorageConflict('quota_exceeded');
      await tx.insertInto('media_blobs').values({
        id: row.id, owner_account: row.ownerAccount, state: row.state, size: row.size, digest: row.digest, received: row.received,
        created_at: row.createdAt, completed_at: row.completedAt, expires_at: row.expiresAt, last_fetched_at: row.lastFetchedAt,
      }).execute();
    });
  }

  private async bytesUsedWithin(db: AnyDb, accountId: string): Promise<number> {
    const r = await db.selectFrom('media_blobs').select((eb) => eb.fn.sum<number | string | null>('size').as('n')).where('owner_account', '=', accountId).executeTakeFirst();
    return num(r?.n ?? 0);
  }

  async getMediaBlob(id: string): Promise<MediaBlobRow | null> {
    const r = await this.db.selectFrom('media_blobs').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toMediaBlob(r) : null;
  }

  mediaBytesUsed(accountId: string): Promise<number> {
    return this.bytesUsedWithin(this.db, accountId);
  }

  async listMediaParts(blobId: string): Promise<MediaPartRow[]> {
    const rows = await this.db.selectFrom('media_parts').selectAll().where('blob_id', '=', blobId).orderBy('start_offset').execute();
    return rows.map(toMediaPart);
  }

  async listExpiredMedia(now: number, limit: number): Promise<MediaBlobRow[]> {
    const rows = await this.db.selectFrom('media_blobs').selectAll().where('expires_at', '<=', now).orderBy('expires_at').limit(limit).execute();
    return rows.map(toMediaBlob);
  }

  async addMediaPart(part: MediaPartRow, expiresAt: number): Promise<number> {
    return this.transact(async (tx) => {
      // Compare-and-set on `received`: of two appends racing at one offset exactly one moves it.
      const moved = await tx.updateTable('media_blobs').set({ received: part.offset + part.length, expires_at: expiresAt })
        .where('id', '=', part.blobId).where('state', '=', 'uploading').where('received', '=', part.offset).executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1) throw new StorageConflict('offset_mismatch');
      await tx.insertInto('media_parts').values({ blob_id: part.blobId, start_offset: part.offset, length: part.length, object_key: part.objectKey }).execute();
      return part.offset + part.length;
    });
  }

  async completeMediaUpload(id: string, completedAt: number, expiresAt: number): Promise<boolean> {
    return this.transact(async (tx) => {
      const r = await tx.updateTable('media_blobs').set({ state: 'complete', completed_at: completedAt, expires_at: expiresAt })
        .where('id', '=', id).where('state', '=', 'uploading').whereRef('received', '=', 'size').executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      await tx.deleteFrom('media_parts').where('blob_id', '=', id).execute();
      return true;
    });
  }

  async touchMediaBlob(id: string, fetchedAt: number, expiresAt: number): Promise<void> {
    await this.db.updateTable('media_blobs')
      .set({ last_fetched_at: fetchedAt, expires_at: sql<number>`case when expires_at < ${expiresAt} then ${expiresAt} else expires_at end` })
      .where('id', '=', id).execute();
  }

  async deleteMediaBlob(id: string, opts: { expiredAt?: number } = {}): Promise<{ blob: MediaBlobRow; parts: MediaPartRow[] } | null> {
    return this.transact(async (tx) => {
      let q = tx.selectFrom('media_blobs').selectAll().where('id', '=', id);
      if (opts.expiredAt !== undefined) q = q.where('expires_at', '<=', opts.expiredAt);
      const row = this.driver === 'postgres' ? await q.forUpdate().executeTakeFirst() : await q.executeTakeFirst();
      if (!row) return null;
      const parts = await tx.selectFrom('media_parts').selectAll().where('blob_id', '=', id).orderBy('start_offset').execute();
      await tx.deleteFrom('media_parts').where('blob_id', '=', id).execute();
      await tx.deleteFrom('media_blobs').where('id', '=', id).execute();
      return { blob: toMediaBlob(row), parts: parts.map(toMediaPart) };
    });
  }

  // ----- discovery (C12)
  async getOrCreateSecret(name: string, make: () => SealedSecret, now: number): Promise<StoredSecret> {
    const found = await this.db.selectFrom('server_secrets').select(['name', 'value', 'key_id']).where('name', '=', name).executeTakeFirst();
    if (found) return toSecret(found);
    // Two processes starting together: the first insert wins and both read the winner back.
    const made = make();
    await this.db.insertInto('server_secrets').values({ name, value: made.value, key_id: made.keyId, created_at: now }).onConflict((oc) => oc.column('name').doNothing()).execute();
    return toSecret(await this.db.selectFrom('server_secrets').select(['name', 'value', 'key_id']).where('name', '=', name).executeTakeFirstOrThrow());
  }

  async listSecrets(): Promise<StoredSecret[]> {
    return (await this.db.selectFrom('server_secrets').select(['name', 'value', 'key_id']).orderBy('name').execute()).map(toSecret);
  }

  async replaceSecret(name: string, fromKeyId: string | null, to: SealedSecret): Promise<boolean> {
    const update = () => this.db.updateTable('server_secrets').set({ value: to.value, key_id: to.keyId })
      .where('name', '=', name)
      .where('key_id', fromKeyId === null ? 'is' : '=', fromKeyId)
      .executeTakeFirst();
    if (this.driver !== 'sqlite') return Number((await update()).numUpdatedRows) === 1;
    // SQLite leaves a replaced value's bytes in the page's free space; secure_delete zeroes them.
    const { rows } = await sql<{ secure_delete: number }>`pragma secure_delete`.execute(this.db);
    await sql`pragma secure_delete = on`.execute(this.db);
    try {
      return Number((await update()).numUpdatedRows) === 1;
    } finally {
      await sql.raw(`pragma secure_delete = ${Number(rows[0]?.secure_delete ?? 0)}`).execute(this.db);
    }
  }

  async purgeReplacedSecrets(): Promise<void> {
    if (this.driver === 'sqlite') await sql`pragma wal_checkpoint(TRUNCATE)`.execute(this.db);
    else await sql`vacuum full server_secrets`.execute(this.db);
  }

  async setDiscoverable(accountId: string, tag: Uint8Array | null): Promise<void> {
    await this.transact(async (tx) => {
      await tx.deleteFrom('discovery_index').where('account_id', '=', accountId).execute();
      if (tag) await tx.insertInto('discovery_index').values({ tag, account_id: accountId }).execute();
      await tx.updateTable('accounts').set({ discoverable: tag ? 1 : 0 }).where('id', '=', accountId).execute();
    });
  }

  async listUnindexedDiscoverable(limit: number): Promise<{ accountId: string; phone: string }[]> {
    const rows = await this.db.selectFrom('accounts')
      .leftJoin('discovery_index', 'discovery_index.account_id', 'accounts.id')
      .select(['accounts.id as id', 'accounts.phone as phone'])
      .where('accounts.discoverable', '=', 1)
      .where('discovery_index.tag', 'is', null)
      .limit(limit)
      .execute();
    return rows.map((r) => ({ accountId: r.id, phone: r.phone }));
  }

  async findDiscoverable(tags: Uint8Array[]): Promise<{ tag: Uint8Array; accountId: string }[]> {
    if (!tags.length) return [];
    const rows = await this.db.selectFrom('discovery_index').select(['tag', 'account_id']).where('tag', 'in', tags).execute();
    return rows.map((r) => ({ tag: u8(r.tag), accountId: r.account_id }));
  }

  async discoveryUsed(accountId: string): Promise<number> {
    return this.seenCount(this.db, accountId);
  }

  private async seenCount(db: AnyDb, accountId: string): Promise<number> {
    const r = await db.selectFrom('discovery_seen').select((eb) => eb.fn.countAll<number | string>().as('n')).where('account_id', '=', accountId).executeTakeFirst();
    return num(r?.n ?? 0);
  }

  discoveryFresh(accountId: string, digests: Uint8Array[]): Promise<number> {
    return this.freshWithin(this.db, accountId, digests);
  }

  private async freshWithin(db: AnyDb, accountId: string, digests: Uint8Array[]): Promise<number> {
    const unique = uniqueBytes(digests);
    if (!unique.length) return 0;
    const r = await db.selectFrom('discovery_seen').select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('account_id', '=', accountId).where('digest', 'in', unique).executeTakeFirst();
    return unique.length - num(r?.n ?? 0);
  }

  async recordDiscoveryLookup(accountId: string, digests: Uint8Array[], day: number, allowance: number): Promise<{ allowed: boolean; used: number; fresh: number }> {
    return this.transact(async (tx) => {
      // Two lookups of one account at once must not both fit the same allowance: lock its row on
      // PostgreSQL (SQLite runs transactions one at a time).
      if (this.driver === 'postgres') await tx.selectFrom('accounts').select('id').where('id', '=', accountId).forUpdate().executeTakeFirst();
      const used = await this.seenCount(tx, accountId);
      const unique = uniqueBytes(digests);
      const fresh = await this.freshWithin(tx, accountId, unique);
      if (used + fresh > allowance) return { allowed: false, used, fresh };
      if (fresh > 0) {
        await tx.insertInto('discovery_seen').values(unique.map((digest) => ({ account_id: accountId, digest, day })))
          .onConflict((oc) => oc.columns(['account_id', 'digest']).doNothing()).execute();
        await tx.insertInto('discovery_days').values({ day, lookups: fresh })
          .onConflict((oc) => oc.column('day').doUpdateSet({ lookups: sql`discovery_days.lookups + ${fresh}` })).execute();
      }
      return { allowed: true, used: used + fresh, fresh };
    });
  }

  async discoveryDays(fromDay: number, toDay: number): Promise<Map<number, number>> {
    const rows = await this.db.selectFrom('discovery_days').selectAll().where('day', '>=', fromDay).where('day', '<=', toDay).execute();
    return new Map(rows.map((r) => [r.day, num(r.lookups)]));
  }

  // ----- usernames (C12)
  async setUsername(accountId: string, keyedHash: Uint8Array | null): Promise<void> {
    try {
      await this.transact(async (tx) => {
        await tx.deleteFrom('usernames').where('account_id', '=', accountId).execute();
        if (keyedHash) await tx.insertInto('usernames').values({ hash: keyedHash, account_id: accountId }).execute();
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw new StorageConflict('username_taken');
      throw e;
    }
  }

  async findUsername(keyedHash: Uint8Array): Promise<string | null> {
    const r = await this.db.selectFrom('usernames').select('account_id').where('hash', '=', keyedHash).executeTakeFirst();
    return r?.account_id ?? null;
  }

  async hasUsername(accountId: string): Promise<boolean> {
    return (await this.db.selectFrom('usernames').select('hash').where('account_id', '=', accountId).executeTakeFirst()) !== undefined;
  }

  // ----- profiles and presence visibility (C12)
  async putProfile(row: ProfileRow): Promise<void> {
    const values = {
      version: row.version, name: row.name, about: row.about, photo: row.photo, open_fields: row.openFields.join(','), open_key: row.openKey, updated_at: row.updatedAt,
    };
    await this.db.insertInto('profiles').values({ account_id: row.accountId, ...values })
      .onConflict((oc) => oc.column('account_id').doUpdateSet(values)).execute();
  }

  async getProfile(accountId: string): Promise<ProfileRow | null> {
    const r = await this.db.selectFrom('profiles').selectAll().where('account_id', '=', accountId).executeTakeFirst();
    if (!r) return null;
    const bytes = (b: Uint8Array | null) => (b === null ? null : u8(b));
    return {
      accountId: r.account_id, version: Number(r.version), name: bytes(r.name), about: bytes(r.about), photo: bytes(r.photo),
      openFields: r.open_fields ? (r.open_fields.split(',') as ProfileRow['openFields']) : [], openKey: bytes(r.open_key), updatedAt: num(r.updated_at),
    };
  }

  async getPrivacy(accountId: string): Promise<PrivacyRow> {
    const r = await this.db.selectFrom('privacy_settings').selectAll().where('account_id', '=', accountId).executeTakeFirst();
    if (!r) return { accountId, photo: 'contacts', about: 'contacts', lastSeen: 'contacts', online: 'contacts' };
    return { accountId, photo: r.photo as VisibilityValue, about: r.about as VisibilityValue, lastSeen: r.last_seen as VisibilityValue, online: r.online as VisibilityValue };
  }

  async setPrivacy(accountId: string, changes: Partial<Omit<PrivacyRow, 'accountId'>>): Promise<PrivacyRow> {
    const next = { ...(await this.getPrivacy(accountId)), ...changes };
    const values = { photo: next.photo, about: next.about, last_seen: next.lastSeen, online: next.online };
    await this.db.insertInto('privacy_settings').values({ account_id: accountId, ...values })
      .onConflict((oc) => oc.column('account_id').doUpdateSet(values)).execute();
    return next;
  }

  async noteAccepted(accountId: string, conversationId: string): Promise<void> {
    await this.db.insertInto('accepted_chats').values({ account_id: accountId, conversation_id: conversationId })
      .onConflict((oc) => oc.columns(['account_id', 'conversation_id']).doNothing()).execute();
  }

  async isContact(owner: string, viewer: string): Promise<boolean> {
    if (owner === viewer) return true;
    // A conversation the owner accepted, which both still belong to.
    const r = await this.db.selectFrom('accepted_chats as a')
      .innerJoin('conversation_members as m', (j) => j.onRef('m.conversation_id', '=', 'a.conversation_id').on('m.account_id', '=', viewer))
      .innerJoin('conversation_members as o', (j) => j.onRef('o.conversation_id', '=', 'a.conversation_id').on('o.account_id', '=', owner))
      .select('a.conversation_id')
      .where('a.account_id', '=', owner)
      .limit(1).executeTakeFirst();
    return r !== undefined;
  }

  async setLastSeen(accountId: string, at: number): Promise<void> {
    await this.db.insertInto('last_seen').values({ account_id: accountId, at }).onConflict((oc) => oc.column('account_id').doUpdateSet({ at })).execute();
  }

  async getLastSeen(accountId: string): Promise<number | null> {
    const r = await this.db.selectFrom('last_seen').select('at').where('account_id', '=', accountId).executeTakeFirst();
    return r ? num(r.at) : null;
  }

  // ----- key transparency (C13)
  async appendKtLeaf(input: { label: Uint8Array; identityKey: Uint8Array; time: number }): Promise<KtLeafRow> {
    return this.transact(async (tx) => {
      // Index and version are read then written: appends from several processes take turns
      // (SQLite runs transactions one at a time already).
      if (this.driver === 'postgres') await sql`lock table kt_leaves in exclusive mode`.execute(tx);
      const index = await this.leafCount(tx);
      const last = await tx.selectFrom('kt_leaves').select('version').where('label', '=', input.label).orderBy('version', 'desc').limit(1).executeTakeFirst();
      const row: KtLeafRow = { index, label: input.label, identityKey: input.identityKey, version: last ? num(last.version) + 1 : 1, time: input.time };
      await tx.insertInto('kt_leaves').values({ idx: row.index, label: row.label, identity_key: row.identityKey, version: row.version, created_at: row.time }).execute();
      return row;
    });
  }

  async listKtLeaves(from: number, limit: number): Promise<KtLeafRow[]> {
    const rows = await this.db.selectFrom('kt_leaves').selectAll().where('idx', '>=', from).orderBy('idx').limit(limit).execute();
    return rows.map(toKtLeaf);
  }

  ktLeafCount(): Promise<number> {
    return this.leafCount(this.db);
  }

  /**
   * The log has no gaps (indexes 0..n-1, append-only), so its size is the last index plus one: one
   * primary-key lookup, where count(*) would scan every leaf (for each append at start-up too).
   */
  private async leafCount(db: AnyDb): Promise<number> {
    const last = await db.selectFrom('kt_leaves').select('idx').orderBy('idx', 'desc').limit(1).executeTakeFirst();
    return last ? num(last.idx) + 1 : 0;
  }

  async latestKtLeaf(label: Uint8Array): Promise<KtLeafRow | null> {
    const r = await this.db.selectFrom('kt_leaves').selectAll().where('label', '=', label).orderBy('version', 'desc').limit(1).executeTakeFirst();
    return r ? toKtLeaf(r) : null;
  }

  async putKtHead(head: KtHeadRow): Promise<KtHeadRow> {
    await this.db.insertInto('kt_heads').values({ tree_size: head.treeSize, root_hash: head.rootHash, timestamp: head.timestamp, signature: head.signature })
      .onConflict((oc) => oc.column('tree_size').doNothing()).execute();
    return (await this.getKtHead(head.treeSize))!;
  }

  async latestKtHead(): Promise<KtHeadRow | null> {
    const r = await this.db.selectFrom('kt_heads').selectAll().orderBy('tree_size', 'desc').limit(1).executeTakeFirst();
    return r ? toKtHead(r) : null;
  }

  async getKtHead(treeSize: number): Promise<KtHeadRow | null> {
    const r = await this.db.selectFrom('kt_heads').selectAll().where('tree_size', '=', treeSize).executeTakeFirst();
    return r ? toKtHead(r) : null;
  }

  async listKtHeads(fromSize: number, limit: number): Promise<KtHeadRow[]> {
    const rows = await this.db.selectFrom('kt_heads').selectAll().where('tree_size', '>=', fromSize).orderBy('tree_size').limit(limit).execute();
    return rows.map(toKtHead);
  }

  async listUnloggedAccounts(limit: number): Promise<{ accountId: string; identityKey: Uint8Array }[]> {
    const rows = await this.db.selectFrom('accounts').leftJoin('kt_leaves', 'kt_leaves.identity_key', 'accounts.identity_key')
      .select(['accounts.id as id', 'accounts.identity_key as key']).where('kt_leaves.idx', 'is', null).orderBy('accounts.created_at').limit(limit).execute();
    return rows.map((r) => ({ accountId: r.id, identityKey: u8(r.key) }));
  }
}

function toKtLeaf(r: Tables['kt_leaves']): KtLeafRow {
  return { index: num(r.idx), label: u8(r.label), identityKey: u8(r.identity_key), version: num(r.version), time: num(r.created_at) };
}

function toKtHead(r: Tables['kt_heads']): KtHeadRow {
  return { treeSize: num(r.tree_size), rootHash: u8(r.root_hash), timestamp: num(r.timestamp), signature: u8(r.signature) };
}

/** The distinct byte strings of a list, first occurrence kept. */
function uniqueBytes(list: Uint8Array[]): Uint8Array[] {
  const seen = new Set<string>();
  return list.filter((b) => {
    const k = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Map a database media row. */
function toSecret(r: { name: string; value: Uint8Array; key_id: string | null }): StoredSecret {
  return { name: r.name, value: u8(r.value), keyId: r.key_id };
}

function toMediaBlob(r: Tables['media_blobs']): MediaBlobRow {
  return {
    id: r.id, ownerAccount: r.owner_account, state: r.state as MediaBlobRow['state'], size: num(r.size), digest: u8(r.digest), received: num(r.received),
    createdAt: num(r.created_at), completedAt: r.completed_at === null ? null : num(r.completed_at), expiresAt: num(r.expires_at),
    lastFetchedAt: r.last_fetched_at === null ? null : num(r.last_fetched_at),
  };
}

function toMediaPart(r: Tables['media_parts']): MediaPartRow {
  return { blobId: r.blob_id, offset: num(r.start_offset), length: num(r.length), objectKey: r.object_key };
}
