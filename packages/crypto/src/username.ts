/**
 * Username hashing (C12): devices send the server a hash of a username, never the name itself. The
 * server keys it again before storing, so its table is useless without the server's key too.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8 } from './bytes.ts';

const PREFIX = 'parley username v1:';

/** The 32-byte hash of an already normalised username (lower case, `name.NN`). */
export function usernameHash(normalised: string): Uint8Array {
  return sha256(utf8(PREFIX + normalised));
}
