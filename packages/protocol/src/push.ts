/**
 * Web Push (C18, docs/notifications.md): one push subscription per device, and the wake-up a
 * device's service worker receives when something is queued for it while it has no open socket.
 *
 * The wake-up carries no content: only what the server already routes (which conversation, which
 * message id, who sent it, when). The push service cannot read even that, since the payload is
 * encrypted for the subscription (RFC 8291, aes128gcm) and the request is signed with the server's
 * VAPID key (RFC 8292). Names, mute and the message itself come from the device's own store.
 */
import { z } from 'zod';
import { accountIdSchema, conversationIdSchema, messageIdSchema } from './common.ts';

export const PUSH_LIMITS = {
  /** Characters of a subscription endpoint URL. */
  endpointChars: 2048,
  /** Bytes of the subscription's P-256 public key (uncompressed point, RFC 8291). */
  p256dhBytes: 65,
  /** Bytes of the subscription's authentication secret (RFC 8291). */
  authBytes: 16,
  /** Subscription changes (set or delete) one device may make per hour. */
  changesPerHour: 60,
} as const;

/**
 * PUT /v1/devices/me/push: the device's subscription, as `PushSubscription.toJSON()` gives it.
 * The keys are base64url; their decoded lengths and the endpoint's form are checked by the server
 * (`push_keys_invalid`, `push_endpoint_invalid`) rather than here, so each gets its own error.
 */
export const pushSubscriptionBody = z
  .object({
    endpoint: z.string().min(1).max(PUSH_LIMITS.endpointChars),
    expirationTime: z.number().int().nonnegative().nullable().optional(),
    keys: z.object({ p256dh: z.string().min(1).max(128), auth: z.string().min(1).max(64) }).strict(),
  })
  .strict();
export type PushSubscriptionBody = z.infer<typeof pushSubscriptionBody>;

/** GET/PUT/DELETE /v1/devices/me/push answer: whether this device is subscribed, and where to. */
export const pushStateSchema = z.object({
  subscribed: z.boolean(),
  /** The push service's origin (scheme, host and port), never the full endpoint. */
  origin: z.string().nullable(),
  updatedAt: z.number().int().nullable(),
});
export type PushState = z.infer<typeof pushStateSchema>;

/** GET /v1/push/vapid: the server's VAPID public key, for `PushManager.subscribe`'s `applicationServerKey`. */
export const vapidKeySchema = z.object({
  /** The uncompressed P-256 point (65 bytes), unpadded base64url. */
  publicKey: z.string().regex(/^[A-Za-z0-9_-]{87}$/),
});
export type VapidKey = z.infer<typeof vapidKeySchema>;

/**
 * The decrypted push payload a service worker receives. `v` is its version; `t: 'message'` says
 * one message was queued for this device (a text, a missed-call note, a receipt: the server
 * cannot tell them apart, the device decides what it shows).
 */
export const pushWakeSchema = z.object({
  v: z.literal(1),
  t: z.literal('message'),
  conversationId: conversationIdSchema,
  messageId: messageIdSchema,
  from: accountIdSchema,
  sentAt: z.number(),
});
export type PushWake = z.infer<typeof pushWakeSchema>;
