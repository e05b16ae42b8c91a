/**
 * Device revocation (C1): the one path by which a device loses its authority, whatever the cause
 * (re-registration of the number, an admin action, later unlinking). Storage marks the devices
 * revoked and drops their memberships, queues and KeyPackages; then every server process is told
 * at once, so open sockets of those devices close (4003) and none of their frames or queued sends
 * runs after that, on this node or any other (services/revocations.ts).
 */
import type { ServerContext } from '../context.ts';
import type { RevocationReason } from '../services/revocations.ts';

/**
 * Revoke active devices of an account: all of them (`deviceIds` null) or those listed. Returns the
 * ids revoked by this call (already revoked or foreign ids are ignored); callers that must refuse
 * unknown ids check them first.
 */
export async function revokeDevices(
  ctx: ServerContext,
  accountId: string,
  deviceIds: readonly string[] | null,
  reason: RevocationReason,
): Promise<string[]> {
  const revoked = await ctx.storage.accounts.revokeDevices(accountId, deviceIds, ctx.now());
  await cutOffDevices(ctx, accountId, revoked, reason);
  return revoked;
}

/**
 * What follows a revocation committed to storage: forget cached routing, and cut the devices off
 * on every process (here synchronously, elsewhere over the bus) before the caller is answered.
 * Re-registration, which revokes inside its own transaction, calls this with the ids it revoked.
 */
export async function cutOffDevices(
  ctx: ServerContext,
  accountId: string,
  deviceIds: readonly string[],
  reason: RevocationReason,
): Promise<void> {
  if (!deviceIds.length) return;
  // The revoked devices left conversations this process may have cached.
  ctx.routing.clear();
  try {
    await ctx.revocations.announce(deviceIds, reason);
  } catch (err) {
    // Storage already refuses the devices and this node has cut them off; other nodes do it at
    // their next sweep. Say so loudly rather than fail a revocation that has committed.
    ctx.log.error({ err, accountId, devices: deviceIds, reason }, 'revocation not announced to other nodes');
  }
  ctx.log.info({ accountId, devices: deviceIds, reason }, 'devices revoked');
}
