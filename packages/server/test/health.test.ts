/**
 * Liveness and readiness (C19), on SQLite and PostgreSQL, alone and with Redis: `/healthz` answers
 * whatever the dependencies do; `/readyz` answers 200 while the database (and Redis, when
 * configured) answer, and 503 naming the failed check once one is gone: the storage closed under
 * the server, or Redis cut off behind a TCP relay (and ready again once the relay is back).
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import {
  availableDrivers,
  startServer,
  until,
  openStorage,
  REDIS_URL,
  deleteKeys,
  redisOrSkip,
  testPrefix,
  type TestServer,
} from '@parley/testkit';

const drivers = await availableDrivers();

interface ReadyBody {
  status: string;
  failed?: string[];
  checks: Record<string, string>;
  storage: string;
  bus: string;
}

async function get(url: string): Promise<{ status: number; body: ReadyBody }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json()) as ReadyBody };
}

/** A TCP relay to Redis that can be cut (every connection dropped, nothing accepted) and restored on the same port. */
class RedisRelay {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;
  async open(): Promise<void> {
    const target = new URL(REDIS_URL);
    this.server = createServer((client) => {
      const upstream = connect(Number(target.port || 6379), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }
  async cut(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server!.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

for (const { driver, skip } of drivers) {
  describe(`health [${driver}]`, { skip }, () => {
    const open: TestServer[] = [];
    after(async () => {
      for (const t of open) await t.close();
    });

    it('answers /healthz and /readyz (database checked, no Redis) while the database answers', async () => {
      const t = await startServer(driver);
      open.push(t);
      assert.deepEqual((await get(`${t.url}/healthz`)).body, { status: 'ok' });
      const ready = await get(`${t.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.equal(ready.body.status, 'ready');
      assert.deepEqual(ready.body.checks, { database: 'ok' });
      assert.equal(ready.body.storage, driver);
      assert.equal(ready.body.bus, 'memory');
    });

    it('answers /readyz 503 naming the database once the storage is gone; /healthz stays 200', async () => {
      const store = await openStorage(driver);
      const t = await startServer(driver, {}, { storage: store.storage });
      open.push(t);
      assert.equal((await get(`${t.url}/readyz`)).status, 200);
      await store.storage.close();
      const ready = await get(`${t.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.equal(ready.body.status, 'unavailable');
      assert.deepEqual(ready.body.failed, ['database']);
      assert.equal(ready.body.checks.database, 'failed');
      const live = await get(`${t.url}/healthz`);
      assert.equal(live.status, 200, 'liveness does no I/O');
      // The storage was closed above; what is left is its files or database.
      open.splice(open.indexOf(t), 1);
      await t.close();
      await store.cleanup();
    });

    it('checks Redis when configured: 503 naming redis while it is cut off, ready again once it is back', async (t) => {
      if (!(await redisOrSkip(t))) return;
      const relay = new RedisRelay();
      await relay.open();
      const prefix = testPrefix();
      const s = await startServer(driver, { redisUrl: `redis://127.0.0.1:${relay.port}`, redisPrefix: prefix });
      open.push(s);
      try {
        const ready = await get(`${s.url}/readyz`);
        assert.equal(ready.status, 200);
        assert.deepEqual(ready.body.checks, { database: 'ok', redis: 'ok' });
        assert.equal(ready.body.bus, 'redis');

        await relay.cut();
        const down = await until(
          async () => {
            const r = await get(`${s.url}/readyz`);
            return r.status === 503 ? r : null;
          },
          15_000,
          '/readyz reports Redis gone',
        );
        assert.deepEqual(down.body.failed, ['redis']);
        assert.notEqual(down.body.checks.redis, 'ok');
        assert.equal(down.body.checks.database, 'ok');
        assert.equal((await get(`${s.url}/healthz`)).status, 200);

        await relay.open();
        await until(
          async () => (await get(`${s.url}/readyz`)).status === 200,
          30_000,
          '/readyz ready again once Redis is back',
        );
      } finally {
        open.splice(open.indexOf(s), 1);
        await s.close();
        await relay.cut().catch(() => undefined);
        await deleteKeys(prefix);
      }
    });
  });
}
