/**
 * Types of the call layer (C6–C8): the small W3C `RTCPeerConnection` surface the call manager
 * uses (browsers' own class fits it, and so does werift's in Node), call states and events.
 */
import type { CallLogContent, CallMedia, CallOutcome, Content, IceCandidateJson } from '@parley/protocol';

/** The part of `RTCPeerConnection` Parley's 1:1 calls use. */
export interface PeerConnectionLike {
  readonly connectionState: string;
  readonly iceGatheringState: string;
  readonly localDescription: { type: string; sdp: string } | null;
  onicecandidate: ((event: { candidate?: IceCandidateLike | null }) => void) | null;
  onconnectionstatechange: ((...args: never[]) => void) | null;
  ontrack: ((event: { track: unknown; streams?: readonly unknown[] }) => void) | null;
  createOffer(): Promise<{ type: string; sdp?: string }>;
  createAnswer(): Promise<{ type: string; sdp?: string }>;
  setLocalDescription(description: { type: 'offer' | 'answer'; sdp: string }): Promise<unknown>;
  setRemoteDescription(description: { type: 'offer' | 'answer'; sdp: string }): Promise<unknown>;
  addIceCandidate(candidate: IceCandidateJson): Promise<unknown>;
  addTrack(track: never, ...streams: never[]): unknown;
  addTransceiver(kind: 'audio' | 'video', init: { direction: 'sendrecv' | 'recvonly' }): unknown;
  close(): unknown;
}

/** An ICE candidate as both browsers and werift hand it out. */
export interface IceCandidateLike {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

/** One ICE server entry (STUN, or TURN with the credentials the server mints). */
export interface IceServerLike {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** A peer-connection class: `globalThis.RTCPeerConnection` in browsers, werift's in Node. */
export type PeerConnectionCtor = new (
  config: { iceServers: IceServerLike[] } & Record<string, unknown>,
) => PeerConnectionLike;

/** Local media for a call: tracks to send (a stream, if the platform groups tracks in one). */
export interface LocalMedia {
  tracks: unknown[];
  stream?: unknown;
}

/** Options of the call manager, passed as `ClientOptions.calls`. */
export interface CallOptions {
  /** Peer-connection class (default `globalThis.RTCPeerConnection`). */
  RTCPeerConnection?: PeerConnectionCtor;
  /** Extra configuration for each peer connection (e.g. werift's `iceAdditionalHostAddresses`). */
  peerConnectionConfig?: Record<string, unknown>;
  /**
   * Group calls: negotiate the RFC 6464 audio-level header extension, which the SFU reads to name
   * the dominant speaker (default true). Browsers always negotiate it; werift answers only the
   * extensions in its `headerExtensions` configuration, so the SDK adds the audio level (and, when
   * the configuration has no `headerExtensions`, the MID extension) there. `false` leaves the
   * configuration as it is: a werift device is then never named speaker.
   */
  audioLevel?: boolean;
  /** ICE servers, or a function that fetches fresh TURN credentials for each call. */
  iceServers?: IceServerLike[] | (() => Promise<IceServerLike[]>);
  /**
   * Local microphone/camera (e.g. `getUserMedia`). Without it a call still negotiates audio (and
   * video) m-lines and receives; the caller can add tracks itself through `call.pc`.
   */
  getLocalMedia?: (media: CallMedia) => Promise<LocalMedia>;
  /** How long a call rings before it counts as missed (default 30 s). */
  ringTimeoutMs?: number;
  /** How long the caller waits for any callee device to say it rings before `unavailable` (default 5 s). */
  unavailableAfterMs?: number;
  /** Longest wait for ICE gathering before the offer or answer leaves (default 3 s); later candidates trickle. */
  gatherTimeoutMs?: number;
  /** Frame keys kept per sender for frames still in flight (default 4). */
  frameKeysKept?: number;
}

/**
 * Where a call stands on this device. Outgoing: ringing → accepted → connected → ended, or a
 * terminal ringing → declined | busy | missed | unavailable | cancelled. Incoming: ringing →
 * accepted → connected → ended, or ringing → declined | missed | answered-elsewhere.
 */
export type CallState =
  | 'ringing'
  | 'accepted'
  | 'connected'
  | 'ended'
  | 'declined'
  | 'busy'
  | 'missed'
  | 'unavailable'
  | 'cancelled'
  | 'answered-elsewhere';

/** States after which nothing more happens. */
export const TERMINAL_STATES: readonly CallState[] = [
  'ended',
  'declined',
  'busy',
  'missed',
  'unavailable',
  'cancelled',
  'answered-elsewhere',
];

/** A device as MLS authenticated it. */
export interface DeviceRef {
  accountId: string;
  deviceId: string;
}

/** Events of one call. */
export interface CallEvents extends Record<string, unknown> {
  state: CallState;
  /** A device of the callee says it is ringing (outgoing calls). */
  ringing: DeviceRef;
  /** A remote track arrived. */
  track: { track: unknown; streams: readonly unknown[] };
  /** The call is over; `outcome` is what the call-log entry says. */
  ended: { state: CallState; outcome: CallOutcome; durationMs: number };
}

/** Why a signalling message was ignored. */
export type SignalRejection =
  'unknown-call' | 'not-peer' | 'no-offer' | 'duplicate' | 'wrong-state' | 'not-direct' | 'bad-sdp';

/** What the call manager needs from the client. */
export interface CallHost {
  self(): DeviceRef;
  /** The conversation's kind and peer, if this device knows it. */
  conversation(conversationId: string): { kind: 'direct' | 'group'; peer?: string; active: boolean } | undefined;
  /** Encrypt and send content to the conversation (resolves once the server took it). */
  send(conversationId: string, content: Content, opts: { ephemeral?: boolean }): Promise<unknown>;
  /**
   * Send a call-log entry and record it in this device's history as an outgoing message; resolves
   * with the stored message's id (the manager then emits `call-log`).
   */
  sendCallLog(conversationId: string, content: CallLogContent): Promise<{ id: string }>;
  /** Resolves once every delivery received so far is processed (used to not ring for a call already over). */
  idle(): Promise<void>;
  /** Report a failure that has no caller to throw to. */
  error(error: unknown, context: string): void;
}
