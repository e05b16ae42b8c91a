/**
 * Accounts and keys (C1, C2, C13): code requests, accounts, devices, the register of public keys
 * that may never be reused, and KeyPackages. Every multi-row write is one transaction.
 */
import { sql } from 'kysely';
import {
  StorageConflict,
  type AccountRow,
  type AccountStore,
  type ClaimedKeyPackage,
  type DeviceRow,
  type KeyPackageClaim,
  type KeyPackageInput,
  type DeviceListRow,
  type LinkApproval,
  type LinkSessionRow,
  type LinkState,
  type PublicKeyClaim,
  type VerificationSessionRow,
} from './types.ts';
import type { Tables } from './tables.ts';
import type { AnyDb, Db, StoreContext } from './driver.ts';
import { isUniqueViolation, num, u8 } from './rows.ts';

/** Map a database account row. */
export function toAccount(r: Tables['accounts']): AccountRow {
  return {
    id: r.id,
    phone: r.phone,
    identityKey: u8(r.identity_key),
    pinHash: r.pin_hash,
    discoverable: Boolean(r.discoverable),
    createdAt: num(r.created_at),
  };
}

/** Map a database device row. */
export function toDevice(r: Tables['devices']): DeviceRow {
  return {
    id: r.id,
    accountId: r.account_id,
    name: r.name,
    signingKey: u8(r.signing_key),
    signingKeyCert: u8(r.signing_key_cert),
    tokenHash: u8(r.token_hash),
    createdAt: num(r.created_at),
    revokedAt: r.revoked_at === null ? null : num(r.revoked_at),
  };
}

/** Map a database link-session row. */
function toLinkSession(r: Tables['link_sessions']): LinkSessionRow {
  return {
    id: r.id,
    accountId: r.account_id,
    deviceId: r.device_id,
    state: r.state as LinkState,
    ephemeralKey: r.ephemeral_key ? u8(r.ephemeral_key) : null,
    request: r.request ? u8(r.request) : null,
    tokenHash: r.token_hash ? u8(r.token_hash) : null,
    newDeviceId: r.new_device_id,
    reply: r.reply ? u8(r.reply) : null,
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
  };
}

/** Finding a device by its token: every authenticated HTTP request does it, so a driver may bring a faster form. */
export interface TokenLookup {
  getDeviceByTokenHash(tokenHash: Uint8Array): Promise<DeviceRow | null>;
}

/** The lookup as a Kysely query (the PostgreSQL driver's form). */
export function kyselyTokenLookup(db: Db): TokenLookup {
  return {
    async getDeviceByTokenHash(tokenHash) {
      const r = await db.selectFrom('devices').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      return r ? toDevice(r) : null;
    },
  };
}

/** AccountStore over Kysely, shared by both drivers. */
export class KyselyAccountStore implements AccountStore {
  private readonly db: Db;

  constructor(
    private readonly ctx: StoreContext,
    private readonly tokens: TokenLookup,
  ) {
    this.db = ctx.db;
  }

  // ----- verification sessions
  async putVerificationSession(row: VerificationSessionRow): Promise<void> {
    await this.db
      .insertInto('verification_sessions')
      .values({
        id: row.id,
        phone: row.phone,
        code_hash: row.codeHash,
        expires_at: row.expiresAt,
        attempts: row.attempts,
        created_at: row.createdAt,
      })
      .execute();
  }

