/**
 * Storage of insider access (C14): staff accounts and the audit log, on either driver. The audit
 * log has an append method and read methods only: nothing here (or anywhere) updates or deletes
 * an entry, and migration 0008 makes the database refuse it as well.
 */
import { sql, type Kysely } from 'kysely';
import type { Tables } from './tables.ts';
import { isUniqueViolation, num, u8 } from './rows.ts';

/** A member of staff; the bearer token is stored only as its SHA-256. */
export interface AdminRow {
  name: string;
  role: string;
  tokenHash: Uint8Array;
  createdAt: number;
  revokedAt: number | null;
}

/** What an audit entry says, before it is placed in the chain. */
export interface AuditFields {
  time: number;
  admin: string;
  role: string | null;
  action: string;
  target: string | null;
  reason: string | null;
}

/** One audit log entry as stored: its fields, its place, and its link (see docs/admin.md for the hash). */
export interface AuditRow extends AuditFields {
  seq: number;
  prevHash: string;
  hash: string;
}

/** Aggregate counts for operators: no per-account data. */
export interface ServerCounts {
  accounts: number;
  activeDevices: number;
  conversations: number;
  storedMessages: number;
  pendingDeliveries: number;
  mediaBlobs: number;
  mediaBytes: number;
}

/** The admin half of storage (reached as `storage.admin`). */
export interface AdminStore {
  /** Add a member of staff; false when the name is taken (nothing changes then). */
  createAdmin(row: AdminRow): Promise<boolean>;
  getAdminByTokenHash(tokenHash: Uint8Array): Promise<AdminRow | null>;
  getAdmin(name: string): Promise<AdminRow | null>;
  /** Every member of staff, revoked ones included, by name. */
  listAdmins(): Promise<AdminRow[]>;
  /** Revoke a member of staff; false when there is no active one by that name. */
  revokeAdmin(name: string, at: number): Promise<boolean>;
  /**
   * Append one entry at the head of the chain: `build` gets the current head (null for an empty
   * log) and returns the entry to insert. Two appenders racing for the same seq (several
   * processes) cannot both win: the loser builds again on the new head.
   */
  appendAudit(build: (head: { seq: number; hash: string } | null) => AuditRow): Promise<AuditRow>;
  /** Entries with seq > afterSeq, oldest first. */
  listAudit(afterSeq: number, limit: number, opts?: { action?: string }): Promise<AuditRow[]>;
  /** Distinct targets of `actions` by `admin` at or after `since`. */
  countDistinctTargets(admin: string, actions: string[], since: number): Promise<number>;
  /** Whether an entry with `action` by `admin` exists at or after `since`. */
  hasAuditSince(admin: string, action: string, since: number): Promise<boolean>;
  /** How many conversations the account is a member of. */
  countConversations(accountId: string): Promise<number>;
  counts(): Promise<ServerCounts>;
}

function toAdmin(r: Tables['admin_accounts']): AdminRow {
  return {
    name: r.name,
    role: r.role,
    tokenHash: u8(r.token_hash),
    createdAt: num(r.created_at),
    revokedAt: r.revoked_at === null ? null : num(r.revoked_at),
  };
}

