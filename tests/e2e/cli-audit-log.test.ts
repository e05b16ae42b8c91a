/**
 * `parley audit-log --server URL` end to end (C13): against a real `parley serve` process, the
 * auditor prints one line per signed head and `{"status":"ok",…}` on a clean log and exits 0;
 * after someone rewrites a stored head in the SQLite file (server stopped, append-only guard
 * dropped), it exits non-zero with one line on stderr naming the bad head.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ServerProcess } from './helpers/server-process.ts';
import { parley, serveWithProfiles } from './helpers/cli.ts';

describe('parley audit-log', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-audit-log-'));
  const dataDir = join(tmp, 'data');
  let server: ServerProcess;

  before(async () => {
    server = await serveWithProfiles(dataDir, ['alice', 'bob', 'carol', 'dave', 'erin'].map((name, i) => [join(tmp, name), `+1202555018${i}`]));
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
    assert.deepEqual(heads.map((l) => l.treeSize), [0, 1, 2, 3, 4, 5], 'the empty head, then one per registration');
    assert.deepEqual(heads.map((l) => l.consistentWith), [null, 0, 1, 2, 3, 4]);
    for (const h of heads) assert.equal(h.signature, 'ok');
    assert.deepEqual(r.lines.at(-1), { status: 'ok', heads: 6, treeSize: 5 });
  });

  it('exits non-zero naming the head rewritten in the database', { timeout: 120_000 }, async () => {
    await server.kill();
    const db = new Database(join(dataDir, 'parley.sqlite'));
    try {
      // Someone with the file drops the append-only guard and gives head 3 another root.
      db.exec('drop trigger kt_heads_no_update');
      db.prepare('update kt_heads set root_hash = ? where tree_size = 3').run(createHash('sha256').update('forged').digest());
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
    assert.deepEqual(r.lines.map((l) => l.treeSize), [0, 1, 2], 'heads before the bad one were checked');
  });

  it('exits non-zero when the server cannot be reached', { timeout: 60_000 }, async () => {
    const r = await parley(['audit-log', '--server', 'http://127.0.0.1:9']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^parley: unavailable: /);
  });
});
