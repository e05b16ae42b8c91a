/**
 * `parley group describe|info|admin` and `parley chat pin|archive`, end to end against a server
 * process (C15): a description set by one member reaches the other (end-to-end encrypted, like the
 * name), `group info` prints one JSON line with the name, description and members with roles, a
 * role change shows there on both sides, and a chat's pin and archive are listed by
 * `conversations` on the profile that set them only.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliSuite, parley, parleyOk } from './helpers/cli.ts';

describe('parley CLI: group info, description, roles, pin and archive', () => {
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
});
