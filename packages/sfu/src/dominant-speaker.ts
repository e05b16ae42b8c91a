/**
 * Dominant-speaker detection from RFC 6464 audio levels (C8): which participant of a group call
 * is "the one speaking now", stable enough that an emoji reaction lands on the right tile and the
 * speaker highlight does not jump on a cough.
 *
 * The idea follows Volfin & Cohen, "Dominant speaker identification for multipoint
 * videoconferencing" (2013): judge speech activity at three time scales, and let a challenger
 * replace the current speaker only when it is more active at every scale. A short noise is loud
 * at the shortest scale only, so it never wins. In Parley's words:
 *
 * 1. **Frames.** Time is cut into 20 ms frames (one Opus packet each). A frame is *voiced* when the
 *    loudest level a participant sent in it is at least `speechThresholdDbov`. A frame without
 *    a packet keeps the previous loudness for `holdMs` (senders with 40/60 ms packets), then
 *    counts as silence (a muted or DTX sender).
 * 2. **Immediate scale** (100 ms): the number of voiced frames among the last 5. Three or more
 *    make the frame a *syllable frame*.
 * 3. **Medium scale** (500 ms): the number of syllable frames among the last 25. Fifteen or more
 *    (300 ms of sustained voicing) make the frame a *word frame*. A burst of `b` voiced frames
 *    yields at most `b` syllable frames, so a 150 ms cough (8 frames) can never make a word, and
 *    no noise shorter than 300 ms can ever take the floor.
 * 4. **Long scale** (1 s): the number of word frames among the last 50.
 *
 * Each count `k` of a window of `n` becomes a score, the smoothed log-odds `ln((k+½)/(n−k+½))`:
 * monotone, finite at 0 and n, and its differences compare two participants as a likelihood
 * ratio. (The paper scores each count with a likelihood ratio between a speech model and a
 * noise model, starting from frequency sub-bands; RFC 6464 gives one level per packet and no
 * sub-bands, so counts are small and the log-odds needs no per-scale model parameters to tune.)
 *
 * **Decision** (every frame): a challenger replaces the dominant speaker when it has at least one
 * word frame in the long window, its immediate score is higher than the dominant's, and its medium
 * and long scores beat the dominant's by `mediumMargin` and `longMargin`. With several
 * challengers, the largest medium lead wins. A participant who stops talking keeps the floor
 * until someone else out-talks them, so silence keeps the last speaker. With nobody dominant
 * (start of a call, or the speaker left) the same rule runs against an all-silent baseline.
 *
 * With the defaults, when A stops and B starts talking continuously, B becomes dominant about
 * 0.8 s after B's first loud packet (the bound the tests and docs/calls.md state: 1 s); when nobody
 * has spoken for over a second, about 0.34 s.
 *
 * Time comes from an injectable clock (or the `at` of each observation), so tests are exact.
 */

/** When a new dominant speaker is chosen (or `null`: the dominant speaker left). */
export interface SpeakerChange {
  /** The new dominant speaker, or `null` when the previous one left and nobody has taken over yet. */
  readonly speakerId: string | null;
  readonly previousSpeakerId: string | null;
  /**
   * When the level change that caused this happened: the arrival time of the first loud packet of
   * the new speaker's current talk spurt (for `null`, the time the speaker was removed).
   */
  readonly at: number;
  /** When the detector decided (clock time); `decidedAt − at` is the detection latency. */
  readonly decidedAt: number;
}

/** Tuning knobs; the defaults are explained in the module comment and docs/calls.md. */
export interface DominantSpeakerOptions {
  /** Clock in milliseconds (default `performance.now()`); inject a fake one in tests. */
  now: () => number;
  /** Frame length in ms (default 20, one Opus packet). */
  frameMs: number;
  /** A frame is voiced when its loudest level is at least this loud, in dBov (default −55). */
  speechThresholdDbov: number;
  /** Ignore levels whose RFC 6464 voice-activity bit is clear (default false: senders differ). */
  requireVoiceFlag: boolean;
  /** A frame with no packet keeps the last loudness for this long, in ms (default 60). */
  holdMs: number;
  /** Immediate window in frames and how many voiced frames make a syllable frame (5, 3). */
  immediateFrames: number;
  immediateActive: number;
  /** Medium window in frames and how many syllable frames make a word frame (25, 15). */
  mediumFrames: number;
  mediumActive: number;
  /** Long window in frames (50). */
  longFrames: number;
  /** Score leads a challenger needs over the dominant speaker (log-odds units; 0 and 0). */
  mediumMargin: number;
  longMargin: number;
  /** A talk spurt ends after this many unvoiced frames; the next loud packet starts a new one (25). */
  spurtGapFrames: number;
}

