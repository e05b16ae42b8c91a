/**
 * WebSocket frames (C3). A request is `{id, op, body}`, its answer `{id, status, body}`, a server
 * push `{event, body}`. Text frames carry that JSON alone; binary frames carry
 * `u32 big-endian header length | header JSON (UTF-8) | payload`, where the payload is MLS
 * ciphertext the server stores and forwards without parsing (the codec is `frame-codec.ts`).
 */
import { z } from 'zod';
import {
  accountIdSchema,
  clientMessageIdSchema,
  conversationIdSchema,
  deviceIdSchema,
  LIMITS,
  messageIdSchema,
  CLIENT_MESSAGE_ID_RE,
  CONVERSATION_ID_RE,
} from './common.ts';
import { expiresAtSchema } from './disappearing.ts';

export const requestHeaderSchema = z
  .object({
    id: z.number().int().nonnegative(),
    op: z.string().min(1).max(64),
    body: z.unknown().optional(),
  })
  .strict();
export type RequestHeader = z.infer<typeof requestHeaderSchema>;

/**
 * The same check as `requestHeaderSchema` without building a parse result: true when `h` is
 * `{id, op, body?}` and nothing else. Every frame passes here first; only a frame that fails is
 * run through the schema, for its error details.
 */
export function isRequestHeader(h: unknown): h is RequestHeader {
  if (typeof h !== 'object' || h === null || Array.isArray(h)) return false;
  const r = h as Record<string, unknown>;
  for (const k in r) if (k !== 'id' && k !== 'op' && k !== 'body') return false;
  const { id, op } = r;
  return (
    typeof id === 'number' &&
    Number.isSafeInteger(id) &&
    id >= 0 &&
    typeof op === 'string' &&
    op.length >= 1 &&
    op.length <= 64
  );
}

export const responseHeaderSchema = z.object({
  id: z.number().int().nonnegative(),
  status: z.number().int(),
  body: z.unknown(),
});
export type ResponseHeader = z.infer<typeof responseHeaderSchema>;

export const eventHeaderSchema = z.object({ event: z.string(), body: z.unknown() });
export type EventHeader = z.infer<typeof eventHeaderSchema>;

// ---------- ops
/** First frame on every connection; nothing else is served before it succeeds. */
export const helloBody = z.object({ token: z.string().min(1).max(200), protocol: z.literal(1) }).strict();
export const helloResponse = z.object({
  accountId: accountIdSchema,
  deviceId: deviceIdSchema,
  serverTime: z.number(),
  pending: z.number().int(),
});
export type HelloResponse = z.infer<typeof helloResponse>;

/**
 * Application message: payload is the MLS PrivateMessage. `ephemeral` ones (typing) are not stored.
 * `accept` marks the sender's first own writing in the conversation (the SDK sets it once, on the
 * message that shares its profile key): from then on the other members count as the sender's
 * contacts for profile visibility (C12). Receipts and automatic traffic never set it, so a chat a
 * stranger opens is not accepted by the delivered receipts it provokes.
 */
export const sendBody = z
  .object({
    conversationId: conversationIdSchema,
    clientMessageId: clientMessageIdSchema,
    ephemeral: z.boolean().optional(),
    accept: z.literal(true).optional(),
    /**
     * When the message disappears (C17, ms since the epoch): the server deletes its ciphertext from
     * every queue then. Within the server's clock and one year ahead, else `expiry_out_of_range`.
     */
    expiresAt: expiresAtSchema.optional(),
  })
  .strict();

/**
 * The fast check for the hottest body on the wire (C3 speed): true exactly when `sendBody` accepts
 * `b` and would return it unchanged, so the gateway can skip the schema's copy. A false sends the
 * body through the schema for its error details. `frames.test.ts` holds the two in agreement.
 */
export function isSendBody(b: unknown): b is z.infer<typeof sendBody> {
  if (typeof b !== 'object' || b === null || Array.isArray(b) || Object.getPrototypeOf(b) !== Object.prototype)
    return false;
  const r = b as Record<string, unknown>;
  for (const k in r)
    if (k !== 'conversationId' && k !== 'clientMessageId' && k !== 'ephemeral' && k !== 'accept' && k !== 'expiresAt')
      return false;
  const { conversationId, clientMessageId, ephemeral, accept, expiresAt } = r;
  return (
    typeof conversationId === 'string' &&
    CONVERSATION_ID_RE.test(conversationId) &&
    typeof clientMessageId === 'string' &&
    CLIENT_MESSAGE_ID_RE.test(clientMessageId) &&
    (ephemeral === undefined || typeof ephemeral === 'boolean') &&
    (accept === undefined || accept === true) &&
    (expiresAt === undefined || (typeof expiresAt === 'number' && Number.isSafeInteger(expiresAt) && expiresAt > 0))
  );
}
export const sendResponse = z.object({
  messageId: messageIdSchema,
  seq: z.number().int(),
  sentAt: z.number(),
  duplicate: z.boolean(),
});

/**
 * Commit: payload is the MLS commit message, followed by `welcomeLength` bytes of Welcome when the
 * commit adds devices. `epoch` is the epoch the commit was built on; the server accepts exactly one
 * commit per epoch and refuses the rest with `stale_epoch`.
 */
export const commitBody = z
  .object({
    conversationId: conversationIdSchema,
    clientMessageId: clientMessageIdSchema,
    epoch: z.number().int().nonnegative(),
    adds: z
      .array(z.object({ accountId: accountIdSchema, deviceId: deviceIdSchema }).strict())
      .max(LIMITS.devicesPerCommit)
      .default([]),
    removes: z.array(deviceIdSchema).max(LIMITS.devicesPerCommit).default([]),
    welcomeLength: z.number().int().nonnegative().default(0),
  })
  .strict();
export const commitResponse = z.object({
  messageId: messageIdSchema,
  epoch: z.number().int(),
  seq: z.number().int(),
  sentAt: z.number(),
  duplicate: z.boolean(),
});

/**
 * Acknowledge deliveries by cursor; acknowledged deliveries are never sent again. With
 * `quiet: true` a successful ack gets no answer frame (errors are still answered): acks are
 * idempotent, and skipping the answer saves a frame per delivery.
 */
export const ackBody = z
  .object({
    cursors: z
      .array(z.number().int().nonnegative())
      .min(1)
      .max(LIMITS.deliveryWindow * 4),
    quiet: z.boolean().optional(),
  })
  .strict();
export const ackResponse = z.object({ acked: z.number().int() });

export const pingBody = z.object({}).strict().optional();

// ---------- events
export const deliveryKindSchema = z.enum(['application', 'commit', 'welcome']);
export type DeliveryKind = z.infer<typeof deliveryKindSchema>;

/** A queued message pushed to a device; the payload rides in the binary frame. */
export const deliverEvent = z.object({
  cursor: z.number().int(),
  messageId: messageIdSchema,
  conversationId: conversationIdSchema,
  kind: deliveryKindSchema,
  seq: z.number().int(),
  epoch: z.number().int(),
  sender: z.object({ accountId: accountIdSchema, deviceId: deviceIdSchema }),
  sentAt: z.number(),
  ephemeral: z.boolean().optional(),
});
export type DeliverEvent = z.infer<typeof deliverEvent>;

/** Sent once after `hello` when every queued delivery that existed then has been pushed. */
export const drainedEvent = z.object({ pushed: z.number().int() });
