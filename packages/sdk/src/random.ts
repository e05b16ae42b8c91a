/** Randomness from WebCrypto (available in browsers and Node 20 as globalThis.crypto). */
import { toB64 } from '@parley/protocol';

/** `n` random bytes. */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return out;
}

/** A fresh client message id (16 random bytes, base64url). */
export function newClientMessageId(): string {
  return toB64(randomBytes(16));
}
