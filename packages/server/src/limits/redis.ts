/**
 * Redis rate limiter (C1, C12, C19): limits that hold across every node sharing one Redis, e.g.
 * registration and lookup budgets that guard against enumeration.
 *
 * Each consume is one atomic Lua script (EVALSHA via ioredis defineCommand) running the arithmetic
 * of gcra.ts. Clock: by default the script reads the Redis server's `TIME`, not the caller's
 * clock, so nodes with skewed clocks still share one timeline (Redis ≥ 5 replicates script effects,
 * which makes TIME safe before a write). A `now` option passes the caller's clock instead; it
 * exists so tests can run both limiters on one fake clock and compare them decision for decision.
 * A bucket is one string key `tatMs:frac:limit` written with PX equal to the time until it is full
 * again, so idle keys vanish on their own, and denied calls write nothing.
 */
import type { Redis } from 'ioredis';
import { closeRedis, openRedis, type ErrorSink } from '../bus/redis-client.ts';
import { checkRule } from './gcra.ts';
import type { LimiterOptions, RateLimiter } from './types.ts';

// Mirror of gcraStep() in gcra.ts, kept in step by limits.test.ts (a hand-worked table and a random
// workload, both on real Redis); integer division is floor(a / b), exact for our magnitudes.
// Returns {allowed 0|1, remaining, retryAfterMs}.
const CONSUME = `
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local capacity = window * limit
local debt = 0
local raw = redis.call('GET', KEYS[1])
if raw then
  local tat, frac, was = string.match(raw, '^(%-?%d+):(%d+):(%d+)$')
  if tat then
    tat = tonumber(tat)
    frac = tonumber(frac)
    was = tonumber(was)
    if was ~= limit then frac = math.ceil(frac * limit / was) end
    debt = (tat - now) * limit + frac
    if debt < 0 then debt = 0 end
  end
end
local remaining = 0
if debt < capacity then remaining = math.floor((capacity - debt) / window) end
if cost <= limit then
  local after = debt + cost * window
  if after <= capacity then
    if cost > 0 then
      local whole = math.floor(after / limit)
      redis.call('SET', KEYS[1], string.format('%d:%d:%d', now + whole, after - whole * limit, limit), 'PX', math.ceil(after / limit))
    end
    return {1, math.floor((capacity - after) / window), 0}
  end
  return {0, remaining, math.max(1, math.ceil((after - capacity) / limit))}
end
return {0, remaining, math.max(1, math.ceil(debt / limit))}
`;

/** Options of the Redis limiter. */
export interface RedisLimiterOptions extends LimiterOptions {
  url: string;
  /** Where connection errors go (default: process warning). */
  onError?: ErrorSink;
  /** Use this clock (integer ms) instead of Redis TIME. Only for tests: every node must agree on time. */
  now?: () => number;
}

type WithConsume = Redis & {
  parleyRateConsume(
    key: string,
    limit: number,
    windowMs: number,
    cost: number,
    ...now: number[]
  ): Promise<[number, number, number]>;
};

/** A limiter whose buckets live in Redis under `prefix` + `rl:`. */
export function createRedisRateLimiter(opts: RedisLimiterOptions): RateLimiter {
  const prefix = `${opts.prefix ?? 'parley:'}rl:`;
  const r = openRedis(opts.url, 'parley-limits', opts.onError) as WithConsume;
  r.defineCommand('parleyRateConsume', { numberOfKeys: 1, lua: CONSUME });
  return {
    async consume(key, rule, cost = 1) {
      // Validate here too: the script trusts its arguments.
      checkRule(rule, cost);
      const clock = opts.now ? [Math.floor(opts.now())] : [];
      const [allowed, remaining, retryAfterMs] = await r.parleyRateConsume(
        prefix + key,
        rule.limit,
        rule.windowMs,
        cost,
        ...clock,
      );
      return { allowed: allowed === 1, remaining, retryAfterMs };
    },
    async reset(key) {
      await r.del(prefix + key);
    },
    async close() {
      await closeRedis(r);
    },
  };
}
