/**
 * Group info, system lines, chat placement and logout (C1, C15), through the SDK against a real
 * server on SQLite and PostgreSQL: a group's description reaches every member (plaintext.test.ts
 * checks that the server never holds it); renames, descriptions, adds, removes, a role change and a member leaving
 * become the same system lines, in the same order, on every member's device, the one that made
 * the change included; pins (at most 3) and archives stay on the device and survive later changes;
 * logging out revokes the device's token (then `unauthenticated`) and empties its store.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { availableDrivers, newClient, startServer, until, type TestServer } from '@parley/testkit';
import WebSocket from 'ws';
import { MemoryStore, ParleyClient, ParleyError, type GroupEvent, type WebSocketCtor } from '@parley/sdk';
import { deviceToken } from '@parley/sdk/testing';

const drivers = await availableDrivers();

/** A client's system lines in a conversation, oldest first, with accounts named by `who`. */
async function lines(c: ParleyClient, conv: string, who: Record<string, string>): Promise<string[]> {
  const n = (a?: string) => (a ? (who[a] ?? a) : '?');
  return (await c.messages(conv))
    .flatMap((m) => (m.system ? [m.system] : []))
    .map((e: GroupEvent) => [e.kind, n(e.by), e.member && n(e.member), e.name].filter(Boolean).join(' '));
}

