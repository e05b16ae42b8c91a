/**
 * Counters for the hosted generation service's limits (C9): per-account daily quotas, the server's
 * daily budget and running jobs per account. Each is taken before a job starts and given back when
 * it fails, so a failed job costs nothing and two nodes never both take the last unit. In-process,
 * or in Redis (one atomic script per take) when `PARLEY_REDIS_URL` is set, so limits hold across
 * nodes. The rate limiter's token buckets (`limits/`) cannot give tokens back, hence these.
 */
import type { Redis } from 'ioredis';
import { ParleyError } from '@parley/protocol';
import { closeRedis, openRedis, type ErrorSink } from '../bus/redis-client.ts';

/** Named counters with a ceiling, each forgotten at its expiry. */
export interface LimitCounters {
  /**
   * Add `amount` to `key` unless that would pass `limit`; `expiresAt` (ms since the epoch) is when
   * the counter is forgotten. Returns whether it was added and the value before.
   */
  take(key: string, amount: number, limit: number, expiresAt: number): Promise<{ taken: boolean; used: number }>;
  /** Give back what `take` added (never below zero). */
  giveBack(key: string, amount: number): Promise<void>;
  /** The current value (0 when absent or expired). */
  read(key: string): Promise<number>;
  close(): Promise<void>;
}

/** In-process counters (one server process). */
export function memoryCounters(now: () => number = Date.now): LimitCounters {
  const map = new Map<string, { value: number; expiresAt: number }>();
  const live = (key: string) => {
    const e = map.get(key);
    if (e && e.expiresAt <= now()) {
      map.delete(key);
      return undefined;
    }
    return e;
  };
  return {
    async take(key, amount, limit, expiresAt) {
      const used = live(key)?.value ?? 0;
      if (used + amount > limit) return { taken: false, used };
      map.set(key, { value: used + amount, expiresAt: Math.max(expiresAt, live(key)?.expiresAt ?? 0) });
      return { taken: true, used };
    },
    async giveBack(key, amount) {
      const e = live(key);
      if (!e) return;
      e.value = Math.max(0, e.value - amount);
      if (e.value === 0) map.delete(key);
    },
    async read(key) {
      return live(key)?.value ?? 0;
    },
    async close() {
      map.clear();
    },
  };
}

// KEYS[1] counter; ARGV amount, limit, expiresAt (ms). Returns {taken 0|1, used before}.
const TAKE = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
if used + amount > tonumber(ARGV[2]) then return {0, used} end
redis.call('INCRBY', KEYS[1], amount)
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIREAT', KEYS[1], ARGV[3]) end
return {1, used}
`;
// Never below zero: a give-back after the key expired leaves nothing behind.
const GIVE_BACK = `
local left = redis.call('DECRBY', KEYS[1], ARGV[1])
if left <= 0 then redis.call('DEL', KEYS[1]) end
return left
`;

type WithScripts = Redis & {
  parleyImageTake(key: string, amount: number, limit: number, expiresAt: number): Promise<[number, number]>;
  parleyImageGiveBack(key: string, amount: number): Promise<number>;
};

/** How long one Redis call may take before the request fails with `unavailable`. */
const REDIS_DEADLINE_MS = 3000;

function withinDeadline<T>(p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ParleyError('unavailable', { message: 'The limits store (Redis) did not answer in time.' })),
      REDIS_DEADLINE_MS,
    );
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Counters in Redis under `prefix` + `ig:`, shared by every node. */
export function redisCounters(opts: { url: string; prefix?: string; onError?: ErrorSink }): LimitCounters {
  const prefix = `${opts.prefix ?? 'parley:'}ig:`;
  const r = openRedis(opts.url, 'parley-imagegen', opts.onError) as WithScripts;
  r.defineCommand('parleyImageTake', { numberOfKeys: 1, lua: TAKE });
  r.defineCommand('parleyImageGiveBack', { numberOfKeys: 1, lua: GIVE_BACK });
  return {
    async take(key, amount, limit, expiresAt) {
      const [taken, used] = await withinDeadline(r.parleyImageTake(prefix + key, amount, limit, Math.ceil(expiresAt)));
      return { taken: taken === 1, used };
    },
    async giveBack(key, amount) {
      await withinDeadline(r.parleyImageGiveBack(prefix + key, amount));
    },
    async read(key) {
      return Number((await withinDeadline(r.get(prefix + key))) ?? 0);
    },
    close: () => closeRedis(r),
  };
}
