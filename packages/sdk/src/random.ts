/** Randomness from WebCrypto (available in browsers and Node 20 as globalThis.crypto). */
import { toB64 } from '@parley/protocol';

/** `n` random bytes. */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return out;
}

/**
 * A fresh client message id: the time in milliseconds (9 base-36 digits, so ids sort by time as
 * plain ASCII) followed by 16 random bytes (base64url). The time prefix lets the server's
 * idempotency index grow at its right edge; the random part keeps ids unguessable and unique.
 */
export function newClientMessageId(now = Date.now()): string {
  return now.toString(36).padStart(9, '0') + toB64(randomBytes(16));
}
