/**
 * What people do with a message after it was sent (C3, C15): reply to it, react to it, edit it,
 * delete it for everyone, forward it. All of it travels inside the MLS application content like
 * any message, so the server sees ciphertext of the usual kind and learns nothing new: not which
 * message is answered, edited or deleted, not the emoji.
 */
import { z } from 'zod';
import { accountIdSchema, messageIdSchema } from './common.ts';
import { isSingleEmoji } from './call-content.ts';

/** Limits every client applies, on sending and on receipt. */
export const MESSAGE_ACTION_LIMITS = {
  /** Longest excerpt of the quoted message a reply carries (written by the replier). */
  excerptChars: 200,
  /**
   * How long after a message was stored its sender may edit it (24 h), measured on the server's
   * clock: the stored time of the message against the stored time of the edit, so neither side's
   * clock matters.
   */
  editWindowMs: 24 * 3_600_000,
  /** How long after a message was stored its sender may delete it for everyone (48 h), the same way. */
  deleteWindowMs: 48 * 3_600_000,
} as const;

/**
 * The message a reply quotes: its id, its sender, and a short excerpt the replier's device wrote
 * (so a receiver that never had the quoted message, or deleted it, still shows what was answered).
 * `kind` says what the quoted message was when it had no text of its own (an attachment).
 */
export const quoteSchema = z.object({
  messageId: messageIdSchema,
  from: accountIdSchema,
  excerpt: z.string().max(MESSAGE_ACTION_LIMITS.excerptChars),
  kind: z.enum(['text', 'image', 'file', 'voice', 'video']).optional(),
});
export type Quote = z.infer<typeof quoteSchema>;

/**
 * A reaction to a message (not the live reactions of a call, `reaction`): one emoji per account
 * per message, `null` takes it back. A later one from the same account replaces the earlier.
 */
export const messageReactionContent = z.object({
  type: z.literal('message-reaction'),
  messageId: messageIdSchema,
  emoji: z.string().refine(isSingleEmoji, 'must be exactly one emoji').nullable(),
});
export type MessageReactionContent = z.infer<typeof messageReactionContent>;

/** The new text of one of the sender's own text messages (or an attachment's caption), within the edit window. */
export const editContent = z.object({
  type: z.literal('edit'),
  messageId: messageIdSchema,
  text: z.string().min(1).max(65536),
});
export type EditContent = z.infer<typeof editContent>;

/** Delete one of the sender's own messages for everyone, within the delete window. */
export const deleteContent = z.object({ type: z.literal('delete'), messageId: messageIdSchema });
export type DeleteContent = z.infer<typeof deleteContent>;

/**
 * Fields a text or attachment may carry besides its own: the message it replies to, and whether it
 * was forwarded from another chat.
 */
export const messageExtras = {
  replyTo: quoteSchema.optional(),
  forwarded: z.literal(true).optional(),
};
