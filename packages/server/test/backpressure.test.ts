/**
 * Read backpressure (C3): while the server is behind on writing sends, the gateway stops reading
 * the sockets that bring more and parks their frames unparsed, so the queue of sends in memory
 * stays bounded (a socket still authenticating is never parked); once the writes catch up every
 * parked frame is handled in order. Storage is held
 * back by a gate so the backlog builds deterministically; on SQLite and PostgreSQL.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { encodeFrame } from '@parley/protocol';
import { availableDrivers, newClient, startServer, until, type TestServer } from '@parley/testkit';
import { deviceToken } from '@parley/sdk/testing';
import { HIGH_WATER } from '../src/services/delivery.ts';
import type { ParleyClient } from '@parley/sdk';

const drivers = await availableDrivers();
const SENDS = 3000;

for (const { driver, skip } of drivers) {
  describe(`read backpressure [${driver}]`, { skip }, () => {
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
      'bounds the queue of sends while storage lags, then stores and answers every send in order',
      { timeout: 120_000 },
      async () => {
        const alice = await newClient(t.url);
        const bob = await newClient(t.url, undefined, { connect: false });
        clients.push(alice, bob);
        const conv = await alice.startDirect(bob.self.accountId);
        const token = deviceToken(alice);

        // Hold every batch write until the gate opens.
        const storage = t.server.ctx.storage;
        const append = storage.conversations.appendMessages.bind(storage.conversations);
        let open!: () => void;
        const gate = new Promise<void>((r) => (open = r));
        storage.conversations.appendMessages = async (batch) => {
          await gate;
          return append(batch);
        };

        try {
          const ws = new WebSocket(t.url.replace(/^http/, 'ws') + '/v1/ws', { perMessageDeflate: false });
          const answers: { id: number; status: number }[] = [];
          ws.on('message', (data: Buffer, isBinary: boolean) => {
            if (!isBinary) answers.push(JSON.parse(data.toString('utf8')) as { id: number; status: number });
          });
          await new Promise((r, j) => ws.once('open', r).once('error', j));
          ws.send(JSON.stringify({ id: 1, op: 'hello', body: { token, protocol: 1 } }));
          await until(async () => answers.find((a) => a.id === 1), 10_000, 'hello answered');
          assert.equal(answers[0]!.status, 200);

          const payload = new Uint8Array(randomBytes(200));
          const tag = Date.now().toString(36).padStart(9, '0');
          for (let i = 0; i < SENDS; i++) {
            ws.send(
              encodeFrame(
                {
                  id: 2 + i,
                  op: 'send',
                  body: { conversationId: conv, clientMessageId: `${tag}-bp-${String(i).padStart(5, '0')}` },
                },
                payload,
              ),
            );
          }
          const delivery = t.server.ctx.delivery;
          await until(async () => delivery.backlogged, 20_000, 'the queue reached its high-water mark');
          // Give the socket time to deliver everything it could; parked frames do not join the queue.
          await new Promise((r) => setTimeout(r, 500));
          // At most one socket read (up to 64 KiB, ~230 of these frames) passes the check before its sends land.
          assert.ok(delivery.queued <= HIGH_WATER + 300, `queued ${delivery.queued} sends with ${SENDS} sent`);
          assert.equal(answers.length, 1, 'nothing is answered before it is stored');

          // A socket that connects meanwhile is not parked before it has authenticated.
          const bobToken = deviceToken(bob);
          const late = new WebSocket(t.url.replace(/^http/, 'ws') + '/v1/ws', { perMessageDeflate: false });
          const lateAnswers: { id: number; status: number }[] = [];
          late.on('message', (data: Buffer, isBinary: boolean) => {
            if (!isBinary) lateAnswers.push(JSON.parse(data.toString('utf8')) as { id: number; status: number });
          });
          await new Promise((r, j) => late.once('open', r).once('error', j));
          late.send(JSON.stringify({ id: 1, op: 'hello', body: { token: bobToken, protocol: 1 } }));
          await until(async () => lateAnswers.length > 0, 10_000, 'hello answered during the backlog');
          assert.equal(lateAnswers[0]!.status, 200);
          assert.ok(delivery.backlogged, 'still behind while it was answered');
          late.close();

          open();
          await until(async () => answers.length === SENDS + 1, 60_000, 'every send answered');
          const sendAnswers = answers.slice(1);
          assert.ok(
            sendAnswers.every((a) => a.status === 200),
            'every send was accepted',
          );
          assert.deepEqual(
            sendAnswers.map((a) => a.id),
            Array.from({ length: SENDS }, (_, i) => 2 + i),
            'answers come in send order',
          );

          const queued = await storage.conversations.pendingDeliveries(bob.self.deviceId, 0, SENDS + 10);
          const mine = queued.map((r) => r.message).filter((m) => m.clientMessageId.startsWith(`${tag}-bp-`));
          assert.equal(mine.length, SENDS, 'every send reached the recipient queue once');
          assert.deepEqual(
            mine.map((m) => m.clientMessageId),
            Array.from({ length: SENDS }, (_, i) => `${tag}-bp-${String(i).padStart(5, '0')}`),
            'in send order',
          );
          for (let i = 1; i < mine.length; i++) assert.equal(mine[i]!.seq, mine[i - 1]!.seq + 1, 'gap-free seq');
          ws.close();
        } finally {
          // A failed check must not leave the server's writes held (its close waits for them).
          open();
        }
      },
    );
  });
}
