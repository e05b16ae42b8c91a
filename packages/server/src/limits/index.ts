/**
 * Rate limiting (C1, C12, C19): the contract and the factory the composition root uses — Redis
 * when a URL is configured (limits hold across nodes), in-process otherwise.
 */
import { createMemoryRateLimiter } from './memory.ts';
import { createRedisRateLimiter } from './redis.ts';
import type { RateLimiter } from './types.ts';

export type { RateLimiter, RateRule, RateDecision, LimiterOptions } from './types.ts';
export type { MemoryLimiterOptions } from './memory.ts';
export type { RedisLimiterOptions } from './redis.ts';
export { createMemoryRateLimiter, createRedisRateLimiter };
export { gcraStep, checkRule, type BucketState, type GcraStep } from './gcra.ts';

/** The limiter for this configuration: Redis when `redisUrl` is set, in-process otherwise. */
export function createRateLimiter(opts: { redisUrl?: string; prefix?: string } = {}): RateLimiter {
  const prefix = opts.prefix !== undefined ? { prefix: opts.prefix } : {};
  return opts.redisUrl ? createRedisRateLimiter({ url: opts.redisUrl, ...prefix }) : createMemoryRateLimiter(prefix);
}

/**
 * The same limiter, calling `onRefused(key)` for every refused consume (metrics count refusals by
 * limit name, C19). Allowed consumes pass through untouched.
 */
export function countRefusals(limiter: RateLimiter, onRefused: (key: string) => void): RateLimiter {
  return {
    async consume(key, rule, cost) {
      const d = await limiter.consume(key, rule, cost);
      if (!d.allowed) onRefused(key);
      return d;
    },
    reset: (key) => limiter.reset(key),
    close: () => limiter.close(),
  };
}
