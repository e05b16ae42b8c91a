/**
 * Linked devices (C1, docs/devices.md). An existing device opens a link session; the new device
 * answers it (unauthenticated: it has no account yet) with its ephemeral key, a sealed request and
 * the hash of a token it chose; the existing device reads that, certifies the new device's signing
 * key with the account identity key and approves, which registers the device; the new device then
 * fetches the sealed reply with its token. The server relays ciphertext only, and cannot link a
 * device by itself: the device is added only with a certificate under the account's identity key,
 * presented by a device of that account, for a session that device opened and someone answered.
 *
 * Also here: the account's signed device list and unlinking (which revokes through `devices.ts`).
 */
import { createHash } from 'node:crypto';
import { ParleyError, deviceCertMessage, deviceListMessage, fromB64, toB64 } from '@parley/protocol';
import type { z } from 'zod';
import type { deviceListBody, linkApproveBody, linkFetchBody, linkJoinBody } from '@parley/protocol';
import { validateEd25519PublicKey, validateX25519PublicKey, verifySignature } from '@parley/crypto';
import type { AuthedCaller, Caller, ServerContext } from '../context.ts';
import type { LinkSessionRow } from '../storage/types.ts';
import { StorageConflict } from '../storage/types.ts';
import { newId } from '../ids.ts';
import { enforceLimit } from './limits.ts';
import { revokeDevices } from './devices.ts';

/** How long a link code lasts. */
export const LINK_TTL_MS = 10 * 60_000;
const JOIN_WINDOW_MS = 10 * 60_000;

function sha256(text: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(text).digest());
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Active devices an account may have: its first one plus `maxLinkedDevices`. */
function maxDevices(ctx: ServerContext): number {
  return ctx.config.maxLinkedDevices + 1;
}

/** Open a link session for the calling device; refused at once when the account is full. */
export async function startLink(ctx: ServerContext, caller: AuthedCaller) {
  const devices = await ctx.storage.accounts.listDevices(caller.accountId);
  if (devices.length >= maxDevices(ctx)) throw new ParleyError('device_limit', { details: { max: maxDevices(ctx) } });
  const now = ctx.now();
  const row: LinkSessionRow = {
    id: newId('l'),
    accountId: caller.accountId,
    deviceId: caller.deviceId,
    state: 'open',
    ephemeralKey: null,
    request: null,
    tokenHash: null,
    newDeviceId: null,
    reply: null,
    createdAt: now,
    expiresAt: now + LINK_TTL_MS,
  };
  await ctx.storage.accounts.createLinkSession(row);
  return { linkId: row.id, expiresInSeconds: LINK_TTL_MS / 1000 };
}

/** The new device answers a link code, once; a second answer is `link_used`, a stale code `link_expired`. */
export async function joinLink(ctx: ServerContext, caller: Caller, body: z.infer<typeof linkJoinBody>) {
  await enforceLimit(ctx, `linkjoin:ip:${caller.ip}`, { limit: ctx.config.linkJoinsPerIp, windowMs: JOIN_WINDOW_MS });
  const ephemeralKey = fromB64(body.ephemeralKey);
  validateX25519PublicKey(ephemeralKey);
  const tokenHash = fromB64(body.tokenHash);
  if (tokenHash.length !== 32) throw new ParleyError('bad_request', { details: { field: 'tokenHash' } });
  const request = fromB64(body.request);
  const result = await ctx.storage.accounts.joinLinkSession(
    body.linkId,
    { ephemeralKey, request, tokenHash },
    ctx.now(),
  );
  if (result === 'expired') throw new ParleyError('link_expired');
  if (result === 'used') throw new ParleyError('link_used');
  return { linkId: body.linkId, state: 'joined' as const };
}

/** A session the caller opened and that has not expired, else `link_expired` (others' ids look the same). */
async function ownSession(ctx: ServerContext, caller: AuthedCaller, linkId: string): Promise<LinkSessionRow> {
  const row = await ctx.storage.accounts.getLinkSession(linkId);
  if (!row || row.deviceId !== caller.deviceId || row.expiresAt < ctx.now()) throw new ParleyError('link_expired');
  return row;
}

/** The opening device's view: the new device's key and sealed request once joined; once approved, readiness. */
export async function linkStatus(ctx: ServerContext, caller: AuthedCaller, linkId: string) {
  const row = await ownSession(ctx, caller, linkId);
  let ready: boolean | undefined;
  if (row.newDeviceId) {
    const count = await ctx.storage.accounts.countKeyPackages(row.newDeviceId);
    ready = count.available > 0 || count.lastResort;
  }
  return {
    linkId: row.id,
    state: row.state,
    expiresAt: row.expiresAt,
    ...(row.ephemeralKey ? { ephemeralKey: toB64(row.ephemeralKey) } : {}),
    ...(row.request ? { request: toB64(row.request) } : {}),
    ...(row.newDeviceId ? { deviceId: row.newDeviceId } : {}),
    ...(ready !== undefined ? { ready } : {}),
  };
}

/**
 * The opening device approves: the new device's signing key must be valid, never used, and
 * certified by this account's identity key; the account must have room. Then the device exists,
 * with the token whose hash the new device sent, and the sealed reply waits for it.
 */
