/**
 * `parley block`, `unblock`, `blocked` and `report` end to end (C15), one process per call against
 * a real server: while Bob blocks Alice her sends succeed but `receive` shows him nothing of them;
 * `blocked` prints one JSON line per account; unblocking restores delivery; `report --block`
 * files a report with the last messages and blocks in one step; bad arguments are usage errors.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliSuite, parley, parleyOk } from './helpers/cli.ts';

describe('parley block and report', () => {
  const { profiles, phones } = cliSuite('block', { alice: '+12025550171', bob: '+12025550172', carol: '+12025550173' });
  const { alice, bob } = profiles; // Carol is registered only to be blocked.

  it('blocks, lists, unblocks and reports', { timeout: 180_000 }, async () => {
    const run = parleyOk;
    const texts = async (profile: string) =>
      (await run(['--profile', profile, 'receive', '--timeout', '1'])).lines.map((l) => l.text);

    await run(['--profile', alice, 'send', '--to', phones.bob, '--message', 'hello bob']);
    assert.deepEqual(await texts(bob), ['hello bob']);

    const blocked = await run(['--profile', bob, 'block', '--to', phones.alice]);
    assert.deepEqual(
      { account: blocked.lines[0]!.account, blocked: blocked.lines[0]!.blocked },
      { account: phones.alice, blocked: true },
    );
    await run(['--profile', bob, 'block', '--to', phones.carol]);
    const list = await run(['--profile', bob, 'blocked']);
    assert.deepEqual(new Set(list.lines.map((l) => l.account)), new Set([phones.alice, phones.carol]));
    for (const l of list.lines) assert.equal(typeof l.blockedAt, 'number');

    // Alice's send succeeds (she learns nothing), and Bob receives nothing of it.
    const sent = await run(['--profile', alice, 'send', '--to', phones.bob, '--message', 'are you there?']);
    assert.equal(typeof sent.lines[0]!.id, 'string');
    await run(['--profile', bob, 'unblock', '--to', phones.alice]);
    await run(['--profile', alice, 'send', '--to', phones.bob, '--message', 'back again']);
    assert.deepEqual(await texts(bob), ['back again'], 'what was sent while blocked never arrives');
    assert.deepEqual(
      (await run(['--profile', bob, 'blocked'])).lines.map((l) => l.account),
      [phones.carol],
    );

    const report = await run([
      '--profile',
      bob,
      'report',
      '--to',
      phones.alice,
      '--reason',
      'keeps writing',
      '--messages',
      '2',
      '--block',
    ]);
    assert.equal(report.lines.length, 1);
    assert.match(String(report.lines[0]!.reportId), /^rp_/);
    assert.equal(report.lines[0]!.messages, 2);
    assert.equal(report.lines[0]!.blocked, true);
    assert.ok((await run(['--profile', bob, 'blocked'])).lines.some((l) => l.account === phones.alice));

    const self = await parley(['--profile', bob, 'block', '--to', phones.bob]);
    assert.equal(self.code, 1);
    assert.match(self.stderr, /^parley: cannot_block_self/);
    const usage = await parley(['--profile', bob, 'report', '--to', phones.alice, '--messages', 'lots']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--messages takes a whole number/);
  });
});
