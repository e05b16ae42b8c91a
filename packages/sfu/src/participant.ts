/**
 * One participant's side of the SFU (C6): a werift peer connection with two upload slots (audio
 * and video, `recvonly` from the SFU's view) and one `sendonly` m-line per stream forwarded to
 * it, plus the offer/answer bookkeeping.
 *
 * Negotiation: the SFU makes every offer and the client only answers, so offers never cross.
 * Changes that need SDP (someone's media to add or remove) mark the participant "dirty"; while an
 * offer awaits its answer, further changes wait and go out together in the next offer, sent as
 * soon as the answer arrives. Each offer carries a revision; an answer to any other revision is
 * refused (`call_negotiation_stale`).
 */
import { ParleyError } from '@parley/protocol';
import {
  MediaStream,
  PictureLossIndication,
  RTCPeerConnection,
  RtcpPayloadSpecificFeedback,
  type MediaStreamTrack,
  type RTCRtpTransceiver,
  type RtcpPacket,
  type RtpPacket,
} from 'werift';
import { AUDIO_LEVEL_URI } from './audio-level.ts';
import { Forward } from './forward.ts';
import { sfuCodecs, sfuHeaderExtensionConfig, sfuHeaderExtensions, type MediaKind } from './media.ts';
import { answerShapeProblem } from './sdp-shape.ts';
import type { LeaveReason, SfuAnswer, SfuIceCandidate, SfuIceServer, SfuOffer, SfuTrack } from './types.ts';

/** Largest SDP answer accepted: ~100 m-lines fit easily; anything larger is not a real answer. */
export const MAX_SDP_BYTES = 256 * 1024;

/** A participant's upload slot for one kind. */
export interface PublishSlot {
  readonly kind: MediaKind;
  readonly transceiver: RTCRtpTransceiver;
  /** The receiving track, once the client's answer says it sends this kind. */
  track?: MediaStreamTrack;
  ssrc?: number;
  /** Audio-level extension id the client accepted (audio only). */
  levelExtId?: number;
  /** Where this slot's packets go. */
  readonly subscribers: Set<Forward>;
  lastKeyframeRequest: number;
  /** Packets seen in the current one-second policing window, and when it started. */
  windowStart: number;
  windowPackets: number;
}

/** What a participant reports to its room. */
export interface ParticipantHooks {
  /** A renegotiation offer is ready for the client. */
  offer(p: Participant, offer: SfuOffer): void;
  /** An answer was applied (the room looks for newly published media). */
  answered(p: Participant): void;
  /** ICE and DTLS are up. */
  connected(p: Participant): void;
  /** The participant must be removed (connection failed, timed out). */
  failed(p: Participant, reason: LeaveReason): void;
  /** A publisher packet arrived on a slot. */
  rtp(p: Participant, slot: PublishSlot, rtp: RtpPacket): void;
  /** A subscriber asked for a key frame on one of its forwards (PLI or FIR). */
  keyframeWanted(p: Participant, forward: Forward): void;
}

/** Peer-connection settings shared by every participant of an SFU. */
export interface PeerSettings {
  iceServers: SfuIceServer[];
  iceTransportPolicy: 'all' | 'relay';
  iceAdditionalHostAddresses: string[];
  icePortRange: [number, number] | undefined;
  iceUseIpv6: boolean;
  connectTimeoutMs: number;
  negotiationTimeoutMs: number;
}

const KINDS: readonly MediaKind[] = ['audio', 'video'];

