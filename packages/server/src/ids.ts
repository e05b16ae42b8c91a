/** Random identifiers (C1): 128-bit, base64url, prefixed by kind so logs and errors are readable. */
import { randomBytes } from 'node:crypto';
import { toB64 } from '@parley/protocol';

/** A new random id such as `a_…` (account), `d_…` (device) or `m_…` (message). */
export function newId(prefix: 'a' | 'd' | 'm'): string {
  return `${prefix}_${toB64(randomBytes(16))}`;
}

/** A new bearer token: 32 random bytes, base64url. */
export function newToken(): string {
  return toB64(randomBytes(32));
}
