/** Random identifiers (C1): 128-bit, base64url, prefixed by kind so logs and errors are readable. */
import { randomBytes } from 'node:crypto';
import { toB64 } from '@parley/protocol';

// Random bytes are drawn 4 KiB at a time: one call per id costs more than the id itself.
let pool = randomBytes(4096);
let offset = 0;
function take16(): Buffer {
  if (offset + 16 > pool.length) {
    pool = randomBytes(4096);
    offset = 0;
  }
  const out = Buffer.from(pool.subarray(offset, offset + 16));
  offset += 16;
  return out;
}

/**
 * A new id such as `a_…` (account), `d_…` (device), `m_…` (message), `rp_…` (report) or `r_…` (registration
 * session): 16 bytes, base64url.
 * Account, device and session ids are fully random. Message ids start with the 48-bit millisecond clock,
 * then 80 random bits: new rows land at the end of the id index instead of at random pages, which
 * keeps the write path cheap, and the server knows when a message arrived anyway.
 */
export function newId(prefix: 'a' | 'd' | 'm' | 'r' | 'rp' | 'l'): string {
  const bytes = take16();
  if (prefix === 'm') bytes.writeUIntBE(Date.now(), 0, 6);
  return `${prefix}_${bytes.toString('base64url')}`;
}

/** A new bearer token: 32 random bytes, base64url. */
export function newToken(): string {
  return toB64(randomBytes(32));
}
