/**
 * The conversation record a device keeps (C15), through real SDK clients against a real server, on
 * SQLite and PostgreSQL: a membership refresh (a commit adding someone) updates the record code
 * already holds instead of replacing it, so a save made by that code afterwards (as the receive
 * path saves the record it read while it decides a message's receipt) cannot put back an older
 * unread count or member list, and a reopened store (a reload) shows what the screen showed.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ParleyClient, type WebSocketCtor } from '@parley/sdk';
import { FileStore } from '@parley/sdk/node';
import { registerTestClient, saveConversationRecord, until } from '@parley/sdk/testing';
import { availableDrivers, startServer, type TestServer } from '@parley/testkit';

const drivers = await availableDrivers();
const WS = WebSocket as unknown as WebSocketCtor;

/** The client's conversation service, which the receive path uses to save a record it holds. */

for (const { driver, skip } of drivers) {
  describe(`conversation record [${driver}]`, { skip }, () => {
    let t: TestServer;
    const clients: ParleyClient[] = [];
    const dirs: string[] = [];
    before(async () => {
      t = await startServer(driver);
    });
    after(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await t?.close();
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    });

    it('a save by code holding the record across a refresh keeps the newer unread count and members', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'parley-conv-record-'));
      dirs.push(dir);
      const alice = await registerTestClient(t.url, { WebSocket: WS });
      const bob = await registerTestClient(t.url, { WebSocket: WS, store: new FileStore(dir) });
      const carol = await registerTestClient(t.url, { WebSocket: WS });
      clients.push(alice, bob, carol);

      const conv = await alice.createGroup('Crag team', [bob.self.accountId]);
      const first = await alice.sendText(conv, 'first message');
      const record = () => bob.conversations().find((c) => c.id === conv);
      await until(() => record()?.unread === 1, 10_000, 'bob counts the first message');

      // Held as the receive path holds it while it decides the message's receipt.
      const held = record()!;
      // A commit adds Carol: Bob's device refreshes the record from the routing table.
      await alice.addMembers(conv, [carol.self.accountId]);
      await until(() => record()?.members.includes(carol.self.accountId), 10_000, 'bob sees carol added');
      // Bob reads the message, then the holder saves what it holds.
      await bob.markRead(conv, [first.id]);
      assert.equal(record()?.unread, 0);
      await saveConversationRecord(bob, held);
      assert.equal(record()?.unread, 0, 'the held save did not bring the unread count back');
      assert.ok(record()?.members.includes(carol.self.accountId), 'nor drop the member just added');

      // A reload reads the same from the store.
      await bob.idle();
      await bob.close();
      const reopened = await ParleyClient.open({ store: new FileStore(dir), WebSocket: WS });
      clients.push(reopened);
      const again = reopened.conversations().find((c) => c.id === conv);
      assert.ok(again, 'the chat is still listed after the reload');
      assert.equal(again.unread, 0);
      assert.equal(again.name, 'Crag team');
      assert.ok(again.members.includes(carol.self.accountId));
    });
  });
}
