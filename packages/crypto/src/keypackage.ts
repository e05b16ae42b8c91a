/**
 * KeyPackage inspection for the Delivery Service (C2, C13).
 *
 * The server must judge uploaded KeyPackages without any private key and without trusting the MLS
 * library to be strict (ts-mls 2.0 accepts a 31-byte key and init key = encryption key). So this
 * module decodes the RFC 9420 KeyPackage itself, keeping the exact to-be-signed byte ranges, and
 * checks signatures with strict Ed25519. It is synchronous so request handlers can call it inline.
 *
 * Wire format accepted: an MLSMessage (RFC 9420 §6) with wire_format mls_key_package (5) wrapping
 * one KeyPackage — exactly what {@link generateKeyPackages} publishes.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { ParleyError, deviceIdSchema } from '@parley/protocol';
import { DecodeError, TlsReader, bytesEqual, concatBytes, encodeVector, fromUtf8, utf8 } from './bytes.ts';
import { validateEd25519PublicKey, validateX25519PublicKey, verifySignature } from './keys.ts';

/** MLS protocol version mls10. */
export const MLS_VERSION = 1;
/** The only cipher suite Parley speaks: MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519. */
export const CIPHER_SUITE = 1;
/** RFC 9420 wire_format value of a KeyPackage MLSMessage. */
export const WIREFORMAT_KEY_PACKAGE = 5;
/** RFC 9420 credential_type basic. */
const CREDENTIAL_BASIC = 1;
/** RFC 9420 leaf_node_source key_package. */
const LEAF_SOURCE_KEY_PACKAGE = 1;

/** A decoded KeyPackage with the byte ranges its two signatures cover. */
export interface ParsedKeyPackage {
  version: number;
  cipherSuite: number;
  initKey: Uint8Array;
  encryptionKey: Uint8Array;
  signatureKey: Uint8Array;
  credentialType: number;
  /** Basic-credential identity bytes (empty for other credential types). */
  identity: Uint8Array;
  leafNodeSource: number;
  notBefore: bigint;
  notAfter: bigint;
  /** Encoded LeafNode without its signature: the LeafNodeTBS for key_package leaves. */
  leafNodeTbs: Uint8Array;
  leafNodeSignature: Uint8Array;
  /** Encoded LeafNode including its signature. */
  leafNode: Uint8Array;
  /** Encoded KeyPackage extensions vector (length prefix included). */
  extensions: Uint8Array;
  /** Encoded KeyPackage without its signature: the KeyPackageTBS. */
  tbs: Uint8Array;
  signature: Uint8Array;
  /** The encoded KeyPackage (inside the MLSMessage wrapper). */
  keyPackage: Uint8Array;
}

function parseLeafNode(r: TlsReader) {
  const start = r.offset;
  const encryptionKey = r.vector();
  const signatureKey = r.vector();
  const credentialType = r.u16();
  let identity: Uint8Array = new Uint8Array(0);
  if (credentialType === CREDENTIAL_BASIC) identity = r.vector();
  else if (credentialType === 2) r.vector();
  else throw new DecodeError('unknown credential type');
  // capabilities: versions, cipher_suites, extensions, proposals, credentials
  for (let i = 0; i < 5; i++) r.vector();
  const leafNodeSource = r.u8();
  let notBefore = 0n;
  let notAfter = 0n;
  if (leafNodeSource === LEAF_SOURCE_KEY_PACKAGE) {
    notBefore = r.u64();
    notAfter = r.u64();
  } else if (leafNodeSource === 3) r.vector();
  else if (leafNodeSource !== 2) throw new DecodeError('unknown leaf node source');
  r.vector(); // leaf extensions
  const tbsEnd = r.offset;
  const signature = r.vector();
  return {
    encryptionKey,
    signatureKey,
    credentialType,
    identity,
    leafNodeSource,
    notBefore,
    notAfter,
    leafNodeTbs: r.bytes.slice(start, tbsEnd),
    leafNodeSignature: signature,
    leafNode: r.bytes.slice(start, r.offset),
  };
}

/**
 * Decode a KeyPackage MLSMessage. Throws `ParleyError('keypackage_malformed')` when the bytes are
 * not exactly one mls10 KeyPackage message. Performs no signature or key checks.
 */
export function parseKeyPackage(bytes: Uint8Array): ParsedKeyPackage {
  try {
    const r = new TlsReader(bytes);
    if (r.u16() !== MLS_VERSION) throw new DecodeError('not mls10');
    if (r.u16() !== WIREFORMAT_KEY_PACKAGE) throw new DecodeError('not a KeyPackage message');
    const kpStart = r.offset;
    const version = r.u16();
    const cipherSuite = r.u16();
    const initKey = r.vector();
    const leaf = parseLeafNode(r);
    const extStart = r.offset;
    r.vector();
    const extensions = bytes.slice(extStart, r.offset);
    const tbs = bytes.slice(kpStart, r.offset);
    const signature = r.vector();
    if (r.remaining() !== 0) throw new DecodeError('trailing bytes');
    return { version, cipherSuite, initKey, ...leaf, extensions, tbs, signature, keyPackage: bytes.slice(kpStart) };
  } catch (e) {
    if (e instanceof ParleyError) throw e;
    throw new ParleyError('keypackage_malformed', {
      details: { reason: e instanceof Error ? e.message : 'undecodable' },
    });
  }
}

