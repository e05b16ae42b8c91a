/**
 * Revocation is immediate (C1, C19). A socket opened before its number was re-registered keeps no
 * authority: it is closed (4003) at once, also when it is held by another server process (the
 * revocation travels over the Redis bus), and none of its frames runs after the revocation, not
 * even those parked by read backpressure or sends waiting in the group-commit queue: its setPin,
 * createConversation and sends change nothing, and the owner's new device can still set its PIN.
 * On one server (in-process bus) on SQLite and PostgreSQL, and on two servers sharing PostgreSQL
 * and Redis, where a server that missed the revocation message cuts the device off at its next
 * sweep.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import WebSocket from 'ws';
import { encodeFrame, toB64 } from '@parley/protocol';
import type { ParleyClient } from '@parley/sdk';
import {
  availableDrivers,
  newClient,
  startServer,
  until,
  REDIS_URL,
  deleteKeys,
  redisProblem,
  testPrefix,
  type TestServer,
} from '@parley/testkit';
import { deviceToken } from '@parley/sdk/testing';

const drivers = await availableDrivers();
const redisSkip = await redisProblem();
if (redisSkip && process.env.PARLEY_REQUIRE_SERVICES === '1')
  throw new Error(`Redis is required (PARLEY_REQUIRE_SERVICES=1) but not reachable: ${redisSkip}`);
/** Enough sends to fill the group-commit queue past its high-water mark while storage is held. */
const SENDS = 2500;
const wsUrl = (url: string) => url.replace(/^http/, 'ws') + '/v1/ws';

interface Answer {
  id: number;
  status: number;
  body: { error?: { code: string } };
}

/** A raw WebSocket that has said `hello` with `token`, collecting answers and its close code. */
async function rawSocket(url: string, token: string) {
  const ws = new WebSocket(wsUrl(url), { perMessageDeflate: false });
  const answers: Answer[] = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) answers.push(JSON.parse(data.toString('utf8')) as Answer);
  });
  const closed = new Promise<number>((r) => ws.once('close', (code: number) => r(code)));
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  ws.send(JSON.stringify({ id: 1, op: 'hello', body: { token, protocol: 1 } }));
  const hello = await until(async () => answers.find((a) => a.id === 1), 10_000, 'hello answered');
  return { ws, answers, closed, hello };
}

/**
 * The scenario: the owner's old device holds a socket on `home`; with `home`'s writes held back it
 * fills the send queue, then asks for a PIN and a conversation (parked behind the backlog); the
 * number is re-registered through `via` (the same server or another one); then writes resume.
 */
async function reRegistrationScenario(home: TestServer, via: TestServer, clients: ParleyClient[]) {
  const alice = await newClient(home.url);
  const bob = await newClient(home.url, undefined, { connect: false });
  clients.push(alice, bob);
  const conv = await alice.startDirect(bob.self.accountId);
  const oldDevice = alice.self.deviceId;
  const accountId = alice.self.accountId;
  const oldToken = deviceToken(alice);
  await alice.close();

  // Hold every batch write on `home` until the gate opens; note which sends reached storage.
  const storage = home.server.ctx.storage;
  const append = storage.conversations.appendMessages.bind(storage.conversations);
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const reachedStorage = new Set<string>();
  let appending = 0;
  storage.conversations.appendMessages = async (batch) => {
    for (const m of batch) reachedStorage.add(m.clientMessageId);
    appending++;
    try {
      await gate;
      return await append(batch);
    } finally {
      appending--;
    }
  };

  try {
    const old = await rawSocket(home.url, oldToken);
    assert.equal(old.hello.status, 200, 'the old device is connected');
    const payload = new Uint8Array(randomBytes(200));
    const tag = `rv${randomBytes(4).toString('hex')}`;
    for (let i = 0; i < SENDS; i++)
      old.ws.send(
        encodeFrame(
          { id: 10 + i, op: 'send', body: { conversationId: conv, clientMessageId: `${tag}-${i}` } },
          payload,
        ),
      );
    const delivery = home.server.ctx.delivery;
    await until(async () => delivery.backlogged, 30_000, 'the send queue is backlogged');
    // Arriving while the server is behind, these are parked unparsed behind the sends.
    const stolenConv = toB64(new Uint8Array(randomBytes(16)));
    old.ws.send(JSON.stringify({ id: 2, op: 'setPin', body: { pin: '999999' } }));
    old.ws.send(
      JSON.stringify({ id: 3, op: 'createConversation', body: { conversationId: stolenConv, kind: 'direct' } }),
    );
    old.ws.send(
      encodeFrame({ id: 4, op: 'send', body: { conversationId: conv, clientMessageId: `${tag}-late` } }, payload),
    );
    const beforeRevocation = new Set(reachedStorage);
    assert.ok(beforeRevocation.size < SENDS, 'most sends still wait in memory');

    // The owner re-registers the number on a new device.
    const owner = await newClient(via.url, alice.phone, { connect: false });
    clients.push(owner);
    assert.equal(owner.self.accountId, accountId, 'same account');

    // The old socket is told at once, while its frames are still parked, and is detached.
    await until(
      async () => old.ws.readyState === WebSocket.CLOSING || old.ws.readyState === WebSocket.CLOSED,
      10_000,
      'the old socket is closed by the server',
    );
    assert.equal(delivery.isConnected(oldDevice), false, 'the revoked socket no longer receives');

    open();
    assert.equal(await old.closed, 4003, 'closed with the revoked-device code');
    await until(async () => delivery.queued === 0 && appending === 0, 30_000, 'the send queue drained');

    // Nothing the old socket asked for after the revocation happened.
    assert.deepEqual(
      old.answers.filter((a) => a.id !== 1 && a.status === 200).map((a) => a.id),
      [],
      'no frame of the old socket was answered with success',
    );
    assert.equal((await storage.accounts.getAccount(accountId))?.pinHash, null, 'the old device set no PIN');
    assert.equal(
      await storage.conversations.getConversation(stolenConv),
      null,
      'the old device created no conversation',
    );
    const queued = await storage.conversations.pendingDeliveries(bob.self.deviceId, 0, SENDS + 10);
    const stored = queued.map((r) => r.message.clientMessageId).filter((c) => c.startsWith(`${tag}-`));
    const afterwards = stored.filter((c) => !beforeRevocation.has(c));
    assert.deepEqual(afterwards, [], 'no send waiting in memory at the revocation was stored');

    // The old token is refused everywhere; the owner's new device sets its PIN.
    for (const server of [home, via]) {
      const me = await fetch(`${server.url}/v1/accounts/me`, { headers: { authorization: `Bearer ${oldToken}` } });
      assert.equal(me.status, 401);
      const again = await rawSocket(server.url, oldToken);
      assert.equal(again.hello.body.error?.code, 'unauthenticated');
      again.ws.close();
    }
    assert.deepEqual(await owner.setPin('246810'), { registrationLock: true });
    assert.notEqual((await storage.accounts.getAccount(accountId))?.pinHash, null, 'the owner set the PIN');
  } finally {
    // A failed check must not leave the server's writes held (its close waits for them).
    open();
    storage.conversations.appendMessages = append;
  }
}

