/**
 * Disappearing messages (C17) through real SDK clients against a real server, on SQLite and
 * PostgreSQL, with simulated clocks (one for the devices, one for the server, moved by the test):
 * a member sets a group's timer and every device shows who did; a text and an image sent under it
 * carry their expiry; past it every online device deletes them (the reopened Node file store holds
 * neither text nor media key), the server's sweeper removes the ciphertext from the queues and the
 * image's blob; a device that was offline past the expiry never shows the message, whether the
 * server had swept it (nothing arrives) or not (the device drops it on receipt). Then the refusals:
 * timers outside 5 s … 1 year, a timer from a device no longer in the group, and the default timer
 * for chats this device creates.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  ParleyClient,
  groupEventText,
  isParleyError,
  type ClientEvents,
  type ClientOptions,
  type WebSocketCtor,
} from '@parley/sdk';
import { FileStore } from '@parley/sdk/node';
import { registerTestClient, sendRawContent, until } from '@parley/sdk/testing';
import { availableDrivers, startServer, type TestServer } from '@parley/testkit';

const drivers = await availableDrivers();
const WS = WebSocket as unknown as WebSocketCtor;
type Client = ParleyClient & { phone: string };

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => isParleyError(e) && e.code === code, `expected ${code}`);
}

for (const { driver, skip } of drivers) {
  describe(`disappearing messages [${driver}]`, { skip }, () => {
    let t: TestServer;
    const clients: ParleyClient[] = [];
    const dirs: string[] = [];
    // The devices' clock and the server's clock, each moved on by the test.
    let deviceSkew = 0;
    let serverSkew = 0;
    const make = async (opts: Partial<ClientOptions> & { connect?: boolean } = {}): Promise<Client> => {
      const c = await registerTestClient(t.url, { WebSocket: WS, now: () => Date.now() + deviceSkew, ...opts });
      clients.push(c);
      return c;
    };
    const name = (c: ParleyClient) => (id: string) => (id === c.self.accountId ? 'You' : id === '' ? '?' : 'Someone');

    before(async () => {
      // Sweeps every second, so the test waits for the server's own timers rather than calling them.
      t = await startServer(
        driver,
        { messageSweepSeconds: 1, mediaSweepSeconds: 1 },
        {
          now: () => Date.now() + serverSkew,
        },
      );
    });
    after(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await t?.close();
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    });

    it('expires messages and media on every device and on the server, offline devices included', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'parley-disappear-'));
      dirs.push(dir);
      const alice = await make();
      const bob = await make({ store: new FileStore(dir) });
      // Carol and Dave stay offline while the message lives.
      const carol = await make({ connect: false });
      const dave = await make({ connect: false });
      const conv = await alice.createGroup('Ephemeral', [
        bob.self.accountId,
        carol.self.accountId,
        dave.self.accountId,
      ]);
      await until(() => bob.conversations().some((c) => c.id === conv), 10_000, 'bob has the group');

      const timer = await alice.setTimer(conv, 60);
      assert.equal(timer.timer, 60);
      assert.equal(alice.timerOf(conv), 60);
      await until(() => bob.timerOf(conv) === 60, 10_000, "bob's device applies the timer");
      const line = await until(
        async () => (await bob.messages(conv)).find((m) => m.system?.kind === 'timer'),
        10_000,
        'bob shows a system line',
      );
      assert.equal(line.from, alice.self.accountId);
      assert.equal(groupEventText(line.system!, name(bob)), 'Someone set disappearing messages to 1 minute');
      const own = (await alice.messages(conv)).find((m) => m.system?.kind === 'timer');
      assert.equal(groupEventText(own!.system!, name(alice)), 'You set disappearing messages to 1 minute');

      const sent = await alice.sendText(conv, 'This will self-destruct');
      assert.ok(sent.expiresAt && Math.abs(sent.expiresAt - (sent.sentAt + 60_000)) < 1, 'expiry = sent + timer');
      const image = await alice.sendMedia(conv, {
        bytes: new Uint8Array(4096).fill(7),
        mimeType: 'image/png',
        kind: 'image',
      });
      const blobId = image.attachment!.id;
      const blob = await t.server.ctx.storage.media.getMediaBlob(blobId);
      assert.equal(blob?.disappearsAt, image.expiresAt, 'the server holds the blob only until the expiry');
      await until(
        async () => (await bob.messages(conv)).filter((m) => m.expiresAt).length === 2,
        10_000,
        'bob has both',
      );
      assert.deepEqual(await bob.downloadMedia(image.attachment!), new Uint8Array(4096).fill(7));

      // Before the expiry nothing goes.
      assert.equal(await bob.sweepExpired(), 0);

      // The devices' clocks pass the expiry (the server's has not yet): every online device deletes them.
      deviceSkew = 61_000;
      const removed: ClientEvents['message-removed'][] = [];
      bob.on('message-removed', (e) => removed.push(e));
      assert.equal(await alice.sweepExpired(), 2);
      assert.equal(await bob.sweepExpired(), 2);
      assert.deepEqual(removed.map((r) => r.messageId).sort(), [sent.id, image.id].sort());
      for (const c of [alice, bob])
        assert.ok(
          (await c.messages(conv)).every((m) => m.id !== sent.id && m.id !== image.id && !m.expiresAt),
          'gone from the history',
        );
      // The Node file store, read afresh (a restarted CLI or bot), holds neither the text nor the key.
      const reopened = await ParleyClient.open({ store: new FileStore(dir) });
      const kept = JSON.stringify(await reopened.messages(conv));
      assert.ok(!kept.includes('self-destruct') && !kept.includes(image.attachment!.key), 'not in the file store');

      // Dave comes online while the server still queues the message: his device drops it unshown.
      // The timer goes off after it, so the marker that follows is no disappearing message.
      await alice.setTimer(conv, null);
      const marker = await alice.sendText(conv, 'marker');
      const daveSaw: string[] = [];
      dave.on('message', (m) => daveSaw.push(m.id));
      await dave.connect();
      await until(
        async () => (await dave.messages(conv)).some((m) => m.id === marker.id),
        10_000,
        'dave has the marker',
      );
      assert.ok(!daveSaw.includes(sent.id) && !daveSaw.includes(image.id), 'dave never showed the expired messages');
      const daveLines = (await dave.messages(conv)).filter((m) => m.system?.kind === 'timer');
      assert.deepEqual(
        daveLines.map((m) => groupEventText(m.system!, name(dave))),
        ['Someone set disappearing messages to 1 minute', 'Someone turned off disappearing messages'],
      );
      assert.equal(dave.timerOf(conv), null);

      // The server's clock passes the expiry: its sweepers delete the queued ciphertext and the blob.
      const carolDevice = carol.self.deviceId;
      const queued = async () =>
        (await t.server.ctx.storage.conversations.pendingDeliveries(carolDevice, 0, 1000)).map((d) => d.message.id);
      assert.ok((await queued()).includes(sent.id), "carol's queue holds the message before the expiry");
      serverSkew = 61_000;
      await until(async () => !(await queued()).includes(sent.id), 10_000, 'the ciphertext leaves the queue');
      assert.ok(!(await queued()).includes(image.id));
      assert.ok((await queued()).includes(marker.id), 'other messages stay queued');
      await until(async () => (await t.server.ctx.storage.media.getMediaBlob(blobId)) === null, 10_000, 'blob gone');
      await rejectsWith(bob.downloadMedia(image.attachment!), 'blob_not_found');

      // Carol, offline past the expiry, gets nothing of it.
      const carolSaw: string[] = [];
      carol.on('message', (m) => carolSaw.push(m.id));
      await carol.connect();
      await until(
        async () => (await carol.messages(conv)).some((m) => m.id === marker.id),
        10_000,
        'carol has the marker',
      );
      assert.ok(!carolSaw.includes(sent.id) && !carolSaw.includes(image.id));
      assert.ok((await carol.messages(conv)).every((m) => m.id !== sent.id && m.id !== image.id));
      deviceSkew = 0;
      serverSkew = 0;
    });

    it('refuses timers outside 5 s … 1 year and timers from outside the group; applies the default to new chats', async () => {
      const alice = await make();
      const bob = await make();
      const conv = await alice.startDirect(bob.self.accountId);
      await until(() => bob.conversations().some((c) => c.id === conv), 10_000, 'bob has the chat');
      for (const bad of [0, 4, 1.5, 365 * 86400 + 1, -5])
        await rejectsWith(alice.setTimer(conv, bad), 'timer_out_of_range');
      await rejectsWith(alice.setDefaultTimer(3), 'timer_out_of_range');
      await rejectsWith(alice.setTimer('c_unknownconversation00', 60), 'conversation_not_found');
      assert.equal(alice.timerOf(conv), null, 'nothing changed');
      assert.ok(!(await bob.messages(conv)).some((m) => m.system), 'nothing was sent');

      // The bounds themselves are fine.
      await alice.setTimer(conv, 5);
      await alice.setTimer(conv, 365 * 86400);
      await until(() => bob.timerOf(conv) === 365 * 86400, 10_000, 'bob has the 1-year timer');

      // A device removed from a group may not change its timer: the SDK refuses, the server too.
      const carol = await make();
      const group = await alice.createGroup('Team', [bob.self.accountId, carol.self.accountId]);
      await until(() => carol.conversations().some((c) => c.id === group), 10_000, 'carol has the group');
      await alice.removeMember(group, carol.self.accountId);
      await until(() => carol.conversations().find((c) => c.id === group)?.active === false, 10_000, 'carol removed');
      await rejectsWith(carol.setTimer(group, 60), 'not_member');
      await rejectsWith(sendRawContent(carol, group, { type: 'timer', seconds: 60 }), 'not_member');
      assert.equal(bob.timerOf(group), null);
      assert.equal(alice.timerOf(group), null);

      // The default timer applies to chats this device creates from now on, and the peer sees it.
      assert.equal(await alice.defaultTimer(), null);
      await alice.setDefaultTimer(7 * 86400);
      assert.equal(await alice.defaultTimer(), 7 * 86400);
      const dan = await make();
      const fresh = await alice.startDirect(dan.self.accountId);
      assert.equal(alice.timerOf(fresh), 7 * 86400);
      await until(() => dan.timerOf(fresh) === 7 * 86400, 10_000, 'dan has the default timer');
      const line = await until(
        async () => (await dan.messages(fresh)).find((m) => m.system?.kind === 'timer'),
        10_000,
        "dan's system line",
      );
      assert.equal(groupEventText(line!.system!, name(dan)), 'Someone set disappearing messages to 7 days');
      // Members added later learn the group's timer from its encrypted state.
      await alice.setTimer(group, 90 * 86400);
      const erin = await make();
      await alice.addMembers(group, [erin.self.accountId]);
      await until(() => erin.timerOf(group) === 90 * 86400, 10_000, 'a new member learns the timer');
      // A group-meta written by a device that had not read the change yet undoes nothing.
      await sendRawContent(bob, group, { type: 'group-meta', name: 'Team', timer: null });
      // Bob's next message reaches each device after his group-meta (one order for everyone).
      const after = await bob.sendText(group, 'after the stale meta');
      for (const c of [alice, erin])
        await until(async () => (await c.messages(group)).some((m) => m.id === after.id), 10_000, 'the marker');
      assert.equal(erin.timerOf(group), 90 * 86400);
      assert.equal(alice.timerOf(group), 90 * 86400);
      assert.ok(after.expiresAt, 'messages still disappear');
      await alice.setDefaultTimer(null);
      assert.equal(await alice.defaultTimer(), null);
    });
  });
}
