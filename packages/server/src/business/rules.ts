/**
 * The Business API's rules (C10, docs/business.md "Rules and limits"): what a business number may
 * send a user, checked before anything is sent.
 *
 * - The 24-hour customer-service window: free-form messages (every type but `template`) only
 *   within 24 hours of the user's last message to the number (131047 otherwise).
 * - Marketing opt-out: a user who stopped the number's promotional messages gets no MARKETING
 *   template (131050).
 * - Throughput per number (130429), the pair rate limit per number and user (131056), and the daily
 *   number of distinct users a number may reach outside the window, its messaging tier (131048).
 *
 * What the server knows for the window and the opt-out it learns from the number's own device,
 * which is the one that receives the user's messages (`observe`), so no new metadata leaves the
 * chat. The limits are buckets of the server's limiter, so with PARLEY_REDIS_URL every server
 * process spends one budget.
 */
import type { BusinessNumberRow } from '../storage/business.ts';
import type { Storage } from '../storage/types.ts';
import type { RateLimiter, RateRule } from '../limits/index.ts';
import { BusinessApiError } from './errors.ts';
import type { HostedEvent } from './hosted.ts';
import type { BusinessWebhooks } from './webhooks.ts';

/** How long after the user's last message free-form messages may be sent. */
export const CUSTOMER_SERVICE_WINDOW_MS = 24 * 3_600_000;
/** After a burst to one user, one more message to that user every this many ms. */
export const PAIR_REFILL_MS = 6_000;
/** The messaging tier's period: distinct users are counted over a rolling day. */
export const TIER_PERIOD_MS = 24 * 3_600_000;

/** The limits in force (from the server's configuration). */
export interface BusinessLimits {
  /** Messages a second per number (PARLEY_BUSINESS_THROUGHPUT_PER_SECOND). */
  throughputPerSecond: number;
  /** Messages to one user in a burst (PARLEY_BUSINESS_PAIR_BURST). */
  pairBurst: number;
  /** Distinct users a number may reach outside the window in a rolling day (PARLEY_BUSINESS_DAILY_USERS). */
  dailyUsers: number | 'unlimited';
}

/** What is being sent: a free-form message, or a template of a category. */
export type SendKind = { template: false } | { template: true; category: 'MARKETING' | 'UTILITY' | 'AUTHENTICATION' };

/** The recipient: their Parley account when they have one, and their number as `wa_id`. */
export interface Recipient {
  accountId: string | null;
  waId: string;
}

/** Checks sends against the rules and learns the windows and opt-outs from the numbers' devices. */
export class BusinessRules {
  constructor(
    private readonly storage: Storage,
    private readonly limiter: RateLimiter,
    private readonly webhooks: BusinessWebhooks,
    private readonly now: () => number,
    readonly limits: BusinessLimits,
  ) {}

  /**
   * What a number's device received: a user's message opens (or extends) the window; a marketing
   * preference records the stop or resume and tells the business's webhook. Reactions and statuses
   * open nothing.
   */
  async observe(e: HostedEvent): Promise<void> {
    if (e.type !== 'message') return;
    if (e.business?.kind === 'marketing-preference') {
      const stopped = e.business.value === 'stop';
      const changed = await this.storage.businessRules.setMarketingOptOut(e.phoneNumberId, e.from, stopped, e.at);
      if (changed) await this.webhooks.userPreference(e.phoneNumberId, e.from, e.business.value, e.at);
      return;
    }
    await this.storage.businessRules.noteUserMessage(e.phoneNumberId, e.from, e.at);
  }

  /** True when the user wrote to the number within the last 24 hours. */
  async windowOpen(number: BusinessNumberRow, accountId: string | null): Promise<boolean> {
    if (!accountId) return false;
    const last = await this.storage.businessRules.lastUserMessage(number.id, accountId);
    return last !== null && this.now() - last < CUSTOMER_SERVICE_WINDOW_MS;
  }

  /**
   * Admit one send, or throw the Business API error that refuses it. The window and the opt-out
   * are checked before any budget is spent; a refused send spends at most the number's
   * throughput token (the budgets are separate buckets, as on the Cloud API).
   */
  async admit(number: BusinessNumberRow, to: Recipient, kind: SendKind): Promise<void> {
    const open = await this.windowOpen(number, to.accountId);
    if (!kind.template && !open)
      throw new BusinessApiError(
        'outside_window',
        'the recipient has not written to this number in the last 24 hours: send a template',
      );
    if (
      kind.template &&
      kind.category === 'MARKETING' &&
      to.accountId &&
      (await this.storage.businessRules.marketingOptedOut(number.id, to.accountId))
    )
      throw new BusinessApiError('marketing_opted_out', 'the recipient stopped marketing messages from this number');

    const pairKey = `business-pair:${number.id}:${to.waId}`;
    const pairRule: RateRule = {
      limit: this.limits.pairBurst,
      windowMs: this.limits.pairBurst * PAIR_REFILL_MS,
    };
    // A probe first, so a send refused for the pair does not spend the number's throughput.
    const probe = await this.limiter.consume(pairKey, pairRule, 0);
    if (!probe.allowed || probe.remaining < 1) this.pairRefused(probe.retryAfterMs || PAIR_REFILL_MS);
    const t = await this.limiter.consume(`business-throughput:${number.id}`, {
      limit: this.limits.throughputPerSecond,
      windowMs: 1_000,
    });
    if (!t.allowed)
      throw new BusinessApiError(
        'throughput_exceeded',
        `this number may send ${this.limits.throughputPerSecond} messages a second`,
        t.retryAfterMs,
      );
    const pair = await this.limiter.consume(pairKey, pairRule);
    if (!pair.allowed) this.pairRefused(pair.retryAfterMs);
    if (!open) await this.admitOutsideWindow(number, to);
  }

  private pairRefused(retryAfterMs: number): never {
    throw new BusinessApiError(
      'pair_rate_limited',
      `too many messages to this recipient: at most ${this.limits.pairBurst} in a burst, then one every ${PAIR_REFILL_MS / 1000} s`,
      retryAfterMs,
    );
  }

  /**
   * The messaging tier: a user not reached outside the window in the last day takes one place of
   * the number's daily budget. Both are limiter buckets: a one-token bucket per user that refills
   * in a day ("reached today"), and the tier's bucket, refilled smoothly over the day.
   */
  private async admitOutsideWindow(number: BusinessNumberRow, to: Recipient): Promise<void> {
    const tier = this.limits.dailyUsers;
    if (tier === 'unlimited') return;
    const reachedKey = `business-reached:${number.id}:${to.waId}`;
    const fresh = await this.limiter.consume(reachedKey, { limit: 1, windowMs: TIER_PERIOD_MS });
    if (!fresh.allowed) return; // already counted today
    const d = await this.limiter.consume(`business-daily-users:${number.id}`, {
      limit: tier,
      windowMs: TIER_PERIOD_MS,
    });
    if (d.allowed) return;
    // Not reached after all: the user must not count as reached today.
    await this.limiter.reset(reachedKey);
    throw new BusinessApiError(
      'daily_users_exceeded',
      `this number may reach ${tier} users a day outside the customer-service window`,
      d.retryAfterMs,
    );
  }
}