  async getVerificationSession(id: string): Promise<VerificationSessionRow | null> {
    const r = await this.db.selectFrom('verification_sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return r
      ? {
          id: r.id,
          phone: r.phone,
          codeHash: r.code_hash,
          expiresAt: num(r.expires_at),
          attempts: r.attempts,
          createdAt: num(r.created_at),
        }
      : null;
  }

  async incrementVerificationAttempts(id: string): Promise<number> {
    const r = await this.db
      .updateTable('verification_sessions')
      .set({ attempts: sql`attempts + 1` })
      .where('id', '=', id)
      .returning('attempts')
      .executeTakeFirst();
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
  private async claimKeys(tx: AnyDb, claims: PublicKeyClaim[]): Promise<void> {
    if (!claims.length) return;
    const keys = claims.map((c) => c.key);
    const existing = await tx.selectFrom('public_keys').select('key').where('key', 'in', keys).executeTakeFirst();
    if (existing) throw new StorageConflict('key_reused');
    try {
      await tx
        .insertInto('public_keys')
        .values(claims.map((c) => ({ key: c.key, purpose: c.purpose, device_id: c.deviceId, account_id: c.accountId })))
        .execute();
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
  async registerAccount(input: {
    account: AccountRow;
    device: DeviceRow;
  }): Promise<{ account: AccountRow; device: DeviceRow; newAccount: boolean; revokedDeviceIds: string[] }> {
    return this.ctx.transact(async (tx) => {
      let revokedDeviceIds: string[] = [];
      const existingRow = await tx
        .selectFrom('accounts')
        .selectAll()
        .where('phone', '=', input.account.phone)
        .executeTakeFirst();
      const existing = existingRow ? toAccount(existingRow) : null;
      let account: AccountRow;
      if (existing) {
        const owner = await tx
          .selectFrom('public_keys')
          .select('account_id')
          .where('key', '=', input.account.identityKey)
          .executeTakeFirst();
        if (owner && owner.account_id !== existing.id) throw new StorageConflict('key_reused');
        if (!owner)
          await this.claimKeys(tx, [
            { key: input.account.identityKey, purpose: 'identity', deviceId: null, accountId: existing.id },
          ]);
        await tx
          .updateTable('accounts')
          .set({ identity_key: input.account.identityKey })
          .where('id', '=', existing.id)
          .execute();
        // Re-registration replaces every device: they stop authenticating and receiving.
        revokedDeviceIds = await this.revokeInTx(tx, existing.id, null, input.device.createdAt);
        account = { ...existing, identityKey: input.account.identityKey };
      } else {
        account = input.account;
        await this.claimKeys(tx, [
          { key: account.identityKey, purpose: 'identity', deviceId: null, accountId: account.id },
        ]);
        await tx
          .insertInto('accounts')
          .values({
            id: account.id,
            phone: account.phone,
            identity_key: account.identityKey,
            pin_hash: account.pinHash,
            discoverable: account.discoverable ? 1 : 0,
            created_at: account.createdAt,
          })
          .execute();
      }
      const device = { ...input.device, accountId: account.id };
      await this.claimKeys(tx, [
        { key: device.signingKey, purpose: 'signing', deviceId: device.id, accountId: account.id },
      ]);
      await this.insertDevice(tx, device);
      return { account, device, newAccount: !existing, revokedDeviceIds };
    });
  }

  async revokeDevices(accountId: string, deviceIds: readonly string[] | null, at: number): Promise<string[]> {
    if (deviceIds && !deviceIds.length) return [];
    return this.ctx.transact((tx) => this.revokeInTx(tx, accountId, deviceIds, at));
  }

  async inactiveDevices(deviceIds: readonly string[]): Promise<string[]> {
    if (!deviceIds.length) return [];
    const active = await this.db
      .selectFrom('devices')
      .select('id')
      .where('id', 'in', [...deviceIds])
      .where('revoked_at', 'is', null)
      .execute();
    const live = new Set(active.map((d) => d.id));
    return deviceIds.filter((d) => !live.has(d));
  }

  /**
   * Revoke the account's active devices (all, or those of `deviceIds`) inside `tx`: they stop
   * authenticating, leave every conversation, and lose their queues, KeyPackages and push subscriptions. Returns the
   * ids that were active until now (the ones revoked by this call).
   */
  private async revokeInTx(
    tx: AnyDb,
    accountId: string,
    deviceIds: readonly string[] | null,
    at: number,
  ): Promise<string[]> {
    let q = tx.selectFrom('devices').select('id').where('account_id', '=', accountId).where('revoked_at', 'is', null);
    if (deviceIds) q = q.where('id', 'in', [...deviceIds]);
    const ids = (await q.execute()).map((d) => d.id);
    if (!ids.length) return [];
    await tx.updateTable('devices').set({ revoked_at: at }).where('id', 'in', ids).execute();
    await tx.deleteFrom('conversation_devices').where('device_id', 'in', ids).execute();
    await tx.deleteFrom('deliveries').where('device_id', 'in', ids).execute();
    await tx.deleteFrom('key_packages').where('device_id', 'in', ids).execute();
    // A revoked device is never woken again (C18): its push subscription goes with it.
    await tx.deleteFrom('push_subscriptions').where('device_id', 'in', ids).execute();
    return ids;
  }

  private async insertDevice(tx: AnyDb, d: DeviceRow): Promise<void> {
    await tx
      .insertInto('devices')
      .values({
        id: d.id,
        account_id: d.accountId,
        name: d.name,
        signing_key: d.signingKey,
        signing_key_cert: d.signingKeyCert,
        token_hash: d.tokenHash,
        created_at: d.createdAt,
        revoked_at: d.revokedAt,
      })
      .execute();
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
    await this.ctx.transact(async (tx) => {
      await this.claimKeys(tx, [
        { key: device.signingKey, purpose: 'signing', deviceId: device.id, accountId: device.accountId },
      ]);
      await this.insertDevice(tx, device);
    });
  }

  async getDevice(id: string): Promise<DeviceRow | null> {
    const r = await this.db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toDevice(r) : null;
  }

  getDeviceByTokenHash(tokenHash: Uint8Array): Promise<DeviceRow | null> {
    return this.tokens.getDeviceByTokenHash(tokenHash);
  }

  async listDevices(accountId: string): Promise<DeviceRow[]> {
    const rows = await this.db
      .selectFrom('devices')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('revoked_at', 'is', null)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toDevice);
  }

  // ----- linked devices
  async createLinkSession(row: LinkSessionRow): Promise<void> {
    await this.deleteExpiredLinkSessions(row.createdAt);
    await this.db
      .insertInto('link_sessions')
      .values({
        id: row.id,
        account_id: row.accountId,
        device_id: row.deviceId,
        state: row.state,
        ephemeral_key: row.ephemeralKey,
        request: row.request,
        token_hash: row.tokenHash,
        new_device_id: row.newDeviceId,
        reply: row.reply,
        created_at: row.createdAt,
        expires_at: row.expiresAt,
      })
      .execute();
  }

  async getLinkSession(id: string): Promise<LinkSessionRow | null> {
    const r = await this.db.selectFrom('link_sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toLinkSession(r) : null;
  }

  async joinLinkSession(
    id: string,
    join: { ephemeralKey: Uint8Array; request: Uint8Array; tokenHash: Uint8Array },
    now: number,
  ): Promise<'joined' | 'expired' | 'used'> {
    // One conditional update: of two devices answering at once, exactly one moves the state.
    const r = await this.db
      .updateTable('link_sessions')
      .set({ state: 'joined', ephemeral_key: join.ephemeralKey, request: join.request, token_hash: join.tokenHash })
      .where('id', '=', id)
      .where('state', '=', 'open')
      .where('expires_at', '>=', now)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 1) return 'joined';
    const row = await this.getLinkSession(id);
    return !row || row.expiresAt < now ? 'expired' : 'used';
  }

  async approveLinkSession(
    id: string,
    device: Omit<DeviceRow, 'tokenHash'>,
    reply: Uint8Array,
    maxDevices: number,
    now: number,
  ): Promise<LinkApproval> {
    return this.ctx.transact(async (tx) => {
      // Two approvals for one account at once must not both pass the device count.
      await this.ctx.traits.lockAccount(tx, device.accountId);
      const q = tx.selectFrom('link_sessions').selectAll().where('id', '=', id);
      const r = await this.ctx.traits.forUpdate(q).executeTakeFirst();
      if (!r || num(r.expires_at) < now) return { ok: false, reason: 'expired' } as const;
      if (r.state === 'open') return { ok: false, reason: 'not_joined' } as const;
      if (r.state !== 'joined' || !r.token_hash) return { ok: false, reason: 'used' } as const;
      const active = await tx
        .selectFrom('devices')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('account_id', '=', device.accountId)
        .where('revoked_at', 'is', null)
        .executeTakeFirstOrThrow();
      if (Number(active.n) >= maxDevices) return { ok: false, reason: 'device_limit' } as const;
      await this.claimKeys(tx, [
        { key: device.signingKey, purpose: 'signing', deviceId: device.id, accountId: device.accountId },
      ]);
      await this.insertDevice(tx, { ...device, tokenHash: u8(r.token_hash) });
      await tx
        .updateTable('link_sessions')
        .set({ state: 'approved', new_device_id: device.id, reply, token_hash: null })
        .where('id', '=', id)
        .execute();
      return { ok: true } as const;
    });
  }

  async deliverLinkReply(id: string): Promise<void> {
    await this.db
      .updateTable('link_sessions')
      .set({ state: 'delivered', reply: null, request: null })
      .where('id', '=', id)
      .where('state', '=', 'approved')
      .execute();
  }

  async deleteLinkSession(id: string): Promise<void> {
    await this.db.deleteFrom('link_sessions').where('id', '=', id).execute();
  }

  async deleteExpiredLinkSessions(now: number): Promise<number> {
    const r = await this.db.deleteFrom('link_sessions').where('expires_at', '<', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async getDeviceList(accountId: string): Promise<DeviceListRow | null> {
    const r = await this.db
      .selectFrom('device_lists')
      .selectAll()
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    if (!r) return null;
    return {
      accountId: r.account_id,
      identityKey: u8(r.identity_key),
      version: num(r.version),
      issuedAt: num(r.issued_at),
      devices: JSON.parse(r.devices) as DeviceListRow['devices'],
      signature: u8(r.signature),
    };
  }

  async putDeviceList(row: DeviceListRow): Promise<boolean> {
    return this.ctx.transact(async (tx) => {
      const q = tx.selectFrom('device_lists').select('version').where('account_id', '=', row.accountId);
      const cur = await this.ctx.traits.forUpdate(q).executeTakeFirst();
      const values = {
        identity_key: row.identityKey,
        version: row.version,
        issued_at: row.issuedAt,
        devices: JSON.stringify(row.devices),
        signature: row.signature,
      };
      if (!cur) {
        await tx
          .insertInto('device_lists')
          .values({ account_id: row.accountId, ...values })
          .execute();
        return true;
      }
      if (num(cur.version) >= row.version) return false;
      await tx.updateTable('device_lists').set(values).where('account_id', '=', row.accountId).execute();
      return true;
    });
  }

  // ----- KeyPackages
  async addKeyPackages(
    deviceId: string,
    accountId: string,
    oneTime: KeyPackageInput[],
    lastResort: KeyPackageInput | null,
  ): Promise<void> {
    const all = [...oneTime, ...(lastResort ? [lastResort] : [])];
    await this.ctx.transact(async (tx) => {
      await this.claimKeys(
        tx,
        all.flatMap((k) => [
          { key: k.initKey, purpose: 'init' as const, deviceId, accountId },
          { key: k.encryptionKey, purpose: 'encryption' as const, deviceId, accountId },
        ]),
      );
      const now = Date.now();
      if (lastResort)
        await tx.deleteFrom('key_packages').where('device_id', '=', deviceId).where('last_resort', '=', 1).execute();
      if (all.length) {
        await tx
          .insertInto('key_packages')
          .values([
            ...oneTime.map((k) => ({ device_id: deviceId, data: k.data, last_resort: 0, created_at: now })),
            ...(lastResort ? [{ device_id: deviceId, data: lastResort.data, last_resort: 1, created_at: now }] : []),
          ])
          .execute();
      }
    });
  }

  async countKeyPackages(deviceId: string): Promise<{ available: number; lastResort: boolean }> {
    const rows = await this.db
      .selectFrom('key_packages')
      .select(['last_resort', (eb) => eb.fn.countAll<number>().as('n')])
      .where('device_id', '=', deviceId)
      .groupBy('last_resort')
      .execute();
    return {
      available: num(rows.find((r) => num(r.last_resort) === 0)?.n ?? 0),
      lastResort: rows.some((r) => num(r.last_resort) === 1 && num(r.n) > 0),
    };
  }

  async claimKeyPackages(deviceIds: string[]): Promise<KeyPackageClaim> {
    const none = Symbol('exhausted');
    let exhausted = '';
    try {
      const keyPackages = await this.ctx.transact(async (tx) => {
        const out: ClaimedKeyPackage[] = [];
        for (const deviceId of deviceIds) {
          const q = tx
            .selectFrom('key_packages')
            .select(['id', 'data'])
            .where('device_id', '=', deviceId)
            .where('last_resort', '=', 0)
            .orderBy('id')
            .limit(1);
          // PostgreSQL: a row another claim has locked is skipped rather than waited for, so two
          // claims never hand out the same KeyPackage. SQLite runs transactions one at a time.
          const kp = await this.ctx.traits.forUpdateSkipLocked(q).executeTakeFirst();
          if (kp) {
            await tx.deleteFrom('key_packages').where('id', '=', kp.id).execute();
            out.push({ deviceId, data: u8(kp.data), lastResort: false });
            continue;
          }
          const last = await tx
            .selectFrom('key_packages')
            .select('data')
            .where('device_id', '=', deviceId)
            .where('last_resort', '=', 1)
            .orderBy('id', 'desc')
            .limit(1)
            .executeTakeFirst();
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
}
