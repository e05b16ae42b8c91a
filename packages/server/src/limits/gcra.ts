/**
 * Token-bucket arithmetic (C12) shared by both limiters; the Lua script in redis.ts is a line-by-line
 * mirror, so keep the two in step (`limits.test.ts` checks both against a hand-worked table and
 * compares them decision for decision; why this is not a library, with the bench figures:
 * docs/decisions/0004-keep-gcra-rate-limiter.md).
 *
 * The bucket is a GCRA: we store the "theoretical arrival time" (TAT), the instant the bucket would
 * be full again. Its distance from now is the debt; a call of `cost` is allowed when the debt plus
 * `cost` tokens fits in the window. To stay exact when windowMs/limit is fractional (1000 ms / 3),
 * time is counted in ticks of 1/limit ms: one token is `windowMs` ticks and the whole bucket
 * `windowMs * limit` ticks. The TAT is kept as whole ms plus a remainder in ticks, so no absolute
 * timestamp is ever multiplied by `limit` and every value stays an exact integer in a double, in
 * JavaScript and in Redis's Lua alike.
 */
import type { RateDecision, RateRule } from './types.ts';

/** Stored bucket: TAT = tatMs + frac/limit ms, `limit` being the rule it was written under. */
export interface BucketState {
  tatMs: number;
  frac: number;
  limit: number;
}

/** Result of one step: the decision, and the state to store (absent when nothing changes). */
export interface GcraStep {
  decision: RateDecision;
  /** New state and how long until it means "full bucket" (its TTL); undefined when unchanged. */
  write?: { state: BucketState; ttlMs: number };
}

// Keeps every intermediate (debt + need ≤ 2 × capacity) well inside exact double integers.
const MAX_CAPACITY = 2 ** 50;

/** Throw on a rule or cost the arithmetic cannot honour exactly; both implementations call it first. */
export function checkRule(rule: RateRule, cost: number): void {
  if (!Number.isSafeInteger(rule.limit) || rule.limit < 1)
    throw new RangeError(`rate rule limit must be a positive integer, got ${rule.limit}`);
  if (!Number.isSafeInteger(rule.windowMs) || rule.windowMs < 1)
    throw new RangeError(`rate rule windowMs must be a positive integer, got ${rule.windowMs}`);
  if (rule.limit * rule.windowMs > MAX_CAPACITY) throw new RangeError('rate rule limit × windowMs is too large');
  if (!Number.isSafeInteger(cost) || cost < 0)
    throw new RangeError(`rate cost must be a non-negative integer, got ${cost}`);
}

/** One consume at `now` (integer ms) against `state` (undefined = full bucket). */
export function gcraStep(state: BucketState | undefined, rule: RateRule, cost: number, now: number): GcraStep {
  const { limit, windowMs } = rule;
  const capacity = windowMs * limit;
  let debt = 0;
  if (state) {
    // A key reused under another limit: rescale the sub-ms remainder, rounding against the caller.
    const frac = state.limit === limit ? state.frac : Math.ceil((state.frac * limit) / state.limit);
    debt = (state.tatMs - now) * limit + frac;
    if (debt < 0) debt = 0;
  }
  if (cost <= limit) {
    const need = cost * windowMs;
    const after = debt + need;
    if (after <= capacity) {
      const decision = { allowed: true, remaining: Math.floor((capacity - after) / windowMs), retryAfterMs: 0 };
      // A zero-cost probe changes nothing, so it writes nothing.
      if (cost === 0) return { decision };
      const whole = Math.floor(after / limit);
      return {
        decision,
        write: { state: { tatMs: now + whole, frac: after - whole * limit, limit }, ttlMs: Math.ceil(after / limit) },
      };
    }
    const remaining = debt >= capacity ? 0 : Math.floor((capacity - debt) / windowMs);
    return {
      decision: { allowed: false, remaining, retryAfterMs: Math.max(1, Math.ceil((after - capacity) / limit)) },
    };
  }
  // More than a full bucket: never passes; say when the bucket is full, so callers back off.
  const remaining = debt >= capacity ? 0 : Math.floor((capacity - debt) / windowMs);
  return { decision: { allowed: false, remaining, retryAfterMs: Math.max(1, Math.ceil(debt / limit)) } };
}