export const DEFAULT_DOMINANT_SPEAKER_OPTIONS: Readonly<Omit<DominantSpeakerOptions, 'now'>> = {
  frameMs: 20,
  speechThresholdDbov: -55,
  requireVoiceFlag: false,
  holdMs: 60,
  immediateFrames: 5,
  immediateActive: 3,
  mediumFrames: 25,
  mediumActive: 15,
  longFrames: 50,
  mediumMargin: 0,
  longMargin: 0,
  spurtGapFrames: 25,
};

/** A fixed-size window of 0/1 values with a running sum. */
class WindowCount {
  private readonly bits: Uint8Array;
  private pos = 0;
  sum = 0;

  constructor(readonly size: number) {
    this.bits = new Uint8Array(size);
  }

  push(bit: 0 | 1): void {
    this.sum += bit - this.bits[this.pos]!;
    this.bits[this.pos] = bit;
    this.pos = (this.pos + 1) % this.size;
  }

  clear(): void {
    this.bits.fill(0);
    this.sum = 0;
    this.pos = 0;
  }
}

/** Smoothed log-odds of a count `k` out of `n`: the activity score of one window. */
export function activityScore(k: number, n: number): number {
  return Math.log((k + 0.5) / (n - k + 0.5));
}

interface Speaker {
  readonly id: string;
  /** Loudest loudness (127 − level) seen in the open frame, or −1 when no packet came in it. */
  frameLoudness: number;
  /** Arrival time of the first loud packet in the open frame. */
  frameLoudAt: number | null;
  lastLoudness: number;
  lastSampleAt: number;
  readonly immediate: WindowCount;
  readonly medium: WindowCount;
  readonly long: WindowCount;
  unvoicedRun: number;
  spurtStart: number | null;
}

/** Per-participant scores at the last closed frame (for diagnostics and tests). */
export interface SpeakerScores {
  readonly immediate: number;
  readonly medium: number;
  readonly long: number;
  readonly counts: { readonly immediate: number; readonly medium: number; readonly long: number };
}

/**
 * Tracks the participants of one call and decides who the dominant speaker is. Feed it levels
 * with {@link observe}; call {@link advance} on a timer (at {@link nextFrameEnd}) so frames close,
 * and decisions happen, on time even when no packet follows; the SFU's rooms do (`room.ts`).
 */
export class DominantSpeakerDetector {
  private readonly opts: DominantSpeakerOptions;
  private readonly speakers = new Map<string, Speaker>();
  private readonly listeners = new Set<(change: SpeakerChange) => void>();
  private readonly minLoudness: number;
  private dominantId: string | null = null;
  /** End time of the open frame; `null` until the first observation starts the frame clock. */
  private frameEnd: number | null = null;
  private readonly baseline: Speaker;

  constructor(options: Partial<DominantSpeakerOptions> = {}) {
    this.opts = { ...DEFAULT_DOMINANT_SPEAKER_OPTIONS, now: () => performance.now(), ...options };
    if (this.opts.immediateActive > this.opts.immediateFrames || this.opts.mediumActive > this.opts.mediumFrames) {
      throw new RangeError('active thresholds must not exceed their windows');
    }
    this.minLoudness = 127 + this.opts.speechThresholdDbov;
    this.baseline = this.newSpeaker('');
  }

  /** The current dominant speaker, or `null`. */
  get dominant(): string | null {
    return this.dominantId;
  }

  /**
   * When the open frame ends (clock time), or `null` before the frame clock started (the first
   * {@link observe} or {@link advance} starts it). A timer that calls {@link advance} at this time
   * decides on the frame boundary instead of at the next packet.
   */
  get nextFrameEnd(): number | null {
    return this.frameEnd;
  }

  /** Participants being tracked. */
  get participants(): string[] {
    return [...this.speakers.keys()];
  }

