/**
 * Bounded memory per connection (C3, C19): answers count against the same per-socket output limit
 * as pushes; a socket with too many requests waiting gets `requests_pending` for the extra ones;
 * a client that answers pings but never reads is dropped; and none of it slows other clients.
 * On SQLite and PostgreSQL.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { availableDrivers, newClient, startServer, until, type TestServer } from '@parley/testkit';
import { deviceToken } from '@parley/sdk/testing';
import { MAX_PENDING_REQUESTS } from '../src/ws/gateway.ts';
import { rawSocketOf } from '../src/ws/ws-internals.ts';
import type { ParleyClient } from '@parley/sdk';

const drivers = await availableDrivers();

/** A raw socket authenticated as `client`'s device; `answers` collects what it reads (if it reads). */
async function rawSocket(t: TestServer, client: ParleyClient) {
  const token = deviceToken(client);
  const ws = new WebSocket(t.url.replace(/^http/, 'ws') + '/v1/ws', { perMessageDeflate: false });
  const answers: { id: number; status: number; body: { error?: { code: string } } }[] = [];
  let closed: number | null = null;
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) answers.push(JSON.parse(data.toString('utf8')) as (typeof answers)[number]);
  });
  ws.on('close', (code) => (closed = code));
  ws.on('error', () => undefined);
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  ws.send(JSON.stringify({ id: 1, op: 'hello', body: { token, protocol: 1 } }));
  await until(async () => answers.find((a) => a.id === 1), 10_000, 'hello answered');
  return { ws, answers, closed: () => closed };
}

/** The server-side connection count of a device (0 once the server dropped its socket). */
const connected = (t: TestServer) => t.server.ctx.delivery.connectionCount;

/** Stop reading a client socket: what the server writes piles up in TCP buffers, then in the server. */
function stopReading(ws: WebSocket): void {
  rawSocketOf(ws)!.pause();
}

/** Send `n` requests whose answers are a few hundred bytes each, in chunks so the client stays responsive. */
async function flood(ws: WebSocket, n: number, from = 10): Promise<void> {
  for (let i = 0; i < n; i++) {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(JSON.stringify({ id: from + i, op: 'me', body: {} }));
    if (i % 2000 === 1999) await new Promise((r) => setImmediate(r));
  }
}

for (const { driver, skip } of drivers) {
  describe(`slow readers [${driver}]`, { skip }, () => {
    /** A small output limit, so it shows within a test's time (pings as usual: every 30 s). */
    let t: TestServer;
    /** A large output limit: only the ping rule can drop a socket here. */
    let big: TestServer;
    /** Default limits: a busy client that reads is never dropped. */
    let roomy: TestServer;
    const clients: ParleyClient[] = [];
    before(async () => {
      t = await startServer(driver, { wsMaxBufferedBytes: 256 * 1024 });
      big = await startServer(driver, { wsMaxBufferedBytes: 64 * 1024 * 1024, wsPingSeconds: 0.5 });
      roomy = await startServer(driver);
    });
    after(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await t?.close();
      await big?.close();
      await roomy?.close();
    });

    it(
      'closes a socket whose unread answers pass the output limit, and other clients are unaffected',
      { timeout: 120_000 },
      async () => {
        const reader = await newClient(t.url, undefined, { connect: false });
        const other = await newClient(t.url);
        clients.push(reader, other);
        const before = connected(t);
        const s = await rawSocket(t, reader);
        assert.equal(connected(t), before + 1);
        stopReading(s.ws);
        // ~470 bytes per answer: 40,000 answers are far more than loopback TCP buffers plus 256 KiB.
        await flood(s.ws, 40_000);
        await until(async () => connected(t) === before, 30_000, 'the server dropped the socket that does not read');
        // Another client still gets answers, and health answers.
        assert.ok((await other.settings()).findByNumber);
        assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
        s.ws.terminate();
      },
    );

    it(
      `answers requests past ${MAX_PENDING_REQUESTS} waiting on one socket with requests_pending, and runs the rest`,
      { timeout: 120_000 },
      async () => {
        const c = await newClient(t.url, undefined, { connect: false });
        clients.push(c);
        const storage = t.server.ctx.storage;
        const getAccount = storage.accounts.getAccount.bind(storage.accounts);
        let open!: () => void;
        const gate = new Promise<void>((r) => (open = r));
        storage.accounts.getAccount = async (id) => {
          await gate;
          return getAccount(id);
        };
        const s = await rawSocket(t, c);
        try {
          const extra = 50;
          await flood(s.ws, MAX_PENDING_REQUESTS + extra);
          await until(async () => s.answers.length === 1 + extra, 20_000, 'the extra requests are answered at once');
          for (const a of s.answers.slice(1)) {
            assert.equal(a.status, 429);
            assert.equal(a.body.error?.code, 'requests_pending');
          }
        } finally {
          open();
          storage.accounts.getAccount = getAccount;
        }
        await until(
          async () => s.answers.length === 1 + MAX_PENDING_REQUESTS + 50,
          30_000,
          'every waiting request is answered',
        );
        assert.equal(s.answers.filter((a) => a.status === 200).length, 1 + MAX_PENDING_REQUESTS);
        // The limit is on requests waiting, not a quota: the socket serves again.
        s.ws.send(JSON.stringify({ id: 999_999, op: 'me', body: {} }));
        await until(async () => s.answers.find((a) => a.id === 999_999), 10_000, 'served again');
        s.ws.close();
      },
    );

    it(
      'serves other clients and health while one socket pipelines thousands of reads',
      { timeout: 120_000 },
      async () => {
        const c = await newClient(roomy.url, undefined, { connect: false });
        clients.push(c);
        const s = await rawSocket(roomy, c);
        const total = 10_000;
        const flooding = flood(s.ws, total);
        const health = await fetch(`${roomy.url}/healthz`);
        const answeredThen = s.answers.length;
        assert.equal(health.status, 200);
        assert.ok(answeredThen < total + 1, `health waited for all ${total} answers`);
        await flooding;
        await until(async () => s.answers.length === total + 1, 60_000, 'every pipelined request is answered');
        s.ws.close();
      },
    );

    it('drops a client that answers pings but never reads', { timeout: 120_000 }, async () => {
      const c = await newClient(big.url, undefined, { connect: false });
      clients.push(c);
      const before = connected(big);
      const s = await rawSocket(big, c);
      stopReading(s.ws);
      // Keep telling the server it is alive, as an attacker's client would, without reading.
      const pongs = setInterval(() => s.ws.readyState === s.ws.OPEN && s.ws.pong(), 100);
      try {
        await flood(s.ws, 40_000);
        await until(
          async () => connected(big) === before,
          30_000,
          'the server dropped the socket that answers pings but does not read',
        );
      } finally {
        clearInterval(pongs);
        s.ws.terminate();
      }
    });
  });
}
