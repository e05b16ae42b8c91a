/**
 * A group member removed and then added back (C2), through the SDK against a real server on SQLite
 * and PostgreSQL: the fresh Welcome replaces the device's old group state, so it receives and sends
 * again, while nothing sent during its removal ever reaches it. Covers a device online throughout,
 * one offline across the removal and the re-add (twice over), and one that left and was added back.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { availableDrivers, newClient, startServer, until, type TestServer } from '@parley/testkit';
import { MemoryStore, ParleyClient, type WebSocketCtor } from '@parley/sdk';
import WebSocket from 'ws';

const drivers = await availableDrivers();

/** The first message with this text `c` receives; fails after 15 s rather than waiting for ever. */
function arrival(c: ParleyClient, text: string): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for "${text}"`)), 15_000);
  });
  return Promise.race([c.once('message', (m) => m.text === text), late]).finally(() => clearTimeout(timer));
}

for (const { driver, skip } of drivers) {
  describe(`group re-add [${driver}]`, { skip }, () => {
    let t: TestServer;
    const clients: ParleyClient[] = [];
    const make = async (...a: Parameters<typeof newClient>) => {
      const c = await newClient(...a);
      clients.push(c);
      return c;
    };
    /** The same device (same store) opened again, as a process that was not running would be. */
    const reopen = async (store: MemoryStore) => {
      const c = await ParleyClient.open({ store, WebSocket: WebSocket as unknown as WebSocketCtor });
      clients.push(c);
      return c;
    };
    /** Every message text a client receives in a conversation, in order. */
    const texts = (c: ParleyClient, conv: string) => {
      const got: string[] = [];
      c.on('message', (m) => {
        if (m.conversationId === conv && !m.outgoing) got.push(m.text);
      });
      return got;
    };
    const errorsOf = (c: ParleyClient) => {
      const errors: string[] = [];
      c.on('error', (e) => errors.push(`${e.context}: ${(e.error as Error).message}`));
      return errors;
    };
    before(async () => {
      t = await startServer(driver);
    });
    after(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await t?.close();
    });

    it('a member removed and added back receives and sends again, and never sees what was sent meanwhile', async () => {
      const alice = await make(t.url);
      const bob = await make(t.url);
      const carol = await make(t.url);
      const group = await alice.createGroup('Climbers', [bob.self.accountId, carol.self.accountId]);
      await until(() => carol.conversations().find((c) => c.id === group && c.name === 'Climbers'), 10_000, 'carol in');
      await until(() => bob.conversations().find((c) => c.id === group), 10_000, 'bob in');
      const carolGot = texts(carol, group);
      const carolErrors = errorsOf(carol);
      const before1 = arrival(carol, 'before');
      await alice.sendText(group, 'before');
      await before1;

      await alice.removeMember(group, carol.self.accountId);
      const removed = await until(
        () => carol.conversations().find((c) => c.id === group && !c.active),
        10_000,
        'carol removed',
      );
      assert.equal(removed.removedBy, alice.self.accountId, 'carol knows who removed her');
      assert.equal(typeof removed.removedAt, 'number');
      // A removed device cannot send: a clear error, and nothing reaches the others.
      await assert.rejects(
        carol.sendText(group, 'still here?'),
        (e: Error & { code?: string }) => e.code === 'not_member',
      );
      const bobMeanwhile = arrival(bob, 'while carol is out');
      await alice.sendText(group, 'while carol is out');
      await bobMeanwhile;

      await alice.addMembers(group, [carol.self.accountId]);
      const back = await until(
        () => carol.conversations().find((c) => c.id === group && c.active),
        10_000,
        'carol back',
      );
      assert.equal(back.removedBy, undefined, 'the removal is forgotten once added back');
      assert.equal(back.name, 'Climbers');
      const after1 = arrival(carol, 'welcome back');
      await alice.sendText(group, 'welcome back');
      await after1;
      const aliceGot = arrival(alice, 'glad to be back');
      const bobGot = arrival(bob, 'glad to be back');
      await carol.sendText(group, 'glad to be back');
      await Promise.all([aliceGot, bobGot]);
      const bobSays = arrival(carol, 'hi carol');
      await bob.sendText(group, 'hi carol');
      await bobSays;
      await carol.idle();
      assert.deepEqual(carolGot, ['before', 'welcome back', 'hi carol']);
      const carolHistory = await carol.messages(group);
      assert.deepEqual(
        // Her history also holds the group's system lines ("… added you"): only messages here.
        carolHistory.filter((m) => m.status !== 'failed' && !m.system).map((m) => m.text),
        ['before', 'welcome back', 'glad to be back', 'hi carol'],
      );
      // The send refused while carol was out stays on her device only, as failed (Retry or Delete).
      assert.deepEqual(
        carolHistory.filter((m) => m.status === 'failed').map((m) => m.text),
        ['still here?'],
      );
      assert.deepEqual(carolErrors, []);
    });

    it('a device offline across its removal and re-add (twice) reads only what was sent while it was a member', async () => {
      const alice = await make(t.url);
      const bob = await make(t.url);
      const store = new MemoryStore();
      const carol = await make(t.url, undefined, { store });
      const group = await alice.createGroup('Offline', [bob.self.accountId, carol.self.accountId]);
      await until(() => carol.conversations().find((c) => c.id === group), 10_000, 'carol in');
      await until(() => bob.conversations().find((c) => c.id === group), 10_000, 'bob in');
      await carol.close();

      // While carol's device is off: in, out, back, out, back, with messages in every state.
      await alice.sendText(group, 'member 1');
      await alice.removeMember(group, carol.self.accountId);
      await alice.sendText(group, 'removed 1');
      await alice.addMembers(group, [carol.self.accountId]);
      await alice.sendText(group, 'member 2');
      await alice.removeMember(group, carol.self.accountId);
      await bob.sendText(group, 'removed 2');
      await alice.addMembers(group, [carol.self.accountId]);
      await alice.sendText(group, 'member 3');

      const again = await reopen(store);
      const got = texts(again, group);
      const errors = errorsOf(again);
      await again.connect();
      await until(() => got.includes('member 3'), 15_000, 'carol catches up');
      await again.idle();
      // Her queue holds each membership's messages before the next removal and Welcome, so each
      // is read with the state of its own membership, and nothing sent while she was out arrives.
      assert.deepEqual(got, ['member 1', 'member 2', 'member 3']);
      assert.deepEqual(errors, []);
      assert.equal(again.conversations().find((c) => c.id === group)?.active, true);
      const aliceGot = arrival(alice, 'back online');
      await again.sendText(group, 'back online');
      await aliceGot;
    });

    it('a member who left and is added back (no removal commit reached it) receives and sends again', async () => {
      const alice = await make(t.url);
      const bob = await make(t.url);
      const dave = await make(t.url);
      const group = await alice.createGroup('Leavers', [bob.self.accountId, dave.self.accountId]);
      await until(() => dave.conversations().find((c) => c.id === group), 10_000, 'dave in');
      await dave.leave(group);
      // Alice's device removes the leaver's leaves when his encrypted "leave" arrives: a commit
      // routed to the remaining members only, so Dave's state never learns it.
      await until(async () => (await alice.api.listCommits(group, 0)).commits.length >= 2, 10_000, 'leaver removed');
      const daveErrors = errorsOf(dave);
      await alice.addMembers(group, [dave.self.accountId]);
      await until(() => dave.conversations().find((c) => c.id === group && c.active), 10_000, 'dave back');
      const got = arrival(dave, 'hello again dave');
      await alice.sendText(group, 'hello again dave');
      await got;
      const bobGot = arrival(bob, 'thanks');
      await dave.sendText(group, 'thanks');
      await bobGot;
      assert.deepEqual(daveErrors, []);
    });
  });
}