  /** Subscribes to speaker changes; returns the unsubscribe function. */
  onChange(listener: (change: SpeakerChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts tracking a participant (done implicitly by {@link observe}). */
  add(id: string): void {
    if (!this.speakers.has(id)) this.speakers.set(id, this.newSpeaker(id));
  }

  /** Stops tracking a participant; if it was dominant, emits a change to `null`. */
  remove(id: string, at: number = this.opts.now()): void {
    if (!this.speakers.delete(id)) return;
    if (this.dominantId === id) this.change(null, at, at);
  }

  /**
   * Records one packet's audio level from `id`, received at `at` (default: the clock).
   * `level` is in -dBov (0 loud … 127 silent) as RFC 6464 carries it.
   */
  observe(id: string, level: number, voice = true, at: number = this.opts.now()): void {
    this.advance(at);
    let s = this.speakers.get(id);
    if (!s) {
      s = this.newSpeaker(id);
      this.speakers.set(id, s);
    }
    if (!Number.isFinite(level)) return;
    const loudness = 127 - Math.max(0, Math.min(127, level));
    const counts = !this.opts.requireVoiceFlag || voice;
    const effective = counts ? loudness : 0;
    if (effective > s.frameLoudness) s.frameLoudness = effective;
    if (effective >= this.minLoudness && s.frameLoudAt === null) s.frameLoudAt = at;
    s.lastLoudness = effective;
    s.lastSampleAt = at;
  }

  /**
   * Closes every frame that ended by `now` and re-decides. Without it a frame closes only when the
   * next packet arrives; call it on a timer at {@link nextFrameEnd}.
   */
  advance(now: number = this.opts.now()): void {
    if (this.frameEnd === null) {
      this.frameEnd = now + this.opts.frameMs;
      return;
    }
    const longest = this.opts.immediateFrames + this.opts.mediumFrames + this.opts.longFrames;
    let pending = Math.floor((now - this.frameEnd) / this.opts.frameMs) + 1;
    if (pending <= 0) return;
    if (pending > longest + 1) {
      // A gap longer than every window: all windows would be silent; skip straight there.
      for (const s of this.speakers.values()) this.silence(s);
      this.frameEnd += (pending - 1) * this.opts.frameMs;
      pending = 1;
    }
    for (; pending > 0; pending--) {
      this.closeFrame(this.frameEnd);
      this.frameEnd += this.opts.frameMs;
    }
  }

  /** The scores of one participant at the last closed frame, or `undefined` if unknown. */
  scores(id: string): SpeakerScores | undefined {
    const s = this.speakers.get(id);
    return s ? this.scoresOf(s) : undefined;
  }

  private newSpeaker(id: string): Speaker {
    return {
      id,
      frameLoudness: -1,
      frameLoudAt: null,
      lastLoudness: 0,
      lastSampleAt: -Infinity,
      immediate: new WindowCount(this.opts.immediateFrames),
      medium: new WindowCount(this.opts.mediumFrames),
      long: new WindowCount(this.opts.longFrames),
      unvoicedRun: Infinity,
      spurtStart: null,
    };
  }

  private silence(s: Speaker): void {
    s.immediate.clear();
    s.medium.clear();
    s.long.clear();
    s.frameLoudness = -1;
    s.frameLoudAt = null;
    s.unvoicedRun = Infinity;
    s.spurtStart = null;
  }

  private closeFrame(end: number): void {
    const o = this.opts;
    for (const s of this.speakers.values()) {
      let loudness = s.frameLoudness;
      // No packet in this frame: hold the last loudness briefly (long packets), then silence.
      if (loudness < 0) loudness = end - s.lastSampleAt <= o.holdMs ? s.lastLoudness : 0;
      const voiced = loudness >= this.minLoudness;
      if (voiced) {
        if (s.unvoicedRun >= o.spurtGapFrames || s.spurtStart === null) s.spurtStart = s.frameLoudAt ?? end - o.frameMs;
        s.unvoicedRun = 0;
      } else if (++s.unvoicedRun >= o.spurtGapFrames) {
        s.spurtStart = null;
      }
      s.immediate.push(voiced ? 1 : 0);
      s.medium.push(s.immediate.sum >= o.immediateActive ? 1 : 0);
      s.long.push(s.medium.sum >= o.mediumActive ? 1 : 0);
      s.frameLoudness = -1;
      s.frameLoudAt = null;
    }
    this.decide(end);
  }

  private scoresOf(s: Speaker): SpeakerScores {
    const o = this.opts;
    return {
      immediate: activityScore(s.immediate.sum, o.immediateFrames),
      medium: activityScore(s.medium.sum, o.mediumFrames),
      long: activityScore(s.long.sum, o.longFrames),
      counts: { immediate: s.immediate.sum, medium: s.medium.sum, long: s.long.sum },
    };
  }

  private decide(now: number): void {
    const current = (this.dominantId !== null && this.speakers.get(this.dominantId)) || this.baseline;
    const d = this.scoresOf(current);
    let best: Speaker | null = null;
    let bestLead = -Infinity;
    for (const s of this.speakers.values()) {
      if (s === current || s.long.sum === 0) continue;
      const c = this.scoresOf(s);
      if (c.immediate <= d.immediate) continue;
      const mediumLead = c.medium - d.medium;
      if (mediumLead <= this.opts.mediumMargin) continue;
      if (c.long - d.long <= this.opts.longMargin) continue;
      if (mediumLead > bestLead) {
        best = s;
        bestLead = mediumLead;
      }
    }
    if (best) this.change(best.id, best.spurtStart ?? now, now);
  }

  private change(id: string | null, at: number, decidedAt: number): void {
    const previousSpeakerId = this.dominantId;
    if (previousSpeakerId === id) return;
    this.dominantId = id;
    const change: SpeakerChange = { speakerId: id, previousSpeakerId, at, decidedAt };
    for (const l of this.listeners) {
      try {
        l(change);
      } catch {
        // A failing listener must not stop detection or the other listeners.
      }
    }
  }
}
