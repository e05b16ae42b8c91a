/**
 * Plaintext content carried inside MLS application messages (C2, C3). The server never sees these:
 * clients encrypt the JSON below and the server stores only ciphertext.
 */
import { z } from 'zod';
import { callIdSchema, messageIdSchema } from './common.ts';
import { attachmentSchema, MEDIA_LIMITS } from './media.ts';
import { callContent, callKeyContent, callLogContent, reactionContent } from './call-content.ts';
import { profileKeyContent } from './profiles.ts';
import { linkPreviewSchema } from './link-preview.ts';
import { deleteContent, editContent, messageExtras, messageReactionContent } from './message-actions.ts';
import { expiresAtSchema, timerContent, timerSecondsSchema } from './disappearing.ts';
import { businessContent } from './business-content.ts';
import { generatedLabelSchema } from './imagegen.ts';

/**
 * A text message; it may reply to another message or be forwarded (`message-actions.ts`), and
 * carry the preview of its first link, made by the sender's device (`link-preview.ts`).
 */
export const textContent = z.object({
  type: z.literal('text'),
  text: z.string().min(1).max(65536),
  preview: linkPreviewSchema.optional(),
  ...messageExtras,
});
/** Delivered/read receipts (and 'played' for voice and video notes) travel end-to-end encrypted like any message. */
export const receiptContent = z.object({
  type: z.literal('receipt'),
  receipt: z.enum(['delivered', 'read', 'played']),
  messageIds: z.array(messageIdSchema).min(1).max(500),
});
/** Typing indicators are sent as ephemeral messages (never stored). */
export const typingContent = z.object({ type: z.literal('typing'), typing: z.boolean() });
/** Longest group description, in characters (as WhatsApp and Signal allow about). */
export const GROUP_DESCRIPTION_MAX = 512;

/**
 * Group metadata (name, description) lives inside the encrypted state, not on the server. Sent
 * when a member renames the group or changes its description (`change` says which, so every
 * device shows a line for it), when an admin changed a role (`change: 'roles'`: the receivers read
 * the roles from the server's routing table, where only an admin can change them), and after
 * members are added, without `change`, so new members learn the name and description. An absent
 * `description` leaves it as it was; an empty one clears it.
 */
export const groupMetaContent = z.object({
  type: z.literal('group-meta'),
  name: z.string().min(1).max(128),
  description: z.string().max(GROUP_DESCRIPTION_MAX).optional(),
  change: z.enum(['name', 'description', 'roles']).optional(),
  /**
   * The disappearing-messages timer in seconds (`null`: off), so members added later learn it
   * (C17); absent leaves it as it was. A change of the timer itself is a `timer` content.
   */
  timer: timerSecondsSchema.nullable().optional(),
});

/** Sent by a member before it leaves, so a remaining admin removes its devices from the tree. */
export const leaveContent = z.object({ type: z.literal('leave') });

/**
 * An encrypted file, image, voice or video note (C4): the blob reference with its key travels only
 * in here. `callId` ties a voice or video message to the call it answers (missed-call notes, C7).
 * `generated` is the provenance label of a generated image (C9, `imagegen.ts`).
 */
export const attachmentContent = z.object({
  type: z.literal('attachment'),
  attachment: attachmentSchema,
  caption: z.string().min(1).max(MEDIA_LIMITS.captionChars).optional(),
  callId: callIdSchema.optional(),
  generated: generatedLabelSchema.optional(),
  ...messageExtras,
});

export const contentSchema = z.discriminatedUnion('type', [
  textContent,
  receiptContent,
  typingContent,
  groupMetaContent,
  leaveContent,
  attachmentContent,
  callContent,
  callLogContent,
  callKeyContent,
  reactionContent,
  profileKeyContent,
  messageReactionContent,
  editContent,
  deleteContent,
  timerContent,
  businessContent,
]);

/**
 * What is encrypted: the content plus the sender's own clock, versioned. `expiresAt` (ms since the
 * epoch) is set on messages sent under a disappearing-messages timer (C17): every device deletes
 * the message then, and one that receives it later drops it unshown.
 */
export const envelopeSchema = z.object({
  v: z.literal(1),
  content: contentSchema,
  sentAt: z.number(),
  expiresAt: expiresAtSchema.optional(),
});
export type Envelope = z.infer<typeof envelopeSchema>;
export type Content = z.infer<typeof contentSchema>;
