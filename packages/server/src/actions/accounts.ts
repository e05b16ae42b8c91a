/**
 * Account actions (C1): verification codes, registration with proof of possession of the identity
 * key, registration-lock PIN, device lookups. The phone number is an attribute of an account whose
 * id is random; each device has its own bearer token, stored only as a SHA-256 hash.
 *
 * Each code request is a session: the requester gets its id back and must verify with it. Codes
 * and wrong-guess counts belong to the session, so someone guessing codes for a number (under their
 * own session, or none) can neither void nor spend the code its owner requested. Guesses are limited
 * per session (5 wrong codes void it; PARLEY_VERIFY_PER_SESSION attempts per hour) and per IP
 * (PARLEY_VERIFY_PER_IP); sessions per number are limited by PARLEY_REGISTRATION_PER_NUMBER, which
 * bounds the guesses anyone gets at one number.
 */
import { createHash, randomInt, scryptSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { ParleyError, deviceCertMessage, fromB64, identityProofMessage, toB64 } from '@parley/protocol';
import type { z } from 'zod';
import type { verifyBody, accountInfoSchema } from '@parley/protocol';
import { validateEd25519PublicKey, verifySignature } from '@parley/crypto';
import type { AuthedCaller, Caller, ServerContext } from '../context.ts';
import type { AccountRow, DeviceRow } from '../storage/types.ts';
import { StorageConflict } from '../storage/types.ts';
import { newId, newToken } from '../ids.ts';
import { enforceLimit } from './limits.ts';
import { HOUR } from '../durations.ts';
import { cutOffDevices, revokeDevices } from './devices.ts';

const CODE_TTL_MS = 10 * 60_000;
const RESEND_AFTER_S = 30;
const MAX_CODE_ATTEMPTS = 5;

/** Canonical E.164 form of a number, or `phone_invalid`. */
export function normalisePhone(phone: string): string {
  const parsed = parsePhoneNumberFromString(phone);
  if (!parsed || !parsed.isValid()) throw new ParleyError('phone_invalid');
  return parsed.number;
}

function codeHash(sessionId: string, phone: string, code: string): string {
  return createHash('sha256').update(`${sessionId}|${phone}|${code}`).digest('hex');
}

/** SHA-256 of a bearer token: what the database holds instead of the token. */
export function tokenHash(token: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(token).digest());
}

