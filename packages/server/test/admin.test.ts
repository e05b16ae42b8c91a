/**
 * Insider access (C14) on SQLite and PostgreSQL: staff tokens only (device tokens refused), the
 * role matrix on every admin route with denials recorded, the written reason (refused without
 * one, nothing read or recorded), each read recorded before anything is read, the bulk-access
 * alert at N+1 distinct accounts, no content in any admin answer, device revocation (recorded
 * first, all-or-nothing, the device's socket closed at once), and the hash chain: intact,
 * then tampered directly in the database (after dropping the append-only guard, as an attacker
 * with owner rights could) and caught by the verifier at the right entry.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { ADMIN_PERMISSIONS, ADMIN_ROLES, type AdminAction, type AdminRole } from '@parley/protocol';
import { availableDrivers, newClient, startServer, until, type TestServer } from '@parley/testkit';
import { deviceToken } from '@parley/sdk/testing';
import { createAdmin } from '../src/admin/index.ts';

const drivers = await availableDrivers();
const BULK = 3;

/** Run SQL on the test server's database directly (what someone with file or owner access can do). */
async function rawSql(t: TestServer, text: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  if (t.databaseUrl) {
    const c = new pg.Client({ connectionString: t.databaseUrl });
    await c.connect();
    try {
      const pgText = params.reduce<string>((s, _p, i) => s.replace('?', `$${i + 1}`), text);
      return (await c.query(pgText, params)).rows as Record<string, unknown>[];
    } finally {
      await c.end();
    }
  }
  const db = new Database(join(t.dataDir, 'parley.sqlite'));
  try {
    const st = db.prepare(text);
    return st.reader ? (st.all(...params) as Record<string, unknown>[]) : (st.run(...params), []);
  } finally {
    db.close();
  }
}

interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string } };
  text: string;
}

