/**
 * One group call on the SFU (C6, C8): its participants, who forwards to whom, and the
 * dominant-speaker detector fed from the publishers' audio-level header extensions.
 *
 * Forwarding graph: every published track of every participant goes to every other participant,
 * each through a {@link Forward} on the subscriber's peer connection. A join adds the existing
 * publishers' streams to the newcomer's first offer; once the newcomer's answer shows what it
 * sends, each other participant gets a renegotiation offer with the newcomer's streams. A leave
 * removes that participant's streams from everyone (one renegotiation each).
 */
import type { RtpPacket } from 'werift';
import { decodeAudioLevel } from './audio-level.ts';
import { DominantSpeakerDetector, type DominantSpeakerOptions, type SpeakerChange } from './dominant-speaker.ts';
import type { Forward } from './forward.ts';
import type { MediaKind } from './media.ts';
import { Participant, type ParticipantHooks, type PeerSettings, type PublishSlot } from './participant.ts';
import type { LeaveReason, RoomInfo, SfuOffer, SfuStats } from './types.ts';

/** Shortest gap between two key-frame requests to one publisher's video (a burst of PLIs from
 * several subscribers needs only one key frame). */
export const KEYFRAME_REQUEST_INTERVAL_MS = 300;

/**
 * Most packets per second forwarded from one upload slot. Forwarding multiplies a publisher's
 * traffic by the number of subscribers, so a client flooding the SFU must not flood everyone.
 * Audio: Opus at its shortest 10 ms packets is 100/s, plus room for network jitter bunching them.
 * Video: 1,500/s is about 15 Mbit/s of full-size packets, far above what a call needs.
 */
export const MAX_PACKETS_PER_SECOND: Readonly<Record<MediaKind, number>> = { audio: 150, video: 1500 };

/** The timer functions a room drives its detector with (the global ones; tests pass fakes). */
export interface RoomTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const GLOBAL_TIMERS: RoomTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** What a room reports to the SFU. */
export interface RoomEvents {
  offer(roomId: string, participantId: string, offer: SfuOffer): void;
  speaker(roomId: string, change: SpeakerChange): void;
  /** A participant must be removed: its connection failed or timed out. */
  failed(roomId: string, participantId: string, reason: LeaveReason): void;
}

export class Room {
  readonly participants = new Map<string, Participant>();
  readonly detector: DominantSpeakerDetector;
  private readonly hooks: ParticipantHooks;
  /** The detector's frame timer, set while the room has participants. */
  private frameTimer: unknown = null;

  constructor(
    readonly id: string,
    private readonly settings: PeerSettings,
    detectorOptions: Partial<DominantSpeakerOptions>,
    private readonly now: () => number,
    private readonly events: RoomEvents,
    private readonly stats: SfuStats,
    private readonly timers: RoomTimers = GLOBAL_TIMERS,
  ) {
    this.detector = new DominantSpeakerDetector({ ...detectorOptions, now });
    this.detector.onChange((change) => this.events.speaker(this.id, change));
    this.hooks = {
      offer: (p, offer) => this.events.offer(this.id, p.id, offer),
      answered: (p) => this.onAnswered(p),
      connected: (p) => this.onConnected(p),
      // Only the current session of an id may remove it (not a replaced one whose timer fired late).
      failed: (p, reason) => {
        if (this.participants.get(p.id) === p) this.events.failed(this.id, p.id, reason);
      },
      rtp: (p, slot, rtp) => this.onRtp(p, slot, rtp),
      keyframeWanted: (_p, f) => this.requestKeyframe(f.publisherId),
    };
  }

  get info(): RoomInfo {
    return { roomId: this.id, participants: [...this.participants.keys()], dominantSpeaker: this.detector.dominant };
  }

  /** Adds a participant and subscribes it to everything already published; returns it (no offer yet). */
  add(participantId: string): Participant {
    const p = new Participant(this.id, participantId, this.settings, this.hooks);
    this.participants.set(participantId, p);
    this.detector.add(participantId);
    this.startFrameTimer();
    for (const other of this.participants.values()) {
      if (other === p) continue;
      for (const slot of Object.values(other.publish)) {
        if (slot.track) slot.subscribers.add(p.addForward(other.id, slot.kind));
      }
    }
    return p;
  }

