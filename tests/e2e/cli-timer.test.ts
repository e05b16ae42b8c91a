/**
 * `parley timer set|default`, end to end against a server process (C17): a chat's timer set on one
 * profile reaches the other (end-to-end encrypted, with the system line's data), messages sent under
 * it carry their expiry, `conversations` lists the timer, the default applies to chats the profile
 * creates; each command prints one JSON line. A malformed duration is a usage error (exit 2, one
 * line); one outside 5 s … 1 year is refused with `timer_out_of_range`, and nothing changes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliSuite, parley, parleyOk } from './helpers/cli.ts';

describe('parley CLI: disappearing-messages timers', () => {
  const { profiles, phones } = cliSuite('timer', { alice: '+12025550181', bob: '+12025550182' });
  const { alice, bob } = profiles;
  const ok = (profile: string, args: string[]) => parleyOk(['--profile', profile, ...args]);
  const listed = async (profile: string, id: string) =>
    (await ok(profile, ['conversations'])).lines.find((l) => l.id === id)!;

  it(
    'sets, lists and turns off a chat timer, refuses bad durations, and keeps a default',
    { timeout: 240_000 },
    async () => {
      for (const [duration, code, pattern] of [
        ['soon', 2, /--duration needs off, or a number and a unit/],
        ['7', 2, /--duration needs/],
        ['3s', 1, /timer_out_of_range/],
        ['2y', 1, /timer_out_of_range/],
      ] as const) {
        const r = await parley(['--profile', alice, 'timer', 'set', '--to', phones.bob, '--duration', duration]);
        assert.equal(r.code, code, `${duration}: ${r.stderr}`);
        assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
        assert.match(r.stderr, pattern);
        assert.equal(r.lines.length, 0);
      }
      const noWords = await parley(['--profile', alice, 'timer', 'clear']);
      assert.equal(noWords.code, 2);
      const noChat = (await ok(alice, ['conversations'])).lines;
      assert.equal(noChat.length, 0, 'a refused timer started no chat');

      const set = await ok(alice, ['timer', 'set', '--to', phones.bob, '--duration', '7d']);
      assert.equal(set.lines.length, 1, 'one JSON line');
      const id = String(set.lines[0]!.conversation);
      assert.equal(set.lines[0]!.timer, 7 * 86400);
      assert.equal((await listed(alice, id)).timer, 7 * 86400);

      const sent = await ok(alice, ['send', '--to', phones.bob, '--message', 'Gone in a week']);
      const got = (await ok(bob, ['receive', '--timeout', '3'])).lines.find((l) => l.text === 'Gone in a week');
      assert.ok(got, 'bob receives the message');
      const week = 7 * 86400_000;
      assert.ok(
        Math.abs(Number(got.expiresAt) - Number(got.sentAt) - week) < 60_000,
        'it expires a week after sending',
      );
      assert.ok(sent.lines.length >= 1);
      assert.equal((await listed(bob, id)).timer, 7 * 86400, "bob's profile holds the timer");

      const off = await ok(bob, ['timer', 'set', '--to', phones.alice, '--duration', 'off']);
      assert.deepEqual(off.lines, [{ conversation: id, timer: null }], 'any member may change it');
      await ok(alice, ['receive', '--timeout', '3']);
      assert.equal((await listed(alice, id)).timer, null);

      const def = await ok(alice, ['timer', 'default', '--duration', '24h']);
      assert.deepEqual(def.lines, [{ defaultTimer: 86400 }]);
      const bad = await parley(['--profile', alice, 'timer', 'default', '--duration', '4s']);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /timer_out_of_range/);
      const g = await ok(alice, ['group', 'create', '--name', 'Brief', '--members', phones.bob]);
      const group = String(g.lines[0]!.group);
      assert.equal((await listed(alice, group)).timer, 86400, 'a new chat starts with the default');
      assert.deepEqual((await ok(alice, ['timer', 'default', '--duration', 'off'])).lines, [{ defaultTimer: null }]);
    },
  );
});
