/**
 * `parley admin …` end to end (C14) against a real data folder and a real `parley serve`: create
 * prints a one-time token that works on the admin API (and only its hash is stored), list and
 * revoke, and `verify-audit` exits 0 on the intact chain and non-zero, naming the entry, once the
 * database has been edited behind the server's back.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import { parley, registerProfile, type Run } from './helpers/cli.ts';

/** `parley admin …` with the operator's environment (the data folder), as `serve` gets it. */
function admin(env: Record<string, string>, args: string[]): Promise<Run> {
  return parley(['admin', ...args], { PARLEY_LOG_LEVEL: 'warn', ...env });
}

describe('parley admin', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-admin-'));
  const dataDir = join(tmp, 'data');
  const env = { PARLEY_DATA_DIR: dataDir };
  let server: ServerProcess;
  const tokens: Record<string, string> = {};
  const get = async (token: string, path: string) => {
    const res = await fetch(server.url + path, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  before(async () => {
    server = await startServerProcess(env);
  });
  after(async () => {
    await server?.kill();
    rmSync(tmp, { recursive: true, force: true });
  });

  it(
    'creates staff with one-time tokens that work on the admin API, lists and revokes them',
    { timeout: 120_000 },
    async () => {
      for (const [name, role] of [
        ['olga', 'operator'],
        ['sam', 'support'],
        ['sec', 'security'],
      ] as const) {
        const r = await admin(env, ['create', '--name', name, '--role', role]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.lines.length, 1);
        assert.equal(r.lines[0]!.name, name);
        assert.equal(r.lines[0]!.role, role);
        assert.match(String(r.lines[0]!.token), /^padm_[A-Za-z0-9_-]{43}$/);
        tokens[name] = String(r.lines[0]!.token);
      }
      const dup = await admin(env, ['create', '--name', 'sam', '--role', 'security']);
      assert.equal(dup.code, 1);
      assert.match(dup.stderr, /admin_exists/);
      const badRole = await admin(env, ['create', '--name', 'eve', '--role', 'root']);
      assert.equal(badRole.code, 2);
      assert.match(badRole.stderr, /--role must be one of operator, support, security/);

      const list = await admin(env, ['list']);
      assert.equal(list.code, 0, list.stderr);
      assert.deepEqual(
        list.lines.map((l) => [l.name, l.role, l.revokedAt]),
        [
          ['olga', 'operator', null],
          ['sam', 'support', null],
          ['sec', 'security', null],
        ],
      );
      assert.ok(!list.stdout.includes('padm_'), 'list shows no token');

      // Only the hash is stored: no token is anywhere in the data folder.
      const files = readdirSync(dataDir).filter((f) => f.startsWith('parley.sqlite'));
      const bytes = Buffer.concat(files.map((f) => readFileSync(join(dataDir, f))));
      for (const token of Object.values(tokens)) assert.ok(!bytes.includes(Buffer.from(token)), 'token not stored');

      // The running server accepts the tokens created from the command line.
      const me = await get(tokens.sam!, '/v1/admin/me');
      assert.equal(me.status, 200);
      assert.equal(me.body.role, 'support');
      const profile = join(tmp, 'alice');
      await registerProfile(server.url, profile, '+12025550181');
      const accountId = String((await parley(['--profile', profile, 'whoami'])).lines[0]!.accountId);
      const lookup = await fetch(`${server.url}/v1/admin/accounts/lookup`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.sam}`, 'content-type': 'application/json' },
        body: JSON.stringify({ accountId, reason: 'User asked why their second phone stopped working' }),
      });
      assert.equal(lookup.status, 200);
      assert.equal(((await lookup.json()) as { devices: unknown[] }).devices.length, 1);

      const revoke = await admin(env, ['revoke', '--name', 'sam']);
      assert.equal(revoke.code, 0, revoke.stderr);
      assert.deepEqual(revoke.lines, [{ name: 'sam', revoked: true }]);
      assert.equal((await get(tokens.sam!, '/v1/admin/me')).status, 401);
      const again = await admin(env, ['revoke', '--name', 'sam']);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /admin_not_found/);
      assert.notEqual((await admin(env, ['list'])).lines.find((l) => l.name === 'sam')!.revokedAt, null);
    },
  );

  it(
    'verify-audit exits 0 on the intact chain and non-zero at the first tampered entry',
    { timeout: 120_000 },
    async () => {
      const ok = await admin(env, ['verify-audit']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.lines[0]!.ok, true);
      const log = (await get(tokens.sec!, '/v1/admin/audit?limit=1000')).body.entries as {
        seq: number;
        action: string;
        admin: string;
        target: string | null;
      }[];
      // create ×3 from the command line, the API calls above, the revocation: all in the chain.
      assert.deepEqual(
        log.slice(0, 3).map((e) => [e.action, e.admin, e.target]),
        [
          ['admin.create', '(cli)', 'admin:olga'],
          ['admin.create', '(cli)', 'admin:sam'],
          ['admin.create', '(cli)', 'admin:sec'],
        ],
      );
      assert.ok(log.some((e) => e.action === 'account.lookup' && e.admin === 'sam'));
      assert.ok(log.some((e) => e.action === 'admin.revoke' && e.target === 'admin:sam'));
      const verified = await admin(env, ['verify-audit']);
      assert.equal(verified.code, 0, verified.stderr);
      assert.ok(Number(verified.lines[0]!.entries) >= log.length);

      // Someone with the database file drops the guard and rewrites who did a lookup.
      await server.kill();
      const victim = log.find((e) => e.action === 'account.lookup')!;
      const db = new Database(join(dataDir, 'parley.sqlite'));
      try {
        assert.throws(
          () => db.prepare('update admin_audit set admin = ? where seq = ?').run('olga', victim.seq),
          /append-only/,
        );
        db.exec('drop trigger admin_audit_no_update');
        db.prepare('update admin_audit set admin = ? where seq = ?').run('olga', victim.seq);
      } finally {
        db.close();
      }
      const broken = await admin(env, ['verify-audit']);
      assert.equal(broken.code, 1);
      assert.deepEqual(broken.lines[0]!.firstBroken, { seq: victim.seq, problem: 'hash_mismatch' });
      assert.equal(broken.lines[0]!.ok, false);
      assert.match(broken.stderr, new RegExp(`audit chain broken at entry ${victim.seq} \\(hash_mismatch\\)`));
    },
  );
});
