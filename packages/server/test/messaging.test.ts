/**
 * End-to-end messaging through the SDK against a real server (C2, C3), on SQLite and PostgreSQL:
 * 1:1 and group chats over MLS, receipts, typing, offline delivery, reconnect with resume,
 * idempotent sends, group admin rules, removal and leave.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { availableDrivers, newClient, startServer, until, type TestServer } from '@parley/testkit';
import type { ParleyClient } from '@parley/sdk';

const drivers = await availableDrivers();

for (const { driver, skip } of drivers) {
  describe(`messaging [${driver}]`, { skip }, () => {
    let t: TestServer;
    const clients: ParleyClient[] = [];
    const make = async (...a: Parameters<typeof newClient>) => {
      const c = await newClient(...a);
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

    it('delivers a 1:1 message both ways with delivered and read receipts', async () => {
      const alice = await make(t.url);
      const bob = await make(t.url);
      const conv = await alice.startDirect(await alice.lookupPhone(bob.phone));
      const got = bob.once('message');
      const sent = await alice.sendText(conv, 'hello bob');
      const m = await got;
      assert.equal(m.text, 'hello bob');
      assert.equal(m.id, sent.id);
      assert.equal(m.from, alice.self.accountId);
      // Alice opened the chat, so it is accepted on her side; on Bob's it is a request from a
      // stranger until he writes, so his device holds the delivered receipt (next test). He reads it.
      assert.equal(alice.conversations().find((c) => c.id === conv)?.accepted, true);
      assert.equal(bob.conversations().find((c) => c.id === conv)?.accepted, false);
      await bob.markRead(conv, [m.id]);
      const read = await until(
        async () => (await alice.messages(conv)).find((x) => x.id === sent.id && x.status === 'read'),
        10_000,
        'read receipt',
      );
      assert.deepEqual(read.deliveredTo, [bob.self.accountId], 'read implies delivered');
      const reply = alice.once('message');
      await bob.sendText(conv, 'hi alice');
      assert.equal((await reply).text, 'hi alice');
      assert.equal(bob.conversations().find((c) => c.id === conv)?.kind, 'direct');
      assert.equal(bob.conversations().find((c) => c.id === conv)?.accepted, true);
      // Bob wrote: the chat is accepted, and his device acknowledges new messages at once.
      const next = await alice.sendText(conv, 'and again');
      const delivered = await until(
        async () => (await alice.messages(conv)).find((x) => x.id === next.id && x.status === 'delivered'),
        10_000,
        'delivered receipt',
      );
      assert.deepEqual(delivered.deliveredTo, [bob.self.accountId]);
    });

    it("holds delivered receipts for a stranger's chat until it is accepted, then sends them after the reply", async () => {
      const alice = await make(t.url);
      const stranger = await make(t.url);
      const friend = await make(t.url);
      const pushy = await stranger.startDirect(alice.self.accountId);
      // What the stranger sees of Alice in that chat, in the order it arrives.
      const seen: string[] = [];
      stranger.on('message', (m) => {
        if (m.conversationId === pushy && m.from === alice.self.accountId) seen.push(`message ${m.text}`);
      });
      stranger.on('receipt', (r) => {
        if (r.conversationId === pushy && r.from === alice.self.accountId)
          seen.push(`${r.receipt} ${r.messageIds.length}`);
      });
      const got = alice.once('message');
      const first = await stranger.sendText(pushy, 'hi, you do not know me');
      assert.equal((await got).id, first.id);
      const got2 = alice.once('message');
      const second = await stranger.sendText(pushy, 'hello?');
      assert.equal((await got2).id, second.id);
      const request = await until(
        () => alice.conversations().find((c) => c.id === pushy && c.heldReceipts?.length === 2),
        10_000,
        'both receipts held',
      );
      assert.equal(request.accepted, false, 'a message request');
      assert.deepEqual(request.heldReceipts, [first.id, second.id]);

      // A chat from someone who is already a contact is acknowledged at once, accepted or not.
      const withFriend = await alice.startDirect(friend.self.accountId);
      await alice.sendText(withFriend, 'hi friend');
      const group = await friend.createGroup('friends', [alice.self.accountId]);
      const fromFriend = await friend.sendText(group, 'in the group');
      await until(
        async () => (await friend.messages(group)).find((x) => x.id === fromFriend.id && x.status === 'delivered'),
        10_000,
        'delivered receipt from a contact',
      );
      assert.equal(alice.conversations().find((c) => c.id === group)?.accepted, false);

      // Alice answers the stranger: her message comes first, then the receipts she held.
      await alice.sendText(pushy, 'who are you?');
      await until(() => seen.length >= 2, 10_000, 'the reply and the receipt');
      assert.deepEqual(seen.slice(0, 2), ['message who are you?', 'delivered 2']);
      await until(
        async () => {
          const mine = (await stranger.messages(pushy)).filter((x) => x.id === first.id || x.id === second.id);
          return mine.length === 2 && mine.every((x) => x.status === 'delivered');
        },
        10_000,
        'both messages delivered',
      );
      const accepted = alice.conversations().find((c) => c.id === pushy);
      assert.equal(accepted?.accepted, true);
      assert.equal(accepted?.heldReceipts, undefined);
    });

    it('shows typing to online members without storing it', async () => {
      const alice = await make(t.url);
      const bob = await make(t.url);
      const conv = await alice.startDirect(bob.self.accountId);
      await alice.sendText(conv, 'ping');
      await bob.once('message');
      const queued = () => t.server.ctx.storage.conversations.countPendingDeliveries(bob.self.deviceId);
      await until(async () => (await bob.idle(), (await queued()) === 0), 10_000, 'bob acked everything');
      const typing = bob.once('typing');
      await alice.setTyping(conv, true);
      const ev = await typing;
      assert.equal(ev.typing, true);
      assert.equal(ev.from, alice.self.accountId);
      assert.equal(await queued(), 0, 'typing is never queued');
    });

    it('queues messages for an offline device and delivers them in order on connect', async () => {
      const alice = await make(t.url);
      const bob = await make(t.url, undefined, { connect: false });
      const conv = await alice.startDirect(bob.self.accountId);
      const texts = Array.from({ length: 30 }, (_, i) => `offline ${i}`);
      for (const x of texts) await alice.sendText(conv, x);
      const received: string[] = [];
      bob.on('message', (m) => received.push(m.text));
      await bob.connect();
      await until(() => received.length === texts.length, 15_000, 'offline messages');
      assert.deepEqual(received, texts);
      await bob.idle();
      await until(
        async () => (await t.server.ctx.storage.conversations.countPendingDeliveries(bob.self.deviceId)) === 0,
        5000,
        'acks',
      );
    });

    it('resumes after a dropped connection without losing or duplicating messages', async () => {
      const alice = await make(t.url);
      const bob = await make(t.url);
      const conv = await alice.startDirect(bob.self.accountId);
      const received: string[] = [];
      bob.on('message', (m) => received.push(m.text));
      const texts = Array.from({ length: 40 }, (_, i) => `m${i}`);
      for (let i = 0; i < texts.length; i++) {
        if (i === 10 || i === 25) bob.reconnect();
        await alice.sendText(conv, texts[i]!);
      }
      await until(() => received.length >= texts.length, 15_000, 'all messages');
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(received, texts);
    });

    it('stores one message when the same client message id is sent twice', async () => {
      const alice = await make(t.url);
      const bob = await make(t.url);
      const conv = await alice.startDirect(bob.self.accountId);
      const { toB64 } = await import('@parley/protocol');
      const ctx = t.server.ctx;
      const msg = {
        id: 'm_AAAAAAAAAAAAAAAAAAAAAA',
        conversationId: conv,
        kind: 'application' as const,
        epoch: 1,
        senderAccount: alice.self.accountId,
        senderDevice: alice.self.deviceId,
        clientMessageId: 'same-id-123',
        payload: new Uint8Array([1, 2, 3]),
        sentAt: Date.now(),
        recipients: [bob.self.deviceId],
      };
      const a = await ctx.delivery.submit(msg);
      const b = await ctx.delivery.submit({ ...msg, id: 'm_BBBBBBBBBBBBBBBBBBBBBB' });
      assert.equal(a.duplicate, false);
      assert.equal(b.duplicate, true);
      assert.equal(b.message.id, a.message.id);
      assert.ok(toB64);
    });

    it('runs a group: create, name, add, admin rules, remove, leave', async () => {
      const alice = await make(t.url);
      const bob = await make(t.url);
      const carol = await make(t.url);
      const dave = await make(t.url);
      const group = await alice.createGroup('Hikers', [bob.self.accountId, carol.self.accountId]);
      await until(
        () => bob.conversations().find((c) => c.id === group && c.name === 'Hikers'),
        10_000,
        'bob joins with name',
      );
      await until(() => carol.conversations().find((c) => c.id === group), 10_000, 'carol joins');
      const bobGot = bob.once('message');
      const carolGot = carol.once('message');
      await alice.sendText(group, 'welcome all');
      assert.equal((await bobGot).text, 'welcome all');
      assert.equal((await carolGot).text, 'welcome all');

      // Only admins add other accounts.
      await assert.rejects(
        bob.addMembers(group, [dave.self.accountId]),
        (e: Error & { code?: string }) => e.code === 'not_admin',
      );
      await alice.setRole(group, bob.self.accountId, 'admin');
      await bob.addMembers(group, [dave.self.accountId]);
      await until(() => dave.conversations().find((c) => c.id === group && c.name === 'Hikers'), 10_000, 'dave joins');
      const daveGot = dave.once('message');
      await carol.sendText(group, 'hi dave');
      assert.equal((await daveGot).text, 'hi dave');

      // Remove carol: she stops receiving; the others keep chatting.
      await alice.removeMember(group, carol.self.accountId);
      await until(() => carol.conversations().find((c) => c.id === group && !c.active), 10_000, 'carol removed');
      let carolLeaked = false;
      carol.on('message', (m) => {
        if (m.conversationId === group) carolLeaked = true;
      });
      const bobGot2 = bob.once('message', (m) => m.text === 'after removal');
      await alice.sendText(group, 'after removal');
      await bobGot2;

      // Dave leaves; an admin removes his devices from the tree.
      await dave.leave(group);
      const info = await until(
        async () => {
          const c = await alice.api.getConversation(group);
          return c.members.every((m) => m.accountId !== dave.self.accountId) ? c : null;
        },
        10_000,
        'dave gone',
      );
      assert.equal(info.members.length, 2);
      const bobGot3 = bob.once('message', (m) => m.text === 'just us');
      await alice.sendText(group, 'just us');
      await bobGot3;
      assert.equal(carolLeaked, false);
    });

    it('refuses a KeyPackage the server substituted for a device (as a malicious server would)', async () => {
      const { createDeviceIdentity, generateKeyPackages, generateSigningKeyPair, inspectKeyPackage } =
        await import('@parley/crypto');
      const alice = await make(t.url);
      const bob = await make(t.url, undefined, { connect: false });
      // Drain bob's real KeyPackages, then plant one whose signing key is not bob's device key.
      while ((await t.server.ctx.storage.accounts.countKeyPackages(bob.self.deviceId)).available > 0)
        await t.server.ctx.storage.accounts.claimKeyPackages([bob.self.deviceId]);
      const forged = await generateKeyPackages(createDeviceIdentity(bob.self.deviceId, generateSigningKeyPair()), 1);
      const info = inspectKeyPackage(forged.publicKeyPackages[0]!);
      await t.server.ctx.storage.accounts.addKeyPackages(
        bob.self.deviceId,
        bob.self.accountId,
        [{ data: forged.publicKeyPackages[0]!, initKey: info.initKey, encryptionKey: info.encryptionKey }],
        null,
      );
      await assert.rejects(
        alice.startDirect(bob.self.accountId),
        (e: Error & { code?: string }) => e.code === 'keypackage_wrong_credential',
      );
      assert.equal(alice.conversations().filter((c) => c.active).length, 0, 'no half-made conversation is left');
      assert.equal((await alice.api.listConversations()).conversations.length, 0);
    });

    it('recovers from a stale epoch when two members commit at once', async () => {
      const alice = await make(t.url);
      const bob = await make(t.url);
      const carol = await make(t.url);
      const dave = await make(t.url);
      const group = await alice.createGroup('Race', [bob.self.accountId]);
      await until(() => bob.conversations().find((c) => c.id === group), 10_000, 'bob joins');
      await alice.setRole(group, bob.self.accountId, 'admin');
      await Promise.all([
        alice.addMembers(group, [carol.self.accountId]),
        bob.addMembers(group, [dave.self.accountId]),
      ]);
      await until(() => carol.conversations().find((c) => c.id === group), 10_000, 'carol joins');
      await until(() => dave.conversations().find((c) => c.id === group), 10_000, 'dave joins');
      const all = [bob, carol, dave].map((c) => c.once('message', (m) => m.text === 'everyone?'));
      await alice.sendText(group, 'everyone?');
      await Promise.all(all);
    });
  });
}
