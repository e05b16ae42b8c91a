/**
 * Redis for tests (C19): where it is, whether it answers, and per-test key prefixes that are
 * deleted afterwards. With PARLEY_REQUIRE_SERVICES=1 an unreachable Redis fails the Redis variants
 * loudly; otherwise they are skipped with a message saying why.
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';

/** Redis the tests use (PARLEY_TEST_REDIS_URL overrides). */
export const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let reachable: Promise<string | null> | undefined;

/** Null when Redis answers PING, else the reason it does not; checked once per test file. */
export function redisProblem(): Promise<string | null> {
  reachable ??= (async () => {
    const r = new Redis(REDIS_URL, {
      lazyConnect: true,
      connectTimeout: 2000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    // The socket error (ECONNREFUSED…) says more than the "Connection is closed" connect() rejects with.
    let cause: string | undefined;
    r.on('error', (e: Error) => (cause ??= e.message));
    try {
      await r.connect();
      await r.ping();
      return null;
    } catch (e) {
      return cause ?? (e as Error).message;
    } finally {
      r.disconnect();
    }
  })();
  return reachable;
}

/**
 * Gate a Redis test: returns true when it may run. Otherwise skips `t` with a clear message, or
 * throws when PARLEY_REQUIRE_SERVICES=1 so CI cannot pass without Redis.
 */
export async function redisOrSkip(t: TestContext): Promise<boolean> {
  const problem = await redisProblem();
  if (problem === null) return true;
  const msg = `Redis not reachable at ${REDIS_URL} (${problem})`;
  if (process.env.PARLEY_REQUIRE_SERVICES === '1') throw new Error(`${msg}; PARLEY_REQUIRE_SERVICES=1 requires it`);
  t.skip(`${msg}: Redis variant skipped`);
  return false;
}

/** A fresh key/channel prefix, so concurrent tests and runs never see each other's data. */
export function testPrefix(): string {
  return `parley-test:${randomBytes(6).toString('hex')}:`;
}

async function withClient<T>(f: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    return await f(r);
  } finally {
    r.disconnect();
  }
}

/** Keys currently under `prefix` (SCAN, not KEYS, so a shared Redis is never blocked). */
export function keysUnder(prefix: string): Promise<string[]> {
  return withClient(async (r) => {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      out.push(...keys);
    } while (cursor !== '0');
    return out;
  });
}

/** Delete every key under `prefix`. */
export async function deleteKeys(prefix: string): Promise<void> {
  const keys = await keysUnder(prefix);
  if (keys.length) await withClient((r) => r.unlink(...keys));
}

/** Milliseconds a key has left (-2 missing, -1 no expiry). */
export function pttl(key: string): Promise<number> {
  return withClient((r) => r.pttl(key));
}

/** The implementations every bus, presence and rate-limit test runs on. */
export const BACKENDS = ['memory', 'redis'] as const;
/** One of BACKENDS. */
export type Backend = (typeof BACKENDS)[number];

/** What a test needs to build instances on a backend through the public factories. */
export interface BackendSetup {
  /** Set on the Redis backend only, so the factories pick Redis. */
  redisUrl?: string;
  /** Fresh per test; its keys are deleted when the test ends. */
  prefix: string;
  /** Close `x` when the test ends (before its keys are deleted). */
  track<T extends { close(): Promise<void> }>(x: T): T;
}

/**
 * Prepare one test on `backend`; null when the test was skipped (Redis unreachable and not required).
 * Everything tracked is closed, and the prefix's keys deleted, after the test.
 */
export async function setupBackend(t: TestContext, backend: Backend): Promise<BackendSetup | null> {
  if (backend === 'redis' && !(await redisOrSkip(t))) return null;
  const prefix = testPrefix();
  const open = new Set<{ close(): Promise<void> }>();
  t.after(async () => {
    await Promise.all([...open].map((x) => x.close()));
    if (backend === 'redis') await deleteKeys(prefix);
  });
  return {
    ...(backend === 'redis' ? { redisUrl: REDIS_URL } : {}),
    prefix,
    track(x) {
      open.add(x);
      return x;
    },
  };
}

/** Resolve after `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `cond` until true or `ms` passes; returns its last value (assert on it, don't time it). */
export async function waitFor(cond: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(5);
  return cond();
}
