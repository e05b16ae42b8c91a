/**
 * Web Push subscriptions (C18, docs/notifications.md): each device sets, replaces or deletes its
 * own subscription (the routes name no device: a device can only ever touch its own), and reads
 * the server's VAPID public key to subscribe with. An endpoint held by another device is refused
 * (`push_endpoint_in_use`), so one account cannot redirect or silence another's wake-ups.
 */
import { ParleyError, PUSH_LIMITS, type PushState, type PushSubscriptionBody } from '@parley/protocol';
import type { AuthedCaller, ServerContext } from '../context.ts';
import type { PushSubscriptionRow } from '../storage/types.ts';
import { HOUR } from '../durations.ts';
import { endpointProblem, parseSubscriptionKeys } from '../services/push.ts';
import { enforceLimit } from './limits.ts';

const changeRule = { limit: PUSH_LIMITS.changesPerHour, windowMs: HOUR };

/** What a device may see of its own subscription: the push service's origin, never the full URL. */
function stateOf(row: PushSubscriptionRow | null): PushState {
  if (!row) return { subscribed: false, origin: null, updatedAt: null };
  return { subscribed: true, origin: new URL(row.endpoint).origin, updatedAt: row.updatedAt };
}

/** The server's VAPID public key. */
export async function vapidKey(ctx: ServerContext) {
  return { publicKey: ctx.push.publicKey };
}

/** This device's subscription state. */
export async function getSubscription(ctx: ServerContext, caller: AuthedCaller): Promise<PushState> {
  return stateOf(await ctx.storage.push.getSubscription(caller.deviceId));
}

/** Set or replace this device's subscription, after checking the endpoint and the keys. */
export async function setSubscription(
  ctx: ServerContext,
  caller: AuthedCaller,
  body: PushSubscriptionBody,
): Promise<PushState> {
  const problem = endpointProblem(body.endpoint, ctx.config.pushHttpHosts);
  if (problem) throw new ParleyError('push_endpoint_invalid', { message: `The endpoint ${problem}.` });
  const keys = parseSubscriptionKeys(body.keys);
  if (!keys) throw new ParleyError('push_keys_invalid');
  await enforceLimit(ctx, `push:${caller.deviceId}`, changeRule);
  const row: PushSubscriptionRow = {
    deviceId: caller.deviceId,
    accountId: caller.accountId,
    endpoint: body.endpoint,
    p256dh: keys.p256dh,
    auth: keys.auth,
    updatedAt: ctx.now(),
  };
  if ((await ctx.storage.push.putSubscription(row)) === 'endpoint_in_use')
    throw new ParleyError('push_endpoint_in_use');
  return stateOf(row);
}

/** Delete this device's subscription (idempotent): it gets no more wake-ups. */
export async function deleteSubscription(ctx: ServerContext, caller: AuthedCaller): Promise<PushState> {
  await enforceLimit(ctx, `push:${caller.deviceId}`, changeRule);
  await ctx.storage.push.deleteSubscription(caller.deviceId);
  return stateOf(null);
}
