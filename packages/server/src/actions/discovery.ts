/**
 * Contact discovery and "who can find me by my number" (C12). Two round trips, neither carrying a
 * phone number: `evaluate` answers blinded elements, `lookup` answers which tags are discoverable
 * accounts, within the account's allowance of unseen numbers. A request over any quota is refused
 * whole (429 with the wait), so it never yields a partial answer, and records nothing.
 */
import { ParleyError, fromB64, toB64, type Settings } from '@parley/protocol';
import type { AuthedCaller, ServerContext } from '../context.ts';
import type { PrivacyRow } from '../storage/types.ts';
import { enforceLimit } from './limits.ts';
import { DAY } from '../durations.ts';
import { dayOf, allowanceFor, waitForAllowance } from '../services/discovery.ts';

/** Evaluate blinded numbers under the server's OPRF key; limited per account per day. */
export async function evaluate(ctx: ServerContext, caller: AuthedCaller, body: { blinded: string[] }) {
  const blinded = body.blinded.map((b) => fromB64(b));
  // Check the elements before spending any budget (a malformed request changes nothing), and the
  // budget before the expensive part.
  ctx.discovery.validate(blinded);
  await enforceLimit(
    ctx,
    `disc:eval:${caller.accountId}`,
    { limit: ctx.config.discoveryEvaluationsPerDay, windowMs: DAY },
    blinded.length,
  );
  return { evaluated: ctx.discovery.evaluate(blinded).map((e) => toB64(e)) };
}

function quotaError(retryAfterMs: number | null, scope: 'account' | 'ip' | 'paused') {
  return new ParleyError('rate_limited', {
    message:
      scope === 'paused'
        ? 'Contact discovery for new accounts is paused while lookups are far above normal.'
        : 'Contact discovery quota reached: no more previously unseen numbers for now.',
    retryAfterMs: Math.max(1000, Math.ceil(retryAfterMs ?? DAY)),
    details: { quota: 'discovery', scope },
  });
}

/** Which of these tags belong to discoverable accounts; unseen tags count against the allowance. */
export async function lookup(ctx: ServerContext, caller: AuthedCaller, body: { tags: string[] }) {
  const tags = body.tags.map((t) => fromB64(t));
  const account = await ctx.storage.accounts.getAccount(caller.accountId);
  if (!account) throw new ParleyError('unauthenticated');
  const now = ctx.now();
  const rule = ctx.discovery.rule;
  const ageDays = (now - account.createdAt) / DAY;
  const allowance = allowanceFor(ageDays, rule);
  const digests = tags.map((t) => ctx.discovery.seenDigest(caller.accountId, t));

  const fresh = await ctx.storage.discovery.discoveryFresh(caller.accountId, digests);
  let used = await ctx.storage.discovery.discoveryUsed(caller.accountId);
  if (fresh > 0) {
    // While the alarm holds, accounts under a week old get nothing new (they are what a scraper makes).
    if (ageDays < 7 && (await ctx.discovery.alarmActive())) {
      throw quotaError((dayOf(now) + 1) * DAY - now, 'paused');
    }
    if (used + fresh > allowance)
      throw quotaError(waitForAllowance(account.createdAt, now, used + fresh, rule), 'account');
    const ip = await ctx.limiter.consume(
      `disc:ip:${caller.ip}`,
      { limit: ctx.config.discoveryPerIpPerDay, windowMs: DAY },
      fresh,
    );
    if (!ip.allowed) throw quotaError(ip.retryAfterMs, 'ip');
    const recorded = await ctx.storage.discovery.recordDiscoveryLookup(
      caller.accountId,
      digests,
      dayOf(now),
      allowance,
    );
    // A concurrent lookup of the same account took the room between the check and the write.
    if (!recorded.allowed)
      throw quotaError(waitForAllowance(account.createdAt, now, recorded.used + recorded.fresh, rule), 'account');
    used = recorded.used;
  }
  const matches = await ctx.storage.discovery.findDiscoverable(tags);
  return {
    matches: matches.map((m) => ({ tag: toB64(m.tag), accountId: m.accountId })),
    remaining: Math.max(0, allowance - used),
  };
}

/** The wire form of settings: discoverability and the visibility of photo, about, last seen and online. */
function settingsOut(discoverable: boolean, row: PrivacyRow): Settings {
  const { accountId: _a, ...privacy } = row;
  return { findByNumber: discoverable ? 'everyone' : 'nobody', ...privacy };
}

/** The caller's privacy settings. */
export async function getSettings(ctx: ServerContext, caller: AuthedCaller): Promise<Settings> {
  const account = await ctx.storage.accounts.getAccount(caller.accountId);
  if (!account) throw new ParleyError('unauthenticated');
  return settingsOut(account.discoverable, await ctx.storage.profiles.getPrivacy(caller.accountId));
}

/** Change privacy settings; "find by number: nobody" removes the account from the index at once. */
export async function setSettings(ctx: ServerContext, caller: AuthedCaller, body: Partial<Settings>) {
  const account = await ctx.storage.accounts.getAccount(caller.accountId);
  if (!account) throw new ParleyError('unauthenticated');
  const { findByNumber, ...visibility } = body;
  if (findByNumber) await ctx.discovery.setFindable(account.id, account.phone, findByNumber === 'everyone');
  const changes = Object.fromEntries(Object.entries(visibility).filter(([, v]) => v !== undefined));
  // setPrivacy answers the settings it stored: no second read of the account or its settings.
  const privacy = Object.keys(changes).length
    ? await ctx.storage.profiles.setPrivacy(account.id, changes)
    : await ctx.storage.profiles.getPrivacy(account.id);
  return settingsOut(findByNumber ? findByNumber === 'everyone' : account.discoverable, privacy);
}
