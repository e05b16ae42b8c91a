/**
 * Rate-limit contract (C1, C12, C19): token buckets refilled smoothly, `limit` tokens per
 * `windowMs` with a burst of `limit`. In-process and Redis implementations share one arithmetic
 * (see gcra.ts), so a limit means the same thing on one node and across many.
 */

/** `limit` requests per `windowMs`, refilled evenly (one token every windowMs/limit ms). Both positive integers. */
export interface RateRule {
  limit: number;
  windowMs: number;
}

/** The outcome of one consume. */
export interface RateDecision {
  allowed: boolean;
  /** Whole tokens left in the bucket after this call. */
  remaining: number;
  /**
   * 0 when allowed. When denied, ms until `cost` tokens will be available (always ≥ 1). A cost
   * above `limit` can never pass; it is denied with the time until the bucket is full.
   */
  retryAfterMs: number;
}

/** A rate limiter over named buckets. */
export interface RateLimiter {
  /** Take `cost` (default 1, a non-negative integer) from the bucket `key` under `rule`; denied calls take nothing. */
  consume(key: string, rule: RateRule, cost?: number): Promise<RateDecision>;
  /** Forget a key (tests, admin resets): the bucket is full again. */
  reset(key: string): Promise<void>;
  /** Release timers and connections; the limiter is unusable afterwards. */
  close(): Promise<void>;
}

/** Options every limiter constructor accepts. */
export interface LimiterOptions {
  /** Namespace for keys (default 'parley:'), so tests and deployments sharing a Redis stay apart. */
  prefix?: string;
}
