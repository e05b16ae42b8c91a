/**
 * The device-link channel (C1, docs/devices.md): the existing device shows its ephemeral X25519 key
 * and a 32-byte secret in the link code; the new device answers with its own ephemeral key. Both
 * derive one AES-256-GCM key from the X25519 shared secret with HKDF-SHA256, salted with the code's
 * secret and bound to the link id and both public keys. The server relays the sealed messages and
 * sees both public keys, but without the secret (which only the code carries) it can neither read
 * them nor stand in the middle with keys of its own.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { gcm } from '@noble/ciphers/aes.js';
import { ParleyError } from '@parley/protocol';
import { concatBytes } from './bytes.ts';
import { validateX25519PublicKey } from './keys.ts';

/** Length of the secret the link code carries. */
export const LINK_SECRET_BYTES = 32;
const NONCE_BYTES = 12;

/** One side's ephemeral key pair for a single link. */
export interface LinkKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/** Which way a sealed link message goes: the label is authenticated, so neither can pass for the other. */
export type LinkMessageKind = 'request' | 'reply';

/** A fresh ephemeral X25519 key pair (never stored: it lives as long as one link attempt). */
export function generateLinkKeyPair(): LinkKeyPair {
  const privateKey = x25519.utils.randomSecretKey();
  return { privateKey, publicKey: x25519.getPublicKey(privateKey) };
}

/** A fresh random link secret for the code. */
export function generateLinkSecret(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(LINK_SECRET_BYTES));
}

/**
 * The channel key of one link: HKDF-SHA256 over X25519(own private, peer public), salt = the code's
 * secret, info = `parley-link-v1|<linkId>|` then the existing device's key, then the new device's.
 * Throws `link_message_invalid` for a peer key that is not a valid X25519 key.
 */
export function deriveLinkKey(opts: {
  ownPrivateKey: Uint8Array;
  peerPublicKey: Uint8Array;
  secret: Uint8Array;
  linkId: string;
  existingDeviceKey: Uint8Array;
  newDeviceKey: Uint8Array;
}): Uint8Array {
  try {
    validateX25519PublicKey(opts.peerPublicKey);
  } catch {
    throw new ParleyError('link_message_invalid', { message: 'The other device sent an invalid link key.' });
  }
  if (opts.secret.length !== LINK_SECRET_BYTES)
    throw new ParleyError('link_message_invalid', { message: 'The link code holds no valid secret.' });
  const shared = x25519.getSharedSecret(opts.ownPrivateKey, opts.peerPublicKey);
  const info = concatBytes(
    new TextEncoder().encode(`parley-link-v1|${opts.linkId}|`),
    opts.existingDeviceKey,
    opts.newDeviceKey,
  );
  return hkdf(sha256, shared, opts.secret, info, 32);
}

function aad(kind: LinkMessageKind): Uint8Array {
  return new TextEncoder().encode(`parley-link-v1|${kind}`);
}

/** Seal one link message: a random 12-byte nonce, then AES-256-GCM ciphertext and tag. */
export function sealLinkMessage(key: Uint8Array, kind: LinkMessageKind, plaintext: Uint8Array): Uint8Array {
  const nonce = globalThis.crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  return concatBytes(nonce, gcm(key, nonce, aad(kind)).encrypt(plaintext));
}

/** Open a sealed link message, or throw `link_message_invalid` (forged, altered, or another key). */
export function openLinkMessage(key: Uint8Array, kind: LinkMessageKind, sealed: Uint8Array): Uint8Array {
  if (sealed.length < NONCE_BYTES + 16) throw new ParleyError('link_message_invalid');
  try {
    return gcm(key, sealed.subarray(0, NONCE_BYTES), aad(kind)).decrypt(sealed.subarray(NONCE_BYTES));
  } catch {
    throw new ParleyError('link_message_invalid');
  }
}
