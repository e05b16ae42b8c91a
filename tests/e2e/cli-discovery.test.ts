/**
 * `parley discover` and `parley settings` end to end (C12): JSON lines only for registered,
 * discoverable numbers; "nobody" hides an account; over the discovery quota the command exits
 * non-zero with one line saying it was rate-limited and when to retry, and prints no results.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import { parley, registerProfile } from './helpers/cli.ts';

describe('parley discover', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-discover-'));
  let server: ServerProcess;
  const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((n) => join(tmp, n)) as [string, string, string];
  const phones = { alice: '+12025550171', bob: '+12025550172', carol: '+12025550173' };
  const file = (name: string, lines: string[]) => {
    const p = join(tmp, name);
    writeFileSync(p, lines.join('\n') + '\n');
    return p;
  };

  before(async () => {
    // A small first-day allowance so the test can reach it quickly.
    server = await startServerProcess({ PARLEY_DATA_DIR: join(tmp, 'data'), PARLEY_DISCOVERY_FIRST_DAY: '6' });
    await registerProfile(server.url, alice, phones.alice);
    await registerProfile(server.url, bob, phones.bob);
    await registerProfile(server.url, carol, phones.carol);
  });
  after(async () => {
    await server?.kill();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('prints {number, account} for discoverable numbers only, and honours find-by-number nobody', { timeout: 120_000 }, async () => {
    const hidden = await parley(['--profile', carol, 'settings', 'set', 'find-by-number', 'nobody']);
    assert.equal(hidden.code, 0, hidden.stderr);
    assert.deepEqual(hidden.lines, [{ findByNumber: 'nobody' }]);
    assert.deepEqual((await parley(['--profile', bob, 'settings'])).lines, [{ findByNumber: 'everyone' }]);

    const bobId = (await parley(['--profile', bob, 'whoami'])).lines[0]!.accountId;
    const r = await parley(['--profile', alice, 'discover', '--numbers-file', file('book.txt', ['# my contacts', phones.bob, '', phones.carol, '+12025550199', phones.bob])]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.lines, [{ number: phones.bob, account: bobId }]);
  });

  it('starts a chat by @username; the other side never sees the number', { timeout: 120_000 }, async () => {
    const set = await parley(['--profile', bob, 'username', 'set', 'Bob_Builder.42']);
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(set.lines, [{ username: 'bob_builder.42' }]);
    const bad = await parley(['--profile', carol, 'username', 'set', 'bob']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /username_invalid/);
    const taken = await parley(['--profile', carol, 'username', 'set', 'bob_builder.42']);
    assert.notEqual(taken.code, 0);
    assert.match(taken.stderr, /username_taken/);

    // Carol hides her number and writes to Bob by username only.
    const sent = await parley(['--profile', carol, 'send', '--to', '@bob_builder.42', '--message', 'hi via username']);
    assert.equal(sent.code, 0, sent.stderr);
    const got = await parley(['--profile', bob, 'receive', '--timeout', '2']);
    const line = got.lines.find((l) => l.text === 'hi via username');
    assert.ok(line, got.stdout);
    assert.match(String(line.from), /^account:a_/, 'Bob sees an account, not Carol\'s number');
    assert.ok(!got.stdout.includes(phones.carol.slice(1)));
    const reply = await parley(['--profile', bob, 'send', '--to', String(line.conversation), '--message', 'hello carol']);
    assert.equal(reply.code, 0, reply.stderr);
    const back = await parley(['--profile', carol, 'receive', '--timeout', '2']);
    assert.ok(back.lines.some((l) => l.text === 'hello carol'), back.stdout);
    assert.ok(!back.stdout.includes(phones.bob.slice(1)), 'Carol never learns Bob\'s number either');
  });

  it('refuses a bad line before sending anything', { timeout: 60_000 }, async () => {
    const r = await parley(['--profile', alice, 'discover', '--numbers-file', file('bad.txt', [phones.bob, 'call me maybe'])]);
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /phone_invalid: Line 2 /);
  });

  it('over the quota exits non-zero with one rate-limited line and prints nothing', { timeout: 60_000 }, async () => {
    // Alice has used 3 of her 6 unseen numbers; 5 more would exceed the allowance.
    const numbers = ['+12025550180', '+12025550181', '+12025550182', '+12025550183', phones.bob.replace(/2$/, '9')];
    const r = await parley(['--profile', alice, 'discover', '--numbers-file', file('more.txt', numbers)]);
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /rate_limited/);
    assert.match(lines[0]!, /rate limited; retry after \d+ s, at \d{4}-\d\d-\d\dT/);
    // Known contacts cost nothing: the cached book still works offline from the quota.
    const again = await parley(['--profile', alice, 'discover', '--numbers-file', join(tmp, 'book.txt')]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.lines.length, 1);
  });
});
