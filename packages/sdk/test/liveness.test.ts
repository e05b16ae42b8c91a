/**
 * A connection that tells the truth, and sends that survive it (C3, C15): the heartbeat finds a
 * socket whose answers stopped (a proxy that holds them back) and reconnects once they flow again;
 * `networkChanged(false)` drops the socket at once and `networkChanged(true)` connects without
 * waiting out the backoff; a message sent while offline is in the history at once as `sending` and
 * is stored and delivered once the connection is back; a send that fails for good is kept as
 * `failed`, and `retrySend` sends it once (same client id) while `discardFailed` removes it.
 * Against a real server (SQLite) behind a stalling TCP proxy.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket as TcpSocket } from 'node:net';
import WebSocket from 'ws';
import { ParleyClient, ParleyError, type ClientEvents, type LocalMessage, type WebSocketCtor } from '@parley/sdk';
import { registerTestClient, until } from '@parley/sdk/testing';
import { startServer, type TestServer } from '@parley/testkit';

const WS = WebSocket as unknown as WebSocketCtor;

/**
 * A TCP proxy in front of a real server. While stalled, what the server sends is held back (the
 * client's bytes still go through); `resume()` delivers what was held and forwards again.
 */
async function stallingProxy(target: string) {
  const { port } = new URL(target);
  const sockets = new Set<TcpSocket>();
  const held: { to: TcpSocket; data: Buffer }[] = [];
  let stalled = false;
  const server = createServer((client) => {
    const upstream = connect(Number(port), '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
    }
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => (stalled ? held.push({ to: client, data: d }) : client.write(d)));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    stall: () => (stalled = true),
    resume: () => {
      stalled = false;
      for (const h of held.splice(0)) if (!h.to.destroyed) h.to.write(h.data);
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Everything a client says about its connection and its outgoing messages, in order. */
function record(client: ParleyClient) {
  const states: ClientEvents['connection'][] = [];
  const attempts: ClientEvents['reconnecting'][] = [];
  const statuses: LocalMessage[] = [];
  client.on('connection', (s) => states.push(s));
  client.on('reconnecting', (r) => attempts.push(r));
  client.on('status', (m) => statuses.push(m));
  return { states, attempts, statuses };
}

describe('SDK liveness: heartbeat, network changes and sends that wait [sqlite]', () => {
  let t: TestServer;
  let proxy: Awaited<ReturnType<typeof stallingProxy>>;
  const clients: ParleyClient[] = [];
  before(async () => {
    t = await startServer('sqlite');
    proxy = await stallingProxy(t.url);
  });
  after(async () => {
    proxy?.resume();
    for (const c of clients) await c.close().catch(() => undefined);
    await proxy?.close();
    await t?.close();
  });

  it(
    'the heartbeat drops a socket whose answers stopped and reconnects when they flow',
    { timeout: 60_000 },
    async () => {
      const timeouts = { heartbeatMs: 300, heartbeatTimeoutMs: 400, connectMs: 2_000 };
      const alice = await registerTestClient(proxy.url, { WebSocket: WS, timeouts, connect: false });
      clients.push(alice);
      const log = record(alice);
      await alice.connect();
      // Pings are answered: the socket stays up over several heartbeats.
      await new Promise((r) => setTimeout(r, 1_500));
      assert.deepEqual(log.attempts, [], 'no reconnect while pings are answered');
      assert.equal(log.states.at(-1), 'ready');

      proxy.stall();
      const drop = await until(() => log.attempts.find((a) => /heartbeat/.test(a.reason)), 10_000, 'a heartbeat drop');
      assert.match(drop.reason, /no answer to the heartbeat within 0\.4 s/);
      assert.ok(log.states.includes('closed'), 'the state said the socket was lost');
      proxy.resume();
      await until(() => log.states.at(-1) === 'ready', 20_000, 'ready again');
      // Working again: a request over the new socket is answered.
      const me = await alice.api.me();
      assert.equal(me.accountId, alice.self.accountId);
    },
  );

  it(
    'offline: the socket drops at once, a send shows as sending, and is delivered once back online',
    { timeout: 60_000 },
    async () => {
      const alice = await registerTestClient(t.url, { WebSocket: WS });
      const bob = await registerTestClient(t.url, { WebSocket: WS });
      clients.push(alice, bob);
      const conv = await alice.startDirect(bob.self.accountId);
      await alice.sendText(conv, 'before');
      const log = record(alice);

      alice.networkChanged(false);
      assert.equal(log.states.at(-1), 'closed', 'closed at once');
      assert.match(log.attempts[0]!.reason, /offline/);
      const sent = alice.sendText(conv, 'written offline');
      await until(() => log.statuses.find((m) => m.text === 'written offline'), 5_000, 'sending shown');
      const shown = (await alice.messages(conv)).find((m) => m.text === 'written offline');
      assert.equal(shown?.status, 'sending');
      assert.equal(log.statuses[0]!.status, 'sending');

      const woke = Date.now();
      alice.networkChanged(true);
      const stored = await sent;
      assert.equal(stored.status, 'sent');
      assert.ok(Date.now() - woke < 5_000, 'connected without waiting out a long backoff');
      await until(async () => (await bob.messages(conv)).some((m) => m.text === 'written offline'), 15_000, 'bob');
      await bob.idle();
      assert.equal((await bob.messages(conv)).filter((m) => m.text === 'written offline').length, 1);
    },
  );

  it('a send that fails is kept as failed; retry sends it once, discard removes it', { timeout: 60_000 }, async () => {
    const timeouts = { requestMs: 800, heartbeatMs: 0 };
    const alice = await registerTestClient(proxy.url, { WebSocket: WS, timeouts });
    const bob = await registerTestClient(t.url, { WebSocket: WS });
    clients.push(alice, bob);
    const conv = await alice.startDirect(bob.self.accountId);
    await alice.sendText(conv, 'hello');

    proxy.stall();
    await assert.rejects(alice.sendText(conv, 'held back'), (e: unknown) => e instanceof ParleyError);
    await assert.rejects(alice.sendText(conv, 'thrown away'), (e: unknown) => e instanceof ParleyError);
    proxy.resume();
    const mine = await alice.messages(conv);
    const held = mine.find((m) => m.text === 'held back')!;
    const thrown = mine.find((m) => m.text === 'thrown away')!;
    assert.equal(held.status, 'failed');
    assert.equal(thrown.status, 'failed');

    // The server may well have stored the held-back first try: the retry's same client id makes
    // it one message all the same.
    const retried = await alice.retrySend(conv, held.id);
    assert.equal(retried.status, 'sent');
    await alice.discardFailed(conv, thrown.id);
    const after = await alice.messages(conv);
    assert.equal(after.filter((m) => m.text === 'held back').length, 1);
    assert.notEqual(after.find((m) => m.text === 'held back')?.status, 'failed');
    assert.equal(
      after.some((m) => m.text === 'thrown away'),
      false,
    );
    // Only failed messages can be retried or discarded.
    await assert.rejects(alice.retrySend(conv, retried.id), (e: unknown) => {
      assert.ok(e instanceof ParleyError);
      assert.equal(e.code, 'bad_request');
      return true;
    });
    await assert.rejects(alice.discardFailed(conv, 'no-such-id'), /failed to send/);

    await until(async () => (await bob.messages(conv)).some((m) => m.text === 'held back'), 15_000, 'bob gets it');
    await bob.idle();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await bob.messages(conv)).filter((m) => m.text === 'held back').length, 1, 'exactly once');
  });
});
