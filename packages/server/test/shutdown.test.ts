/**
 * Graceful shutdown in process (C19), on SQLite and PostgreSQL: `drain()` under a burst of sends
 * takes no new connections, makes `/readyz` answer 503, and answers every send it stored before
 * the sockets close, so the sends the server stored are exactly the ones its client saw
 * acknowledged. The multi-process SIGTERM scenario is tests/e2e/shutdown.test.ts.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ParleyClient } from '@parley/sdk';
import { availableDrivers, newClient, startServer, until, type TestServer } from '@parley/testkit';

const drivers = await availableDrivers();

for (const { driver, skip } of drivers) {
  describe(`graceful shutdown [${driver}]`, { skip }, () => {
    let t: TestServer;
    const clients: ParleyClient[] = [];
    before(async () => {
      t = await startServer(driver);
    });
    after(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await t?.close();
    });

    it(
      'drain answers every stored send before closing sockets, refuses new connections, and reports draining',
      { timeout: 60_000 },
      async () => {
        const alice = await newClient(t.url);
        // Bob stays offline: his queue counts what the server stored for him.
        const bob = await newClient(t.url, undefined, { connect: false });
        clients.push(alice, bob);
        const conv = await alice.startDirect(await alice.lookupPhone(bob.phone));
        await alice.sendText(conv, 'before');
        const bobDevice = bob.self.deviceId;
        const queuedBefore = await t.server.ctx.storage.conversations.countPendingDeliveries(bobDevice);
        assert.equal((await fetch(`${t.url}/readyz`)).status, 200);

        let acked = 0;
        // Shutdown begins while a batch of sends is being written: the worst moment for its answers.
        const storage = t.server.ctx.storage;
        const append = storage.conversations.appendMessages.bind(storage.conversations);
        let draining: Promise<void> | null = null;
        storage.conversations.appendMessages = (msgs) => {
          if (!draining && acked >= 20) {
            assert.equal(t.server.draining, false);
            draining = t.server.drain();
            assert.equal(t.server.draining, true);
          }
          return append(msgs);
        };
        for (let i = 0; i < 200; i++)
          void alice.sendText(conv, `burst-${i}`).then(
            () => acked++,
            () => undefined,
          );
        await until(() => draining !== null, 30_000, 'shutdown to begin');
        await draining;
        storage.conversations.appendMessages = append;

        const ready = await t.server.app.inject({ method: 'GET', url: '/readyz' });
        assert.equal(ready.statusCode, 503);
        assert.equal(ready.json<{ status: string }>().status, 'draining');
        await assert.rejects(fetch(`${t.url}/healthz`), 'the listener is closed');

        // The answers were written before the close frame; give the client (and, were a write still
        // running, the database) a moment, then the two counts must agree and stay agreed.
        const stored = async () =>
          (await t.server.ctx.storage.conversations.countPendingDeliveries(bobDevice)) - queuedBefore;
        await until(async () => acked === (await stored()), 5_000, 'every stored send acknowledged');
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(acked, await stored(), 'every stored send was acknowledged, and only those');
      },
    );
  });
}
