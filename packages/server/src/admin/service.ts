/**
 * Insider access (C14): staff authentication, the role matrix, the audit trail of everything staff
 * do, and the bulk-access alert. Every read of user metadata is written to the audit log before
 * the data is read, so a read that is not in the log did not happen.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  ADMIN_REASON_MIN,
  ParleyError,
  adminMay,
  adminNameSchema,
  adminRoleSchema,
  type AdminAction,
  type AdminRole,
} from '@parley/protocol';
import type { Storage } from '../storage/types.ts';
import type { RateLimiter } from '../limits/types.ts';
import { chainEntry, type AuditFields } from './audit.ts';
import type { AdminRow, AuditRow } from '../storage/admin.ts';

/** An authenticated member of staff. */
export interface AdminCaller {
  readonly name: string;
  readonly role: AdminRole;
  readonly ip: string;
}

/** The actor name the command line writes into the audit log (no admin name can take this form). */
export const CLI_ACTOR = '(cli)';
/** The actor name of requests whose token matched nobody. */
export const UNKNOWN_ACTOR = '(unknown)';

/** Audit actions that read one account's metadata: what the bulk-access alert counts. */
export const ACCOUNT_READ_ACTIONS = ['account.lookup', 'report.read'];
export const BULK_ALERT_ACTION = 'alert.bulk_access';

/** SHA-256 of an admin bearer token: all the database keeps. */
export function adminTokenHash(token: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`parley-admin:${token}`).digest());
}

/** A fresh admin bearer token: 256 random bits, URL-safe, with a prefix that says what it is. */
export function newAdminToken(): string {
  return `padm_${randomBytes(32).toString('base64url')}`;
}

/** Append one entry to the audit chain. */
export function recordAudit(storage: Storage, fields: AuditFields): Promise<AuditRow> {
  return storage.admin.appendAudit((head) => chainEntry(head, fields));
}

/** Create a member of staff from the command line; returns the one-time token (never stored). */
export async function createAdmin(
  storage: Storage,
  input: { name: string; role: string },
  now = Date.now(),
): Promise<{ name: string; role: AdminRole; token: string }> {
  const name = adminNameSchema.parse(input.name);
  const role = adminRoleSchema.parse(input.role);
  const token = newAdminToken();
  const row: AdminRow = { name, role, tokenHash: adminTokenHash(token), createdAt: now, revokedAt: null };
  if (!(await storage.admin.createAdmin(row))) throw new ParleyError('admin_exists');
  await recordAudit(storage, {
    time: now,
    admin: CLI_ACTOR,
    role: 'operator',
    action: 'admin.create',
    target: `admin:${name}`,
    reason: null,
  });
  return { name, role, token };
}

/** Revoke a member of staff (command line or operator route); `by` is who did it. */
export async function revokeAdmin(
  storage: Storage,
  name: string,
  by: { admin: string; role: string; reason: string | null },
  now = Date.now(),
): Promise<void> {
  // Logged first: a revocation that is not in the log did not happen.
  const existing = await storage.admin.getAdmin(name);
  if (!existing || existing.revokedAt !== null) throw new ParleyError('admin_not_found');
  await recordAudit(storage, {
    time: now,
    admin: by.admin,
    role: by.role,
    action: 'admin.revoke',
    target: `admin:${name}`,
    reason: by.reason,
  });
  if (!(await storage.admin.revokeAdmin(name, now))) throw new ParleyError('admin_not_found');
}

/** The public view of a member of staff (no token hash). */
export function adminView(a: AdminRow) {
  return { name: a.name, role: a.role, createdAt: a.createdAt, revokedAt: a.revokedAt };
}

/** Dependencies of the admin service, taken from the server context. */
export interface AdminServiceDeps {
  storage: Storage;
  limiter: RateLimiter;
  log: Logger;
  now: () => number;
  /** More than this many distinct accounts read by one admin within `bulkMinutes` raises an alert. */
  bulkAccounts: number;
  bulkMinutes: number;
}