for (const { driver, skip } of drivers) {
  describe(`group info and chat placement [${driver}]`, { skip }, () => {
    let t: TestServer;
    const clients: ParleyClient[] = [];
    const make = async (store = new MemoryStore()) => {
      const c = await newClient(t.url, undefined, { store });
      clients.push(c);
      return c;
    };
    before(async () => {
      t = await startServer(driver);
    });
    after(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await t?.close();
    });

    it('every member shows the same system lines, and the description is end-to-end encrypted', async () => {
      const [alice, bob, carol, dave] = [await make(), await make(), await make(), await make()];
      const who = {
        [alice.self.accountId]: 'alice',
        [bob.self.accountId]: 'bob',
        [carol.self.accountId]: 'carol',
        [dave.self.accountId]: 'dave',
      };
      const group = await alice.createGroup('Climbers', [bob.self.accountId, carol.self.accountId]);
      for (const c of [bob, carol])
        await until(() => c.conversations().find((x) => x.id === group && x.name === 'Climbers'), 10_000, 'joined');

      await alice.rename(group, 'Crag team');
      const secret = 'Sundays at the quarry, ropes by the door';
      await bob.describe(group, secret);
      await alice.addMembers(group, [dave.self.accountId]);
      await until(() => dave.conversations().find((x) => x.id === group && x.description === secret), 10_000, 'dave');
      await alice.removeMember(group, dave.self.accountId);
      await alice.setRole(group, bob.self.accountId, 'admin');
      await until(() => carol.conversations().find((x) => x.id === group && x.admins.length === 2), 10_000, 'role');
      await carol.leave(group);

      const expected = [
        'added alice bob',
        'added alice carol',
        'renamed alice Crag team',
        'described bob',
        'added alice dave',
        'removed alice dave',
        'made-admin alice bob',
        'left carol',
      ];
      // Alice (who added them) sees her own adds; Bob was added with Carol, so he sees "added you".
      await until(async () => (await lines(alice, group, who)).length === expected.length, 15_000, 'alice lines');
      const aliceLines = await lines(alice, group, who);
      // The first adds come in one commit, in the server's order of members.
      assert.deepEqual(new Set(aliceLines.slice(0, 2)), new Set(expected.slice(0, 2)));
      assert.deepEqual(aliceLines.slice(2), expected.slice(2));
      await until(async () => (await lines(bob, group, who)).includes('left carol'), 15_000, 'bob lines');
      assert.deepEqual(await lines(bob, group, who), ['added alice bob', ...expected.slice(2)]);
      // Carol's device stops at her own leaving (the group is no longer listed there).
      assert.deepEqual(await lines(carol, group, who), ['added alice carol', ...expected.slice(2, 7)]);
      // Dave saw his own add and nothing after his removal.
      assert.deepEqual(await lines(dave, group, who), ['added alice dave']);

      // Carol's leaving is no "removed" line, even after an admin took her devices out of the tree.
      await until(async () => (await alice.api.getConversation(group)).members.length === 2, 10_000, 'carol out');
      await alice.sendText(group, 'still here');
      await until(async () => (await bob.messages(group)).some((m) => m.text === 'still here'), 10_000, 'message');
      assert.equal((await lines(bob, group, who)).filter((l) => l.startsWith('removed')).length, 1);
      for (const c of [alice, bob]) {
        const conv = c.conversations().find((x) => x.id === group)!;
        assert.equal(conv.description, secret);
        assert.deepEqual(new Set(conv.members), new Set([alice.self.accountId, bob.self.accountId]));
      }
    });

    it('a member offline across a role change and a removal shows them in the order they were made', async () => {
      // Catching up, the member reads the role message when the server's table already lacks the
      // removed member: the removal's line must still come after the role line, from its commit.
      const [alice, bob, carol] = [await make(), await make(), await make()];
      const who = { [alice.self.accountId]: 'alice', [bob.self.accountId]: 'bob', [carol.self.accountId]: 'carol' };
      const store = new MemoryStore();
      const dave = await newClient(t.url, undefined, { store });
      who[dave.self.accountId] = 'dave';
      const group = await alice.createGroup('Order', [bob.self.accountId, carol.self.accountId, dave.self.accountId]);
      await until(() => dave.conversations().find((x) => x.id === group && x.name === 'Order'), 10_000, 'dave in');
      await dave.close();
      await alice.setRole(group, bob.self.accountId, 'admin');
      await alice.removeMember(group, carol.self.accountId);
      await alice.sendText(group, 'after both');
      const again = await ParleyClient.open({ store, WebSocket: WebSocket as unknown as WebSocketCtor });
      clients.push(again);
      await again.connect();
      await until(async () => (await again.messages(group)).some((m) => m.text === 'after both'), 15_000, 'caught up');
      await again.idle();
      assert.deepEqual((await lines(again, group, who)).slice(-2), ['made-admin alice bob', 'removed alice carol']);
      const conv = again.conversations().find((x) => x.id === group)!;
      assert.deepEqual(new Set(conv.admins), new Set([alice.self.accountId, bob.self.accountId]));
      assert.equal(conv.members.includes(carol.self.accountId), false);
    });

    it('leaving succeeds when an admin took the leaver out before its leave call arrived', async () => {
      const alice = await make();
      // Bob's leave call is held until Alice's device has taken his devices out on its own.
      let hold: (() => Promise<void>) | undefined;
      const fetchHeld: typeof fetch = async (input, init) => {
        if (String(input).endsWith('/leave') && hold) await hold();
        return fetch(input, init);
      };
      const bob = await newClient(t.url, undefined, { fetch: fetchHeld });
      clients.push(bob);
      const group = await alice.createGroup('Quick exit', [bob.self.accountId]);
      await until(() => bob.conversations().find((x) => x.id === group), 10_000, 'bob in');
      hold = () =>
        until(
          async () => !(await alice.api.getConversation(group)).members.some((m) => m.accountId === bob.self.accountId),
          10_000,
          'alice took bob out',
        ).then(() => undefined);
      await bob.leave(group);
      assert.equal(bob.conversations().find((x) => x.id === group)?.active, false);
      assert.ok((await lines(alice, group, { [bob.self.accountId]: 'bob' })).includes('left bob'));
    });

    it('pins (at most 3) and archives stay on the device and survive membership changes', async () => {
      const [alice, bob, carol] = [await make(), await make(), await make()];
      const chats = [
        await alice.startDirect(bob.self.accountId),
        await alice.startDirect(carol.self.accountId),
        await alice.createGroup('One', [bob.self.accountId]),
        await alice.createGroup('Two', [carol.self.accountId]),
      ];
      for (const id of chats.slice(0, 3)) await alice.pin(id);
      await assert.rejects(alice.pin(chats[3]!), (e: unknown) => e instanceof ParleyError && e.code === 'pin_limit');
      await alice.pin(chats[0]!, false);
      await alice.pin(chats[3]!);
      await alice.archive(chats[2]!);
      const pinned = () =>
        alice
          .conversations()
          .filter((c) => c.pinnedAt !== undefined)
          .map((c) => c.id);
      assert.deepEqual(new Set(pinned()), new Set([chats[1], chats[3]]), 'archiving unpins');
      // A membership change (which refreshes the chat from the server) and a new message keep both.
      await alice.addMembers(chats[2]!, [carol.self.accountId]);
      await bob.sendText(chats[2]!, 'in the archived group');
      await until(
        async () => (await alice.messages(chats[2]!)).some((m) => m.text === 'in the archived group'),
        10_000,
      );
      const archived = alice.conversations().find((c) => c.id === chats[2])!;
      assert.equal(archived.archived, true);
      assert.equal(archived.unread, 1);
      await alice.addMembers(chats[3]!, [bob.self.accountId]);
      assert.deepEqual(new Set(pinned()), new Set([chats[1], chats[3]]));
      await alice.archive(chats[2]!, false);
      assert.equal(alice.conversations().find((c) => c.id === chats[2])!.archived, undefined);
      // Nothing of it reached Bob.
      assert.equal(
        bob.conversations().some((c) => c.pinnedAt !== undefined || c.archived),
        false,
      );
    });

    it('logging out revokes only this device, refuses its token afterwards and empties its store', async () => {
      const store = new MemoryStore();
      const [alice, bob] = [await make(store), await make()];
      const chat = await alice.startDirect(bob.self.accountId);
      await alice.sendText(chat, 'before logout');
      const token = deviceToken(alice);
      assert.ok((await store.keys('')).length > 0);
      await alice.logout();
      assert.deepEqual(await store.keys(''), []);
      const me = await fetch(`${t.url}/v1/accounts/me`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(me.status, 401);
      assert.equal(((await me.json()) as { error: { code: string } }).error.code, 'unauthenticated');
      const again = await fetch(`${t.url}/v1/accounts/me/logout`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(again.status, 401, 'a revoked token cannot log out again');
      // Bob is unaffected.
      assert.equal((await bob.api.me()).accountId, bob.self.accountId);
    });
  });
}
