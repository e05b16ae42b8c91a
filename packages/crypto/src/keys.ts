/**
 * Public-key hygiene (C13) and Ed25519 identity keys (C2).
 *
 * Every X25519 and Ed25519 public key that reaches Parley (identity keys, device signing keys, every
 * key inside a KeyPackage or commit) goes through these validators. They reject, with a precise
 * catalogue code, keys that RFC-conformant libraries would still accept: wrong length, all zero,
 * non-canonical encodings, points off the curve (or on the X25519 twist), small-order points and
 * mixed-order points (prime-order point plus a torsion component). Checks run in this order, so a
 * key gets the first code that applies.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { ParleyError } from '@parley/protocol';
import { bigToBytesLE, bytesToBigLE } from './bytes.ts';

const Point = ed25519.Point;
const Fp = Point.Fp;
/** The field prime 2^255 − 19. */
const P = Fp.ORDER;
/** Curve25519 Montgomery coefficient A. */
const A = 486662n;

function isSquare(x: bigint): boolean {
  // Euler's criterion; 0 counts as a square (it has the root 0).
  return x === 0n || Fp.pow(x, (P - 1n) / 2n) === 1n;
}

function checkLength(bytes: Uint8Array): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) {
    throw new ParleyError('key_wrong_length', {
      details: { length: bytes instanceof Uint8Array ? bytes.length : null },
    });
  }
}

function checkNotZero(bytes: Uint8Array): void {
  if (bytes.every((b) => b === 0)) throw new ParleyError('key_all_zero');
}

/** Order checks shared by both key kinds once an Edwards point is in hand. */
function checkOrder(point: InstanceType<typeof Point>): void {
  if (point.isSmallOrder()) throw new ParleyError('key_small_order');
  if (!point.isTorsionFree()) throw new ParleyError('key_mixed_order');
}

/**
 * Validate an Ed25519 public key (RFC 8032 encoding) for use as an identity or signing key.
 * Throws `ParleyError` with key_wrong_length, key_all_zero, key_non_canonical (y ≥ p, or x = 0 with
 * the sign bit set), key_invalid_point, key_small_order or key_mixed_order.
 */
export function validateEd25519PublicKey(bytes: Uint8Array): void {
  checkLength(bytes);
  checkNotZero(bytes);
  const signBit = (bytes[31]! & 0x80) !== 0;
  const y = bytesToBigLE(bytes) & ((1n << 255n) - 1n);
  if (y >= P) throw new ParleyError('key_non_canonical', { details: { reason: 'y >= p' } });
  // x = 0 exactly when y = ±1; a set sign bit would then name "−0", a second encoding of the point.
  if (signBit && (y === 1n || y === P - 1n))
    throw new ParleyError('key_non_canonical', { details: { reason: 'x = 0 with sign bit' } });
  let point;
  try {
    point = Point.fromBytes(bytes, false);
  } catch {
    throw new ParleyError('key_invalid_point');
  }
  checkOrder(point);
}

/**
 * Validate an X25519 public key (RFC 7748 u-coordinate) for use as an HPKE/MLS key.
 * Throws `ParleyError` with key_wrong_length, key_all_zero, key_non_canonical (high bit set or
 * u ≥ p), key_small_order, key_invalid_point (u on the quadratic twist) or key_mixed_order.
 *
 * Order is checked by mapping u to the birationally equivalent Edwards point y = (u − 1)/(u + 1).
 * The one u that has no Edwards image, u = p − 1, is the order-4 point of the twist: it is reported
 * as small order because that is what makes it dangerous (it forces a fixed shared secret).
 */
export function validateX25519PublicKey(bytes: Uint8Array): void {
  checkLength(bytes);
  checkNotZero(bytes);
  if ((bytes[31]! & 0x80) !== 0) throw new ParleyError('key_non_canonical', { details: { reason: 'high bit set' } });
  const u = bytesToBigLE(bytes);
  if (u >= P) throw new ParleyError('key_non_canonical', { details: { reason: 'u >= p' } });
  if (u === P - 1n) throw new ParleyError('key_small_order');
  // v² = u³ + A·u² + u; no square root means the point lives on the twist, not on Curve25519.
  const rhs = Fp.add(Fp.add(Fp.mul(Fp.sqr(u), u), Fp.mul(A, Fp.sqr(u))), u);
  if (!isSquare(rhs)) throw new ParleyError('key_invalid_point', { details: { reason: 'point on the twist' } });
  const y = Fp.div(Fp.sub(u, 1n), Fp.add(u, 1n));
  let point;
  try {
    // Either sign of x gives a point of the same order, so the sign bit is left clear.
    point = Point.fromBytes(bigToBytesLE(y, 32), false);
  } catch {
    throw new ParleyError('key_invalid_point');
  }
  checkOrder(point);
}

/** An Ed25519 key pair; `privateKey` is the 32-byte RFC 8032 seed. */
export interface SigningKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/** Generate a fresh Ed25519 key pair (identity key or device signing key). */
export function generateSigningKeyPair(): SigningKeyPair {
  const privateKey = ed25519.utils.randomSecretKey();
  return { publicKey: ed25519.getPublicKey(privateKey), privateKey };
}

/** The Ed25519 public key for a 32-byte seed. */
export function signingPublicKey(privateKey: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(privateKey);
}

/** Sign `message` with an Ed25519 seed (deterministic RFC 8032 signature, 64 bytes). */
export function sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, privateKey);
}

/**
 * Verify an Ed25519 signature with strict RFC 8032 rules (ZIP-215 off: non-canonical R, A or S
 * are refused). Returns false for any malformed input instead of throwing. Does not judge the key
 * itself: run {@link validateEd25519PublicKey} on keys when they are registered.
 */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}
