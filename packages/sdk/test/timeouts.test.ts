/**
 * Deadlines in the SDK (C15): every HTTP request, every WebSocket request and every connection
 * attempt gives up with the catalogued, retryable `timeout` error instead of waiting for ever, against
 * a port nobody listens on, a server that takes the TCP connection and never answers, one that
 * answers HTTP but never completes the WebSocket upgrade, and a real server whose answers are held
 * back on the way (a stalling proxy); once the answers flow again, the same calls succeed.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  createServer as createTcpServer,
  connect as tcpConnect,
  type Server as TcpServer,
  type Socket as TcpSocket,
} from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import WebSocket from 'ws';
import {
  HttpApi,
  MemoryStore,
  ParleyClient,
  ParleyError,
  type ClientEvents,
  type DeviceRecord,
  type WebSocketCtor,
} from '@parley/sdk';
import { registerTestClient, until } from '@parley/sdk/testing';
import { startServer, type TestServer } from '@parley/testkit';

const WS = WebSocket as unknown as WebSocketCtor;

/** The rejection is the retryable `timeout` error whose message matches `about`. */
function isTimeout(about: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof ParleyError, String(e));
    assert.equal(e.code, 'timeout', e.message);
    assert.equal(e.isRetryable(), true);
    assert.match(e.message, about);
    return true;
  };
}

/** A listening server's `http://127.0.0.1:PORT`. */
async function listen(server: TcpServer): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** Close a server and every connection it still holds. */
async function shut(server: TcpServer, sockets: Set<TcpSocket>): Promise<void> {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
}

/** A server that accepts TCP connections and never sends a byte. */
async function silentServer() {
  const sockets = new Set<TcpSocket>();
  const server = createTcpServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  return { url: await listen(server), close: () => shut(server, sockets) };
}

