/** HTTP request and response bodies (C1 accounts, C2 KeyPackages and conversations, C3 history). */
import { z } from 'zod';
import {
  accountIdSchema,
  b64,
  clientMessageIdSchema,
  conversationIdSchema,
  deviceIdSchema,
  LIMITS,
  messageIdSchema,
  phoneSchema,
  registrationSessionIdSchema,
} from './common.ts';

// ---------- registration (C1)
export const requestCodeBody = z.object({ phone: phoneSchema }).strict();
/** `sessionId` names this request; `verify` must carry it, and only its own code counts there. */
export const requestCodeResponse = z.object({
  sessionId: registrationSessionIdSchema,
  expiresInSeconds: z.number().int(),
  resendAfterSeconds: z.number().int(),
});

/**
 * The bytes the identity key signs to prove possession at registration:
 * UTF-8 of `parley-identity-v1|<phone>|<code>|<identityKey b64>`.
 */
export const identityProofMessage = (phone: string, code: string, identityKey: string) =>
  new TextEncoder().encode(`parley-identity-v1|${phone}|${code}|${identityKey}`);

/**
 * The bytes an account identity key signs to certify a device signing key:
 * UTF-8 of `parley-device-v1|<signingKey b64>`.
 */
export const deviceCertMessage = (signingKey: string) => new TextEncoder().encode(`parley-device-v1|${signingKey}`);

export const newDeviceSchema = z
  .object({
    name: z.string().min(1).max(64),
    /** Ed25519 key this device signs MLS leaves with. */
    signingKey: b64(32),
    /** Ed25519 signature by the account identity key over `deviceCertMessage(signingKey)`. */
    signingKeyCert: b64(64),
  })
  .strict();

export const verifyBody = z
  .object({
    /** The `sessionId` the code request answered with: the code is checked against that request only. */
    sessionId: registrationSessionIdSchema,
    phone: phoneSchema,
    code: z.string().regex(/^[0-9]{6}$/, 'must be 6 digits'),
    /** Ed25519 account identity key (one per account). */
    identityKey: b64(32),
    /** Signature over `identityProofMessage(phone, code, identityKey)`. */
    identityProof: b64(64),
    registrationLockPin: z.string().min(4).max(32).optional(),
    device: newDeviceSchema,
  })
  .strict();
export const verifyResponse = z.object({
  accountId: accountIdSchema,
  deviceId: deviceIdSchema,
  token: z.string(),
  newAccount: z.boolean(),
});

export const setPinBody = z.object({ pin: z.string().min(4).max(32).nullable() }).strict();

/**
 * One device as the directory shows it. `name` (what its owner called it, e.g. "Alice's laptop") is
 * shown to the account's own devices only: others need the keys to encrypt, not the name (C12).
 */
export const deviceInfoSchema = z.object({
  deviceId: deviceIdSchema,
  name: z.string().optional(),
  signingKey: z.string(),
  signingKeyCert: z.string(),
  createdAt: z.number(),
});
/** The account's device list as its identity key signed it (docs/devices.md); clients verify it. */
export const signedDeviceListSchema = z.object({
  version: z.number().int(),
  issuedAt: z.number().int(),
  devices: z.array(z.object({ deviceId: deviceIdSchema, signingKey: z.string() })),
  signature: z.string(),
});
export const accountInfoSchema = z.object({
  /**
   * Present when the account is a business number (C10): its verified name, and who holds the
   * keys of its devices (`platform`: the server's operator runs its device, the hosted mode).
   */
  business: z.object({ verifiedName: z.string(), keys: z.enum(['platform', 'business']) }).optional(),
  accountId: accountIdSchema,
  identityKey: z.string(),
  devices: z.array(deviceInfoSchema),
  /** Absent until a device of the account has published one under its current identity key. */
  deviceList: signedDeviceListSchema.optional(),
});
export const meResponse = accountInfoSchema.extend({
  phone: phoneSchema,
  deviceId: deviceIdSchema,
  registrationLock: z.boolean(),
});
/** `logout`: the calling device's credentials are revoked; its token is refused from now on. */
export const logoutResponse = z.object({ deviceId: deviceIdSchema, revoked: z.literal(true) });

// ---------- KeyPackages (C2, C13)
export const uploadKeyPackagesBody = z
  .object({
    keyPackages: z.array(b64(LIMITS.keyPackageBytes)).max(LIMITS.keyPackagesPerUpload),
    lastResort: b64(LIMITS.keyPackageBytes).optional(),
  })
  .strict();
export const uploadKeyPackagesResponse = z.object({ stored: z.number().int(), available: z.number().int() });
export const keyPackageCountResponse = z.object({ available: z.number().int(), lastResort: z.boolean() });
export const claimKeyPackagesBody = z
  .object({
    accountIds: z.array(accountIdSchema).min(1).max(256),
    /** Only these devices of the named accounts (adding one newly linked device); default all. */
    deviceIds: z.array(deviceIdSchema).min(1).max(64).optional(),
  })
  .strict();
export const claimedKeyPackageSchema = z.object({
  accountId: accountIdSchema,
  deviceId: deviceIdSchema,
  keyPackage: z.string(),
  lastResort: z.boolean(),
});
export const claimKeyPackagesResponse = z.object({ keyPackages: z.array(claimedKeyPackageSchema) });

// ---------- conversations (C2)
export const roleSchema = z.enum(['admin', 'member']);
export const conversationKindSchema = z.enum(['direct', 'group']);
export const createConversationBody = z
  .object({
    conversationId: conversationIdSchema,
    kind: conversationKindSchema,
  })
  .strict();
export const memberSchema = z.object({
  accountId: accountIdSchema,
  role: roleSchema,
  devices: z.array(deviceIdSchema),
});
export const conversationSchema = z.object({
  conversationId: conversationIdSchema,
  kind: conversationKindSchema,
  epoch: z.number().int().nonnegative(),
  members: z.array(memberSchema),
  createdAt: z.number(),
});
export const conversationListResponse = z.object({ conversations: z.array(conversationSchema) });
export const setRoleBody = z.object({ accountId: accountIdSchema, role: roleSchema }).strict();

/** One entry of a conversation's ordered handshake log. */
export const commitRecordSchema = z.object({
  epoch: z.number().int(),
  messageId: messageIdSchema,
  senderDevice: deviceIdSchema,
  commit: z.string(),
  sentAt: z.number(),
});
export const commitLogResponse = z.object({ commits: z.array(commitRecordSchema) });

export { clientMessageIdSchema };