export async function approveLink(ctx: ServerContext, caller: AuthedCaller, body: z.infer<typeof linkApproveBody>) {
  const session = await ownSession(ctx, caller, body.linkId);
  if (session.state === 'open') throw new ParleyError('link_not_joined');
  const account = await ctx.storage.accounts.getAccount(caller.accountId);
  if (!account) throw new ParleyError('unauthenticated');
  const signingKey = fromB64(body.device.signingKey);
  validateEd25519PublicKey(signingKey);
  const cert = fromB64(body.device.signingKeyCert);
  if (!verifySignature(account.identityKey, deviceCertMessage(body.device.signingKey), cert))
    throw new ParleyError('signature_invalid', {
      message: "The device certificate is not signed by this account's identity key.",
      details: { field: 'device.signingKeyCert' },
    });
  const now = ctx.now();
  const deviceId = newId('d');
  let result;
  try {
    result = await ctx.storage.accounts.approveLinkSession(
      body.linkId,
      {
        id: deviceId,
        accountId: caller.accountId,
        name: body.device.name,
        signingKey,
        signingKeyCert: cert,
        createdAt: now,
        revokedAt: null,
      },
      fromB64(body.reply),
      maxDevices(ctx),
      now,
    );
  } catch (e) {
    if (e instanceof StorageConflict && e.code === 'key_reused')
      throw new ParleyError('key_reused', { details: { field: 'device.signingKey' } });
    throw e;
  }
  if (!result.ok) {
    if (result.reason === 'expired') throw new ParleyError('link_expired');
    if (result.reason === 'not_joined') throw new ParleyError('link_not_joined');
    if (result.reason === 'used') throw new ParleyError('link_used');
    throw new ParleyError('device_limit', { details: { max: maxDevices(ctx) } });
  }
  ctx.log.info({ accountId: caller.accountId, deviceId, by: caller.deviceId }, 'device linked');
  return { linkId: body.linkId, deviceId };
}

/**
 * The new device fetches the sealed reply, proving with its token that it is the device that
 * answered (the server holds only that token's hash). The reply is handed over once.
 */
export async function fetchLink(ctx: ServerContext, body: z.infer<typeof linkFetchBody>) {
  const row = await ctx.storage.accounts.getLinkSession(body.linkId);
  if (!row || row.expiresAt < ctx.now()) throw new ParleyError('link_expired');
  const hash = sha256(body.token);
  if (row.state === 'joined') {
    if (!row.tokenHash || !sameBytes(row.tokenHash, hash)) throw new ParleyError('unauthenticated');
    return { linkId: row.id, state: row.state };
  }
  if (row.state === 'open' || !row.newDeviceId) throw new ParleyError('unauthenticated');
  // Approved: the token is now the device's own, so the device record is the proof.
  const device = await ctx.storage.accounts.getDevice(row.newDeviceId);
  if (!device || device.revokedAt !== null || !sameBytes(device.tokenHash, hash))
    throw new ParleyError('unauthenticated');
  if (row.state === 'delivered' || !row.reply) throw new ParleyError('link_used');
  await ctx.storage.accounts.deliverLinkReply(row.id);
  return {
    linkId: row.id,
    state: 'approved' as const,
    accountId: row.accountId,
    deviceId: row.newDeviceId,
    reply: toB64(row.reply),
  };
}

/** The opening device gives up (a forged request, the user said no): the code stops working. */
export async function cancelLink(ctx: ServerContext, caller: AuthedCaller, linkId: string) {
  const row = await ownSession(ctx, caller, linkId);
  // An approved link made a device already: that device is unlinked, not cancelled.
  if (row.state === 'approved' || row.state === 'delivered') throw new ParleyError('link_used');
  await ctx.storage.accounts.deleteLinkSession(linkId);
  return { linkId, cancelled: true as const };
}

/** Unlink one of the account's devices (any device of the account may): revoked at once, everywhere. */
export async function unlinkDevice(ctx: ServerContext, caller: AuthedCaller, deviceId: string) {
  const device = await ctx.storage.accounts.getDevice(deviceId);
  if (!device || device.accountId !== caller.accountId || device.revokedAt !== null)
    throw new ParleyError('device_not_found', { details: { deviceId } });
  await revokeDevices(ctx, caller.accountId, [deviceId], 'unlink');
  return { deviceId, revoked: true as const };
}

/**
 * Store the account's device list, signed by its identity key over `deviceListMessage`; the
 * version must grow (`device_list_invalid` otherwise). Every listed device must be an active
 * device of the account with that signing key, so the list says what the server routes to.
 */
export async function putDeviceList(ctx: ServerContext, caller: AuthedCaller, body: z.infer<typeof deviceListBody>) {
  const account = await ctx.storage.accounts.getAccount(caller.accountId);
  if (!account) throw new ParleyError('unauthenticated');
  const { signature, ...list } = body;
  if (!verifySignature(account.identityKey, deviceListMessage(caller.accountId, list), fromB64(signature)))
    throw new ParleyError('device_list_invalid', {
      message: "The device list is not signed by the account's identity key.",
    });
  const active = new Map(
    (await ctx.storage.accounts.listDevices(caller.accountId)).map((d) => [d.id, toB64(d.signingKey)]),
  );
  for (const d of list.devices)
    if (active.get(d.deviceId) !== d.signingKey)
      throw new ParleyError('device_list_invalid', {
        message: 'The device list names a device that is not an active device of this account.',
        details: { deviceId: d.deviceId },
      });
  const stored = await ctx.storage.accounts.putDeviceList({
    accountId: caller.accountId,
    identityKey: account.identityKey,
    version: list.version,
    issuedAt: list.issuedAt,
    devices: list.devices,
    signature: fromB64(signature),
  });
  if (!stored)
    throw new ParleyError('device_list_invalid', {
      message: 'A device list with this version or a newer one is stored.',
    });
  return { version: list.version };
}
