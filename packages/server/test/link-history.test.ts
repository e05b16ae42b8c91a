/**
 * History to a linked device (C16, docs/devices.md "History transfer"), with real SDK clients, real
 * MLS, real media blobs and a real server on SQLite and PostgreSQL. With "everything", the new
 * device holds the chats from before the link with the same message ids, senders, direction and
 * order, and opens an attachment from then with the key that came along; both sides report
 * progress. "Last 30 days" leaves an older message behind, and "none" sends nothing. An import cut
 * off by a failing network keeps its place: `resumeLinkHistory` finishes it, once, and later
 * messages are neither lost nor doubled. A reply whose history reference is malformed is
 * `link_message_invalid`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import {
  MemoryStore,
  ParleyClient,
  ParleyError,
  type HistoryChoice,
  type HistoryProgress,
  type LocalMessage,
  type WebSocketCtor,
} from '@parley/sdk';
import { availableDrivers, newClient, startServer, until, type TestServer } from '@parley/testkit';
import { parseHistoryRef } from '@parley/sdk/testing';

const drivers = await availableDrivers();
const DAY_MS = 24 * 60 * 60_000;

/** A fresh, unregistered device; `fetch` lets a test cut its network. */
function freshDevice(fetchFn?: typeof fetch): Promise<ParleyClient> {
  return ParleyClient.open({
    store: new MemoryStore(),
    WebSocket: WebSocket as unknown as WebSocketCtor,
    ...(fetchFn ? { fetch: fetchFn } : {}),
  });
}

async function texts(client: ParleyClient, conversationId: string): Promise<LocalMessage[]> {
  return (await client.messages(conversationId)).filter((m) => !m.system);
}

/** Link a fresh device to `existing`'s account with `history`, recording both sides' progress. */
async function link(existing: ParleyClient, history: HistoryChoice, fresh?: ParleyClient) {
  const device = fresh ?? (await freshDevice());
  const sent: HistoryProgress[] = [];
  const received: HistoryProgress[] = [];
  const pending = await existing.startLink();
  const [linked] = await Promise.all([
    pending.wait({ timeoutMs: 30_000, history: () => history, onHistoryProgress: (p) => sent.push(p) }),
    device.joinLink(pending.uri, {
      deviceName: 'Laptop',
      timeoutMs: 30_000,
      onHistoryProgress: (p) => received.push(p),
    }),
  ]);
  return { device, linked, sent, received };
}