/** An HTTP server that answers requests (404) but leaves every WebSocket upgrade hanging. */
async function noUpgradeServer() {
  const sockets = new Set<TcpSocket>();
  const server = createHttpServer((_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{}'));
  server.on('upgrade', (_req, s: TcpSocket) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  return { url: await listen(server), close: () => shut(server, sockets) };
}

/** An HTTP server that sends its headers and part of a body, then nothing. */
async function stallingBodyServer() {
  const sockets = new Set<TcpSocket>();
  const server = createHttpServer((_req, res) => {
    sockets.add(res.socket!);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    res.write('{"status":');
  });
  return { url: await listen(server), close: () => shut(server, sockets) };
}

/** A URL where nothing listens (connection refused). */
async function refusedUrl(): Promise<string> {
  const server = createTcpServer();
  const url = await listen(server);
  await new Promise((r) => server.close(r));
  return url;
}

/**
 * A TCP proxy in front of a real server. While `stalled`, what the server sends is held back (the
 * client's bytes still go through); `resume()` delivers what was held and forwards again.
 */
async function stallingProxy(target: string) {
  const { port } = new URL(target);
  const sockets = new Set<TcpSocket>();
  const held: { to: TcpSocket; data: Buffer }[] = [];
  let stalled = false;
  const server = createTcpServer((client) => {
    const upstream = tcpConnect(Number(port), '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
    }
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => (stalled ? held.push({ to: client, data: d }) : client.write(d)));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  return {
    url: await listen(server),
    stall: () => (stalled = true),
    resume: () => {
      stalled = false;
      for (const h of held.splice(0)) if (!h.to.destroyed) h.to.write(h.data);
    },
    close: () => shut(server, sockets),
  };
}

/** A client whose store says it is registered with `serverUrl` (enough to connect; nothing is verified). */
async function deviceAt(serverUrl: string, timeouts: { requestMs?: number; connectMs?: number }) {
  const store = new MemoryStore();
  const key = { publicKey: new Uint8Array(32), privateKey: new Uint8Array(32) };
  const device: DeviceRecord = {
    serverUrl,
    phone: '+12025550100',
    accountId: 'a_none',
    deviceId: 'd_none',
    token: 't',
    identity: key,
    signing: key,
  };
  await store.set('device', device);
  const client = await ParleyClient.open({ store, WebSocket: WS, timeouts });
  const attempts: ClientEvents['reconnecting'][] = [];
  client.on('reconnecting', (r) => attempts.push(r));
  return { client, attempts };
}

describe('SDK deadlines: HTTP requests', () => {
  it('a server that never answers: timeout naming the request', { timeout: 20_000 }, async () => {
    const s = await silentServer();
    try {
      await assert.rejects(
        new HttpApi(s.url, () => undefined, undefined, 300).requestCode('+12025550100'),
        isTimeout(/did not answer POST \/v1\/registration\/code within 0\.3 s/),
      );
      // The client's option reaches the HTTP calls it makes.
      const client = await ParleyClient.open({ store: new MemoryStore(), timeouts: { requestMs: 300 } });
      await assert.rejects(client.requestCode(s.url, '+12025550100'), isTimeout(/registration\/code/));
    } finally {
      await s.close();
    }
  });

  it('headers, then a body that stalls: timeout', { timeout: 20_000 }, async () => {
    const s = await stallingBodyServer();
    try {
      await assert.rejects(
        new HttpApi(s.url, () => undefined, undefined, 300).me(),
        isTimeout(/GET \/v1\/accounts\/me/),
      );
    } finally {
      await s.close();
    }
  });

  it('nothing listening: unavailable at once, also retryable', { timeout: 20_000 }, async () => {
    await assert.rejects(new HttpApi(await refusedUrl(), () => undefined, undefined, 10_000).me(), (e: unknown) => {
      assert.ok(e instanceof ParleyError);
      assert.equal(e.code, 'unavailable');
      assert.match(e.message, /ECONNREFUSED/);
      assert.equal(e.isRetryable(), true);
      return true;
    });
  });
});

describe('SDK deadlines: connecting', () => {
  for (const [name, make] of [
    ['accepts TCP and never answers', silentServer],
    ['answers HTTP, never completes the upgrade', noUpgradeServer],
  ] as const) {
    it(
      `a server that ${name}: connect() fails with timeout and attempts go on with backoff`,
      { timeout: 20_000 },
      async () => {
        const s = await make();
        const { client, attempts } = await deviceAt(s.url, { connectMs: 300 });
        try {
          await assert.rejects(client.connect(), isTimeout(/No connection to ws:\/\/127\.0\.0\.1:\d+\/v1\/ws/));
          await until(() => attempts.length >= 2, 10_000, 'two reconnecting events');
          assert.match(attempts[0]!.reason, /no answer within 0\.3 s/);
          assert.equal(attempts[1]!.attempt, 2);
          // Asking again waits again, with its own deadline.
          await assert.rejects(client.connect({ timeoutMs: 200 }), isTimeout(/No connection/));
        } finally {
          await client.close();
          await s.close();
        }
      },
    );
  }

  it('nothing listening: connect() fails with timeout naming the refusal', { timeout: 20_000 }, async () => {
    const { client, attempts } = await deviceAt(await refusedUrl(), { connectMs: 1_000 });
    try {
      await assert.rejects(client.connect(), isTimeout(/ECONNREFUSED/));
      assert.ok(attempts.length >= 1);
      assert.match(attempts[0]!.reason, /ECONNREFUSED/);
      assert.ok(attempts.every((a) => a.inMs > 0 && a.inMs <= 10_000));
    } finally {
      await client.close();
    }
  });
});

describe('SDK deadlines against a real server whose answers stall [sqlite]', () => {
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
    'HTTP and WebSocket requests time out while answers are held, and succeed when retried',
    { timeout: 60_000 },
    async () => {
      const timeouts = { requestMs: 1_000, connectMs: 5_000 };
      const alice = await registerTestClient(proxy.url, { WebSocket: WS, timeouts, connect: false });
      const bob = await registerTestClient(t.url, { WebSocket: WS });
      clients.push(alice, bob);

      proxy.stall();
      // The hello answer is held: connect() gives up at its own deadline; the attempt goes on.
      await assert.rejects(alice.connect({ timeoutMs: 300 }), isTimeout(/No connection/));
      proxy.resume();
      await alice.connect();

      const conv = await alice.startDirect(bob.self.accountId);
      proxy.stall();
      await assert.rejects(alice.api.me(), isTimeout(/GET \/v1\/accounts\/me/));
      await assert.rejects(alice.sendText(conv, 'held back'), isTimeout(/did not answer send/));
      proxy.resume();
      assert.equal((await alice.api.me()).accountId, alice.self.accountId);
      const sent = await alice.sendText(conv, 'after the stall');
      assert.equal(sent.status, 'sent');
    },
  );
});
