/**
 * Device identities and KeyPackage generation (C2). A device is one MLS member: its basic
 * credential is the UTF-8 device id and its leaf signature key is the device signing key the
 * server registered, so the Delivery Service can check KeyPackages against the device record.
 */
import {
  decode,
  encode,
  generateKeyPackageWithKey,
  mlsMessageDecoder,
  mlsMessageEncoder,
  privateKeyPackageDecoder,
  privateKeyPackageEncoder,
  protocolVersions,
  wireformats,
  type KeyPackage,
  type PrivateKeyPackage,
} from 'ts-mls';
import { ParleyError, deviceIdSchema, fromB64, toB64 } from '@parley/protocol';
import { bytesEqual } from './bytes.ts';
import { signingPublicKey, type SigningKeyPair } from './keys.ts';
import { inspectKeyPackage } from './keypackage.ts';
import { cipherSuite, deviceCredential } from './mls-context.ts';

/** A device's MLS identity: its id and Ed25519 signing key pair (plain data, safe to persist). */
export interface DeviceIdentity {
  deviceId: string;
  signingKey: SigningKeyPair;
}

/**
 * Private half of one KeyPackage, JSON-safe (base64url strings) so the SDK can persist it anywhere.
 * Keep it until a Welcome consumes it; a last-resort bundle is kept even after use.
 */
export interface KeyPackageSecret {
  /** base64url RFC 9420 KeyPackageRef; Welcome messages name the KeyPackage by it. */
  ref: string;
  /** base64url of the public KeyPackage MLSMessage (the bytes uploaded). */
  keyPackage: string;
  /** base64url of the ts-mls PrivateKeyPackage encoding (init, leaf HPKE and signature keys). */
  privateKeys: string;
  lastResort: boolean;
}

/** Result of {@link generateKeyPackages}. */
export interface GeneratedKeyPackages {
  /** KeyPackage MLSMessages (RFC 9420 §6, wire_format 5), ready to upload as base64url. */
  publicKeyPackages: Uint8Array[];
  /** Matching private bundles, same order. */
  privateBundles: KeyPackageSecret[];
}

/** KeyPackages live 90 days (ts-mls refuses lifetimes over 4 months; the server prunes older). */
const LIFETIME_SECONDS = 90n * 86400n;

/**
 * Bind a device id to its signing key pair. Throws `bad_request` when the id is not a device id or
 * the public key does not match the private key.
 */
export function createDeviceIdentity(deviceId: string, signingKeyPair: SigningKeyPair): DeviceIdentity {
  if (!deviceIdSchema.safeParse(deviceId).success)
    throw new ParleyError('bad_request', { message: 'not a device id', details: { deviceId } });
  if (!bytesEqual(signingPublicKey(signingKeyPair.privateKey), signingKeyPair.publicKey)) {
    throw new ParleyError('bad_request', { message: 'signing public key does not match the private key' });
  }
  return {
    deviceId,
    signingKey: { publicKey: signingKeyPair.publicKey.slice(), privateKey: signingKeyPair.privateKey.slice() },
  };
}

/** Build one KeyPackage for `identity` (ts-mls objects; internal). */
export async function newKeyPackage(
  identity: DeviceIdentity,
): Promise<{ publicPackage: KeyPackage; privatePackage: PrivateKeyPackage }> {
  const now = BigInt(Math.floor(Date.now() / 1000));
  return generateKeyPackageWithKey({
    credential: deviceCredential(identity.deviceId),
    signatureKeyPair: { signKey: identity.signingKey.privateKey, publicKey: identity.signingKey.publicKey },
    cipherSuite: await cipherSuite(),
    // Start a day early so clocks running slightly behind still accept the leaf.
    lifetime: { notBefore: now - 86400n, notAfter: now + LIFETIME_SECONDS },
  });
}

/** Wrap a KeyPackage in its MLSMessage encoding. */
export function encodeKeyPackageMessage(keyPackage: KeyPackage): Uint8Array {
  return encode(mlsMessageEncoder, {
    wireformat: wireformats.mls_key_package,
    version: protocolVersions.mls10,
    keyPackage,
  });
}

/** Decode a KeyPackage MLSMessage into the ts-mls object (internal; run inspectKeyPackage first). */
export function decodeKeyPackageMessage(bytes: Uint8Array): KeyPackage {
  const msg = decode(mlsMessageDecoder, bytes);
  if (!msg || msg.wireformat !== wireformats.mls_key_package) throw new ParleyError('keypackage_malformed');
  return msg.keyPackage;
}

/**
 * Generate `count` KeyPackages for upload. With `lastResort` the bundles are marked so the SDK keeps
 * them after use (upload the one last-resort KeyPackage in the `lastResort` field). Each one is run
 * through {@link inspectKeyPackage} before it is returned, so a library regression cannot publish a
 * KeyPackage the server would refuse.
 */
export async function generateKeyPackages(
  identity: DeviceIdentity,
  count: number,
  opts: { lastResort?: boolean } = {},
): Promise<GeneratedKeyPackages> {
  if (!Number.isInteger(count) || count < 0)
    throw new ParleyError('bad_request', { message: 'count must be a non-negative integer' });
  const publicKeyPackages: Uint8Array[] = [];
  const privateBundles: KeyPackageSecret[] = [];
  for (let i = 0; i < count; i++) {
    const { publicPackage, privatePackage } = await newKeyPackage(identity);
    const bytes = encodeKeyPackageMessage(publicPackage);
    const info = inspectKeyPackage(bytes, { deviceId: identity.deviceId, signingKey: identity.signingKey.publicKey });
    publicKeyPackages.push(bytes);
    privateBundles.push({
      ref: toB64(info.ref),
      keyPackage: toB64(bytes),
      privateKeys: toB64(encode(privateKeyPackageEncoder, privatePackage)),
      lastResort: opts.lastResort === true,
    });
  }
  return { publicKeyPackages, privateBundles };
}

/** Decode a stored private bundle back into ts-mls objects (internal). */
export function openKeyPackageSecret(secret: KeyPackageSecret): {
  keyPackage: KeyPackage;
  privateKeys: PrivateKeyPackage;
} {
  const privateKeys = decode(privateKeyPackageDecoder, fromB64(secret.privateKeys));
  if (!privateKeys) throw new ParleyError('bad_request', { message: 'corrupt KeyPackage secret' });
  return { keyPackage: decodeKeyPackageMessage(fromB64(secret.keyPackage)), privateKeys };
}
