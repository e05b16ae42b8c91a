/**
 * Call signalling between devices and the server (C6, C8): ICE servers with short-lived TURN
 * credentials, the ops that join, answer and leave a group call hosted by the server's SFU, and
 * the events the server pushes during a call. SDP and candidates are relayed as text; media never
 * touches these messages (it is end-to-end encrypted and flows over WebRTC). See docs/calls.md.
 */
import { z } from 'zod';
import { accountIdSchema, callIdSchema, conversationIdSchema, deviceIdSchema } from './common.ts';

/** Limits of call signalling. */
export const CALL_LIMITS = {
  /** Largest SDP answer (the SFU refuses larger ones too). */
  sdpBytes: 256 * 1024,
  /** Largest ICE candidate line. */
  candidateChars: 1024,
} as const;

// ---------- ICE servers
/** One entry of `RTCPeerConnection({ iceServers })`: STUN (urls only) or TURN with credentials. */
export const iceServerSchema = z.object({
  urls: z.array(z.string().min(1)).min(1),
  username: z.string().optional(),
  credential: z.string().optional(),
});
export type IceServer = z.infer<typeof iceServerSchema>;

export const iceServersBody = z.object({}).strict();
/**
 * ICE servers for this device. TURN credentials are bound to the device and expire after
 * `ttlSeconds`; ask again before a call that starts later. Empty when the server has none.
 */
export const iceServersResponse = z.object({
  iceServers: z.array(iceServerSchema),
  ttlSeconds: z.number().int().positive(),
});
export type IceServersResponse = z.infer<typeof iceServersResponse>;

// ---------- ops (WebSocket only: the server pushes the call's events on the same socket)
/** Join (or rejoin, replacing the earlier session) the group call `callId` of a conversation. */
export const callJoinBody = z
  .object({
    conversationId: conversationIdSchema,
    callId: callIdSchema,
    /** Whether the device means to send audio (default true); shown to the others in `call-participants`. */
    audio: z.boolean().optional(),
    /** Whether the device means to send video (default false). */
    video: z.boolean().optional(),
  })
  .strict();

/** One m-line of an SFU offer: the device's own upload slot, or another participant's media. */
export const callTrackSchema = z.object({
  mid: z.string().min(1).max(16),
  kind: z.enum(['audio', 'video']),
  /** `publish`: attach the local (encrypted) track here. `subscribe`: media of `participantId`. */
  role: z.enum(['publish', 'subscribe']),
  /** The device whose media this is (for `publish`, the device itself). */
  participantId: deviceIdSchema,
});
export type CallTrack = z.infer<typeof callTrackSchema>;

/**
 * An offer from the SFU: the answer to `callJoin`, and the body of every `call-offer` event. The
 * SFU always offers and the device always answers, echoing `revision`.
 */
export const callOfferSchema = z.object({
  callId: callIdSchema,
  sdp: z.string().min(1),
  revision: z.number().int().nonnegative(),
  tracks: z.array(callTrackSchema),
});
export type CallOffer = z.infer<typeof callOfferSchema>;

/** The device's answer to the SFU offer with this `revision`. Answer: `{}`. */
export const callAnswerBody = z
  .object({
    callId: callIdSchema,
    sdp: z.string().min(1).max(CALL_LIMITS.sdpBytes),
    revision: z.number().int().nonnegative(),
  })
  .strict();

/** An ICE candidate the device trickles after its answer (the fields of `RTCIceCandidateInit`). Answer: `{}`. */
export const callCandidateBody = z
  .object({
    callId: callIdSchema,
    /** `candidate:…` line; the empty string ends the device's candidates. */
    candidate: z.string().max(CALL_LIMITS.candidateChars),
    sdpMid: z.string().max(16).nullable().optional(),
    sdpMLineIndex: z.number().int().nonnegative().max(1023).nullable().optional(),
    usernameFragment: z.string().max(256).nullable().optional(),
  })
  .strict();

/** Leave the call (hang up). Answer: `{}`. Closing the socket leaves every call too. */
export const callLeaveBody = z.object({ callId: callIdSchema }).strict();

export const callOkResponse = z.object({}).strict();

// ---------- events (pushed as `{event, body}` text frames on the device's socket)
/** Names of the call events. */
export const CALL_EVENTS = {
  offer: 'call-offer',
  speaker: 'call-speaker',
  participants: 'call-participants',
  ended: 'call-ended',
} as const;

/** `call-offer`: a renegotiation offer; apply it and answer with `callAnswer`. */
export const callOfferEvent = callOfferSchema;

/**
 * `call-speaker`: the dominant speaker changed (C8). `deviceId`/`accountId` are null when the
 * speaker left and nobody has taken over. `at` (ms since the epoch, server clock) is when the
 * winning talk spurt began; `decidedAt` (same clock; absent from older servers) is when the SFU
 * decided, so `decidedAt − at` is the detector's latency.
 */
export const callSpeakerEvent = z.object({
  callId: callIdSchema,
  deviceId: deviceIdSchema.nullable(),
  accountId: accountIdSchema.nullable(),
  at: z.number(),
  decidedAt: z.number().optional(),
});
export type CallSpeakerEvent = z.infer<typeof callSpeakerEvent>;

/** A device in a call, with the media it declared when joining. */
export const callParticipantSchema = z.object({
  deviceId: deviceIdSchema,
  accountId: accountIdSchema,
  audio: z.boolean(),
  video: z.boolean(),
  /** When it joined (ms since the epoch, server clock). */
  joinedAt: z.number(),
});
export type CallParticipant = z.infer<typeof callParticipantSchema>;

/**
 * `call-participants`: everyone in the call, sent to every participant whenever someone joins or
 * leaves. `version` increases with every change of the list, so a late event can be recognised;
 * clients rotate their media frame keys when the list changes.
 */
export const callParticipantsEvent = z.object({
  callId: callIdSchema,
  conversationId: conversationIdSchema,
  version: z.number().int().positive(),
  participants: z.array(callParticipantSchema),
});
export type CallParticipantsEvent = z.infer<typeof callParticipantsEvent>;

/**
 * `call-ended`: the call is over for this device although it did not leave itself: the server
 * shut down (`closed`), or the SFU removed it (`connection_failed`, `connect_timeout`,
 * `negotiation_timeout`).
 */
export const callEndedEvent = z.object({
  callId: callIdSchema,
  conversationId: conversationIdSchema,
  reason: z.enum(['closed', 'connection_failed', 'connect_timeout', 'negotiation_timeout']),
});
export type CallEndedEvent = z.infer<typeof callEndedEvent>;
