/**
 * `parley audit-log --server URL` end to end (C13): against a real `parley serve` process, the
 * auditor prints one line per signed head and `{"status":"ok",…}` on a clean log and exits 0;
 * `--log-key` and the key pinned in a `--state` file refuse the log once the server signs it with
 * another key (its key replaced in the SQLite file), and so does a profile registered with
 * `--log-key` when it sends; after someone rewrites a stored head in the
 * SQLite file (server stopped, append-only guard dropped), it exits non-zero with one line on
 * stderr naming the bad head.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sealServerSecret } from '@parley/server/testing';
import type { ServerProcess } from './helpers/server-process.ts';
import { parley, registerProfile, serveWithProfiles } from './helpers/cli.ts';

describe('parley audit-log', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-audit-log-'));
  const dataDir = join(tmp, 'data');
  let server: ServerProcess;

  before(async () => {
    server = await serveWithProfiles(
      dataDir,
      ['alice', 'bob', 'carol', 'dave', 'erin'].map((name, i) => [join(tmp, name), `+1202555018${i}`]),
    );
  });
  after(async () => {
    await server?.kill();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('exits 0 on a clean log, one JSON line per head and a summary', { timeout: 120_000 }, async () => {
    const r = await parley(['audit-log', '--server', server.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const heads = r.lines.slice(0, -1);
    assert.deepEqual(
      heads.map((l) => l.treeSize),
      [0, 1, 2, 3, 4, 5],
      'the empty head, then one per registration',
    );
    assert.deepEqual(
      heads.map((l) => l.consistentWith),
      [null, 0, 1, 2, 3, 4],
    );
    for (const h of heads) assert.equal(h.signature, 'ok');
    const { logKey } = (await (await fetch(`${server.url}/v1/kt/head`)).json()) as { logKey: string };
    assert.deepEqual(r.lines.at(-1), { status: 'ok', heads: 6, treeSize: 5, logKey });
  });

  it(
    'refuses a log signed with another key than --log-key or the key pinned in a state file',
    { timeout: 180_000 },
    async () => {
      const { logKey } = (await (await fetch(`${server.url}/v1/kt/head`)).json()) as { logKey: string };
      const otherKey = randomBytes(32).toString('base64url');
      assert.equal((await parley(['audit-log', '--server', server.url, '--log-key', logKey])).code, 0);
      const wrong = await parley(['audit-log', '--server', server.url, '--log-key', otherKey]);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /^parley: kt_log_key_mismatch: .*not with the configured log key/);
      assert.deepEqual(wrong.lines, [], 'no head is trusted under the wrong key');
      assert.equal(
        (await parley(['audit-log', '--server', server.url, '--log-key', 'short'])).code,
        2,
        'a malformed key is a usage error',
      );

      // The first run with a state file pins the key and the newest head.
      const state = join(tmp, 'audit-state.json');
      const first = await parley(['--state', state, 'audit-log', '--server', server.url]);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(first.lines.at(-1), { status: 'ok', heads: 6, treeSize: 5, logKey, pinned: true });
      const pinned = JSON.parse(readFileSync(state, 'utf8')) as Record<
        string,
        { logKey: string; head: { treeSize: number } }
      >;
      assert.deepEqual(Object.keys(pinned), [new URL(server.url).origin]);
      assert.equal(pinned[new URL(server.url).origin]!.logKey, logKey);
      assert.equal(pinned[new URL(server.url).origin]!.head.treeSize, 5);

      // Someone replaces the server's log key in its database: it now signs its log with another key.
      await server.kill();
      const swapKey = (value: Buffer): Buffer => {
        const db = new Database(join(dataDir, 'parley.sqlite'));
        try {
          const old = (
            db.prepare("select value from server_secrets where name = 'kt-log-key'").get() as { value: Buffer }
          ).value;
          db.prepare("update server_secrets set value = ? where name = 'kt-log-key'").run(value);
          return old;
        } finally {
          db.close();
        }
      };
      // The new key is sealed under the server's secret key, as an insider with both would do.
      const original = swapKey(
        Buffer.from(sealServerSecret(join(dataDir, 'secret.key'), 'kt-log-key', randomBytes(32))),
      );
      server = await server.restart();
      try {
        const served = (await (await fetch(`${server.url}/v1/kt/head`)).json()) as { logKey: string };
        assert.notEqual(served.logKey, logKey);
        for (const args of [
          ['--state', state, 'audit-log', '--server', server.url],
          ['audit-log', '--server', server.url, '--log-key', logKey],
        ]) {
          const r = await parley(args);
          assert.equal(r.code, 1, args.join(' '));
          assert.match(r.stderr, /^parley: kt_log_key_mismatch: /, args.join(' '));
          assert.deepEqual(r.lines, []);
        }
        assert.equal(
          JSON.parse(readFileSync(state, 'utf8'))[new URL(server.url).origin].logKey,
          logKey,
          'a failed run keeps the pin',
        );
      } finally {
        await server.kill();
        swapKey(original);
        server = await server.restart();
      }
      const again = await parley(['--state', state, 'audit-log', '--server', server.url]);
      assert.equal(again.code, 0, again.stderr);
    },
  );

  it('a profile registered with --log-key refuses a log signed with another key', { timeout: 120_000 }, async () => {
    const { logKey } = (await (await fetch(`${server.url}/v1/kt/head`)).json()) as { logKey: string };
    const trusting = join(tmp, 'frank');
    await registerProfile(server.url, trusting, '+12025550185', ['--log-key', logKey]);
    const ok = await parley(['--profile', trusting, 'send', '--to', '+12025550180', '--message', 'hello alice']);
    assert.equal(ok.code, 0, ok.stderr);
    // A profile given another key refuses the server's log before it uses anybody's key.
    const wary = join(tmp, 'grace');
    await registerProfile(server.url, wary, '+12025550186', ['--log-key', randomBytes(32).toString('base64url')]);
    const refused = await parley(['--profile', wary, 'send', '--to', '+12025550180', '--message', 'hello alice']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^parley: kt_log_key_mismatch: /);
  });

  it('exits non-zero naming the head rewritten in the database', { timeout: 120_000 }, async () => {
    await server.kill();
    const db = new Database(join(dataDir, 'parley.sqlite'));
    try {
      // Someone with the file drops the append-only guard and gives head 3 another root.
      db.exec('drop trigger kt_heads_no_update');
      db.prepare('update kt_heads set root_hash = ? where tree_size = 3').run(
        createHash('sha256').update('forged').digest(),
      );
    } finally {
      db.close();
    }
    server = await server.restart();
    const r = await parley(['audit-log', '--server', server.url]);
    assert.notEqual(r.code, 0);
    const errLines = r.stderr.trim().split('\n');
    assert.equal(errLines.length, 1, r.stderr);
    assert.match(errLines[0]!, /^parley: kt_inconsistent_head: .*size 3\b/);
    assert.ok(!r.lines.some((l) => l.status === 'ok'), 'no ok summary');
    assert.deepEqual(
      r.lines.map((l) => l.treeSize),
      [0, 1, 2],
      'heads before the bad one were checked',
    );
  });

  it('exits non-zero when the server cannot be reached', { timeout: 60_000 }, async () => {
    const r = await parley(['audit-log', '--server', 'http://127.0.0.1:9']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^parley: unavailable: /);
  });
});
