/**
 * Private contact discovery (C12): the client side of an oblivious pseudorandom function, RFC 9497
 * OPRF mode with the ristretto255-SHA512 suite.
 *
 * The client blinds each phone number into a random-looking group element; the server multiplies
 * it by its secret key without learning the number; the client removes the blind and hashes the
 * result into the number's OPRF output. Only someone holding the server key can compute an output,
 * so a copy of the discovery index is useless to anyone else, and the server never receives the
 * number, a hash of it, or anything it could match without doing the evaluation itself.
 *
 * `discoveryTag` shortens the 64-byte output to the 32-byte tag the server indexes discoverable
 * accounts under. The server computes the same tags for its own users with `evaluateNumber`.
 */
import { ristretto255_oprf } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8 } from './bytes.ts';

/** The library's OPRF-mode API; its typings omit `evaluate`, which it implements (RFC 9497 Evaluate). */
const oprf = ristretto255_oprf.oprf as typeof ristretto255_oprf.oprf & {
  evaluate(secretKey: Uint8Array, input: Uint8Array): Uint8Array;
};
const TAG_CONTEXT = utf8('parley discovery tag v1');

/** The RFC 9497 suite identifier used for discovery. */
export const DISCOVERY_SUITE = 'ristretto255-SHA512';

/** Group elements and scalars of the suite are 32 bytes. */
export const OPRF_ELEMENT_BYTES = 32;

/** What the client keeps between blinding and finalising one number. */
export interface BlindedNumber {
  /** The random scalar; never leaves the device. */
  blind: Uint8Array;
  /** The element sent to the server. */
  blinded: Uint8Array;
}

/** The exact bytes the OPRF is computed over: the E.164 string in UTF-8. */
export function discoveryInput(e164: string): Uint8Array {
  return utf8(e164);
}

/** Blind one E.164 number for evaluation by the server. */
export function blindNumber(e164: string): BlindedNumber {
  return oprf.blind(discoveryInput(e164));
}

/**
 * Unblind the server's answer for `e164` into the OPRF output (64 bytes).
 * @throws Error when `evaluated` is not a valid ristretto255 encoding (a misbehaving server).
 */
export function finalizeNumber(e164: string, blind: Uint8Array, evaluated: Uint8Array): Uint8Array {
  return finalizeInput(discoveryInput(e164), blind, evaluated);
}

/** `finalizeNumber` over raw input bytes (RFC 9497 test vectors). */
export function finalizeInput(input: Uint8Array, blind: Uint8Array, evaluated: Uint8Array): Uint8Array {
  return oprf.finalize(input, blind, evaluated);
}

/** The 32-byte tag the discovery index is keyed by, derived from an OPRF output. */
export function discoveryTag(output: Uint8Array): Uint8Array {
  return sha256(concatBytes(TAG_CONTEXT, output));
}

/** Server side, without blinding: the OPRF output of a number it already knows (its own users). */
export function evaluateNumber(secretKey: Uint8Array, e164: string): Uint8Array {
  return oprf.evaluate(secretKey, discoveryInput(e164));
}

/** Server side reference of the blind evaluation (the server's hot path uses libsodium instead). */
export function blindEvaluate(secretKey: Uint8Array, blinded: Uint8Array): Uint8Array {
  return oprf.blindEvaluate(secretKey, blinded);
}

/** A fresh random OPRF secret key (a non-zero scalar). */
export function generateOprfKey(): Uint8Array {
  return oprf.generateKeyPair().secretKey;
}

/** The deterministic key derivation of RFC 9497 (used for its test vectors). */
export function deriveOprfKey(seed: Uint8Array, info: Uint8Array): Uint8Array {
  return oprf.deriveKeyPair(seed, info).secretKey;
}

/**
 * Blind with a caller-chosen scalar (RFC 9497 test vectors only; real clients use `blindNumber`).
 * The scalar goes in through the RNG hook; the library maps random bytes r to (r mod (n-1)) + 1 so
 * that a blind is never zero, hence the hook hands it the scalar minus one (little-endian).
 */
export function blindWithScalar(input: Uint8Array, scalar: Uint8Array): BlindedNumber {
  const minusOne = Uint8Array.from(scalar);
  for (let i = 0; i < minusOne.length; i++) {
    if (minusOne[i]! > 0) {
      minusOne[i]!--;
      break;
    }
    minusOne[i] = 0xff;
  }
  return oprf.blind(input, (n?: number) => {
    const out = new Uint8Array(n ?? minusOne.length);
    out.set(minusOne.subarray(0, out.length));
    return out;
  });
}
