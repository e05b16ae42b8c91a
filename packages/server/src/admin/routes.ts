/**
 * The admin API (C14) under `/v1/admin/...` and the admin console at `/admin`. Routes have their
 * own table because their callers are staff, not devices: a staff bearer token, the role matrix
 * of @parley/protocol, a written reason for reads of user metadata, and an audit entry written
 * before anything is read. Errors come from the one catalogue through the app's error handler.
 *
 * Every route's output is listed in docs/admin.md; none carries message content, profiles,
 * tokens or keys (the server holds no plaintext to give, and these routes do not touch payloads).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  ADMIN_PERMISSIONS,
  ParleyError,
  adminAuditQuery,
  adminLookupBody,
  adminRevokeBody,
  adminRevokeDevicesBody,
  adminReportReadBody,
  adminReportsQuery,
  type AdminAction,
  type AdminRole,
} from '@parley/protocol';
import type { ServerContext } from '../context.ts';
import { normalisePhone } from '../actions/accounts.ts';
import { revokeDevices } from '../actions/devices.ts';
import { verifyChain } from './audit.ts';
import { AdminService, BULK_ALERT_ACTION, adminView, revokeAdmin, type AdminCaller } from './service.ts';

/** One admin route: the action it is (permission and audit name), its input and what it does. */
interface AdminRoute<S extends z.ZodType = z.ZodType> {
  readonly action: AdminAction;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly input: S;
  /** True when the body must carry a written `reason` (checked before anything else in it). */
  readonly reason?: boolean;
  /** Records its audit entry itself, before reading anything. */
  readonly run: (ctx: ServerContext, svc: AdminService, admin: AdminCaller, input: z.infer<S>) => Promise<unknown>;
}

const route = <S extends z.ZodType>(r: AdminRoute<S>): AdminRoute<S> => r;
const empty = z.object({}).strict();

/** Which actions a role may take, for the console. */
function permissionsOf(role: AdminRole): AdminAction[] {
  return (Object.keys(ADMIN_PERMISSIONS) as AdminAction[]).filter((a) =>
    (ADMIN_PERMISSIONS[a] as readonly string[]).includes(role),
  );
}

/** Every admin route. */
export const ADMIN_ROUTES = [
  route({
    action: 'auth.login',
    method: 'GET',
    path: '/v1/admin/me',
    input: empty,
    run: async (_ctx, svc, admin) => {
      await svc.record(admin, 'auth.login', null, null);
      return { name: admin.name, role: admin.role, permissions: permissionsOf(admin.role) };
    },
  }),
  route({
    action: 'account.lookup',
    method: 'POST',
    path: '/v1/admin/accounts/lookup',
    input: adminLookupBody,
    reason: true,
    run: async (ctx, svc, admin, body) => {
      const phone = body.phone === undefined ? undefined : normalisePhone(body.phone);
      const target = body.accountId ? `account:${body.accountId}` : `phone:${phone}`;
      // Recorded before the first read: if the log cannot be written, nothing is read.
      const entry = await svc.recordAccountRead(admin, 'account.lookup', target, body.reason);
      const account = body.accountId
        ? await ctx.storage.accounts.getAccount(body.accountId)
        : await ctx.storage.accounts.getAccountByPhone(phone!);
      if (!account) throw new ParleyError('account_not_found');
      const devices = await ctx.storage.accounts.listDevices(account.id);
      return {
        accountId: account.id,
        phone: account.phone,
        createdAt: account.createdAt,
        discoverable: account.discoverable,
        registrationLock: account.pinHash !== null,
        hasUsername: await ctx.storage.discovery.hasUsername(account.id),
        devices: devices.map((d) => ({ deviceId: d.id, name: d.name, createdAt: d.createdAt })),
        conversations: await ctx.storage.admin.countConversations(account.id),
        mediaBytes: await ctx.storage.media.mediaBytesUsed(account.id),
        discoveryNumbersLookedUp: await ctx.storage.discovery.discoveryUsed(account.id),
        auditSeq: entry.seq,
      };
    },
  }),
  route({
    action: 'devices.revoke',
    method: 'POST',
    path: '/v1/admin/accounts/devices/revoke',
    input: adminRevokeDevicesBody,
    reason: true,
    run: async (ctx, svc, admin, body) => {
      // Recorded before anything is read or changed: a revocation that is not in the log did not happen.
      await svc.record(admin, 'devices.revoke', `account:${body.accountId}`, body.reason);
      const account = await ctx.storage.accounts.getAccount(body.accountId);
      if (!account) throw new ParleyError('account_not_found');
      if (body.deviceIds) {
        // All or nothing: one id that is not an active device of this account changes nothing.
        const active = new Set((await ctx.storage.accounts.listDevices(account.id)).map((d) => d.id));
        const unknown = body.deviceIds.filter((d) => !active.has(d));
        if (unknown.length) throw new ParleyError('device_not_found', { details: { deviceIds: unknown } });
      }
      const revoked = await revokeDevices(ctx, account.id, body.deviceIds ?? null, 'admin');
      return { accountId: account.id, revoked };
    },
  }),
  route({
    action: 'stats.read',
    method: 'GET',
    path: '/v1/admin/stats',
    input: empty,
    run: async (ctx, svc, admin) => {
      await svc.record(admin, 'stats.read', null, null);
      const admins = await ctx.storage.admin.listAdmins();
      return { ...(await ctx.storage.admin.counts()), admins: admins.filter((a) => a.revokedAt === null).length };
    },
  }),
  route({
    action: 'admin.list',
    method: 'GET',
    path: '/v1/admin/admins',
    input: empty,
    run: async (ctx, svc, admin) => {
      await svc.record(admin, 'admin.list', null, null);
      return { admins: (await ctx.storage.admin.listAdmins()).map(adminView) };
    },
  }),
  route({
    action: 'admin.revoke',
    method: 'POST',
    path: '/v1/admin/admins/revoke',
    input: adminRevokeBody,
    reason: true,
    run: async (ctx, _svc, admin, body) => {
      await revokeAdmin(
        ctx.storage,
        body.name,
        { admin: admin.name, role: admin.role, reason: body.reason },
        ctx.now(),
      );
      return { name: body.name, revoked: true };
    },
  }),
  route({
    action: 'audit.read',
    method: 'GET',
    path: '/v1/admin/audit',
    input: adminAuditQuery,
    run: async (ctx, svc, admin, q) => {
      await svc.record(admin, 'audit.read', null, null);
      const entries = await ctx.storage.admin.listAudit(q.afterSeq, q.limit);
      return { entries, nextAfterSeq: entries.at(-1)?.seq ?? q.afterSeq };
    },
  }),
  route({
    action: 'audit.verify',
    method: 'GET',
    path: '/v1/admin/audit/verify',
    input: empty,
    run: async (ctx, svc, admin) => {
      await svc.record(admin, 'audit.verify', null, null);
      return verifyChain(ctx.storage.admin);
    },
  }),
  route({
    action: 'alerts.read',
    method: 'GET',
    path: '/v1/admin/alerts',
    input: adminAuditQuery,
    run: async (ctx, svc, admin, q) => {
      await svc.record(admin, 'alerts.read', null, null);
      return { alerts: await ctx.storage.admin.listAudit(q.afterSeq, q.limit, { action: BULK_ALERT_ACTION }) };
    },
  }),
  route({
    action: 'reports.list',
    method: 'GET',
    path: '/v1/admin/reports',
    input: adminReportsQuery,
    run: async (ctx, svc, admin, q) => {
      await svc.record(admin, 'reports.list', null, null);
      const reports = await ctx.storage.safety.listReports(q.before ?? ctx.now() + 1, q.limit);
      return { reports, nextBefore: reports.at(-1)?.createdAt ?? null };
    },
  }),
  route({
    action: 'report.read',
    method: 'POST',
    path: '/v1/admin/reports/read',
    input: adminReportReadBody,
    reason: true,
    run: async (ctx, svc, admin, body) => {
      // The only content staff ever see: recorded, with its reason, before it is read.
      await svc.recordAccountRead(admin, 'report.read', `report:${body.reportId}`, body.reason);
      const report = await ctx.storage.safety.getReport(body.reportId);
      if (!report) throw new ParleyError('report_not_found');
      return report;
    },
  }),
] as AdminRoute[];

