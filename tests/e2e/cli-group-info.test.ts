/**
 * `parley group describe|info|admin` and `parley chat pin|archive`, end to end against a server
 * process (C15): a description set by one member reaches the other (end-to-end encrypted, like the
 * name), `group info` prints one JSON line with the name, description and members with roles, a
 * role change shows there on both sides, and a chat's pin and archive are listed by
 * `conversations` on the profile that set them only; `parley mute` mutes a chat for a time, always
 * or off, prints one JSON line, shows in `conversations` on that profile only, and never starts a chat.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliSuite, parley, parleyOk } from './helpers/cli.ts';

describe('parley CLI: group info, description, roles, pin, archive and mute', () => {
  const { profiles, phones } = cliSuite('group-info', { alice: '+12025550171', bob: '+12025550172' });
  const { alice, bob } = profiles;

  const ok = (profile: string, args: string[]) => parleyOk(['--profile', profile, ...args]);
  type Info = { name: string; description: string; members: { account: string; role: string }[] };

  it(
    'describes a group, shows its info and roles, and pins and archives per profile',
    { timeout: 240_000 },
    async () => {
      const g = await ok(alice, ['group', 'create', '--name', 'Readers', '--members', phones.bob]);
      const id = String(g.lines[0]!.group);
      await ok(bob, ['receive', '--timeout', '2']);
      await ok(bob, ['group', 'describe', '--group', id, '--text', 'One book a month']);
      await ok(alice, ['receive', '--timeout', '2']);
      const info = (await ok(alice, ['group', 'info', '--group', id])).lines;
      assert.equal(info.length, 1, 'one JSON line');
      const a = info[0] as unknown as Info;
      assert.equal(a.name, 'Readers');
      assert.equal(a.description, 'One book a month');
      assert.deepEqual(a.members.map((m) => m.role).sort(), ['admin', 'member'], 'the creator is the only admin');
      await ok(alice, ['group', 'admin', '--group', id, '--members', phones.bob]);
      await ok(bob, ['receive', '--timeout', '2']);
      const b = (await ok(bob, ['group', 'info', '--group', id])).lines[0] as unknown as Info;
      assert.deepEqual(
        b.members.map((m) => m.role),
        ['admin', 'admin'],
      );
      assert.equal(b.description, 'One book a month');

      await ok(alice, ['chat', 'pin', '--to', `group:${id}`]);
      const listed = (await ok(alice, ['conversations'])).lines;
      const group = listed.find((l) => l.id === id)!;
      assert.equal(group.pinned, true);
      assert.equal(group.archived, false);
      const archived = await parley(['--profile', alice, 'chat', 'archive', '--to', `group:${id}`]);
      assert.equal(archived.code, 0, archived.stderr);
      assert.deepEqual(
        { pinned: archived.lines[0]!.pinned, archived: archived.lines[0]!.archived },
        { pinned: false, archived: true },
        'archiving unpins',
      );
      const bobs = (await ok(bob, ['conversations'])).lines.find((l) => l.id === id)!;
      assert.deepEqual({ pinned: bobs.pinned, archived: bobs.archived }, { pinned: false, archived: false });
    },
  );

  it(
    'mutes a chat for a time, always or off, on this profile only, and never starts a chat',
    { timeout: 240_000 },
    async () => {
      type Muted = { conversation: string; mutedUntil: number | 'always' | null };
      const mute = async (length: string) => {
        const r = await ok(alice, ['mute', '--to', phones.bob, '--for', length]);
        assert.equal(r.lines.length, 1, 'one JSON line');
        return r.lines[0] as unknown as Muted;
      };
      // No direct chat with Bob yet: mute names an existing chat only.
      const none = await parley(['--profile', alice, 'mute', '--to', phones.bob, '--for', '8h']);
      assert.notEqual(none.code, 0);
      assert.match(none.stderr, /conversation_not_found|no chat/i);
      const bad = await parley(['--profile', alice, 'mute', '--to', phones.bob, '--for', 'soon']);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /8h or 1w/);

      await ok(alice, ['send', '--to', phones.bob, '--message', 'Quiet evening?']);
      const before = Date.now();
      const eight = await mute('8h');
      assert.equal(typeof eight.mutedUntil, 'number');
      const hours = ((eight.mutedUntil as number) - before) / 3_600_000;
      assert.ok(hours > 7.9 && hours <= 8.1, `8 hours from now, got ${hours}`);
      const direct = eight.conversation;
      const week = await mute('1w');
      assert.equal(week.conversation, direct);
      assert.ok(Math.abs(((week.mutedUntil as number) - before) / 86_400_000 - 7) < 0.1, 'a week from now');
      assert.equal((await mute('always')).mutedUntil, 'always');
      const listed = (await ok(alice, ['conversations'])).lines.find((l) => l.id === direct)!;
      assert.equal(listed.mutedUntil, 'always');
      await ok(bob, ['receive', '--timeout', '2']);
      const bobs = (await ok(bob, ['conversations'])).lines.find((l) => l.id === direct)!;
      assert.equal(bobs.mutedUntil, null, 'the mute stays on the profile that set it');
      assert.equal((await mute('off')).mutedUntil, null);
      assert.equal((await ok(alice, ['conversations'])).lines.find((l) => l.id === direct)!.mutedUntil, null);
    },
  );
});
