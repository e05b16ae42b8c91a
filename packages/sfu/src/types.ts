/**
 * The SFU's public shapes (C6, C8): what the server passes in, and what it relays to clients.
 * Plain data only, so the server can put them in WebSocket frames as they are.
 */
import type { MediaKind } from './media.ts';
import type { DominantSpeakerOptions, SpeakerChange } from './dominant-speaker.ts';

export type { MediaKind } from './media.ts';

/** An ICE server for the SFU's own connections (STUN, or TURN with credentials), as in WebRTC. */
export interface SfuIceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** One m-line of an SFU offer and whose media it carries. */
export interface SfuTrack {
  /** The m-line's `a=mid`. */
  readonly mid: string;
  readonly kind: MediaKind;
  /**
   * `publish`: the participant's own upload slot (attach the microphone or camera here, behind
   * the end-to-end encryption transform). `subscribe`: media forwarded from `participantId`
   * (decrypt it with that participant's media key).
   */
  readonly role: 'publish' | 'subscribe';
  readonly participantId: string;
}

/**
 * An offer from the SFU. The SFU always makes the offers and the client always answers, so the
 * two sides never offer at once (no glare). `revision` increases with every offer to the same
 * participant; the answer must carry it.
 */
export interface SfuOffer {
  readonly type: 'offer';
  readonly sdp: string;
  readonly revision: number;
  /** Every live m-line; m-lines of participants who left are absent (their port is 0 in the SDP). */
  readonly tracks: readonly SfuTrack[];
}

/** The client's answer to one {@link SfuOffer}. */
export interface SfuAnswer {
  readonly sdp: string;
  readonly revision: number;
}

/** An ICE candidate the client trickles after its answer (the fields of `RTCIceCandidateInit`). */
export interface SfuIceCandidate {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

/** A dominant-speaker change in one room. */
export interface RoomSpeakerChange extends SpeakerChange {
  readonly roomId: string;
}

/** Why a participant left a room. */
export type LeaveReason =
  'left' | 'replaced' | 'connection_failed' | 'connect_timeout' | 'negotiation_timeout' | 'closed';

/**
 * Decides whether `participantId` may join the call `roomId`; the server checks that the device
 * belongs to the conversation the call is in. Runs on every join, before anything is created.
 */
export type AuthorizeJoin = (roomId: string, participantId: string) => boolean | Promise<boolean>;

/** Configuration the server passes to {@link Sfu}. */
export interface SfuOptions {
  /** Admission check; required so a server cannot forget it. */
  authorize: AuthorizeJoin;
  /** STUN/TURN servers for the SFU's own ICE gathering (default: none, host candidates only). */
  iceServers?: SfuIceServer[];
  /** `relay` forces media through TURN (default `all`). */
  iceTransportPolicy?: 'all' | 'relay';
  /**
   * Extra host addresses to gather on. Default `['127.0.0.1']`: werift skips loopback otherwise,
   * and same-host clients and loopback-only test machines need it.
   */
  iceAdditionalHostAddresses?: string[];
  /** UDP port range for ICE (for firewalls), e.g. `[40000, 40999]`. */
  icePortRange?: [number, number];
  /** Gather IPv6 candidates too (default true). */
  iceUseIpv6?: boolean;
  /** Most participants in one room (default 16). */
  maxParticipants?: number;
  /** A participant whose connection is not up this long after its first answer is removed (default 30 s). */
  connectTimeoutMs?: number;
  /** A participant who does not answer an offer within this time is removed (default 30 s). */
  negotiationTimeoutMs?: number;
  /** Clock in ms for the dominant-speaker detector and events (default `performance.now()`). */
  now?: () => number;
  /** Dominant-speaker tuning (defaults in `DEFAULT_DOMINANT_SPEAKER_OPTIONS`). */
  detector?: Partial<Omit<DominantSpeakerOptions, 'now'>>;
}

/** A room as the server can inspect it. */
export interface RoomInfo {
  readonly roomId: string;
  readonly participants: readonly string[];
  readonly dominantSpeaker: string | null;
}

/** Counters across all rooms (monotonic except `rooms` and `participants`). */
export interface SfuStats {
  rooms: number;
  participants: number;
  /** RTP packets received from publishers. */
  receivedPackets: number;
  /** RTP packets handed to subscribers' senders (one per subscriber per received packet). */
  forwardedPackets: number;
  /** Key-frame requests sent to publishers. */
  keyframeRequests: number;
  /** Packets not forwarded because their publisher exceeded the per-slot packet rate. */
  droppedPackets: number;
}