async function call(
  url: string,
  token: string | null,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<Answer> {
  const res = await fetch(url + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Answer['body'], text };
}

const REASON = 'Ticket 4711: user reports a lost device';

for (const { driver, skip } of drivers) {
  describe(`insider access on ${driver}`, { skip }, () => {
    let t: TestServer;
    const logLines: Record<string, unknown>[] = [];
    const tokens = {} as Record<AdminRole, string>;
    let alice: Awaited<ReturnType<typeof newClient>>;
    let bob: Awaited<ReturnType<typeof newClient>>;
    let conversationId: string;
    const canary = `ADMIN-CANARY-${Math.random().toString(36).slice(2)}`;

    const auditRows = () => t.server.ctx.storage.admin.listAudit(0, 10_000);

    before(async () => {
      const sink = new Writable({
        write(chunk, _enc, done) {
          for (const line of String(chunk).split('\n').filter(Boolean))
            logLines.push(JSON.parse(line) as Record<string, unknown>);
          done();
        },
      });
      t = await startServer(
        driver,
        { adminBulkAccounts: BULK, adminBulkMinutes: 10 },
        { log: pino({ level: 'warn' }, sink) },
      );
      for (const role of ADMIN_ROLES)
        tokens[role] = (await createAdmin(t.server.ctx.storage, { name: `${role}-one`, role })).token;
      alice = await newClient(t.url);
      bob = await newClient(t.url);
      conversationId = await alice.startDirect(bob.self.accountId);
      await alice.sendText(conversationId, `${canary} hello bob`);
      await until(
        async () => (await bob.messages(conversationId)).some((m) => m.text.includes(canary)),
        10_000,
        'bob got the message',
      );
      await bob.sendText(conversationId, `${canary} hello alice`);
      await until(
        async () => (await alice.messages(conversationId)).some((m) => m.text.includes(canary) && !m.outgoing),
        10_000,
        'alice got the reply',
      );
    });
    after(async () => {
      await Promise.all([alice?.close(), bob?.close()]);
      await t?.close();
    });

    it('accepts staff tokens only: none, unknown, a user device token and a revoked token are refused and recorded', async () => {
      const before = (await auditRows()).length;
      for (const token of [null, 'padm_nothing-like-a-real-token', deviceToken(alice)]) {
        const r = await call(t.url, token, 'POST', '/v1/admin/accounts/lookup', {
          accountId: alice.self.accountId,
          reason: REASON,
        });
        assert.equal(r.status, 401);
        assert.equal(r.body.error?.code, 'unauthenticated');
        assert.ok(!r.text.includes(alice.phone));
      }
      const { token: gone } = await createAdmin(t.server.ctx.storage, { name: 'leaver', role: 'support' });
      assert.equal((await call(t.url, gone, 'GET', '/v1/admin/me')).status, 200);
      const revoked = await call(t.url, tokens.operator, 'POST', '/v1/admin/admins/revoke', {
        name: 'leaver',
        reason: 'Left the company on Friday',
      });
      assert.equal(revoked.status, 200, revoked.text);
      assert.deepEqual(revoked.body, { name: 'leaver', revoked: true });
      const after = await call(t.url, gone, 'GET', '/v1/admin/me');
      assert.equal(after.status, 401);
      const rows = (await auditRows()).slice(before);
      assert.deepEqual(
        rows.filter((e) => e.action === 'auth.failed').map((e) => [e.admin, e.target]),
        [
          ['(unknown)', 'account.lookup'],
          ['(unknown)', 'account.lookup'],
          ['(unknown)', 'account.lookup'],
          ['leaver', 'auth.login'],
        ],
      );
      assert.ok(rows.some((e) => e.action === 'auth.login' && e.admin === 'leaver'));
      assert.ok(
        rows.some(
          (e) =>
            e.action === 'admin.revoke' &&
            e.admin === 'operator-one' &&
            e.target === 'admin:leaver' &&
            e.reason === 'Left the company on Friday',
        ),
      );
    });

    it('applies the role matrix to every route and records each denial', async () => {
      const routes: { action: AdminAction; method: 'GET' | 'POST'; path: string; body?: () => Promise<unknown> }[] = [
        { action: 'auth.login', method: 'GET', path: '/v1/admin/me' },
        {
          action: 'account.lookup',
          method: 'POST',
          path: '/v1/admin/accounts/lookup',
          body: async () => ({ accountId: alice.self.accountId, reason: REASON }),
        },
        {
          action: 'devices.revoke',
          method: 'POST',
          path: '/v1/admin/accounts/devices/revoke',
          body: async () => ({
            accountId: (await newClient(t.url, undefined, { connect: false })).self.accountId,
            reason: 'Reported stolen phone, ticket 881',
          }),
        },
        { action: 'stats.read', method: 'GET', path: '/v1/admin/stats' },
        { action: 'admin.list', method: 'GET', path: '/v1/admin/admins' },
        {
          action: 'admin.revoke',
          method: 'POST',
          path: '/v1/admin/admins/revoke',
          body: async () => ({
            name: (
              await createAdmin(t.server.ctx.storage, {
                name: `temp-${Math.random().toString(36).slice(2, 8)}`,
                role: 'support',
              })
            ).name,
            reason: 'Temporary account no longer needed',
          }),
        },
        { action: 'audit.read', method: 'GET', path: '/v1/admin/audit' },
        { action: 'audit.verify', method: 'GET', path: '/v1/admin/audit/verify' },
        { action: 'alerts.read', method: 'GET', path: '/v1/admin/alerts' },
        { action: 'reports.list', method: 'GET', path: '/v1/admin/reports' },
        {
          action: 'report.read',
          method: 'POST',
          path: '/v1/admin/reports/read',
          body: async () => ({
            reportId: (await bob.report({ accountId: alice.self.accountId, conversationId, messages: 1 })).reportId,
            reason: 'User report about spam, ticket 902',
          }),
        },
      ];
      assert.deepEqual(
        routes.map((r) => r.action).sort(),
        Object.keys(ADMIN_PERMISSIONS).sort(),
        'every action has a route under test',
      );
      for (const r of routes) {
        for (const role of ADMIN_ROLES) {
          const allowed = (ADMIN_PERMISSIONS[r.action] as readonly string[]).includes(role);
          const body = r.body ? await r.body() : undefined;
          const before = (await auditRows()).length;
          const ans = await call(t.url, tokens[role], r.method, r.path, body);
          const added = (await auditRows()).slice(before);
          if (allowed) {
            assert.equal(ans.status, 200, `${role} ${r.action}: ${ans.text}`);
            assert.ok(
              added.some((e) => e.action === r.action && e.admin === `${role}-one`),
              `${role} ${r.action} recorded`,
            );
          } else {
            assert.equal(ans.status, 403, `${role} ${r.action}`);
            assert.equal(ans.body.error?.code, 'admin_forbidden');
            assert.deepEqual(
              added.map((e) => [e.action, e.target, e.admin, e.role]),
              [['access.denied', r.action, `${role}-one`, role]],
            );
          }
        }
      }
    });

    it('refuses reads without a written reason, and bad input: nothing is read or recorded', async () => {
      const before = (await auditRows()).length;
      const reads = t.server.ctx.storage.accounts.getAccount.bind(t.server.ctx.storage.accounts);
      let accountReads = 0;
      t.server.ctx.storage.accounts.getAccount = async (id: string) => {
        accountReads++;
        return reads(id);
      };
      try {
        for (const body of [
          { accountId: alice.self.accountId },
          { accountId: alice.self.accountId, reason: 'because' },
          { accountId: alice.self.accountId, reason: '          x         ' },
          { phone: alice.phone, reason: 42 },
        ]) {
          const r = await call(t.url, tokens.support, 'POST', '/v1/admin/accounts/lookup', body);
          assert.equal(r.status, 400, r.text);
          assert.equal(r.body.error?.code, 'admin_reason_required');
          assert.ok(!r.text.includes(alice.phone));
        }
        const noReasonRevoke = await call(t.url, tokens.operator, 'POST', '/v1/admin/admins/revoke', {
          name: 'support-one',
        });
        assert.equal(noReasonRevoke.body.error?.code, 'admin_reason_required');
        // Bad input with a reason is refused before anything is recorded too.
        const both = await call(t.url, tokens.support, 'POST', '/v1/admin/accounts/lookup', {
          accountId: alice.self.accountId,
          phone: alice.phone,
          reason: REASON,
        });
        assert.equal(both.body.error?.code, 'bad_request');
        const badPhone = await call(t.url, tokens.support, 'POST', '/v1/admin/accounts/lookup', {
          phone: '+1',
          reason: REASON,
        });
        assert.equal(badPhone.body.error?.code, 'phone_invalid');
        const extra = await call(t.url, tokens.support, 'POST', '/v1/admin/accounts/lookup', {
          accountId: alice.self.accountId,
          reason: REASON,
          include: 'messages',
        });
        assert.equal(extra.body.error?.code, 'bad_request');
        for (const raw of ['[1, 2]', '{"accountId": ', '"just a string"']) {
          const res = await fetch(`${t.url}/v1/admin/accounts/lookup`, {
            method: 'POST',
            headers: { authorization: `Bearer ${tokens.support}`, 'content-type': 'application/json' },
            body: raw,
          });
          assert.equal(res.status, 400, raw);
          assert.ok(
            ['bad_request', 'admin_reason_required'].includes(
              ((await res.json()) as { error: { code: string } }).error.code,
            ),
            raw,
          );
        }
        const badPage = await call(t.url, tokens.security, 'GET', '/v1/admin/audit?limit=0');
        assert.equal(badPage.body.error?.code, 'bad_request');
      } finally {
        t.server.ctx.storage.accounts.getAccount = reads;
      }
      assert.equal(accountReads, 0, 'no account was read');
      assert.equal((await auditRows()).length, before, 'nothing was recorded');
      assert.equal(
        (await t.server.ctx.storage.admin.getAdmin('support-one'))?.revokedAt,
        null,
        'the admin was not revoked',
      );
    });

    it('records each read, with reason and target, before anything is read', async () => {
      const byId = await call(t.url, tokens.support, 'POST', '/v1/admin/accounts/lookup', {
        accountId: alice.self.accountId,
        reason: REASON,
      });
      assert.equal(byId.status, 200, byId.text);
      assert.equal(byId.body.accountId, alice.self.accountId);
      assert.equal(byId.body.phone, alice.phone);
      assert.equal(byId.body.conversations, 1);
      assert.deepEqual(
        (byId.body.devices as { deviceId: string }[]).map((d) => d.deviceId),
        [alice.self.deviceId],
      );
      const byPhone = await call(t.url, tokens.security, 'POST', '/v1/admin/accounts/lookup', {
        phone: bob.phone,
        reason: `  ${REASON}  `,
      });
      assert.equal(byPhone.body.accountId, bob.self.accountId);
      const rows = await auditRows();
      const e1 = rows.find((e) => e.seq === byId.body.auditSeq)!;
      assert.deepEqual(
        [e1.admin, e1.role, e1.action, e1.target, e1.reason],
        ['support-one', 'support', 'account.lookup', `account:${alice.self.accountId}`, REASON],
      );
      const e2 = rows.find((e) => e.seq === byPhone.body.auditSeq)!;
      assert.deepEqual(
        [e2.admin, e2.action, e2.target, e2.reason],
        ['security-one', 'account.lookup', `phone:${bob.phone}`, REASON],
      );
      // A lookup of an account that does not exist is still an access attempt on the record.
      const missing = await call(t.url, tokens.support, 'POST', '/v1/admin/accounts/lookup', {
        accountId: 'a_doesnotexist0000000000',
        reason: REASON,
      });
      assert.equal(missing.body.error?.code, 'account_not_found');
      assert.ok((await auditRows()).some((e) => e.target === 'account:a_doesnotexist0000000000'));

      // Recorded first: when the log cannot be written, nothing is read and nothing is returned.
      const store = t.server.ctx.storage.admin;
      const append = store.appendAudit.bind(store);
      const reads = t.server.ctx.storage.accounts.getAccount.bind(t.server.ctx.storage.accounts);
      let accountReads = 0;
      store.appendAudit = async () => {
        throw new Error('audit log unavailable');
      };
      t.server.ctx.storage.accounts.getAccount = async (id: string) => {
        accountReads++;
        return reads(id);
      };
      try {
        const r = await call(t.url, tokens.support, 'POST', '/v1/admin/accounts/lookup', {
          accountId: alice.self.accountId,
          reason: REASON,
        });
        assert.equal(r.status, 500);
        assert.equal(r.body.error?.code, 'internal');
        assert.ok(!r.text.includes(alice.phone));
      } finally {
        store.appendAudit = append;
        t.server.ctx.storage.accounts.getAccount = reads;
      }
      assert.equal(accountReads, 0, 'the account was not read');
    });

    it('revokes devices: reason first, recorded before acting, all or nothing, the socket closed at once', async () => {
      const victim = await newClient(t.url, undefined, { connect: false });
      const other = await newClient(t.url, undefined, { connect: false });
      const token = deviceToken(victim);
      const ws = new WebSocket(t.url.replace(/^http/, 'ws') + '/v1/ws', { perMessageDeflate: false });
      const closed = new Promise<number>((r) => ws.once('close', (code: number) => r(code)));
      const helloStatus = new Promise<number>((r) =>
        ws.once('message', (data: Buffer) => r((JSON.parse(data.toString('utf8')) as { status: number }).status)),
      );
      await new Promise((r, j) => ws.once('open', r).once('error', j));
      ws.send(JSON.stringify({ id: 1, op: 'hello', body: { token, protocol: 1 } }));
      assert.equal(await helloStatus, 200);
      const path = '/v1/admin/accounts/devices/revoke';
      const active = async () =>
        (await t.server.ctx.storage.accounts.listDevices(victim.self.accountId)).map((d) => d.id);

      const before = (await auditRows()).length;
      const refusals: [string, unknown, string][] = [
        [tokens.support, { accountId: victim.self.accountId }, 'admin_reason_required'],
        [tokens.support, { accountId: victim.self.accountId, reason: 'short' }, 'admin_reason_required'],
        [
          tokens.support,
          { accountId: victim.self.accountId, deviceIds: ['not-a-device'], reason: REASON },
          'bad_request',
        ],
        [tokens.support, { accountId: victim.self.accountId, deviceIds: [], reason: REASON }, 'bad_request'],
        [tokens.support, { accountId: victim.self.accountId, reason: REASON, all: true }, 'bad_request'],
      ];
      for (const [who, body, code] of refusals) {
        const r = await call(t.url, who, 'POST', path, body);
        assert.equal(r.body.error?.code, code, r.text);
      }
      assert.equal((await auditRows()).length, before, 'refused input is not recorded');
      // An operator may not; the denial is recorded.
      assert.equal(
        (await call(t.url, tokens.operator, 'POST', path, { accountId: victim.self.accountId, reason: REASON })).body
          .error?.code,
        'admin_forbidden',
      );
      // Unknown account, or a device of another account: recorded as attempts, nothing revoked.
      const missing = await call(t.url, tokens.support, 'POST', path, {
        accountId: 'a_doesnotexist0000000000',
        reason: REASON,
      });
      assert.equal(missing.body.error?.code, 'account_not_found');
      const foreign = await call(t.url, tokens.support, 'POST', path, {
        accountId: victim.self.accountId,
        deviceIds: [victim.self.deviceId, other.self.deviceId],
        reason: REASON,
      });
      assert.equal(foreign.status, 404, foreign.text);
      assert.equal(foreign.body.error?.code, 'device_not_found');
      assert.deepEqual(await active(), [victim.self.deviceId], 'nothing was revoked');
      assert.equal((await t.server.ctx.storage.accounts.listDevices(other.self.accountId)).length, 1);
      assert.equal(ws.readyState, WebSocket.OPEN);

      const ok = await call(t.url, tokens.security, 'POST', path, {
        accountId: victim.self.accountId,
        deviceIds: [victim.self.deviceId],
        reason: REASON,
      });
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(ok.body, { accountId: victim.self.accountId, revoked: [victim.self.deviceId] });
      assert.equal(await closed, 4003, 'the device socket is closed as revoked');
      assert.deepEqual(await active(), []);
      const me = await fetch(`${t.url}/v1/accounts/me`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(me.status, 401);
      const rows = (await auditRows()).slice(before);
      assert.deepEqual(
        rows.filter((e) => e.action === 'devices.revoke').map((e) => [e.admin, e.role, e.target, e.reason]),
        [
          ['support-one', 'support', 'account:a_doesnotexist0000000000', REASON],
          ['support-one', 'support', `account:${victim.self.accountId}`, REASON],
          ['security-one', 'security', `account:${victim.self.accountId}`, REASON],
        ],
      );
      assert.ok(
        rows.some((e) => e.action === 'access.denied' && e.target === 'devices.revoke' && e.admin === 'operator-one'),
      );
      // Nothing left to revoke: an empty list, not an error.
      const again = await call(t.url, tokens.support, 'POST', path, {
        accountId: victim.self.accountId,
        reason: REASON,
      });
      assert.deepEqual(again.body, { accountId: victim.self.accountId, revoked: [] });
      await Promise.all([victim.close(), other.close()]);
    });

    it(`raises the bulk-access alert when one admin reads ${BULK + 1} distinct accounts within the window`, async () => {
      const { token } = await createAdmin(t.server.ctx.storage, { name: 'curious', role: 'support' });
      const others = [];
      for (let i = 0; i < BULK + 1; i++) others.push(await newClient(t.url, undefined, { connect: false }));
      const lookup = (accountId: string) =>
        call(t.url, token, 'POST', '/v1/admin/accounts/lookup', {
          accountId,
          reason: 'Checking reports of spam from these accounts',
        });
      const alerts = async () =>
        (await auditRows()).filter((e) => e.action === 'alert.bulk_access' && e.admin === 'curious');
      for (const o of others.slice(0, BULK)) assert.equal((await lookup(o.self.accountId)).status, 200);
      // Reading the same accounts again adds no distinct account.
      assert.equal((await lookup(others[0]!.self.accountId)).status, 200);
      assert.equal((await alerts()).length, 0, `no alert at ${BULK} distinct accounts`);
      assert.equal(logLines.filter((l) => l.alert === 'admin_bulk_access').length, 0);

      assert.equal((await lookup(others[BULK]!.self.accountId)).status, 200);
      const raised = await alerts();
      assert.equal(raised.length, 1, `alert at ${BULK + 1}`);
      assert.equal(raised[0]!.target, 'admin:curious');
      assert.match(raised[0]!.reason ?? '', new RegExp(`^${BULK + 1} distinct accounts read within 10 minutes`));
      const line = logLines.find((l) => l.alert === 'admin_bulk_access');
      assert.ok(line, 'a log line with alert: "admin_bulk_access"');
      assert.equal(line.admin, 'curious');
      assert.equal(line.accounts, BULK + 1);
      // Security sees it; support may not look.
      const seen = await call(t.url, tokens.security, 'GET', '/v1/admin/alerts');
      assert.equal(seen.status, 200);
      assert.deepEqual(
        (seen.body.alerts as { seq: number }[]).map((a) => a.seq),
        raised.map((a) => a.seq),
      );
      assert.equal((await call(t.url, token, 'GET', '/v1/admin/alerts')).body.error?.code, 'admin_forbidden');
      // One alert per window, however many more are read.
      assert.equal((await lookup(alice.self.accountId)).status, 200);
      assert.equal((await alerts()).length, 1);
      await Promise.all(others.map((o) => o.close()));
    });

    it('lists reports without their messages, and shows one with them only after recording the reason', async () => {
      const filed = await alice.report({
        accountId: bob.self.accountId,
        conversationId,
        reason: 'rude',
        category: 'abuse',
      });
      const list = await call(t.url, tokens.support, 'GET', '/v1/admin/reports');
      assert.equal(list.status, 200, list.text);
      const row = (list.body as unknown as { reports: { id: string; reason: string }[] }).reports.find(
        (r) => r.id === filed.reportId,
      );
      assert.equal(row?.reason, 'rude');
      assert.ok(!list.text.includes(canary), 'the list carries no message text');

      const reads = t.server.ctx.storage.safety.getReport.bind(t.server.ctx.storage.safety);
      let readAt = -1;
      t.server.ctx.storage.safety.getReport = async (id) => {
        readAt = (await auditRows()).length;
        return reads(id);
      };
      try {
        const refused = await call(t.url, tokens.security, 'POST', '/v1/admin/reports/read', {
          reportId: filed.reportId,
        });
        assert.equal(refused.body.error?.code, 'admin_reason_required');
        assert.equal(readAt, -1, 'nothing read without a reason');
        const before = (await auditRows()).length;
        const ans = await call(t.url, tokens.security, 'POST', '/v1/admin/reports/read', {
          reportId: filed.reportId,
          reason: 'Reviewing abuse report 17',
        });
        assert.equal(ans.status, 200, ans.text);
        const entry = (await auditRows()).slice(before).find((e) => e.action === 'report.read');
        assert.equal(entry?.target, `report:${filed.reportId}`);
        assert.equal(entry?.reason, 'Reviewing abuse report 17');
        assert.ok(readAt > before, 'recorded before the read');
        const report = ans.body as unknown as { messages: { text: string; sender: string }[] };
        assert.deepEqual(
          report.messages.map((m) => [m.sender, m.text]),
          [[bob.self.accountId, `${canary} hello alice`]],
          "only what the reporter's device included: the other side's messages",
        );
      } finally {
        t.server.ctx.storage.safety.getReport = reads;
      }
      const missing = await call(t.url, tokens.support, 'POST', '/v1/admin/reports/read', {
        reportId: 'rp_AAAAAAAAAAAAAAAAAAAAAA',
        reason: 'Looking for a report that is gone',
      });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error?.code, 'report_not_found');
    });

    it('returns no message content, ciphertext, tokens or keys from any admin route', async () => {
      const answers: string[] = [];
      const get = async (token: string, path: string) => answers.push((await call(t.url, token, 'GET', path)).text);
      await get(tokens.support, '/v1/admin/me');
      answers.push(
        (
          await call(t.url, tokens.support, 'POST', '/v1/admin/accounts/lookup', {
            accountId: alice.self.accountId,
            reason: REASON,
          })
        ).text,
      );
      answers.push(
        (await call(t.url, tokens.security, 'POST', '/v1/admin/accounts/lookup', { phone: bob.phone, reason: REASON }))
          .text,
      );
      await get(tokens.operator, '/v1/admin/stats');
      await get(tokens.operator, '/v1/admin/admins');
      const { name } = await createAdmin(t.server.ctx.storage, { name: 'short-lived', role: 'security' });
      answers.push(
        (
          await call(t.url, tokens.operator, 'POST', '/v1/admin/admins/revoke', {
            name,
            reason: 'Contractor engagement ended',
          })
        ).text,
      );
      await get(tokens.security, '/v1/admin/audit?limit=1000');
      await get(tokens.security, '/v1/admin/audit/verify');
      await get(tokens.security, '/v1/admin/alerts');
      assert.equal(answers.length, 9);
      const all = answers.join('\n');

      const forbidden: [string, string][] = [
        [canary, 'message plaintext'],
        [deviceToken(alice), 'device token'],
        [deviceToken(bob), 'device token'],
      ];
      for (const [role, token] of Object.entries(tokens))
        forbidden.push([token, `${role} admin token`], [token.slice(5, 25), `${role} admin token part`]);
      const payloads = await rawSql(t, 'select payload from messages');
      assert.ok(payloads.length >= 2, 'the messages are stored');
      for (const { payload } of payloads) {
        const b = Buffer.from(payload as Uint8Array);
        forbidden.push(
          [b.toString('base64').slice(8, 40), 'ciphertext (base64)'],
          [b.toString('base64url').slice(8, 40), 'ciphertext (base64url)'],
          [b.toString('hex').slice(8, 48), 'ciphertext (hex)'],
        );
      }
      for (const table of ['devices', 'admin_accounts']) {
        for (const { token_hash } of await rawSql(t, `select token_hash from ${table}`)) {
          const b = Buffer.from(token_hash as Uint8Array);
          forbidden.push(
            [b.toString('hex').slice(0, 32), `${table} token hash`],
            [b.toString('base64').slice(0, 24), `${table} token hash`],
          );
        }
      }
      for (const { identity_key } of await rawSql(t, 'select identity_key from accounts'))
        forbidden.push([
          Buffer.from(identity_key as Uint8Array)
            .toString('base64')
            .slice(0, 24),
          'identity key',
        ]);
      for (const { signing_key } of await rawSql(t, 'select signing_key from devices'))
        forbidden.push([
          Buffer.from(signing_key as Uint8Array)
            .toString('base64')
            .slice(0, 24),
          'signing key',
        ]);
      for (const [needle, what] of forbidden) assert.ok(!all.includes(needle), `no ${what} in admin answers`);
      for (const field of [
        '"payload"',
        '"ciphertext"',
        '"token"',
        '"tokenHash"',
        '"identityKey"',
        '"signingKey"',
        '"pinHash"',
        '"profile"',
      ])
        assert.ok(!all.includes(field), `no ${field} field`);
    });

    it('serves the console with labelled controls', async () => {
      const page = await fetch(`${t.url}/admin`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      const html = await page.text();
      for (const id of ['token', 'who', 'reason']) assert.match(html, new RegExp(`<label for="${id}">`));
      const js = await fetch(`${t.url}/admin/admin.js`);
      assert.equal(js.status, 200);
      assert.match(await js.text(), /\/v1\/admin\/accounts\/lookup/);
    });

    it('keeps one unbroken chain when many requests append at once', async () => {
      const before = (await auditRows()).length;
      const answers = await Promise.all(
        Array.from({ length: 30 }, (_v, i) => call(t.url, tokens[ADMIN_ROLES[i % 3]!], 'GET', '/v1/admin/me')),
      );
      assert.ok(answers.every((a) => a.status === 200));
      const rows = await auditRows();
      assert.equal(rows.length, before + 30);
      assert.deepEqual(
        rows.map((e) => e.seq),
        rows.map((_e, i) => i + 1),
        'seq has no gap and no duplicate',
      );
      const v = await call(t.url, tokens.security, 'GET', '/v1/admin/audit/verify');
      assert.equal(v.body.ok, true, v.text);
    });

    // Last: it breaks the chain on purpose.
    it('verifies the chain, refuses edits in the database, and pinpoints a tampered entry', async () => {
      const ok = await call(t.url, tokens.security, 'GET', '/v1/admin/audit/verify');
      assert.equal(ok.status, 200);
      assert.equal(ok.body.ok, true, ok.text);
      const rows = await auditRows();
      assert.equal(ok.body.entries, rows.length);
      assert.equal(ok.body.head, rows.at(-1)!.hash);
      const victim = rows.find((e) => e.action === 'account.lookup' && e.target === `account:${alice.self.accountId}`)!;

      // The database itself refuses updates and deletes of the log.
      await assert.rejects(
        rawSql(t, 'update admin_audit set reason = ? where seq = ?', ['nothing to see', victim.seq]),
        /append-only/,
      );
      await assert.rejects(rawSql(t, 'delete from admin_audit where seq = ?', [victim.seq]), /append-only/);
      assert.equal((await call(t.url, tokens.security, 'GET', '/v1/admin/audit/verify')).body.ok, true);

      // An attacker with owner rights drops the guard and rewrites an entry to hide a read.
      await rawSql(
        t,
        driver === 'postgres'
          ? 'drop trigger admin_audit_no_update on admin_audit'
          : 'drop trigger admin_audit_no_update',
      );
      await rawSql(t, 'update admin_audit set target = ? where seq = ?', ['account:a_someoneelse', victim.seq]);
      const broken = await call(t.url, tokens.security, 'GET', '/v1/admin/audit/verify');
      assert.equal(broken.status, 200);
      assert.equal(broken.body.ok, false);
      assert.deepEqual(broken.body.firstBroken, { seq: victim.seq, problem: 'hash_mismatch' });
      assert.equal(broken.body.entries, victim.seq - 1);

      // Rewriting the hash too moves the break to the next link; removing an entry leaves a gap.
      const { entryHash } = await import('../src/admin/index.ts');
      const forged = { ...victim, target: 'account:a_someoneelse' };
      await rawSql(t, 'update admin_audit set hash = ? where seq = ?', [entryHash(forged), victim.seq]);
      assert.deepEqual((await call(t.url, tokens.security, 'GET', '/v1/admin/audit/verify')).body.firstBroken, {
        seq: victim.seq + 1,
        problem: 'prev_hash_mismatch',
      });
      if (driver === 'sqlite') await rawSql(t, 'drop trigger admin_audit_no_delete');
      await rawSql(t, 'delete from admin_audit where seq = ?', [2]);
      assert.deepEqual((await call(t.url, tokens.security, 'GET', '/v1/admin/audit/verify')).body.firstBroken, {
        seq: 2,
        problem: 'seq_gap',
      });
    });
  });
}
