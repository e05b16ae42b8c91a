/**
 * `parley discover`, `settings` and `profile` end to end (C12): JSON lines only for registered,
 * discoverable numbers; "nobody" hides an account; over the discovery quota the command exits
 * non-zero with one line saying it was rate-limited and when to retry, and prints no results; a
 * profile is readable by contacts only, as its visibility settings say.
 */
import { describe, it, before, after } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerProcess } from './helpers/server-process.ts';
import { parley, serveWithProfiles } from './helpers/cli.ts';

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
    server = await serveWithProfiles(
      join(tmp, 'data'),
      [
        [alice, phones.alice],
        [bob, phones.bob],
        [carol, phones.carol],
      ],
      { PARLEY_DISCOVERY_FIRST_DAY: '6' },
    );
  });
  after(async () => {
    await server?.kill();
    rmSync(tmp, { recursive: true, force: true });
  });

  it(
    'prints {number, account} for discoverable numbers only, and honours find-by-number nobody',
    { timeout: 120_000 },
    async () => {
      const hidden = await parley(['--profile', carol, 'settings', 'set', 'find-by-number', 'nobody']);
      assert.equal(hidden.code, 0, hidden.stderr);
      const defaults = { photo: 'contacts', about: 'contacts', lastSeen: 'contacts', online: 'contacts' };
      assert.deepEqual(hidden.lines, [{ findByNumber: 'nobody', ...defaults }]);
      assert.deepEqual((await parley(['--profile', bob, 'settings'])).lines, [
        { findByNumber: 'everyone', ...defaults },
      ]);

      const bobId = (await parley(['--profile', bob, 'whoami'])).lines[0]!.accountId;
      const r = await parley([
        '--profile',
        alice,
        'discover',
        '--numbers-file',
        file('book.txt', ['# my contacts', phones.bob, '', phones.carol, '+12025550199', phones.bob]),
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.lines, [{ number: phones.bob, account: bobId }]);
    },
  );

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
    assert.match(String(line.from), /^account:a_/, "Bob sees an account, not Carol's number");
    assert.ok(!got.stdout.includes(phones.carol.slice(1)));
    const reply = await parley([
      '--profile',
      bob,
      'send',
      '--to',
      String(line.conversation),
      '--message',
      'hello carol',
    ]);
    assert.equal(reply.code, 0, reply.stderr);
    const back = await parley(['--profile', carol, 'receive', '--timeout', '2']);
    assert.ok(
      back.lines.some((l) => l.text === 'hello carol'),
      back.stdout,
    );
    assert.ok(!back.stdout.includes(phones.bob.slice(1)), "Carol never learns Bob's number either");
  });

  it(
    'profile: a contact reads it, a stranger reads nothing, and the visibility settings hold',
    { timeout: 120_000 },
    async () => {
      const photoFile = join(tmp, 'bob.png');
      const photo = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7 + 3) & 255));
      writeFileSync(photoFile, photo);
      const set = await parley([
        '--profile',
        bob,
        'profile',
        'set',
        '--name',
        'Bob Builder',
        '--about',
        'Can we fix it?',
        '--photo',
        photoFile,
      ]);
      assert.equal(set.code, 0, set.stderr);
      assert.equal(typeof set.lines[0]?.version, 'number');
      const bobId = String((await parley(['--profile', bob, 'whoami'])).lines[0]!.accountId);
      const photoDigest = { bytes: photo.length, sha256: createHash('sha256').update(photo).digest('hex') };
      assert.deepEqual((await parley(['--profile', bob, 'profile', 'get'])).lines, [
        { accountId: bobId, name: 'Bob Builder', about: 'Can we fix it?', photo: photoDigest },
      ]);

      // Bob wrote to Carol (the username chat above), so Carol holds his profile key; Alice never
      // talked to Bob and reads nothing, though she can find his account by number.
      const forCarol = await parley(['--profile', carol, 'profile', 'get', '--account', `account:${bobId}`]);
      assert.equal(forCarol.code, 0, forCarol.stderr);
      assert.deepEqual(forCarol.lines, [
        { accountId: bobId, name: 'Bob Builder', about: 'Can we fix it?', photo: photoDigest },
      ]);
      const forAlice = await parley(['--profile', alice, 'profile', 'get', '--account', `account:${bobId}`]);
      assert.equal(forAlice.code, 0, forAlice.stderr);
      assert.deepEqual(forAlice.lines, [{ accountId: bobId }]);

      // Photo for nobody, about for everyone: Carol loses the photo, Alice gains the about text.
      assert.equal((await parley(['--profile', bob, 'settings', 'set', 'photo', 'nobody'])).lines[0]?.photo, 'nobody');
      const open = await parley(['--profile', bob, 'settings', 'set', 'about', 'everyone']);
      assert.deepEqual(open.lines, [
        { findByNumber: 'everyone', photo: 'nobody', about: 'everyone', lastSeen: 'contacts', online: 'contacts' },
      ]);
      assert.deepEqual((await parley(['--profile', carol, 'profile', 'get', '--account', `account:${bobId}`])).lines, [
        { accountId: bobId, name: 'Bob Builder', about: 'Can we fix it?' },
      ]);
      assert.deepEqual((await parley(['--profile', alice, 'profile', 'get', '--account', `account:${bobId}`])).lines, [
        { accountId: bobId, about: 'Can we fix it?' },
      ]);

      // Bad values are usage errors (exit 2, one line) and change nothing.
      for (const bad of [
        ['settings', 'set', 'photo', 'sometimes'],
        ['settings', 'set', 'shoe-size', 'everyone'],
        ['profile', 'set'],
        ['profile', 'set', '--photo', join(tmp, 'missing.png')],
      ]) {
        const r = await parley(['--profile', bob, ...bad]);
        assert.equal(r.code, 2, `${bad.join(' ')}: ${r.stderr}`);
        assert.equal(r.stderr.trim().split('\n').length, 1);
        assert.equal(r.stdout, '');
      }
      assert.equal((await parley(['--profile', bob, 'settings'])).lines[0]?.photo, 'nobody');
    },
  );

  it('refuses a bad line before sending anything', { timeout: 60_000 }, async () => {
    const r = await parley([
      '--profile',
      alice,
      'discover',
      '--numbers-file',
      file('bad.txt', [phones.bob, 'call me maybe']),
    ]);
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