for (const { driver, skip } of drivers) {
  describe(`revocation on one server, in-process bus [${driver}]`, { skip }, () => {
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
      'closes the old socket at re-registration and runs none of its parked or queued frames',
      { timeout: 120_000 },
      async () => {
        await reRegistrationScenario(t, t, clients);
      },
    );

    it(
      'finishes a revocation and cuts the device off here when the bus never takes the message',
      { timeout: 60_000 },
      async () => {
        const dave = await newClient(t.url, undefined, { connect: false });
        clients.push(dave);
        const sock = await rawSocket(t.url, deviceToken(dave));
        assert.equal(sock.hello.status, 200);
        const bus = t.server.ctx.bus;
        const publish = bus.publish.bind(bus);
        let held = 0;
        bus.publish = (topic, message) => {
          if (topic !== 'revocations') return publish(topic, message);
          held++;
          return new Promise<void>(() => undefined);
        };
        try {
          const owner = await newClient(t.url, dave.phone, { connect: false });
          clients.push(owner);
          assert.equal(held, 1, 'the revocation was offered to the bus');
        } finally {
          bus.publish = publish;
        }
        assert.equal(await sock.closed, 4003);
      },
    );
  });
}

const pgSkip = drivers.find((d) => d.driver === 'postgres')!.skip;
describe(
  'revocation across two servers on PostgreSQL + Redis',
  { skip: pgSkip || (redisSkip ? `Redis not reachable: ${redisSkip}` : false) },
  () => {
    let a: TestServer;
    let b: TestServer;
    const prefix = testPrefix();
    const clients: ParleyClient[] = [];
    before(async () => {
      // Processes sharing a database share its secret key too (docs/operations.md, "Server secrets").
      const secretKey = randomBytes(32).toString('base64');
      a = await startServer('postgres', { redisUrl: REDIS_URL, redisPrefix: prefix, secretKey });
      // The second process shares the first one's database, Redis and secret key.
      b = await startServer('sqlite', {
        databaseUrl: a.databaseUrl!,
        redisUrl: REDIS_URL,
        redisPrefix: prefix,
        secretKey,
      });
    });
    after(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await b?.close();
      await a?.close();
      await deleteKeys(prefix);
    });

    it(
      'closes a socket held by the other server and runs none of its parked or queued frames',
      { timeout: 120_000 },
      async () => {
        await reRegistrationScenario(a, b, clients);
      },
    );

    it(
      'cuts off a device whose revocation message a server missed, at its next sweep',
      { timeout: 60_000 },
      async () => {
        const carol = await newClient(a.url, undefined, { connect: false });
        clients.push(carol);
        const sock = await rawSocket(a.url, deviceToken(carol));
        assert.equal(sock.hello.status, 200);
        // Revoked in storage only, as if the bus had dropped the message on its way to `a`.
        assert.deepEqual(await b.server.ctx.storage.accounts.revokeDevices(carol.self.accountId, null, Date.now()), [
          carol.self.deviceId,
        ]);
        assert.deepEqual(
          await b.server.ctx.revocations.sweep(b.server.ctx.delivery.connectedDevices()),
          [],
          'b holds no socket of it',
        );
        assert.equal(sock.ws.readyState, WebSocket.OPEN, 'a has not heard of it');
        assert.deepEqual(await a.server.ctx.revocations.sweep(a.server.ctx.delivery.connectedDevices()), [
          carol.self.deviceId,
        ]);
        assert.equal(await sock.closed, 4003);
        assert.equal(a.server.ctx.delivery.isConnected(carol.self.deviceId), false);
      },
    );
  },
);
