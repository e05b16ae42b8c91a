/**
 * Call contents carried inside MLS application messages (C6, C7, C8). 1:1 call signalling, the
 * call-log entry that closes every call, group-call frame keys and live reactions all travel
 * end-to-end encrypted in the conversation, so the server learns nothing about calls: not who
 * called whom, not whether anyone answered, not the SDP or the ICE candidates.
 */
import { z } from 'zod';
import { accountIdSchema, callIdSchema, deviceIdSchema } from './common.ts';
import { b64Exact } from './media.ts';

/** Limits of call contents shared by the SDK and any other client. */
export const CALL_CONTENT_LIMITS = {
  /** Largest SDP (offer or answer) inside a `call` message. */
  sdpChars: 64 * 1024,
  /** ICE candidates in one `ice` message. */
  candidates: 32,
  candidateChars: 1024,
  /** Frame keys are 32 random bytes (the SFrame base key). */
  frameKeyBytes: 32,
  /** Key ids are unsigned 32-bit (SFrame allows up to 64; keeps them exact in JSON). */
  maxKeyId: 0xffff_ffff,
  /** Longest call a call-log entry records: one day. */
  maxDurationMs: 24 * 3_600_000,
} as const;

/** The signalling steps of a 1:1 call, each an MLS application message in the conversation. */
export const callActionSchema = z.enum([
  'offer',
  'answer',
  'ice',
  'ringing',
  'accept',
  'decline',
  'busy',
  'cancel',
  'end',
]);
export type CallAction = z.infer<typeof callActionSchema>;

export const callMediaSchema = z.enum(['audio', 'video']);
export type CallMedia = z.infer<typeof callMediaSchema>;

/** Why a call was cancelled (caller, before an answer) or ended (either side, after it). */
export const callReasonSchema = z.enum([
  'hangup',
  'timeout',
  'unavailable',
  'busy',
  'declined',
  'failed',
  'answered-elsewhere',
]);
export type CallReason = z.infer<typeof callReasonSchema>;

/** One ICE candidate as `RTCIceCandidate.toJSON()` gives it. */
export const iceCandidateSchema = z.object({
  candidate: z.string().max(CALL_CONTENT_LIMITS.candidateChars),
  sdpMid: z.string().max(64).nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(1024).nullable().optional(),
  usernameFragment: z.string().max(256).nullable().optional(),
});
export type IceCandidateJson = z.infer<typeof iceCandidateSchema>;

const SDP_ACTIONS: readonly CallAction[] = ['offer', 'answer'];
const REASON_ACTIONS: readonly CallAction[] = ['cancel', 'end'];

/**
 * Call signalling. `seq` counts the sender device's messages for this call (from 0), so a repeated
 * message is recognised; `at` is the sender's clock. `offer` and `answer` carry `sdp`, `ice`
 * carries `candidates`, `cancel` and `end` may carry a `reason`; anything else is refused.
 */
export const callContent = z
  .object({
    type: z.literal('call'),
    callId: callIdSchema,
    action: callActionSchema,
    media: callMediaSchema,
    seq: z.number().int().min(0).max(1_000_000),
    at: z.number().int().nonnegative(),
    sdp: z.string().min(1).max(CALL_CONTENT_LIMITS.sdpChars).optional(),
    candidates: z.array(iceCandidateSchema).min(1).max(CALL_CONTENT_LIMITS.candidates).optional(),
    reason: callReasonSchema.optional(),
  })
  .superRefine((c, ctx) => {
    const needsSdp = SDP_ACTIONS.includes(c.action);
    if (needsSdp && c.sdp === undefined)
      ctx.addIssue({ code: 'custom', path: ['sdp'], message: `${c.action} needs sdp` });
    if (!needsSdp && c.sdp !== undefined)
      ctx.addIssue({ code: 'custom', path: ['sdp'], message: `${c.action} carries no sdp` });
    if (c.action === 'ice' && c.candidates === undefined)
      ctx.addIssue({ code: 'custom', path: ['candidates'], message: 'ice needs candidates' });
    if (c.action !== 'ice' && c.candidates !== undefined)
      ctx.addIssue({ code: 'custom', path: ['candidates'], message: `${c.action} carries no candidates` });
    if (c.reason !== undefined && !REASON_ACTIONS.includes(c.action))
      ctx.addIssue({ code: 'custom', path: ['reason'], message: `${c.action} carries no reason` });
  });
export type CallContent = z.infer<typeof callContent>;

/** How a call ended, as the chat shows it. */
export const callOutcomeSchema = z.enum(['completed', 'missed', 'declined', 'busy', 'unavailable', 'cancelled']);
export type CallOutcome = z.infer<typeof callOutcomeSchema>;

/**
 * The chat entry of a finished call, sent by the caller's device so every device of both accounts
 * shows the same entry. `durationMs` is 0 unless the call was completed.
 */
export const callLogContent = z
  .object({
    type: z.literal('call-log'),
    callId: callIdSchema,
    media: callMediaSchema,
    outcome: callOutcomeSchema,
    durationMs: z.number().int().min(0).max(CALL_CONTENT_LIMITS.maxDurationMs),
    startedAt: z.number().int().nonnegative(),
    caller: accountIdSchema,
  })
  .superRefine((c, ctx) => {
    if (c.outcome !== 'completed' && c.durationMs !== 0)
      ctx.addIssue({ code: 'custom', path: ['durationMs'], message: 'only a completed call has a duration' });
  });
export type CallLogContent = z.infer<typeof callLogContent>;

/**
 * A group-call frame key (SFrame base key) of the sending device: the receivers decrypt that
 * device's frames carrying `keyId` with it. Fresh on every join and membership change.
 */
export const callKeyContent = z.object({
  type: z.literal('call-key'),
  callId: callIdSchema,
  keyId: z.number().int().min(0).max(CALL_CONTENT_LIMITS.maxKeyId),
  key: b64Exact(CALL_CONTENT_LIMITS.frameKeyBytes),
  /**
   * Whether the sender's microphone and camera are on. A device in a group call sends its current
   * key again (same id) with the new state when it mutes or unmutes, so the other tiles follow.
   */
  media: z.object({ audio: z.boolean(), video: z.boolean() }).strict().optional(),
});
export type CallKeyContent = z.infer<typeof callKeyContent>;

// Built at run time: the `v` flag (Unicode sets) is newer than the compile target.
const ONE_EMOJI = new RegExp('^\\p{RGI_Emoji}$', 'v');

/** True when `text` is exactly one emoji (skin tones and ZWJ sequences included). */
export function isSingleEmoji(text: string): boolean {
  return text.length <= 32 && ONE_EMOJI.test(text);
}

/**
 * A live reaction in a call, aimed at one participant's tile: the one speaking when it was sent
 * (`auto`, chosen by the dominant-speaker signal) or one the user picked.
 */
export const reactionContent = z.object({
  type: z.literal('reaction'),
  callId: callIdSchema,
  emoji: z.string().refine(isSingleEmoji, 'must be exactly one emoji'),
  target: z.object({ accountId: accountIdSchema, deviceId: deviceIdSchema }),
  auto: z.boolean(),
});
export type ReactionContent = z.infer<typeof reactionContent>;
