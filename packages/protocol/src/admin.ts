/**
 * Insider access (C14): the wire contract of the admin API under `/v1/admin/...`. Staff accounts
 * are separate from user accounts and have one of three roles; what each role may do is the
 * matrix below, and every read of user metadata carries a written reason that is recorded in the
 * hash-chained audit log before any data is read. See docs/admin.md.
 */
import { z } from 'zod';
import { accountIdSchema, deviceIdSchema } from './common.ts';

/** Staff roles: operators run the server, support answers users, security watches the staff. */
export const ADMIN_ROLES = ['operator', 'support', 'security'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];
export const adminRoleSchema = z.enum(ADMIN_ROLES);

/** Admin names: what the audit log calls a member of staff. */
export const adminNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9._-]{1,31}$/, 'must be 2-32 lower-case letters, digits, . _ or -, starting with a letter');

/** A written reason: required for every read of user metadata, recorded in the audit log. */
export const ADMIN_REASON_MIN = 10;
export const ADMIN_REASON_MAX = 500;

/**
 * The permission matrix: which roles may take each admin action. Actions are also the `action`
 * values of the audit log entries they produce.
 */
export const ADMIN_PERMISSIONS = {
  /** Who am I (any role; recorded as a login). */
  'auth.login': ['operator', 'support', 'security'],
  /** One account's metadata (by id or number). */
  'account.lookup': ['support', 'security'],
  /** Revoke devices of one account (a stolen phone, a hijacked number): they are cut off at once. */
  'devices.revoke': ['support', 'security'],
  /** Server-wide counts, no per-account data. */
  'stats.read': ['operator'],
  /** The staff list. */
  'admin.list': ['operator'],
  /** Revoke a member of staff. */
  'admin.revoke': ['operator'],
  /** Read the audit log. */
  'audit.read': ['security'],
  /** Recompute the audit chain. */
  'audit.verify': ['security'],
  /** Bulk-access alerts. */
  'alerts.read': ['security'],
  /** The list of user reports: who reported whom, when and why, without the included messages. */
  'reports.list': ['support', 'security'],
  /** One report with the messages its reporter included (with a reason; counts as an account read). */
  'report.read': ['support', 'security'],
} as const satisfies Record<string, readonly AdminRole[]>;
export type AdminAction = keyof typeof ADMIN_PERMISSIONS;

/** True when `role` may take `action`. */
export function adminMay(role: AdminRole, action: AdminAction): boolean {
  return (ADMIN_PERMISSIONS[action] as readonly AdminRole[]).includes(role);
}

/**
 * The reason field. Missing or too short is refused with `admin_reason_required` (checked by the
 * server before the schema, so the code is the documented one rather than `bad_request`).
 */
export const adminReasonSchema = z.string().trim().min(ADMIN_REASON_MIN).max(ADMIN_REASON_MAX);

/** POST /v1/admin/accounts/lookup: exactly one of `accountId` or `phone`, and a reason. */
export const adminLookupBody = z
  .object({
    accountId: accountIdSchema.optional(),
    phone: z.string().min(1).max(32).optional(),
    reason: adminReasonSchema,
  })
  .strict()
  .refine((b) => (b.accountId === undefined) !== (b.phone === undefined), 'give exactly one of accountId or phone');

/** The metadata an account lookup returns: no content, no keys, no profile (the server has none in clear). */
export const adminAccountView = z.object({
  accountId: accountIdSchema,
  phone: z.string(),
  createdAt: z.number(),
  discoverable: z.boolean(),
  registrationLock: z.boolean(),
  hasUsername: z.boolean(),
  devices: z.array(z.object({ deviceId: z.string(), name: z.string(), createdAt: z.number() })),
  conversations: z.number().int(),
  mediaBytes: z.number().int(),
  discoveryNumbersLookedUp: z.number().int(),
});

/** POST /v1/admin/admins/revoke. */
export const adminRevokeBody = z.object({ name: adminNameSchema, reason: adminReasonSchema }).strict();

/**
 * POST /v1/admin/accounts/devices/revoke: revoke the listed devices of an account, or every active
 * one when `deviceIds` is left out, with a reason.
 */
export const adminRevokeDevicesBody = z
  .object({
    accountId: accountIdSchema,
    deviceIds: z.array(deviceIdSchema).min(1).max(100).optional(),
    reason: adminReasonSchema,
  })
  .strict();

/** What a device revocation answers: the ids it revoked (already revoked ones are not listed). */
export const adminRevokeDevicesResult = z.object({ accountId: accountIdSchema, revoked: z.array(z.string()) });

/** GET /v1/admin/audit: a page of entries after `afterSeq`. */
export const adminAuditQuery = z
  .object({
    afterSeq: z.coerce.number().int().nonnegative().default(0),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

/** One audit log entry as stored and served. `hash` = SHA-256(prevHash bytes ‖ canonical JSON of the other fields). */
export const adminAuditEntry = z.object({
  seq: z.number().int().positive(),
  time: z.number().int(),
  admin: z.string(),
  role: z.string().nullable(),
  action: z.string(),
  target: z.string().nullable(),
  reason: z.string().nullable(),
  prevHash: z.string().regex(/^[0-9a-f]{64}$/),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});
export type AdminAuditEntry = z.infer<typeof adminAuditEntry>;

/** What the verifier reports: `ok` only when every entry links and hashes correctly. */
export const adminVerifyResult = z.object({
  ok: z.boolean(),
  entries: z.number().int(),
  head: z.string().nullable(),
  firstBroken: z
    .object({ seq: z.number().int(), problem: z.enum(['seq_gap', 'prev_hash_mismatch', 'hash_mismatch']) })
    .optional(),
});
export type AdminVerifyResult = z.infer<typeof adminVerifyResult>;

/** GET /v1/admin/reports: a page of reports filed before `before` (default: now), newest first. */
export const adminReportsQuery = z
  .object({
    before: z.coerce.number().int().positive().optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

/** POST /v1/admin/reports/read: one report with its messages, and a reason. */
export const adminReportReadBody = z
  .object({ reportId: z.string().regex(/^rp_[A-Za-z0-9_-]{22}$/, 'must be a report id'), reason: adminReasonSchema })
  .strict();
