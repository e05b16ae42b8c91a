/**
 * In-process rate limiter (C12, C19 embedded default): the GCRA of gcra.ts over a Map. An entry
 * lives only until its bucket is full again (then it means the same as no entry), so a periodic,
 * unref'd sweep keeps memory bounded by the keys touched within one window.
 */
import { checkRule, gcraStep, type BucketState } from './gcra.ts';
import type { LimiterOptions, RateLimiter } from './types.ts';

/** Options of the in-process limiter. */
export interface MemoryLimiterOptions extends LimiterOptions {
  /** Clock in integer ms (default Date.now); tests may pass a fake one. */
  now?: () => number;
  /** How often full buckets are dropped (default 60 s). */
  sweepIntervalMs?: number;
}

/**
 * A limiter private to this process. `prefix` is accepted for symmetry with Redis and has no effect:
 * each instance already has its own keys.
 */
export function createMemoryRateLimiter(opts: MemoryLimiterOptions = {}): RateLimiter {
  const now = opts.now ?? Date.now;
  const buckets = new Map<string, { state: BucketState; expiresAt: number }>();
  let closed = false;
  const sweep = setInterval(() => {
    const t = now();
    for (const [k, b] of buckets) if (b.expiresAt <= t) buckets.delete(k);
  }, opts.sweepIntervalMs ?? 60_000);
  // The sweep must never keep a process (or a test run) alive.
  sweep.unref();
  return {
    async consume(key, rule, cost = 1) {
      if (closed) throw new Error('rate limiter is closed');
      checkRule(rule, cost);
      const t = Math.floor(now());
      const entry = buckets.get(key);
      // Expiry mirrors Redis PX: an expired entry is a full bucket.
      const live = entry && entry.expiresAt > t ? entry.state : undefined;
      if (entry && !live) buckets.delete(key);
      const step = gcraStep(live, rule, cost, t);
      if (step.write) buckets.set(key, { state: step.write.state, expiresAt: t + step.write.ttlMs });
      return step.decision;
    },
    async reset(key) {
      buckets.delete(key);
    },
    async close() {
      closed = true;
      clearInterval(sweep);
      buckets.clear();
    },
  };
}