for (const { driver, skip } of drivers) {
  describe(`history to a linked device (${driver})`, { skip }, () => {
    let t: TestServer;
    const open: ParleyClient[] = [];
    before(async () => {
      t = await startServer(driver, { maxLinkedDevices: 5 });
    });
    after(async () => {
      for (const c of open) await c.close().catch(() => undefined);
      await t.close();
    });

    it('sends everything: messages in order with their senders, and media with their keys', async () => {
      const alice = await newClient(t.url);
      const bob = await newClient(t.url);
      open.push(alice, bob);
      const direct = await alice.startDirect(bob.self.accountId);
      await alice.sendText(direct, 'first from alice');
      await bob.sendText(direct, 'answer from bob');
      const photo = new Uint8Array(randomBytes(40_000));
      await bob.sendMedia(direct, { bytes: photo, mimeType: 'image/png', kind: 'image', caption: 'a photo' });
      await until(async () => (await texts(alice, direct)).length === 3, 10_000, 'alice has three messages');
      const group = await alice.createGroup('Book club', [bob.self.accountId]);
      await alice.sendText(group, 'in the group');
      const before = await texts(alice, direct);
      // System lines (the group's "added") travel too: they are part of the history.
      const held = (await alice.messages(direct)).length + (await alice.messages(group)).length;

      const { device: laptop, linked, sent, received } = await link(alice, 'all');
      open.push(laptop);
      assert.equal(linked.historyMessages, held);
      // The history is there before the laptop connects, in the same order, with the same ids.
      const got = await texts(laptop, direct);
      assert.deepEqual(
        got.map((m) => [m.id, m.text, m.from, m.outgoing]),
        before.map((m) => [m.id, m.text, m.from, m.outgoing]),
      );
      assert.deepEqual(
        (await texts(laptop, group)).map((m) => m.text),
        ['in the group'],
      );
      assert.equal(laptop.history.conversation(group)?.name, 'Book club');
      const attachment = got.find((m) => m.attachment)?.attachment;
      assert.ok(attachment, 'the attachment reference came along');
      assert.deepEqual(await laptop.downloadMedia(attachment), photo);
      // Progress on both sides, ending in a finished state.
      assert.deepEqual([...new Set(sent.map((p) => p.phase))], ['packing', 'uploading']);
      assert.equal(sent.at(-1)!.done, sent.at(-1)!.total);
      assert.deepEqual([...new Set(received.map((p) => p.phase))], ['downloading', 'importing', 'done']);
      assert.deepEqual(received.at(-1), { phase: 'done', done: held, total: held });

      // Once connected, the chats become live; the next message arrives once, after the history.
      await laptop.connect();
      await until(() => laptop.history.conversation(direct)?.active, 10_000, 'the laptop is in the direct chat');
      await until(() => laptop.history.conversation(group)?.active, 10_000, 'the laptop is in the group');
      assert.equal(laptop.history.conversation(group)?.name, 'Book club');
      await bob.sendText(direct, 'after the link');
      await until(
        async () => (await texts(laptop, direct)).some((m) => m.text === 'after the link'),
        10_000,
        'the laptop gets the next message',
      );
      const now = (await texts(laptop, direct)).map((m) => m.text);
      assert.deepEqual(now, ['first from alice', 'answer from bob', 'a photo', 'after the link']);
    });

    it('sends the last 30 days only, or nothing', async () => {
      const alice = await newClient(t.url);
      const bob = await newClient(t.url);
      open.push(alice, bob);
      const direct = await alice.startDirect(bob.self.accountId);
      await alice.sendText(direct, 'recent');
      // An old message as the phone's store holds it (the clock cannot be turned back for a real send).
      const [recent] = await texts(alice, direct);
      const old = Date.now() - 40 * DAY_MS;
      await alice.history.importMessages(direct, [
        {
          ...recent!,
          id: 'old-message',
          clientMessageId: 'old-client',
          text: 'forty days ago',
          sentAt: old,
          serverTime: old,
        },
      ]);
      assert.deepEqual(
        (await texts(alice, direct)).map((m) => m.text),
        ['forty days ago', 'recent'],
      );

      const month = await link(alice, '30d');
      open.push(month.device);
      assert.equal(month.linked.historyMessages, 1);
      assert.deepEqual(
        (await texts(month.device, direct)).map((m) => m.text),
        ['recent'],
      );

      const none = await link(alice, 'none');
      open.push(none.device);
      assert.equal(none.linked.historyMessages, 0);
      assert.deepEqual(await texts(none.device, direct), []);
      assert.deepEqual(none.sent, []);
      assert.deepEqual(none.received, []);
      assert.equal((await none.device.resumeLinkHistory()).pending, false);
    });

    it('resumes an import cut off by the network, once, without doubling later messages', async () => {
      const alice = await newClient(t.url);
      const bob = await newClient(t.url);
      open.push(alice, bob);
      const direct = await alice.startDirect(bob.self.accountId);
      await alice.sendText(direct, 'one');
      await bob.sendText(direct, 'two');
      await until(async () => (await texts(alice, direct)).length === 2, 10_000, 'alice has both');

      // The new device's downloads fail until the network is back.
      let offline = true;
      const cut: typeof fetch = (input, init) =>
        offline &&
        String(input instanceof Request ? input.url : input).includes('/v1/media/') &&
        (init?.method ?? 'GET') === 'GET'
          ? Promise.reject(new TypeError('network down'))
          : fetch(input, init);
      const errors: string[] = [];
      const device = await freshDevice(cut);
      open.push(device);
      device.on('error', (e) => errors.push(e.context));
      const { linked } = await link(alice, 'all', device);
      assert.equal(linked.historyMessages, 2);
      assert.deepEqual(await texts(device, direct), [], 'nothing imported while offline');
      assert.deepEqual(errors, ['importing the linked device history']);

      // Live messages arrive meanwhile; the resumed import adds the history around them.
      await device.connect();
      await until(() => device.history.conversation(direct)?.active, 10_000, 'the device is in the chat');
      await bob.sendText(direct, 'three');
      await until(
        async () => (await texts(device, direct)).some((m) => m.text === 'three'),
        10_000,
        'the live message arrives',
      );
      offline = false;
      const resumed = await device.resumeLinkHistory();
      assert.deepEqual(resumed, { conversations: 1, messages: 2, pending: true });
      assert.deepEqual(
        (await texts(device, direct)).map((m) => m.text),
        ['one', 'two', 'three'],
      );
      assert.deepEqual(await device.resumeLinkHistory(), { conversations: 0, messages: 0, pending: false });
      assert.equal((await texts(device, direct)).length, 3);
    });

    it('refuses a malformed history reference in a reply', () => {
      for (const bad of [null, {}, { blob: { id: 'x' }, conversations: 1, messages: 1 }, { conversations: -1 }])
        assert.throws(
          () => parseHistoryRef(bad),
          (e: unknown) => e instanceof ParleyError && e.code === 'link_message_invalid',
        );
    });
  });
}
