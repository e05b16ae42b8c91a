/**
 * Linked devices (C1, docs/devices.md): the link session an existing device opens, the relay the
 * new device answers through (ciphertext only), the approval that registers the new device, the
 * account's signed device list, and unlinking.
 */
import { z } from 'zod';
import { accountIdSchema, b64, deviceIdSchema, idOf } from './common.ts';
import { newDeviceSchema } from './http.ts';

/** A link session (`l_…`): short-lived, single-use, opened by an existing device. */
export const linkIdSchema = idOf('l');
/** Largest sealed link request (new device → existing device). */
export const LINK_REQUEST_BYTES = 2048;
/** Largest sealed link reply (existing device → new device). */
export const LINK_REPLY_BYTES = 4096;

export const linkStartResponse = z.object({ linkId: linkIdSchema, expiresInSeconds: z.number().int() });

/** The new device's answer to a link code: its ephemeral X25519 key and its sealed request. */
export const linkJoinBody = z
  .object({
    linkId: linkIdSchema,
    /** The new device's ephemeral X25519 public key. */
    ephemeralKey: b64(32),
    /** `sealLinkMessage(channelKey, 'request', …)`: its signing key and name, opaque to the server. */
    request: b64(LINK_REQUEST_BYTES),
    /** SHA-256 of the bearer token the new device chose for itself (the server never sees the token). */
    tokenHash: b64(32),
  })
  .strict();
export const linkJoinResponse = z.object({ linkId: linkIdSchema, state: z.literal('joined') });

export const linkStateSchema = z.enum(['open', 'joined', 'approved', 'delivered']);

/** The existing device's view of its link session. */
export const linkParams = z.object({ linkId: linkIdSchema }).strict();
export const linkStatusResponse = z.object({
  linkId: linkIdSchema,
  state: linkStateSchema,
  expiresAt: z.number(),
  ephemeralKey: z.string().optional(),
  request: z.string().optional(),
  /** Once approved: the new device's id, and whether it has KeyPackages to be added with. */
  deviceId: deviceIdSchema.optional(),
  ready: z.boolean().optional(),
});

/** The existing device approves: the certified device and the sealed reply for the new device. */
export const linkApproveBody = z
  .object({
    linkId: linkIdSchema,
    device: newDeviceSchema,
    /** `sealLinkMessage(channelKey, 'reply', …)`: the account's keys and ids, opaque to the server. */
    reply: b64(LINK_REPLY_BYTES),
  })
  .strict();
export const linkApproveResponse = z.object({ linkId: linkIdSchema, deviceId: deviceIdSchema });

/** The new device asks for the reply, proving with its token that it is the device that joined. */
export const linkFetchBody = z.object({ linkId: linkIdSchema, token: z.string().min(16).max(200) }).strict();
export const linkFetchResponse = z.object({
  linkId: linkIdSchema,
  state: linkStateSchema,
  accountId: accountIdSchema.optional(),
  deviceId: deviceIdSchema.optional(),
  reply: z.string().optional(),
});

export const linkCancelResponse = z.object({ linkId: linkIdSchema, cancelled: z.literal(true) });

// ---------- the signed device list
export const deviceListEntrySchema = z.object({ deviceId: deviceIdSchema, signingKey: b64(32) }).strict();
/** What the account's identity key signs: `deviceListMessage(accountId, list)`. */
export const deviceListBody = z
  .object({
    version: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    issuedAt: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    devices: z.array(deviceListEntrySchema).min(1).max(64),
    signature: b64(64),
  })
  .strict();
export type DeviceList = z.infer<typeof deviceListBody>;
export const deviceListResponse = z.object({ version: z.number().int() });

/**
 * The bytes an account identity key signs for its device list: UTF-8 of
 * `parley-device-list-v1|<accountId>|<version>|<issuedAt>|<deviceId>:<signingKey>,…` with the
 * entries in the order given.
 */
export function deviceListMessage(accountId: string, list: Omit<DeviceList, 'signature'>): Uint8Array {
  const entries = list.devices.map((d) => `${d.deviceId}:${d.signingKey}`).join(',');
  return new TextEncoder().encode(`parley-device-list-v1|${accountId}|${list.version}|${list.issuedAt}|${entries}`);
}

export const unlinkParams = z.object({ deviceId: deviceIdSchema }).strict();
export const unlinkResponse = z.object({ deviceId: deviceIdSchema, revoked: z.literal(true) });
