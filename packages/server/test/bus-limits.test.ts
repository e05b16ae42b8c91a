/**
 * Bus, presence and rate limits (C3, C12, C19), each run in-process and on Redis: pub/sub between
 * two "nodes", presence ownership and expiry, token buckets with burst, refill, cost, reset, and a
 * budget shared by two limiter instances (two processes) on Redis.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createMemoryBus, createMemoryPresence, createRedisBus, createRedisPresence } from '../src/bus/index.ts';
import { createMemoryRateLimiter, createRedisRateLimiter } from '../src/limits/index.ts';
import type { Bus, Presence } from '../src/bus/index.ts';
import type { RateLimiter } from '../src/limits/index.ts';
import { redisAvailable } from './helpers/harness.ts';

const REDIS = process.env.PARLEY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisUp = await redisAvailable(REDIS);
const prefix = `parley-test-${Math.random().toString(36).slice(2)}:`;

interface Impl {
  name: string;
  skip: string | false;
  /** Two "nodes" sharing a backend (for memory the same object). */
  buses(): [Bus, Bus];
  presence(ttlMs: number): [Presence, Presence];
  limiters(): [RateLimiter, RateLimiter];
}

const impls: Impl[] = [
  {
    name: 'memory',
    skip: false,
    buses: () => {
      const b = createMemoryBus();
      return [b, b];
    },
    presence: (ttlMs) => {
      const p = createMemoryPresence({ ttlMs });
      return [p, p];
    },
    limiters: () => {
      const l = createMemoryRateLimiter();
      return [l, l];
    },
  },
  {
    name: 'redis',
    skip: redisUp ? false : 'Redis not reachable',
    buses: () => [createRedisBus({ url: REDIS, prefix }), createRedisBus({ url: REDIS, prefix })],
    presence: (ttlMs) => [createRedisPresence({ url: REDIS, prefix, ttlMs }), createRedisPresence({ url: REDIS, prefix, ttlMs })],
    limiters: () => [createRedisRateLimiter({ url: REDIS, prefix }), createRedisRateLimiter({ url: REDIS, prefix })],
  },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const waitFor = async (f: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!f() && Date.now() < end) await sleep(5);
  return f();
};

after(async () => {
  if (!redisUp) return;
  const r = new Redis(REDIS);
  const keys = await r.keys(`${prefix}*`);
  if (keys.length) await r.del(...keys);
  r.disconnect();
});

for (const impl of impls) {
  describe(`bus and limits [${impl.name}]`, { skip: impl.skip }, () => {
    it('publishes to subscribers on every node and stops after unsubscribe', async () => {
      const [a, b] = impl.buses();
      const got: string[] = [];
      const off = await b.subscribe('t1', (m) => got.push(`b:${m}`));
      const offA = await a.subscribe('t1', (m) => got.push(`a:${m}`));
      await a.publish('t1', 'hello');
      assert.ok(await waitFor(() => got.length === 2), `got ${got}`);
      assert.deepEqual(got.sort(), ['a:hello', 'b:hello']);
      await off();
      await a.publish('t1', 'again');
      assert.ok(await waitFor(() => got.includes('a:again')));
      await sleep(50);
      assert.equal(got.includes('b:again'), false);
      await a.publish('other', 'x');
      await sleep(30);
      assert.equal(got.length, 3);
      await offA();
      await a.close();
      if (b !== a) await b.close();
    });

    it('tracks which node holds a device, lets only that node clear it, and expires entries', async () => {
      const [p1, p2] = impl.presence(300);
      await p1.setOnline('d_one', 'node-1');
      await p2.refresh(['d_two', 'd_three'], 'node-2');
      let where = await p2.locate(['d_one', 'd_two', 'd_three', 'd_none']);
      assert.deepEqual(Object.fromEntries(where), { d_one: 'node-1', d_two: 'node-2', d_three: 'node-2' });
      await p2.setOnline('d_one', 'node-2');
      await p1.setOffline('d_one', 'node-1');
      assert.equal((await p1.locate(['d_one'])).get('d_one'), 'node-2', 'a stale node cannot clear a newer entry');
      await p2.setOffline('d_one', 'node-2');
      assert.equal((await p1.locate(['d_one'])).size, 0);
      await sleep(400);
      where = await p1.locate(['d_two', 'd_three']);
      assert.equal(where.size, 0, 'entries expire without refresh');
      await p1.close();
      if (p2 !== p1) await p2.close();
    });

    it('allows a burst of exactly limit, then refuses with a wait, then refills', async () => {
      const [l] = impl.limiters();
      const rule = { limit: 5, windowMs: 500 };
      const key = `burst-${Math.random()}`;
      for (let i = 0; i < 5; i++) assert.equal((await l.consume(key, rule)).allowed, true, `call ${i}`);
      const denied = await l.consume(key, rule);
      assert.equal(denied.allowed, false);
      assert.ok(denied.retryAfterMs >= 1 && denied.retryAfterMs <= 100, `retryAfterMs ${denied.retryAfterMs}`);
      await sleep(denied.retryAfterMs + 30);
      assert.equal((await l.consume(key, rule)).allowed, true, 'refilled');
      // Cost larger than what is left is refused and takes nothing.
      const c = await l.consume(`cost-${key}`, rule, 4);
      assert.equal(c.allowed, true);
      assert.equal(c.remaining, 1);
      const c2 = await l.consume(`cost-${key}`, rule, 3);
      assert.equal(c2.allowed, false);
      assert.equal((await l.consume(`cost-${key}`, rule, 1)).allowed, true, 'the refused call took nothing');
      assert.equal((await l.consume(`huge-${key}`, rule, 6)).allowed, false, 'cost above limit never passes');
      await l.reset(key);
      assert.equal((await l.consume(key, rule)).remaining, 4, 'reset restores a full bucket');
      await l.close();
    });

    it('shares one budget between two limiter instances', async () => {
      const [l1, l2] = impl.limiters();
      const rule = { limit: 4, windowMs: 60_000 };
      const key = `shared-${Math.random()}`;
      const results = await Promise.all([l1, l2, l1, l2, l1, l2].map((l) => l.consume(key, rule)));
      assert.equal(results.filter((r) => r.allowed).length, 4);
      await l1.close();
      if (l2 !== l1) await l2.close();
    });
  });
}
