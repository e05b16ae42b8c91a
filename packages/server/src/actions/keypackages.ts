/**
 * KeyPackage directory (C2, C13): devices upload one-time KeyPackages plus a last-resort one; every
 * KeyPackage is checked before it is stored (encoding, credential, signatures, every public key,
 * init ≠ encryption key, and no key ever used before by anyone); others claim one per device.
 */
import { ParleyError, LIMITS, fromB64, toB64 } from '@parley/protocol';
import { inspectKeyPackage } from '@parley/crypto';
import type { AuthedCaller, ServerContext } from '../context.ts';
import { StorageConflict, type KeyPackageInput } from '../storage/types.ts';
import { enforceLimit } from './limits.ts';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Validate and store KeyPackages; all or nothing. */
export async function uploadKeyPackages(
  ctx: ServerContext,
  caller: AuthedCaller,
  body: { keyPackages: string[]; lastResort?: string | undefined },
) {
  const device = await ctx.storage.accounts.getDevice(caller.deviceId);
  if (!device) throw new ParleyError('unauthenticated');
  const check = (text: string, index: number | 'lastResort'): KeyPackageInput => {
    let data: Uint8Array;
    try {
      data = fromB64(text);
    } catch {
      throw new ParleyError('keypackage_malformed', { details: { index } });
    }
    try {
      const info = inspectKeyPackage(data, { deviceId: device.id, signingKey: device.signingKey });
      return { data, initKey: info.initKey, encryptionKey: info.encryptionKey };
    } catch (e) {
      if (e instanceof ParleyError)
        throw new ParleyError(e.code, {
          message: e.message,
          details: { index, ...(typeof e.details === 'object' && e.details ? e.details : {}) },
        });
      throw new ParleyError('keypackage_malformed', { details: { index } });
    }
  };
  const oneTime = body.keyPackages.map((kp, i) => check(kp, i));
  const lastResort = body.lastResort ? check(body.lastResort, 'lastResort') : null;
  // Keys repeated inside one upload are reuse too; the store only sees keys from earlier uploads.
  const all = [...oneTime, ...(lastResort ? [lastResort] : [])].flatMap((k) => [k.initKey, k.encryptionKey]);
  for (let i = 0; i < all.length; i++)
    for (let j = i + 1; j < all.length; j++)
      if (sameBytes(all[i]!, all[j]!))
        throw new ParleyError('key_reused', { details: { reason: 'repeated within upload' } });
  const before = await ctx.storage.accounts.countKeyPackages(device.id);
  if (before.available + oneTime.length > LIMITS.keyPackagesPerDevice) throw new ParleyError('too_many_keypackages');
  try {
    await ctx.storage.accounts.addKeyPackages(device.id, caller.accountId, oneTime, lastResort);
  } catch (e) {
    if (e instanceof StorageConflict && e.code === 'key_reused') throw new ParleyError('key_reused');
    throw e;
  }
  const after = await ctx.storage.accounts.countKeyPackages(device.id);
  return { stored: oneTime.length + (lastResort ? 1 : 0), available: after.available };
}

/** How many one-time KeyPackages this device has left. */
export async function countKeyPackages(ctx: ServerContext, caller: AuthedCaller) {
  return ctx.storage.accounts.countKeyPackages(caller.deviceId);
}

/** The window of both KeyPackage claim limits. */
const CLAIM_WINDOW_MS = 10 * 60_000;

/**
 * Claim one KeyPackage for every active device of each account (own other devices included; with
 * `deviceIds`, only those of them), all
 * or nothing: a claim refused for any account in it (rate limit, unknown account, a device with no
 * KeyPackage at all) consumes no KeyPackage. A claim refused by a limit takes no token from any
 * limit; one that passes the limits counts against them even if it is then refused (so unknown
 * account ids cannot be tried for free).
 *
 * Two limits keep one account from draining others' KeyPackages: claims per claimer and target
 * (`keyPackageClaimsPerTarget`) and claims per claimer over all targets together
 * (`keyPackageClaimsPerClaimer`, each other account named counting one). Claiming the own account
 * (for the caller's other devices) counts against neither. Past a limit, or once a victim's
 * one-time KeyPackages are gone, the last-resort KeyPackage keeps the victim reachable.
 */
export async function claimKeyPackages(
  ctx: ServerContext,
  caller: AuthedCaller,
  body: { accountIds: string[]; deviceIds?: string[] | undefined },
) {
  const accountIds = [...new Set(body.accountIds)];
  const others = accountIds.filter((a) => a !== caller.accountId);
  const rules = [
    ...others.map((a) => ({
      key: `kpclaim:${caller.accountId}:${a}`,
      rule: { limit: ctx.config.keyPackageClaimsPerTarget, windowMs: CLAIM_WINDOW_MS },
      cost: 1,
    })),
    ...(others.length
      ? [
          {
            key: `kpclaimer:${caller.accountId}`,
            rule: { limit: ctx.config.keyPackageClaimsPerClaimer, windowMs: CLAIM_WINDOW_MS },
            cost: others.length,
          },
        ]
      : []),
  ];
  // Check every limit before taking from any (a zero-cost probe takes nothing), so a claim refused
  // by one of them leaves the others as they were. A denied consume takes nothing either: it only
  // gives the wait to report.
  for (const r of rules) {
    const probe = await ctx.limiter.consume(r.key, r.rule, 0);
    if (probe.remaining < r.cost) await enforceLimit(ctx, r.key, r.rule, r.cost);
  }
  for (const r of rules) await enforceLimit(ctx, r.key, r.rule, r.cost);

  const only = body.deviceIds ? new Set(body.deviceIds) : null;
  const devices: { accountId: string; deviceId: string }[] = [];
  for (const accountId of accountIds) {
    const account = await ctx.storage.accounts.getAccount(accountId);
    if (!account) throw new ParleyError('account_not_found', { details: { accountId } });
    for (const device of await ctx.storage.accounts.listDevices(accountId)) {
      if (device.id === caller.deviceId) continue;
      // Adding one newly linked device to a chat claims for that device alone.
      if (only && !only.has(device.id)) continue;
      devices.push({ accountId, deviceId: device.id });
    }
  }
  const claim = await ctx.storage.accounts.claimKeyPackages(devices.map((d) => d.deviceId));
  if (claim.exhausted !== undefined) {
    const accountId = devices.find((d) => d.deviceId === claim.exhausted)?.accountId;
    throw new ParleyError('keypackages_exhausted', { details: { accountId, deviceId: claim.exhausted } });
  }
  return {
    keyPackages: claim.keyPackages.map((kp, i) => ({
      accountId: devices[i]!.accountId,
      deviceId: kp.deviceId,
      keyPackage: toB64(kp.data),
      lastResort: kp.lastResort,
    })),
  };
}
