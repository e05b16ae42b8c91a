/**
 * `parley group remove` then `parley group add` of the same member, end to end against a server
 * process (C2): the removed profile is told who removed it and cannot send; once added back it
 * reads and sends again, and never reads what was sent while it was out. Each `parley` run is its
 * own process, so the removed profile is offline between runs, across removal and re-add alike.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerProcess } from './helpers/server-process.ts';
import { parley, serveWithProfiles } from './helpers/cli.ts';

describe('parley CLI: a group member removed and added back', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-cli-readd-'));
  let server: ServerProcess;
  const alice = join(tmp, 'alice');
  const bob = join(tmp, 'bob');
  const carol = join(tmp, 'carol');
  const phones = { alice: '+12025550161', bob: '+12025550162', carol: '+12025550163' };

  before(async () => {
    server = await serveWithProfiles(join(tmp, 'data'), [
      [alice, phones.alice],
      [bob, phones.bob],
      [carol, phones.carol],
    ]);
  });
  after(async () => {
    await server?.kill();
    rmSync(tmp, { recursive: true, force: true });
  });

  const ok = async (profile: string, args: string[]) => {
    const r = await parley(['--profile', profile, ...args]);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const received = async (profile: string) =>
    (await ok(profile, ['receive', '--timeout', '2'])).lines.map((l) => String(l.text));

  it('removes, refuses sends while out, adds back, and delivers both ways again', { timeout: 240_000 }, async () => {
    const g = await ok(alice, [
      'group',
      'create',
      '--name',
      'Readd crew',
      '--members',
      `${phones.bob},${phones.carol}`,
    ]);
    const id = String(g.lines[0]!.group);
    // Carol never looked Alice's number up, so the CLI names her by account.
    const aliceAddress = `account:${String((await ok(alice, ['whoami'])).lines[0]!.accountId)}`;
    await ok(alice, ['send', '--to', `group:${id}`, '--message', 'first']);
    assert.deepEqual(await received(carol), ['first']);

    await ok(alice, ['group', 'remove', '--group', id, '--members', phones.carol]);
    await ok(alice, ['send', '--to', `group:${id}`, '--message', 'while carol is out']);
    // Carol's next run learns of the removal: a clear error naming who removed her, nothing sent.
    const refused = await parley(['--profile', carol, 'send', '--to', `group:${id}`, '--message', 'am I in?']);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr.trim().split('\n').length, 1);
    assert.match(refused.stderr, /^parley: not_member/);
    assert.ok(refused.stderr.includes(`removed from group ${id} by ${aliceAddress};`), refused.stderr);
    const listed = (await ok(carol, ['conversations'])).lines.find((l) => l.id === id);
    assert.equal(listed?.active, false);
    assert.equal(listed?.removedBy, aliceAddress);
    assert.equal(typeof listed?.removedAt, 'number');

    await ok(alice, ['group', 'add', '--group', id, '--members', phones.carol]);
    await ok(alice, ['send', '--to', `group:${id}`, '--message', 'welcome back']);
    assert.deepEqual(await received(carol), ['welcome back']);
    const back = (await ok(carol, ['conversations'])).lines.find((l) => l.id === id);
    assert.equal(back?.active, true);
    assert.equal(back?.removedBy, undefined);
    await ok(carol, ['send', '--to', `group:${id}`, '--message', 'glad to be back']);
    assert.deepEqual(await received(bob), ['first', 'while carol is out', 'welcome back', 'glad to be back']);
    assert.ok((await received(alice)).includes('glad to be back'));

    // Out and back again with Carol not running at all in between: only the last message reaches her.
    await ok(alice, ['group', 'remove', '--group', id, '--members', phones.carol]);
    await ok(bob, ['send', '--to', `group:${id}`, '--message', 'out again']);
    await ok(alice, ['group', 'add', '--group', id, '--members', phones.carol]);
    await ok(alice, ['send', '--to', `group:${id}`, '--message', 'back again']);
    assert.deepEqual(await received(carol), ['back again']);
    await ok(carol, ['send', '--to', `group:${id}`, '--message', 'still here']);
    assert.ok((await received(alice)).includes('still here'));
  });
});
