/**
 * Graceful shutdown (C19): two `parley serve` processes on PostgreSQL + Redis, no load balancer.
 * Two clients connected to process A send to each other continuously; A gets SIGTERM. A answers
 * every send it took before closing the sockets with 1012, and exits 0; the clients reconnect to
 * process B (their WebSocket and fetch are pointed at B once A is told to stop, as a load balancer
 * would after A's readiness check fails) and go on. Every send a client saw acknowledged is
 * delivered exactly once, and no send is answered `duplicate` by B, which would mean A
 * stored it without answering it. On SQLite alone: SIGINT works the same way, a client that never
 * finishes the close handshake cannot hold shutdown up, and a shutdown past its deadline exits 1
 * with a log line.
 */
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { MemoryStore, ParleyClient, type WebSocketCtor } from '@parley/sdk';
import { DEV_OUTBOX_TOKEN, startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import { servicesUp, startProcessPair, type ProcessPair } from './helpers/services.ts';

const skip = await servicesUp();

/**
 * Where clients connect: A until it is told to stop, then B. It also counts the send answers that
 * say `duplicate` and the close codes the clients' sockets saw.
 */
class Router {
  target: string;
  duplicates = 0;
  readonly closeCodes: number[] = [];
  constructor(first: string) {
    this.target = first;
  }

  /** A WebSocket class that connects to the current target whatever URL the SDK asks for. */
  webSocket(): WebSocketCtor {
    const router = this;
    class Routed extends WebSocket {
      constructor(url: string) {
        super(url.replace(/^wss?:\/\/[^/]+/, router.target.replace(/^http/, 'ws')));
        this.on('message', (data: Buffer | ArrayBuffer, isBinary: boolean) => {
          if (isBinary) return;
          const frame = JSON.parse(Buffer.from(data as ArrayBuffer).toString('utf8')) as {
            body?: { duplicate?: unknown };
          };
          if (frame.body?.duplicate === true) router.duplicates++;
        });
        this.on('close', (code: number) => router.closeCodes.push(code));
      }
    }
    return Routed as unknown as WebSocketCtor;
  }

  /** fetch, sent to the current target. */
  readonly fetch = (input: string, init?: RequestInit) => fetch(input.replace(/^https?:\/\/[^/]+/, this.target), init);
}

async function register(router: Router, phone: string): Promise<ParleyClient> {
  const c = await ParleyClient.open({
    store: new MemoryStore(),
    WebSocket: router.webSocket(),
    fetch: router.fetch,
    keyPackageTarget: 5,
  });
  await c.requestCode(router.target, phone);
  const res = await fetch(`${router.target}/dev/outbox?to=${encodeURIComponent(phone)}`, {
    headers: { authorization: `Bearer ${DEV_OUTBOX_TOKEN}` },
  });
  const code = ((await res.json()) as { messages: { code: string }[] }).messages.at(-1)?.code;
  assert.ok(code, `no code for ${phone}`);
  await c.verify(code);
  await c.connect();
  return c;
}

/** Sends `prefix-0000`, `prefix-0001`, … with a few in flight, until `stop()`; records each acknowledged text. */
function sendContinuously(client: ParleyClient, conv: string, prefix: string) {
  const acked: string[] = [];
  let n = 0;
  let stopped = false;
  const errors: unknown[] = [];
  const lane = async () => {
    while (!stopped) {
      const text = `${prefix}-${String(n++).padStart(4, '0')}`;
      try {
        await client.sendText(conv, text);
        acked.push(text);
      } catch (e) {
        errors.push(e);
        return;
      }
    }
  };
  const lanes = Array.from({ length: 4 }, lane);
  return {
    acked,
    errors,
    async stop() {
      stopped = true;
      await Promise.all(lanes);
    },
  };
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('graceful shutdown under load (two processes on PostgreSQL + Redis)', { skip }, () => {
  let pair: ProcessPair;
  let a: ServerProcess;
  let b: ServerProcess;
  const clients: ParleyClient[] = [];

  before(async () => {
    pair = await startProcessPair('shutdown', { PARLEY_LOG_LEVEL: 'info' });
    ({ a, b } = pair);
  });

  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await pair?.remove();
  });

  it(
    'SIGTERM: acknowledged sends arrive exactly once, clients move to the other process, exit 0',
    { timeout: 180_000 },
    async () => {
      const router = new Router(a.url);
      const alice = await register(router, '+12025550171');
      const bob = await register(router, '+12025550172');
      clients.push(alice, bob);
      const conv = await alice.startDirect(await alice.lookupPhone('+12025550172'));
      const hello = bob.once('message');
      await alice.sendText(conv, 'warm-up');
      await hello;
      const toBob: string[] = [];
      const toAlice: string[] = [];
      bob.on('message', (m) => toBob.push(m.text));
      alice.on('message', (m) => toAlice.push(m.text));

      const fromAlice = sendContinuously(alice, conv, 'alice');
      const fromBob = sendContinuously(bob, conv, 'bob');
      await until(
        () => fromAlice.acked.length >= 40 && fromBob.acked.length >= 40,
        60_000,
        'sends to be acknowledged by A',
      );

      // From now on a reconnecting client lands on B, as behind a balancer that saw A go unready.
      router.target = b.url;
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
        a.proc.once('exit', (code, signal) => r({ code, signal })),
      );
      a.proc.kill('SIGTERM');
      const ackedBeforeStop = { alice: fromAlice.acked.length, bob: fromBob.acked.length };
      // A bounds its own shutdown (10 s by default, then exits 1); waiting longer only catches a hang.
      let timer: NodeJS.Timeout | undefined;
      const exit = await Promise.race([exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), 60_000)))]);
      clearTimeout(timer);
      assert.ok(exit, `process A did not exit after SIGTERM: ${a.logs().slice(-2000)}`);
      assert.deepEqual(exit, { code: 0, signal: null }, `process A exit: ${a.logs().slice(-2000)}`);

      // The clients go on through B.
      await until(
        () => fromAlice.acked.length >= ackedBeforeStop.alice + 40 && fromBob.acked.length >= ackedBeforeStop.bob + 40,
        60_000,
        'sends to be acknowledged by B',
      );
      await fromAlice.stop();
      await fromBob.stop();
      assert.deepEqual(fromAlice.errors, []);
      assert.deepEqual(fromBob.errors, []);
      assert.ok(router.closeCodes.includes(1012), `sockets on A closed with 1012, saw ${router.closeCodes.join(',')}`);

      const stream = (got: string[], prefix: string) => got.filter((t) => t.startsWith(`${prefix}-`));
      await until(
        () =>
          stream(toBob, 'alice').length >= fromAlice.acked.length &&
          stream(toAlice, 'bob').length >= fromBob.acked.length,
        60_000,
        'every acknowledged send to arrive',
      );
      await new Promise((r) => setTimeout(r, 300));
      for (const [got, sent, who] of [
        [stream(toBob, 'alice'), fromAlice.acked, 'alice'],
        [stream(toAlice, 'bob'), fromBob.acked, 'bob'],
      ] as const) {
        assert.equal(new Set(got).size, got.length, `${who}'s messages arrived once each`);
        assert.deepEqual([...got].sort(), [...sent].sort(), `every acknowledged send of ${who} arrived, nothing else`);
      }
      // A answered every send it stored before it closed the socket: none had to be re-sent to B and found there.
      assert.equal(router.duplicates, 0, 'sends stored by A but never answered by it');
    },
  );
});