function toAudit(r: Tables['admin_audit']): AuditRow {
  return {
    seq: num(r.seq),
    time: num(r.time),
    admin: r.admin,
    role: r.role,
    action: r.action,
    target: r.target,
    reason: r.reason,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** AdminStore over the same Kysely connection as the rest of storage. */
export class KyselyAdminStore implements AdminStore {
  constructor(private readonly db: Kysely<Tables>) {}

  async createAdmin(row: AdminRow): Promise<boolean> {
    try {
      await this.db
        .insertInto('admin_accounts')
        .values({
          name: row.name,
          role: row.role,
          token_hash: row.tokenHash,
          created_at: row.createdAt,
          revoked_at: row.revokedAt,
        })
        .execute();
      return true;
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }

  async getAdminByTokenHash(tokenHash: Uint8Array): Promise<AdminRow | null> {
    const r = await this.db
      .selectFrom('admin_accounts')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    return r ? toAdmin(r) : null;
  }

  async getAdmin(name: string): Promise<AdminRow | null> {
    const r = await this.db.selectFrom('admin_accounts').selectAll().where('name', '=', name).executeTakeFirst();
    return r ? toAdmin(r) : null;
  }

  async listAdmins(): Promise<AdminRow[]> {
    return (await this.db.selectFrom('admin_accounts').selectAll().orderBy('name').execute()).map(toAdmin);
  }

  async revokeAdmin(name: string, at: number): Promise<boolean> {
    const r = await this.db
      .updateTable('admin_accounts')
      .set({ revoked_at: at })
      .where('name', '=', name)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async appendAudit(build: (head: { seq: number; hash: string } | null) => AuditRow): Promise<AuditRow> {
    for (let attempt = 0; ; attempt++) {
      const head = await this.db
        .selectFrom('admin_audit')
        .select(['seq', 'hash'])
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      const row = build(head ? { seq: num(head.seq), hash: head.hash } : null);
      try {
        await this.db
          .insertInto('admin_audit')
          .values({
            seq: row.seq,
            time: row.time,
            admin: row.admin,
            role: row.role,
            action: row.action,
            target: row.target,
            reason: row.reason,
            prev_hash: row.prevHash,
            hash: row.hash,
          })
          .execute();
        return row;
      } catch (e) {
        // Another process appended at this seq first: build again on its entry.
        if (!isUniqueViolation(e) || attempt >= 50) throw e;
      }
    }
  }

  async listAudit(afterSeq: number, limit: number, opts: { action?: string } = {}): Promise<AuditRow[]> {
    let q = this.db.selectFrom('admin_audit').selectAll().where('seq', '>', afterSeq);
    if (opts.action) q = q.where('action', '=', opts.action);
    return (await q.orderBy('seq').limit(limit).execute()).map(toAudit);
  }

  async countDistinctTargets(admin: string, actions: string[], since: number): Promise<number> {
    if (!actions.length) return 0;
    const r = await this.db
      .selectFrom('admin_audit')
      .select(sql<number | string>`count(distinct target)`.as('n'))
      .where('admin', '=', admin)
      .where('time', '>=', since)
      .where('action', 'in', actions)
      .executeTakeFirst();
    return num(r?.n ?? 0);
  }

  async hasAuditSince(admin: string, action: string, since: number): Promise<boolean> {
    const r = await this.db
      .selectFrom('admin_audit')
      .select('seq')
      .where('admin', '=', admin)
      .where('time', '>=', since)
      .where('action', '=', action)
      .limit(1)
      .executeTakeFirst();
    return r !== undefined;
  }

  async countConversations(accountId: string): Promise<number> {
    const r = await this.db
      .selectFrom('conversation_members')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    return num(r?.n ?? 0);
  }

  async counts(): Promise<ServerCounts> {
    const count = async (table: 'accounts' | 'conversations' | 'messages' | 'deliveries' | 'media_blobs') =>
      num(
        (
          await this.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number | string>().as('n'))
            .executeTakeFirst()
        )?.n ?? 0,
      );
    const devices = await this.db
      .selectFrom('devices')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    const bytes = await this.db
      .selectFrom('media_blobs')
      .select((eb) => eb.fn.sum<number | string | null>('size').as('n'))
      .executeTakeFirst();
    return {
      accounts: await count('accounts'),
      activeDevices: num(devices?.n ?? 0),
      conversations: await count('conversations'),
      storedMessages: await count('messages'),
      pendingDeliveries: await count('deliveries'),
      mediaBlobs: await count('media_blobs'),
      mediaBytes: num(bytes?.n ?? 0),
    };
  }
}
