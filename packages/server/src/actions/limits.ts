/** Rate-limit helper for actions (C1, C12): a denied consume becomes a catalogued 429. */
import { ParleyError } from '@parley/protocol';
import type { ServerContext } from '../context.ts';
import type { RateRule } from '../limits/types.ts';

/** Take one token from `key` or throw `rate_limited` carrying the wait. */
export async function enforceLimit(ctx: ServerContext, key: string, rule: RateRule, cost = 1): Promise<void> {
  const d = await ctx.limiter.consume(key, rule, cost);
  if (!d.allowed) throw new ParleyError('rate_limited', { retryAfterMs: Math.max(1, Math.ceil(d.retryAfterMs)) });
}
