/**
 * Sender identification for MLS application messages (C2).
 *
 * ts-mls does not report which leaf sent a PrivateMessage, and the authenticated data is chosen by
 * the sender (an insider could write any device id there). The leaf index is inside the encrypted
 * sender data, which is bound to the content signature ts-mls verifies; decrypting it here
 * (RFC 9420 §6.3.2) gives the true sender for the same message ts-mls accepts.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { expand } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, encodeU16, encodeU64, encodeVector, utf8 } from './bytes.ts';

/** KDF.Nh, AEAD.Nk and AEAD.Nn of cipher suite 1. */
const NH = 32;
const NK = 16;
const NN = 12;

function expandWithLabel(secret: Uint8Array, label: string, context: Uint8Array, length: number): Uint8Array {
  const info = concatBytes(encodeU16(length), encodeVector(utf8(`MLS 1.0 ${label}`)), encodeVector(context));
  return expand(sha256, secret, info, length);
}

/** The fields a PrivateMessage exposes in clear, plus the sender-data secret of its epoch. */
export interface SenderDataInput {
  groupId: Uint8Array;
  epoch: bigint;
  contentType: number;
  encryptedSenderData: Uint8Array;
  ciphertext: Uint8Array;
  senderDataSecret: Uint8Array;
}

/** Decrypt a PrivateMessage's sender data and return the sender's leaf index, or undefined. */
export function decryptSenderLeafIndex(m: SenderDataInput): number | undefined {
  const sample = m.ciphertext.slice(0, NH);
  const key = expandWithLabel(m.senderDataSecret, 'key', sample, NK);
  const nonce = expandWithLabel(m.senderDataSecret, 'nonce', sample, NN);
  const aad = concatBytes(encodeVector(m.groupId), encodeU64(m.epoch), Uint8Array.of(m.contentType));
  try {
    const plain = gcm(key, nonce, aad).decrypt(m.encryptedSenderData);
    if (plain.length !== 12) return undefined;
    return ((plain[0]! << 24) >>> 0) + (plain[1]! << 16) + (plain[2]! << 8) + plain[3]!;
  } catch {
    return undefined;
  }
}