function hashPin(pin: string): string {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('hex')}$${scryptSync(pin, salt, 32).toString('hex')}`;
}

function pinMatches(pin: string, stored: string): boolean {
  const [, saltHex, hashHex] = stored.split('$');
  if (!saltHex || !hashHex) return false;
  const got = scryptSync(pin, Buffer.from(saltHex, 'hex'), 32);
  return timingSafeEqual(got, Buffer.from(hashHex, 'hex'));
}

/**
 * Send a 6-digit code to a number, bound to a new session whose id is returned (and needed to
 * verify); limited per number and per IP. Earlier requests for the number stay valid.
 */
export async function requestCode(ctx: ServerContext, caller: Caller, body: { phone: string }) {
  const phone = normalisePhone(body.phone);
  await enforceLimit(ctx, `reg:ip:${caller.ip}`, { limit: ctx.config.registrationPerIpPerHour, windowMs: HOUR });
  await enforceLimit(ctx, `reg:num:${phone}`, { limit: ctx.config.registrationPerNumberPerHour, windowMs: HOUR });
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const now = ctx.now();
  const sessionId = newId('r');
  // Sessions are keyed by their own id, so a new one never overwrites an expired one: clear those here.
  await ctx.storage.accounts.deleteExpiredVerificationSessions(now);
  await ctx.storage.accounts.putVerificationSession({
    id: sessionId,
    phone,
    codeHash: codeHash(sessionId, phone, code),
    expiresAt: now + CODE_TTL_MS,
    attempts: 0,
    createdAt: now,
  });
  try {
    // A hosted business device registering its own number takes its code in process (C10).
    if (!ctx.business.codes.take(phone, code)) await ctx.sender.send(phone, code);
  } catch (err) {
    ctx.log.error({ err, sender: ctx.sender.name }, 'verification sender failed');
    await ctx.storage.accounts.deleteVerificationSession(sessionId);
    throw new ParleyError('sender_unavailable');
  }
  return { sessionId, expiresInSeconds: CODE_TTL_MS / 1000, resendAfterSeconds: RESEND_AFTER_S };
}

/**
 * Delete expired verification codes and the numbers they were sent to, and expired link sessions
 * with whatever sealed messages they still hold (docs/privacy.md promises both are kept for 10
 * minutes). A code or link past its expiry is refused anyway; this removes the row.
 */
export async function sweepExpiredCodes(
  ctx: ServerContext,
  now = ctx.now(),
): Promise<{ codes: number; links: number }> {
  return {
    codes: await ctx.storage.accounts.deleteExpiredVerificationSessions(now),
    links: await ctx.storage.accounts.deleteExpiredLinkSessions(now),
  };
}

function decodeKey(text: string, field: string, length: number): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = fromB64(text);
  } catch {
    throw new ParleyError('bad_request', { details: { field, problem: 'not base64url' } });
  }
  if (bytes.length !== length)
    throw new ParleyError(length === 32 ? 'key_wrong_length' : 'signature_invalid', { details: { field } });
  return bytes;
}

/**
 * Check the code of the caller's session, the identity key (validity and proof of possession), the
 * device certificate and the registration lock, then create the account or re-register it onto a
 * new first device.
 */
export async function verifyRegistration(ctx: ServerContext, caller: Caller, body: z.infer<typeof verifyBody>) {
  const phone = normalisePhone(body.phone);
  await enforceLimit(ctx, `verify:ip:${caller.ip}`, { limit: ctx.config.verifyPerIpPerHour, windowMs: HOUR });
  const pending = await ctx.storage.accounts.getVerificationSession(body.sessionId);
  // A session for another number is as good as none: its code was sent elsewhere.
  if (!pending || pending.phone !== phone || pending.expiresAt < ctx.now() || pending.attempts >= MAX_CODE_ATTEMPTS)
    throw new ParleyError('code_expired');
  // Keyed by a session that exists, so made-up ids cannot fill the limiter.
  await enforceLimit(ctx, `verify:session:${pending.id}`, {
    limit: ctx.config.verifyPerSessionPerHour,
    windowMs: HOUR,
  });
  if (codeHash(pending.id, phone, body.code) !== pending.codeHash) {
    await ctx.storage.accounts.incrementVerificationAttempts(pending.id);
    throw new ParleyError('code_invalid');
  }

  const identityKey = decodeKey(body.identityKey, 'identityKey', 32);
  validateEd25519PublicKey(identityKey);
  const proof = decodeKey(body.identityProof, 'identityProof', 64);
  if (!verifySignature(identityKey, identityProofMessage(phone, body.code, body.identityKey), proof))
    throw new ParleyError('identity_proof_invalid');
  const signingKey = decodeKey(body.device.signingKey, 'device.signingKey', 32);
  validateEd25519PublicKey(signingKey);
  const cert = decodeKey(body.device.signingKeyCert, 'device.signingKeyCert', 64);
  if (!verifySignature(identityKey, deviceCertMessage(body.device.signingKey), cert))
    throw new ParleyError('signature_invalid', { details: { field: 'device.signingKeyCert' } });

  const existing = await ctx.storage.accounts.getAccountByPhone(phone);
  if (existing?.pinHash) {
    if (!body.registrationLockPin || !pinMatches(body.registrationLockPin, existing.pinHash))
      throw new ParleyError('registration_locked');
  }

  const now = ctx.now();
  const token = newToken();
  const account: AccountRow = existing
    ? { ...existing, identityKey }
    : { id: newId('a'), phone, identityKey, pinHash: null, discoverable: true, createdAt: now };
  const device: DeviceRow = {
    id: newId('d'),
    accountId: account.id,
    name: body.device.name,
    signingKey,
    signingKeyCert: cert,
    tokenHash: tokenHash(token),
    createdAt: now,
    revokedAt: null,
  };
  try {
    const res = await ctx.storage.accounts.registerAccount({ account, device });
    // Re-registration revoked every earlier device: cut them off everywhere before answering.
    await cutOffDevices(ctx, res.account.id, res.revokedDeviceIds, 're-registration');
    if (!res.newAccount) ctx.routing.clear();
    await ctx.storage.accounts.deleteVerificationSession(pending.id);
    // A new account is findable by number until it says otherwise (the default of "everyone").
    if (res.newAccount && res.account.discoverable) await ctx.discovery.setFindable(res.account.id, phone, true);
    // Every new binding goes into the transparency log; a failure here is retried in the background.
    await ctx.transparency.bind(res.account.id, identityKey).catch((err: unknown) => {
      ctx.log.error({ err, accountId: res.account.id }, 'key transparency: binding not logged; retrying');
      ctx.transparency.repairSoon();
    });
    ctx.log.info({ accountId: res.account.id, deviceId: device.id, newAccount: res.newAccount }, 'device registered');
    return { accountId: res.account.id, deviceId: device.id, token, newAccount: res.newAccount };
  } catch (e) {
    if (e instanceof StorageConflict && e.code === 'key_reused')
      throw new ParleyError('key_reused', { details: { field: 'identityKey or device.signingKey' } });
    throw e;
  }
}

/** Resolve a bearer token to its device, or `unauthenticated`. */
export async function authenticate(
  ctx: ServerContext,
  token: string | undefined,
): Promise<{ accountId: string; deviceId: string }> {
  if (!token || token.length > 200) throw new ParleyError('unauthenticated');
  const device = await ctx.storage.accounts.getDeviceByTokenHash(tokenHash(token));
  if (!device || device.revokedAt !== null) throw new ParleyError('unauthenticated');
  return { accountId: device.accountId, deviceId: device.id };
}

/** Set or clear the registration-lock PIN. */
export async function setPin(ctx: ServerContext, caller: AuthedCaller, body: { pin: string | null }) {
  await ctx.storage.accounts.setAccountPin(caller.accountId, body.pin === null ? null : hashPin(body.pin));
  return { registrationLock: body.pin !== null };
}

/**
 * Account info: identity key, active devices and the device list the identity key signed (if any);
 * device names only when `own` (the caller's own account).
 */
export async function accountInfo(
  ctx: ServerContext,
  accountId: string,
  own: boolean,
): Promise<z.infer<typeof accountInfoSchema>> {
  const account = await ctx.storage.accounts.getAccount(accountId);
  if (!account) throw new ParleyError('account_not_found');
  const devices = await ctx.storage.accounts.listDevices(accountId);
  const list = await ctx.storage.accounts.getDeviceList(accountId);
  // A list signed under an identity key the account no longer has (re-registration) is void.
  const signed = list && sameKey(list.identityKey, account.identityKey) ? list : null;
  // A business number's account says so, and who holds its keys (C10: the platform, in the hosted mode).
  const business = await ctx.storage.business.getNumberByPhone(account.phone);
  return {
    ...(business ? { business: { verifiedName: business.verifiedName, keys: 'platform' as const } } : {}),
    accountId: account.id,
    identityKey: toB64(account.identityKey),
    devices: devices.map((d) => ({
      deviceId: d.id,
      ...(own ? { name: d.name } : {}),
      signingKey: toB64(d.signingKey),
      signingKeyCert: toB64(d.signingKeyCert),
      createdAt: d.createdAt,
    })),
    ...(signed
      ? {
          deviceList: {
            version: signed.version,
            issuedAt: signed.issuedAt,
            devices: signed.devices,
            signature: toB64(signed.signature),
          },
        }
      : {}),
  };
}

function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The caller's own account, with phone number and lock state. */
/**
 * Log the calling device out (C1): revoke its credentials the way every revocation goes
 * (`revokeDevices`: memberships, queue and KeyPackages dropped, open sockets closed with 4003 on
 * every node). Authorised by the device's own token, which is refused (`unauthenticated`) after.
 */
export async function logout(ctx: ServerContext, caller: AuthedCaller) {
  await revokeDevices(ctx, caller.accountId, [caller.deviceId], 'logout');
  return { deviceId: caller.deviceId, revoked: true as const };
}

export async function me(ctx: ServerContext, caller: AuthedCaller) {
  const account = await ctx.storage.accounts.getAccount(caller.accountId);
  if (!account) throw new ParleyError('account_not_found');
  return {
    ...(await accountInfo(ctx, caller.accountId, true)),
    phone: account.phone,
    deviceId: caller.deviceId,
    registrationLock: account.pinHash !== null,
  };
}

/**
 * The device list of one account (keys to encrypt to, never names unless it is the caller's own),
 * limited per requester and target (PARLEY_DEVICE_LIST_FETCHES_PER_TARGET per 10 minutes).
 */
export async function getAccount(ctx: ServerContext, caller: AuthedCaller, accountId: string) {
  const own = accountId === caller.accountId;
  if (!own)
    await enforceLimit(ctx, `acct:${caller.accountId}:${accountId}`, {
      limit: ctx.config.deviceListFetchesPerTarget,
      windowMs: 10 * 60_000,
    });
  return accountInfo(ctx, accountId, own);
}