/** Failed admin authentications recorded per address per minute; beyond it they are refused unrecorded. */
const FAILED_AUTH_RULE = { limit: 20, windowMs: 60_000 };

/** Authentication, authorisation and auditing of staff requests. */
export class AdminService {
  constructor(private readonly deps: AdminServiceDeps) {}

  /** Record an entry by an authenticated admin. */
  record(admin: AdminCaller, action: string, target: string | null, reason: string | null): Promise<AuditRow> {
    return recordAudit(this.deps.storage, {
      time: this.deps.now(),
      admin: admin.name,
      role: admin.role,
      action,
      target,
      reason,
    });
  }

  /**
   * Resolve an admin bearer token. A missing, unknown or revoked token (a user device token
   * included) is `unauthenticated`, and the attempt is recorded, at most 20 a minute per address
   * so nobody can flood the log.
   */
  async authenticate(token: string | undefined, ip: string, attempted: AdminAction): Promise<AdminCaller> {
    const row =
      token && token.length <= 200 ? await this.deps.storage.admin.getAdminByTokenHash(adminTokenHash(token)) : null;
    if (row && row.revokedAt === null) return { name: row.name, role: row.role as AdminRole, ip };
    const decision = await this.deps.limiter.consume(`admin-auth-failed:${ip}`, FAILED_AUTH_RULE);
    if (!decision.allowed) {
      this.deps.log.warn({ ip, attempted }, 'admin authentication failures over the limit');
      throw new ParleyError('rate_limited', { retryAfterMs: decision.retryAfterMs });
    }
    await recordAudit(this.deps.storage, {
      time: this.deps.now(),
      admin: row ? row.name : UNKNOWN_ACTOR,
      role: row ? row.role : null,
      action: 'auth.failed',
      target: attempted,
      reason: row ? 'revoked token' : null,
    });
    throw new ParleyError('unauthenticated', { message: 'Missing, unknown or revoked admin token.' });
  }

  /** Refuse (and record) an action the admin's role does not allow. */
  async authorize(admin: AdminCaller, action: AdminAction): Promise<void> {
    if (adminMay(admin.role, action)) return;
    await this.record(admin, 'access.denied', action, null);
    throw new ParleyError('admin_forbidden', { details: { role: admin.role, action } });
  }

  /** The `reason` of a request body, or `admin_reason_required` (before any other check of the body). */
  requireReason(raw: unknown): string {
    const reason = typeof raw === 'object' && raw !== null ? (raw as { reason?: unknown }).reason : undefined;
    if (typeof reason !== 'string' || reason.trim().length < ADMIN_REASON_MIN)
      throw new ParleyError('admin_reason_required');
    return reason.trim();
  }

  /**
   * Record a read of one account's metadata (before it is read), then raise the bulk-access alert
   * when this admin has now read more than `bulkAccounts` distinct accounts within `bulkMinutes`.
   */
  async recordAccountRead(admin: AdminCaller, action: string, target: string, reason: string): Promise<AuditRow> {
    const entry = await this.record(admin, action, target, reason);
    const since = this.deps.now() - this.deps.bulkMinutes * 60_000;
    const distinct = await this.deps.storage.admin.countDistinctTargets(admin.name, ACCOUNT_READ_ACTIONS, since);
    if (
      distinct > this.deps.bulkAccounts &&
      !(await this.deps.storage.admin.hasAuditSince(admin.name, BULK_ALERT_ACTION, since))
    ) {
      const text = `${distinct} distinct accounts read within ${this.deps.bulkMinutes} minutes (limit ${this.deps.bulkAccounts})`;
      const alert = await this.record(admin, BULK_ALERT_ACTION, `admin:${admin.name}`, text);
      this.deps.log.warn(
        {
          alert: 'admin_bulk_access',
          admin: admin.name,
          role: admin.role,
          accounts: distinct,
          minutes: this.deps.bulkMinutes,
          limit: this.deps.bulkAccounts,
          auditSeq: alert.seq,
        },
        'admin bulk access',
      );
    }
    return entry;
  }
}
