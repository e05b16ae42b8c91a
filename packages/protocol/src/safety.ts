/**
 * Blocking and reporting (C15, docs/privacy.md "Blocking and reporting"). A block list belongs to
 * its owner: the server keeps it so every linked device honours it, serves it only to the owner's
 * devices, and stops routing direct messages from a blocked account to the blocker (the sender
 * sees them accepted, never delivered). A report is the one way the operator sees content: the
 * reporter's own device decrypts the messages it chooses to include and sends them in clear.
 */
import { z } from 'zod';
import { accountIdSchema, conversationIdSchema, messageIdSchema } from './common.ts';

export const SAFETY_LIMITS = {
  /** Accounts one account may block. */
  blockedAccounts: 10_000,
  /** Messages a report may include (the web client offers 5 by default). */
  reportMessages: 50,
  /** Characters of one included message's text. */
  reportMessageChars: 2_000,
  /** Characters of the reporter's reason. */
  reportReasonChars: 1_000,
  /** Reports one account may file per day. */
  reportsPerDay: 20,
  /** Blocks and unblocks one account may make per hour. */
  blockChangesPerHour: 300,
} as const;

/** PUT /v1/accounts/me/blocked/:accountId and DELETE of the same path. */
export const blockParams = z.object({ accountId: accountIdSchema }).strict();

/** What a block or unblock answers: the account and whether it is now blocked. */
export const blockAnswerSchema = z.object({ accountId: accountIdSchema, blocked: z.boolean() });

/** One entry of the caller's block list. */
export const blockedEntrySchema = z.object({ accountId: accountIdSchema, blockedAt: z.number().int() });
export type BlockedEntry = z.infer<typeof blockedEntrySchema>;

/** GET /v1/accounts/me/blocked: the caller's block list, newest first. */
export const blockedListSchema = z.object({ blocked: z.array(blockedEntrySchema) });

/** Why a report is filed; `other` needs the reason text to say more. */
export const reportCategorySchema = z.enum(['spam', 'abuse', 'scam', 'other']);
export type ReportCategory = z.infer<typeof reportCategorySchema>;

/** One message the reporter's device decrypted and chose to include. */
export const reportedMessageSchema = z
  .object({
    messageId: messageIdSchema,
    /** The account that sent it (the reported account or, in a group, another member). */
    sender: accountIdSchema,
    sentAt: z.number().int().nonnegative(),
    /** The message as the reporter's device shows it (text, or a caption and a media type). */
    text: z.string().max(SAFETY_LIMITS.reportMessageChars),
  })
  .strict();
export type ReportedMessage = z.infer<typeof reportedMessageSchema>;

/** POST /v1/reports: report an account, optionally with messages and a block in the same step. */
export const reportBody = z
  .object({
    accountId: accountIdSchema,
    /** The conversation the report is about; the reporter must be in it. */
    conversationId: conversationIdSchema.optional(),
    category: reportCategorySchema.default('spam'),
    reason: z.string().max(SAFETY_LIMITS.reportReasonChars).default(''),
    messages: z.array(reportedMessageSchema).max(SAFETY_LIMITS.reportMessages).default([]),
    /** Also add the account to the reporter's block list. */
    block: z.boolean().default(false),
  })
  .strict();
export type ReportBody = z.input<typeof reportBody>;

/** What filing a report answers. */
export const reportResultSchema = z.object({
  reportId: z.string(),
  createdAt: z.number().int(),
  blocked: z.boolean(),
});
export type ReportResult = z.infer<typeof reportResultSchema>;
