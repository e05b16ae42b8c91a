/**
 * Muted chats (C15) through real SDK clients against a real server, on SQLite and PostgreSQL: a
 * mute for a time, "always" and unmute; a mute ends by itself once its time has passed (read with
 * a simulated clock through `isMuted`); a muted chat still counts unread messages; the mute stays
 * on this device only and is read back from a reopened Node file store, as a restarted CLI would.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { MUTED_ALWAYS, ParleyClient, isMuted, isParleyError, type WebSocketCtor } from '@parley/sdk';
import { FileStore } from '@parley/sdk/node';
import { registerTestClient, until } from '@parley/sdk/testing';
import { availableDrivers, startServer, type TestServer } from '@parley/testkit';

const drivers = await availableDrivers();
const WS = WebSocket as unknown as WebSocketCtor;
const HOUR = 3_600_000;

for (const { driver, skip } of drivers) {
  describe(`muted chats [${driver}]`, { skip }, () => {
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

    it('mutes for a time or always, expires by itself, unmutes, and survives a reopened file store', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'parley-mute-'));
      dirs.push(dir);
      const alice = await registerTestClient(t.url, { WebSocket: WS, store: new FileStore(dir) });
      const bob = await registerTestClient(t.url, { WebSocket: WS });
      clients.push(alice, bob);
      const conv = await alice.startDirect(bob.self.accountId);
      await until(() => bob.conversations().some((c) => c.id === conv), 10_000, 'bob has the chat');
      const mine = () => alice.conversations().find((c) => c.id === conv)!;
      assert.equal(mine().mutedUntil, undefined);
      assert.equal(isMuted(mine()), false);

      // For 8 hours: muted now and just before the end, unmuted from the end on (simulated clock).
      const start = Date.now();
      const end = start + 8 * HOUR;
      await alice.mute(conv, end);
      assert.equal(mine().mutedUntil, end);
      assert.equal(isMuted(mine(), start), true);
      assert.equal(isMuted(mine(), end - 1), true);
      assert.equal(isMuted(mine(), end), false, 'a mute past its time counts as unmuted');
      assert.equal(isMuted(mine(), end + 7 * 24 * HOUR), false);

      // A muted chat still counts what arrives, and the message keeps the mute.
      await bob.sendText(conv, 'still counted while muted');
      await until(() => mine().unread === 1, 10_000, 'alice counts the message');
      assert.equal(mine().mutedUntil, end);

      // Always: later than any time; a time already past unmutes; null unmutes.
      await alice.mute(conv, 'always');
      assert.equal(mine().mutedUntil, MUTED_ALWAYS);
      assert.equal(isMuted(mine(), start + 100 * 365 * 24 * HOUR), true);
      await alice.mute(conv, start - 1);
      assert.equal(mine().mutedUntil, undefined, 'a time already past unmutes');
      await alice.mute(conv, 'always');
      await alice.mute(conv, null);
      assert.equal(mine().mutedUntil, undefined);
      await assert.rejects(alice.mute(conv, Number.NaN), (e) => isParleyError(e, 'bad_request'));
      await assert.rejects(alice.mute('no-such-chat', 'always'), (e) => isParleyError(e, 'conversation_not_found'));

      // Kept on this device's store: a restarted process reads it back; Bob never hears of it.
      await alice.mute(conv, end);
      await alice.idle();
      await alice.close();
      const reopened = await ParleyClient.open({ store: new FileStore(dir), WebSocket: WS });
      clients.push(reopened);
      const again = reopened.conversations().find((c) => c.id === conv)!;
      assert.equal(again.mutedUntil, end);
      assert.equal(isMuted(again, start), true);
      assert.equal(
        bob.conversations().some((c) => c.mutedUntil !== undefined),
        false,
      );
    });
  });
}