function bearer(req: FastifyRequest): string | undefined {
  const m = /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(req.headers.authorization ?? '');
  return m?.[1];
}

const STATIC_DIR = resolve(import.meta.dirname, '../../static/admin');
const CONSOLE_FILES: Record<string, { file: string; type: string }> = {
  '/admin': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/admin/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/admin/admin.js': { file: 'admin.js', type: 'text/javascript; charset=utf-8' },
  '/admin/admin.css': { file: 'admin.css', type: 'text/css; charset=utf-8' },
};

/** Register the admin API and console on the app. */
export function registerAdminRoutes(app: FastifyInstance, ctx: ServerContext): AdminService {
  const svc = new AdminService({
    storage: ctx.storage,
    limiter: ctx.limiter,
    log: ctx.log,
    now: ctx.now,
    bulkAccounts: ctx.config.adminBulkAccounts,
    bulkMinutes: ctx.config.adminBulkMinutes,
  });
  for (const r of ADMIN_ROUTES) {
    app.route({
      method: r.method,
      url: r.path,
      handler: async (req, reply) => {
        // Staff answers are never cached by browsers or proxies.
        reply.header('cache-control', 'no-store');
        const admin = await svc.authenticate(bearer(req), req.ip, r.action);
        await svc.authorize(admin, r.action);
        let raw: unknown;
        if (r.method === 'GET') raw = { ...(req.query as object) };
        else {
          raw = req.body ?? {};
          if (Buffer.isBuffer(raw)) throw new ParleyError('unsupported_media_type');
          if (typeof raw !== 'object' || Array.isArray(raw))
            throw new ParleyError('bad_request', { details: { problem: 'body must be a JSON object' } });
        }
        if (r.reason) svc.requireReason(raw);
        const input = r.input.parse(raw);
        return r.run(ctx, svc, admin, input);
      },
    });
  }
  // The console: static files read once; they hold no data, everything comes from the API above.
  for (const [url, { file, type }] of Object.entries(CONSOLE_FILES)) {
    const body = readFileSync(resolve(STATIC_DIR, file));
    app.get(url, async (_req, reply) =>
      reply
        .header('content-type', type)
        .header('cache-control', 'no-store')
        .header(
          'content-security-policy',
          "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        )
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .send(body),
    );
  }
  return svc;
}
