/** Shared scalar schemas: ids, base64url byte strings, phone numbers (C1–C3). */
import { z } from 'zod';

/** Protocol version spoken by this build; bumped on any incompatible wire change. */
export const PROTOCOL_VERSION = 1;

const B64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Bytes as unpadded base64url text, with a maximum decoded length. Only text `fromB64` decodes is
 * accepted: a length of 4k+1 characters encodes no whole byte and is refused here, so a field that
 * passes the schema never makes a decoder throw.
 */
export const b64 = (maxBytes: number) =>
  z
    .string()
    .max(Math.ceil((maxBytes * 4) / 3))
    .regex(B64URL, 'must be unpadded base64url')
    .refine((s) => s.length % 4 !== 1, 'is not whole base64url (a length of 4k+1 characters)');

/** A random opaque id: a prefix and 22 base64url characters (128 bits). */
export const idOf = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}_[A-Za-z0-9_-]{22}$`), `must be a ${prefix}_ id`);

export const accountIdSchema = idOf('a');
export const deviceIdSchema = idOf('d');
export const messageIdSchema = idOf('m');
/**
 * A registration session (`r_…`): returned with a code request and sent back with `verify`. The
 * code is bound to it, so guesses under any other session never touch the owner's attempts.
 */
export const registrationSessionIdSchema = idOf('r');
/** The form of a conversation id (shared by the schema and the fast send-body check). */
export const CONVERSATION_ID_RE = /^[A-Za-z0-9_-]{22}$/;
/** The form of a client message id (shared by the schema and the fast send-body check). */
export const CLIENT_MESSAGE_ID_RE = /^[A-Za-z0-9_-]{8,64}$/;
/** A conversation id is the MLS group id: 16 random bytes chosen by the creating client, base64url. */
export const conversationIdSchema = z.string().regex(CONVERSATION_ID_RE, 'must be 16 bytes of base64url');
/** A client-chosen id that makes a send idempotent (UUID or any 8–64 safe characters). */
export const clientMessageIdSchema = z.string().regex(CLIENT_MESSAGE_ID_RE, 'must be 8-64 characters of [A-Za-z0-9_-]');
/** A call id: chosen at random by the device that starts the call, 8–64 characters of `[A-Za-z0-9_-]`. */
export const callIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be 8-64 characters of [A-Za-z0-9_-]');
/** E.164 as text; the server re-checks it with libphonenumber-js. */
export const phoneSchema = z.string().regex(/^\+[1-9][0-9]{6,14}$/, 'must be E.164, e.g. +14155550123');

export type AccountId = z.infer<typeof accountIdSchema>;
export type DeviceId = z.infer<typeof deviceIdSchema>;
export type ConversationId = z.infer<typeof conversationIdSchema>;
export type MessageId = z.infer<typeof messageIdSchema>;

/** Size limits shared by server and SDK. */
export const LIMITS = {
  /** Largest JSON HTTP body. */
  httpBodyBytes: 1024 * 1024,
  /** Largest WebSocket frame (header + payload). */
  wsFrameBytes: 1024 * 1024,
  /** Largest MLS ciphertext in one message (the payload of `send`). */
  ciphertextBytes: 256 * 1024,
  /** Largest payload of `commit`: the commit and its Welcome together (Add proposals carry KeyPackages). */
  commitBytes: 320 * 1024,
  /** Largest KeyPackage. */
  keyPackageBytes: 16 * 1024,
  /** KeyPackages per upload. */
  keyPackagesPerUpload: 100,
  /** KeyPackages stored per device. */
  keyPackagesPerDevice: 200,
  /** Devices in one commit. */
  devicesPerCommit: 1000,
  /** Deliveries pushed before the client must ack. */
  deliveryWindow: 256,
  /**
   * Client acknowledgement policy (C3): a device acks once this many deliveries are waiting, or
   * this long after the first of them arrived, whichever comes first (and before it closes). The
   * device stores a message before acking it, so a later ack loses nothing; it only means that
   * after a dropped connection up to a second of deliveries comes again, which de-duplication by
   * message id absorbs. Batching this way spares the server one frame and one delete per message.
   */
  ackBatch: 64,
  ackDelayMs: 1000,
} as const;

/** Encode bytes as unpadded base64url (runs in Node and browsers). */
export function toB64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Decode unpadded base64url; throws on characters outside the alphabet. */
export function fromB64(text: string): Uint8Array {
  if (!B64URL.test(text)) throw new Error('not base64url');
  const std = text.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(std + '='.repeat((4 - (std.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