/** RFC 9420 SignContent for SignWithLabel: `"MLS 1.0 " + label` and the content, both as vectors. */
export function signContent(label: string, content: Uint8Array): Uint8Array {
  return concatBytes(encodeVector(utf8(`MLS 1.0 ${label}`)), encodeVector(content));
}

/** RFC 9420 KeyPackageRef: RefHash("MLS 1.0 KeyPackage Reference", KeyPackage) with SHA-256. */
export function keyPackageRef(keyPackage: Uint8Array): Uint8Array {
  return sha256(concatBytes(encodeVector(utf8('MLS 1.0 KeyPackage Reference')), encodeVector(keyPackage)));
}

/** What {@link inspectKeyPackage} learned from an accepted KeyPackage. */
export interface KeyPackageInfo {
  /** HPKE init key (X25519), used once to encrypt the Welcome. */
  initKey: Uint8Array;
  /** Leaf HPKE encryption key (X25519). */
  encryptionKey: Uint8Array;
  /** Leaf Ed25519 signature key (the device signing key). */
  signatureKey: Uint8Array;
  /** Basic-credential identity: the device id. */
  credentialIdentity: string;
  /** RFC 9420 KeyPackageRef (32 bytes), as named in Welcome messages. */
  ref: Uint8Array;
  /** Leaf lifetime, seconds since the epoch. */
  notBefore: bigint;
  notAfter: bigint;
}

/** Who the uploader claims to be: the KeyPackage must name this device and carry this key. */
export interface ExpectedKeyPackageOwner {
  deviceId: string;
  signingKey: Uint8Array;
}

function validateKey(kind: 'x25519' | 'ed25519', field: string, key: Uint8Array): void {
  try {
    if (kind === 'x25519') validateX25519PublicKey(key);
    else validateEd25519PublicKey(key);
  } catch (e) {
    if (e instanceof ParleyError) {
      const details = typeof e.details === 'object' && e.details !== null ? e.details : {};
      throw new ParleyError(e.code, { message: `${field}: ${e.message}`, details: { field, ...details } });
    }
    throw e;
  }
}

/**
 * Check an uploaded KeyPackage MLSMessage without any private key (the Delivery Service's C13 gate).
 * In order: it decodes (keypackage_malformed), uses mls10 and cipher suite 1 with a key_package
 * leaf (keypackage_malformed), names `expected.deviceId` in a basic credential and carries
 * `expected.signingKey` (keypackage_wrong_credential), both the KeyPackage and leaf signatures
 * verify (signature_invalid), init key ≠ encryption key (keypackage_init_equals_encryption), and
 * every public key passes the validators (key_* codes, `details.field` names the key).
 *
 * Without `expected` (clients checking a claimed KeyPackage before adding it) the credential only
 * has to be a well-formed device id; compare `credentialIdentity`/`signatureKey` yourself.
 */
export function inspectKeyPackage(bytes: Uint8Array, expected?: ExpectedKeyPackageOwner): KeyPackageInfo {
  const kp = parseKeyPackage(bytes);
  if (kp.version !== MLS_VERSION || kp.cipherSuite !== CIPHER_SUITE) {
    throw new ParleyError('keypackage_malformed', {
      details: { reason: 'unsupported version or cipher suite', cipherSuite: kp.cipherSuite },
    });
  }
  if (kp.leafNodeSource !== LEAF_SOURCE_KEY_PACKAGE)
    throw new ParleyError('keypackage_malformed', { details: { reason: 'leaf node source is not key_package' } });
  let identity: string | undefined;
  try {
    identity = kp.credentialType === CREDENTIAL_BASIC ? fromUtf8(kp.identity) : undefined;
  } catch {
    identity = undefined;
  }
  if (identity === undefined || (!expected && !deviceIdSchema.safeParse(identity).success)) {
    throw new ParleyError('keypackage_wrong_credential', {
      details: { reason: 'credential is not a basic device-id credential' },
    });
  }
  if (expected && identity !== expected.deviceId)
    throw new ParleyError('keypackage_wrong_credential', { details: { reason: 'credential identity' } });
  if (expected && !bytesEqual(kp.signatureKey, expected.signingKey))
    throw new ParleyError('keypackage_wrong_credential', { details: { reason: 'signature key' } });
  if (!verifySignature(kp.signatureKey, signContent('LeafNodeTBS', kp.leafNodeTbs), kp.leafNodeSignature)) {
    throw new ParleyError('signature_invalid', { details: { field: 'leafNode.signature' } });
  }
  if (!verifySignature(kp.signatureKey, signContent('KeyPackageTBS', kp.tbs), kp.signature)) {
    throw new ParleyError('signature_invalid', { details: { field: 'keyPackage.signature' } });
  }
  if (bytesEqual(kp.initKey, kp.encryptionKey)) throw new ParleyError('keypackage_init_equals_encryption');
  validateKey('x25519', 'initKey', kp.initKey);
  validateKey('x25519', 'encryptionKey', kp.encryptionKey);
  validateKey('ed25519', 'signatureKey', kp.signatureKey);
  return {
    initKey: kp.initKey,
    encryptionKey: kp.encryptionKey,
    signatureKey: kp.signatureKey,
    credentialIdentity: identity,
    ref: keyPackageRef(kp.keyPackage),
    notBefore: kp.notBefore,
    notAfter: kp.notAfter,
  };
}