  /** Removes a participant, closes its connection and renegotiates everyone who received it. */
  remove(participantId: string): boolean {
    const p = this.participants.get(participantId);
    if (!p) return false;
    this.participants.delete(participantId);
    p.close();
    this.detector.remove(participantId, this.now());
    if (this.participants.size === 0) this.stopFrameTimer();
    // What it received: drop those forwards from the publishers' fan-out.
    for (const f of p.forwards.values()) this.participants.get(f.publisherId)?.publish[f.kind].subscribers.delete(f);
    // What it published: remove those m-lines from every subscriber.
    const touched = new Set<Participant>();
    for (const slot of Object.values(p.publish)) {
      for (const f of slot.subscribers) {
        const sub = this.participants.get(f.subscriberId);
        if (!sub) continue;
        sub.removeForward(f);
        touched.add(sub);
      }
      slot.subscribers.clear();
    }
    for (const sub of touched) sub.negotiate();
    return true;
  }

  /** Closes every connection. */
  close(): void {
    this.stopFrameTimer();
    for (const id of [...this.participants.keys()]) {
      const p = this.participants.get(id)!;
      this.participants.delete(id);
      p.close();
    }
  }

  /** True while the detector's frame timer runs (the room has participants). */
  get frameTimerRunning(): boolean {
    return this.frameTimer !== null;
  }

  /**
   * The detector closes a frame, and decides, when a packet arrives after the frame's end. This
   * timer closes each frame at its end instead, so a decision is not held back until the next
   * packet from anyone (up to a packet interval). One timer per room, only while the room has
   * participants; unref'd, so it never keeps the process alive.
   */
  private startFrameTimer(): void {
    if (this.frameTimer !== null) return;
    this.detector.advance(this.now()); // starts the frame clock (or catches up after a pause)
    this.scheduleFrame();
  }

  private scheduleFrame(): void {
    // The frame clock runs (startFrameTimer started it). Timers have millisecond resolution and may
    // fire a little early: the tick just re-arms then.
    const delay = Math.max(1, Math.ceil(this.detector.nextFrameEnd! - this.now()));
    const handle = this.timers.setTimeout(() => this.onFrameTimer(), delay);
    (handle as { unref?: () => unknown } | null)?.unref?.();
    this.frameTimer = handle;
  }

  private onFrameTimer(): void {
    this.frameTimer = null;
    if (this.participants.size === 0) return;
    try {
      this.detector.advance(this.now());
    } finally {
      this.scheduleFrame();
    }
  }

  private stopFrameTimer(): void {
    if (this.frameTimer === null) return;
    this.timers.clearTimeout(this.frameTimer);
    this.frameTimer = null;
  }

  private onAnswered(p: Participant): void {
    for (const slot of Object.values(p.publish)) {
      if (!p.startPublishing(slot)) continue;
      // Newly published: every other participant gets the stream in its next offer.
      for (const other of this.participants.values()) {
        if (other === p) continue;
        slot.subscribers.add(other.addForward(p.id, slot.kind));
        other.negotiate();
      }
    }
    // Video forwards this answer brought live need a key frame to be decodable.
    if (p.connected) this.requestKeyframesFor(p);
  }

  private onConnected(p: Participant): void {
    this.requestKeyframesFor(p);
  }

  private requestKeyframesFor(p: Participant): void {
    const publishers = new Set<string>();
    for (const f of p.forwards.values()) if (f.kind === 'video') publishers.add(f.publisherId);
    for (const id of publishers) this.requestKeyframe(id);
  }

  private requestKeyframe(publisherId: string): void {
    const pub = this.participants.get(publisherId);
    const slot = pub?.publish.video;
    if (!pub || !slot?.track) return;
    const now = this.now();
    if (now - slot.lastKeyframeRequest < KEYFRAME_REQUEST_INTERVAL_MS) return;
    slot.lastKeyframeRequest = now;
    this.stats.keyframeRequests++;
    pub.requestKeyframe(slot);
  }

  private onRtp(p: Participant, slot: PublishSlot, rtp: RtpPacket): void {
    this.stats.receivedPackets++;
    const now = this.now();
    if (now - slot.windowStart >= 1000) {
      slot.windowStart = now;
      slot.windowPackets = 0;
    }
    if (++slot.windowPackets > MAX_PACKETS_PER_SECOND[slot.kind]) {
      this.stats.droppedPackets++;
      return;
    }
    let levelData: Buffer | undefined;
    if (slot.kind === 'audio' && slot.levelExtId !== undefined) {
      const element = rtp.header.extensions.find((e) => e.id === slot.levelExtId);
      const level = decodeAudioLevel(element?.payload);
      if (level && element) {
        levelData = element.payload.subarray(0, 1);
        this.detector.observe(p.id, level.level, level.voice, now);
      }
    }
    let sent = 0;
    for (const f of slot.subscribers) if (f.send(rtp, levelData)) sent++;
    this.stats.forwardedPackets += sent;
  }
}