/** A WebSocket client that completes the upgrade and then never reads again (so never answers a close). */
async function unresponsiveSocket(port: number): Promise<() => void> {
  const sock = connect(port, '127.0.0.1');
  await once(sock, 'connect');
  sock.write(
    'GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  const [head] = (await once(sock, 'data')) as [Buffer];
  assert.match(head.toString('latin1'), /^HTTP\/1\.1 101 /);
  sock.pause();
  return () => sock.destroy();
}

describe('shutdown of a single process (SQLite)', () => {
  const dirs: string[] = [];
  const procs: ServerProcess[] = [];
  const start = async (env: Record<string, string> = {}) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-shutdown-'));
    dirs.push(dataDir);
    const p = await startServerProcess({ PARLEY_DATA_DIR: dataDir, PARLEY_LOG_LEVEL: 'info', ...env });
    procs.push(p);
    return p;
  };
  after(async () => {
    for (const p of procs) await p.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it(
    'SIGINT with a client that never answers the close: the socket is cut and the process exits 0',
    { timeout: 60_000 },
    async () => {
      const p = await start();
      const release = await unresponsiveSocket(p.port);
      const exited = once(p.proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      p.proc.kill('SIGINT');
      const [code, signal] = await exited;
      release();
      assert.deepEqual({ code, signal }, { code: 0, signal: null }, p.output().slice(-2000) + p.logs());
      assert.match(p.output(), /"msg":"shut down"/);
    },
  );

  it('past PARLEY_SHUTDOWN_TIMEOUT_SECONDS it logs the deadline and exits 1', { timeout: 60_000 }, async () => {
    // One second is less than the 2 s a socket gets to finish its close handshake.
    const p = await start({ PARLEY_SHUTDOWN_TIMEOUT_SECONDS: '1' });
    const release = await unresponsiveSocket(p.port);
    const exited = once(p.proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    p.proc.kill('SIGTERM');
    const [code, signal] = await exited;
    release();
    assert.deepEqual({ code, signal }, { code: 1, signal: null }, p.output().slice(-2000) + p.logs());
    assert.match(p.output(), /shutdown deadline passed/);
  });
});