export class Participant {
  readonly pc: RTCPeerConnection;
  readonly publish: Record<MediaKind, PublishSlot>;
  /** Streams forwarded to this participant, by the SSRC the SFU sends them with. */
  readonly forwards = new Map<number, Forward>();
  connected = false;
  closed = false;
  private revision = 0;
  /** Revision of the offer awaiting an answer, or null. */
  private pending: number | null = null;
  private offering = false;
  private dirty = false;
  private negotiationTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly roomId: string,
    readonly id: string,
    private readonly settings: PeerSettings,
    private readonly hooks: ParticipantHooks,
  ) {
    this.pc = new RTCPeerConnection({
      iceServers: settings.iceServers,
      iceTransportPolicy: settings.iceTransportPolicy,
      iceAdditionalHostAddresses: settings.iceAdditionalHostAddresses,
      ...(settings.icePortRange ? { icePortRange: settings.icePortRange } : {}),
      iceUseIpv6: settings.iceUseIpv6,
      // One transport for every m-line: werift's default opens one ICE/DTLS transport per m-line
      // until the remote side has confirmed BUNDLE, which costs ports and handshakes.
      bundlePolicy: 'max-bundle',
      codecs: sfuCodecs(),
      headerExtensions: sfuHeaderExtensionConfig(),
    });
    const slot = (kind: MediaKind): PublishSlot => ({
      kind,
      transceiver: this.addTransceiver(kind, 'recvonly'),
      subscribers: new Set(),
      lastKeyframeRequest: -Infinity,
      windowStart: -Infinity,
      windowPackets: 0,
    });
    this.publish = { audio: slot('audio'), video: slot('video') };
    // Read subscribers' key-frame requests straight off the transport: werift looks a PLI up by
    // the feedback's sender SSRC before its media SSRC, and in an SFU connection that sender SSRC
    // can be another stream of the same connection, so the request would reach the wrong object.
    for (const dtls of this.pc.dtlsTransports) dtls.onRtcp.subscribe((packet) => this.onRtcp(packet));
    this.pc.connectionStateChange.subscribe((state) => {
      if (this.closed) return;
      if (state === 'connected' && !this.connected) {
        this.connected = true;
        clearTimeout(this.connectTimer);
        this.hooks.connected(this);
      } else if (state === 'failed') {
        this.hooks.failed(this, 'connection_failed');
      }
    });
  }

  /** Adds a stream from `publisherId` to forward to this participant (negotiated by the next offer). */
  addForward(publisherId: string, kind: MediaKind): Forward {
    // The msid's stream id names the publisher, so browsers group its audio and video together.
    const t = this.addTransceiver(kind, 'sendonly', publisherId);
    const f = new Forward(publisherId, this.id, kind, t);
    this.forwards.set(f.ssrc, f);
    return f;
  }

  /** Stops a forward; its m-line goes inactive (port 0) in the next offer. */
  removeForward(f: Forward): void {
    if (!this.forwards.delete(f.ssrc) || this.closed) return;
    this.pc.removeTrack(f.transceiver.sender);
    // Marking it stopping makes werift treat the client's rejected m-line as stopped instead of
    // renegotiating codecs on it (a browser answers a port-0 m-line without codecs).
    f.transceiver.stop();
  }

  /** Builds and applies the next offer. Used directly for the first offer of a join. */
  async createOffer(): Promise<SfuOffer> {
    this.offering = true;
    this.dirty = false;
    // The m-lines this offer is about, captured before werift's awaits so a concurrent change
    // (which sets `dirty` and gets its own offer) does not leak into this offer's track list.
    const snapshot: Array<{ t: RTCRtpTransceiver; kind: MediaKind; role: SfuTrack['role']; participantId: string }> = [
      ...KINDS.map((kind) => ({
        t: this.publish[kind].transceiver,
        kind,
        role: 'publish' as const,
        participantId: this.id,
      })),
      ...[...this.forwards.values()].map((f) => ({
        t: f.transceiver,
        kind: f.kind,
        role: 'subscribe' as const,
        participantId: f.publisherId,
      })),
    ];
    try {
      await this.pc.setLocalDescription(await this.pc.createOffer());
      const sdp = this.pc.localDescription?.sdp;
      if (!sdp) throw new Error('werift produced no local description');
      this.revision += 1;
      this.pending = this.revision;
      this.armNegotiationTimer();
      const tracks = snapshot
        .filter((e) => e.t.mid !== null && !e.t.stopping)
        .map((e) => ({ mid: e.t.mid!, kind: e.kind, role: e.role, participantId: e.participantId }));
      return { type: 'offer', sdp, revision: this.revision, tracks };
    } finally {
      this.offering = false;
    }
  }

  /** Asks for a new offer now, or as soon as the outstanding one is answered. */
  negotiate(): void {
    if (this.closed) return;
    if (this.pending !== null || this.offering) {
      this.dirty = true;
      return;
    }
    this.createOffer().then(
      (offer) => {
        if (!this.closed) this.hooks.offer(this, offer);
      },
      () => {
        if (!this.closed) this.hooks.failed(this, 'connection_failed');
      },
    );
  }

  /** Applies the client's answer to the outstanding offer. */
  async applyAnswer(answer: SfuAnswer): Promise<void> {
    if (this.pending === null || answer.revision !== this.pending) {
      throw new ParleyError('call_negotiation_stale', {
        details: { latestRevision: this.revision, awaitingAnswer: this.pending !== null },
      });
    }
    if (typeof answer.sdp !== 'string' || answer.sdp.length === 0 || answer.sdp.length > MAX_SDP_BYTES) {
      throw new ParleyError('call_sdp_invalid', {
        details: { reason: `sdp must be a non-empty string of at most ${MAX_SDP_BYTES} characters` },
      });
    }
    const problem = answerShapeProblem(this.pc.localDescription?.sdp ?? '', answer.sdp);
    if (problem) throw new ParleyError('call_sdp_invalid', { details: { reason: problem } });
    const revision = this.pending;
    // Claimed before the await so a second answer for the same revision is refused as stale.
    this.pending = null;
    try {
      await this.pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    } catch (e) {
      // werift leaves the offer in place when it refuses an answer: a corrected answer may follow.
      if (!this.closed && this.pc.signalingState === 'have-local-offer') this.pending = revision;
      throw new ParleyError('call_sdp_invalid', { details: { reason: describe(e) } });
    }
    clearTimeout(this.negotiationTimer);
    if (this.closed) return;
    if (!this.connected && this.connectTimer === undefined) {
      this.connectTimer = setTimeout(() => this.hooks.failed(this, 'connect_timeout'), this.settings.connectTimeoutMs);
      this.connectTimer.unref();
    }
    for (const f of this.forwards.values()) f.refresh();
    for (const kind of KINDS) {
      const slot = this.publish[kind];
      if (slot.levelExtId === undefined)
        slot.levelExtId = slot.transceiver.headerExtensions.find((e) => e.uri === AUDIO_LEVEL_URI)?.id;
    }
    this.hooks.answered(this);
    if (this.dirty) this.negotiate();
  }

  /** Adds a client's trickled ICE candidate. */
  async addIceCandidate(c: SfuIceCandidate): Promise<void> {
    if (typeof c?.candidate !== 'string' || c.candidate.length > 1024) {
      throw new ParleyError('call_sdp_invalid', {
        details: { reason: 'candidate must be a string of at most 1024 characters' },
      });
    }
    try {
      await this.pc.addIceCandidate({
        candidate: c.candidate,
        ...(typeof c.sdpMid === 'string' ? { sdpMid: c.sdpMid } : {}),
        ...(typeof c.sdpMLineIndex === 'number' ? { sdpMLineIndex: c.sdpMLineIndex } : {}),
        ...(typeof c.usernameFragment === 'string' ? { usernameFragment: c.usernameFragment } : {}),
      });
    } catch (e) {
      throw new ParleyError('call_sdp_invalid', { details: { reason: describe(e) } });
    }
  }

  /**
   * Starts receiving a slot's media if the client's answer says it sends it. Returns true when
   * the slot became published by this call.
   */
  startPublishing(slot: PublishSlot): boolean {
    if (slot.track) return false;
    const direction = slot.transceiver.currentDirection;
    if (direction !== 'recvonly' && direction !== 'sendrecv') return false;
    // werift routes incoming RTP by the SSRC the answer declares (`a=ssrc`); browsers declare it.
    const track = slot.transceiver.receiver.tracks[0];
    if (!track) return false;
    slot.track = track;
    slot.ssrc = track.ssrc;
    track.onReceiveRtp.subscribe((rtp) => {
      if (!this.closed) this.hooks.rtp(this, slot, rtp);
    });
    return true;
  }

  /** Sends a picture-loss indication for a published video slot. */
  requestKeyframe(slot: PublishSlot): void {
    if (this.closed || slot.ssrc === undefined) return;
    void slot.transceiver.receiver.sendRtcpPLI(slot.ssrc);
  }

  /** Closes the peer connection; nothing is sent to or received from this participant afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.negotiationTimer);
    clearTimeout(this.connectTimer);
    this.pc.close().catch(() => undefined);
  }

  private addTransceiver(kind: MediaKind, direction: 'recvonly' | 'sendonly', streamId?: string): RTCRtpTransceiver {
    const t = this.pc.addTransceiver(kind, {
      direction,
      ...(streamId ? { streams: [new MediaStream({ id: streamId })] } : {}),
    });
    // Set before the first offer so werift keeps the fixed ids instead of numbering its own.
    t.headerExtensions = sfuHeaderExtensions(kind);
    // werift recycles any transceiver whose negotiated direction is `inactive` for the next
    // addTransceiver, whatever its kind: a video slot a client left unused would become someone's
    // audio forward. Marking every transceiver as used for sending turns that recycling off.
    t.usedForSender = true;
    return t;
  }

  private armNegotiationTimer(): void {
    clearTimeout(this.negotiationTimer);
    this.negotiationTimer = setTimeout(() => {
      if (this.pending !== null) this.hooks.failed(this, 'negotiation_timeout');
    }, this.settings.negotiationTimeoutMs);
    this.negotiationTimer.unref();
  }

  private onRtcp(packet: RtcpPacket): void {
    if (this.closed || packet.type !== RtcpPayloadSpecificFeedback.type) return;
    const fb: unknown = (packet as RtcpPayloadSpecificFeedback).feedback;
    let ssrcs: number[] = [];
    if (fb instanceof PictureLossIndication) ssrcs = [fb.mediaSsrc];
    // Full intra request (PSFB FMT 4): werift parses it but does not export the class; its media
    // SSRCs are in the FCI entries.
    else if (isFir(fb)) ssrcs = fb.fir.map((e) => e.ssrc);
    for (const ssrc of ssrcs) {
      const f = this.forwards.get(ssrc);
      if (f && f.kind === 'video') this.hooks.keyframeWanted(this, f);
    }
  }
}

function isFir(fb: unknown): fb is { fir: Array<{ ssrc: number }> } {
  return (
    typeof fb === 'object' &&
    fb !== null &&
    (fb as { count?: unknown }).count === 4 &&
    Array.isArray((fb as { fir?: unknown }).fir)
  );
}

function describe(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).slice(0, 200);
}
