/**
 * Safety numbers and QR verification (C2). Two people compare one 60-digit number (or scan a QR
 * code) to confirm that they see each other's real identity keys and no server-inserted key.
 *
 * Construction (Parley's own, version 1):
 *   h₀ = SHA-512("parley-safety-v1" ‖ u16 version ‖ u16 len(key) ‖ key ‖ UTF-8 accountId)
 *   hᵢ = SHA-512(hᵢ₋₁ ‖ key)                                  for i = 1 … 5200
 *   fingerprint = first 32 bytes of h₅₂₀₀
 *   digits(fp) = for each of the first six 5-byte chunks: big-endian uint40 mod 100000, 5 digits
 * The number is digits of both fingerprints, the smaller one first (so both sides agree), written
 * as 12 groups of 5 digits. The iteration makes grinding for a colliding key costly; binding the
 * account id stops one key being presented under two accounts.
 */
import { sha512 } from '@noble/hashes/sha2.js';
import { fromB64, toB64 } from '@parley/protocol';
import { bytesEqual, concatBytes, encodeU16, utf8 } from './bytes.ts';

/** One side of a conversation: account id and its Ed25519 identity key. */
export interface SafetyParty {
  accountId: string;
  identityKey: Uint8Array;
}

const VERSION = 1;
const ITERATIONS = 5200;
const QR_PREFIX = 'parley-sn1:';

/** 32-byte fingerprint of one party's identity key and account id. */
export function identityFingerprint(party: SafetyParty): Uint8Array {
  let h = sha512(
    concatBytes(
      utf8('parley-safety-v1'),
      encodeU16(VERSION),
      encodeU16(party.identityKey.length),
      party.identityKey,
      utf8(party.accountId),
    ),
  );
  for (let i = 0; i < ITERATIONS; i++) h = sha512(concatBytes(h, party.identityKey));
  return h.slice(0, 32);
}

function digits(fp: Uint8Array): string {
  let out = '';
  for (let c = 0; c < 6; c++) {
    let n = 0;
    // 5 bytes = 40 bits, still exact in a double.
    for (let i = 0; i < 5; i++) n = n * 256 + fp[c * 5 + i]!;
    out += String(n % 100000).padStart(5, '0');
  }
  return out;
}

function ordered(a: SafetyParty, b: SafetyParty): [Uint8Array, Uint8Array] {
  const fa = identityFingerprint(a);
  const fb = identityFingerprint(b);
  return digits(fa) <= digits(fb) ? [fa, fb] : [fb, fa];
}

/**
 * The safety number for two parties: 60 digits as 12 space-separated groups of 5
 * (`"12345 67890 …"`, 71 characters). Symmetric: `safetyNumber(a, b) === safetyNumber(b, a)`.
 */
export function safetyNumber(a: SafetyParty, b: SafetyParty): string {
  const [x, y] = ordered(a, b);
  const all = digits(x) + digits(y);
  return all.match(/.{5}/g)!.join(' ');
}

/**
 * QR payload carrying both fingerprints: `"parley-sn1:" + base64url(0x01 ‖ fp_low ‖ fp_high)`
 * (same order as the digits). Symmetric, so each phone can scan the other's code.
 */
export function safetyNumberQrPayload(a: SafetyParty, b: SafetyParty): string {
  const [x, y] = ordered(a, b);
  return QR_PREFIX + toB64(concatBytes(Uint8Array.of(VERSION), x, y));
}

/** True when a scanned QR payload matches what this device computes for the same two parties. */
export function verifySafetyNumberQr(scanned: string, a: SafetyParty, b: SafetyParty): boolean {
  if (!scanned.startsWith(QR_PREFIX)) return false;
  let bytes: Uint8Array;
  try {
    bytes = fromB64(scanned.slice(QR_PREFIX.length));
  } catch {
    return false;
  }
  return bytesEqual(bytes, fromB64(safetyNumberQrPayload(a, b).slice(QR_PREFIX.length)));
}
