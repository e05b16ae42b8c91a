/**
 * Usernames (C12): set, clear and exact-match lookup. Devices send a hash of the username, and the
 * server stores that hash keyed again with its own secret, so the table can neither be listed as
 * names nor matched against a dictionary without the key. Lookups and changes are limited per
 * account per day, which bounds guessing.
 */
import { ParleyError, fromB64 } from '@parley/protocol';
import type { AuthedCaller, ServerContext } from '../context.ts';
import { StorageConflict } from '../storage/types.ts';
import { enforceLimit } from './limits.ts';
import { DAY } from '../durations.ts';

/** Give the caller's account this username (replacing any earlier one). */
export async function setUsername(ctx: ServerContext, caller: AuthedCaller, body: { usernameHash: string }) {
  const keyed = ctx.discovery.usernameKeyed(fromB64(body.usernameHash));
  await enforceLimit(ctx, `uname:set:${caller.accountId}`, { limit: ctx.config.usernameChangesPerDay, windowMs: DAY });
  try {
    await ctx.storage.discovery.setUsername(caller.accountId, keyed);
  } catch (e) {
    if (e instanceof StorageConflict && e.code === 'username_taken') throw new ParleyError('username_taken');
    throw e;
  }
  return { hasUsername: true };
}

/** Remove the caller's username; afterwards nobody finds the account by it. */
export async function clearUsername(ctx: ServerContext, caller: AuthedCaller) {
  await ctx.storage.discovery.setUsername(caller.accountId, null);
  return { hasUsername: false };
}

/** Whether the caller has a username (the server cannot say which). */
export async function usernameState(ctx: ServerContext, caller: AuthedCaller) {
  return { hasUsername: await ctx.storage.discovery.hasUsername(caller.accountId) };
}

/** The account with exactly this username; `account_not_found` otherwise. */
export async function lookupUsername(ctx: ServerContext, caller: AuthedCaller, body: { usernameHash: string }) {
  const keyed = ctx.discovery.usernameKeyed(fromB64(body.usernameHash));
  await enforceLimit(ctx, `uname:lookup:${caller.accountId}`, {
    limit: ctx.config.usernameLookupsPerDay,
    windowMs: DAY,
  });
  const accountId = await ctx.storage.discovery.findUsername(keyed);
  if (!accountId) throw new ParleyError('account_not_found');
  return { accountId };
}
