/**
 * Recording voice and video notes on this device (C4, C5): MediaRecorder with Opus (and VP8 for
 * video), the first camera frame as a video note's thumbnail, and the duration and waveform of a
 * voice note from its decoded samples. A chunk of its own, loaded when a note is first recorded
 * (`loadNoteRecorder` in `load-note-recorder.ts`), so the first screen does not carry it.
 */
import { waveformPeaks, type SendMediaInput } from '@parley/sdk';
import {
  VIDEO_BITS_PER_SECOND,
  VOICE_BITS_PER_SECOND,
  WAVEFORM_PEAKS,
  bytesOf,
  drawScaled,
  sendableMimeType,
  thumbnailInput,
  type NoteKind,
  type Picture,
  type RecordedNote,
} from './recorder.ts';

// First supported wins: WebM/Opus where MediaRecorder has it (Chromium, Firefox), MP4 elsewhere.
const VOICE_TYPES = ['audio/webm;codecs=opus', 'audio/ogg;codecs=opus', 'audio/mp4'];
const VIDEO_TYPES = ['video/webm;codecs=vp8,opus', 'video/webm;codecs=vp8', 'video/webm', 'video/mp4'];

const AUDIO: MediaTrackConstraints = {
  channelCount: 1,
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
};
const VIDEO: MediaTrackConstraints = {
  width: { ideal: 480 },
  height: { ideal: 480 },
  frameRate: { ideal: 24, max: 30 },
  facingMode: 'user',
};

/** One recording in progress: `stop()` for the result, `cancel()` to throw it away. */
export class NoteRecorder {
  private readonly chunks: Blob[] = [];
  private startedAt = 0;
  private done = false;
  /** Video notes: the first frame, captured while recording starts. */
  private firstFrame: Promise<Picture | undefined> = Promise.resolve(undefined);

  private constructor(
    readonly kind: NoteKind,
    readonly stream: MediaStream,
    private readonly recorder: MediaRecorder,
  ) {}

  /** Ask for the microphone (and camera) and start recording. */
  static async start(kind: NoteKind): Promise<NoteRecorder> {
    if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === 'undefined') {
      throw new Error('This browser cannot record here (recording needs a secure https:// page).');
    }
    const stream = await navigator.mediaDevices.getUserMedia(
      kind === 'voice' ? { audio: AUDIO } : { audio: AUDIO, video: VIDEO },
    );
    try {
      const mimeType = (kind === 'voice' ? VOICE_TYPES : VIDEO_TYPES).find((t) => MediaRecorder.isTypeSupported(t));
      const recorder = new MediaRecorder(stream, {
        ...(mimeType ? { mimeType } : {}),
        audioBitsPerSecond: VOICE_BITS_PER_SECOND,
        ...(kind === 'video' ? { videoBitsPerSecond: VIDEO_BITS_PER_SECOND } : {}),
      });
      const r = new NoteRecorder(kind, stream, recorder);
      recorder.ondataavailable = (e) => {
        if (e.data.size) r.chunks.push(e.data);
      };
      await new Promise<void>((resolve, reject) => {
        recorder.onstart = () => resolve();
        recorder.onerror = (e) => reject((e as ErrorEvent).error ?? new Error('Recording failed.'));
        // Timeslices keep memory bounded and leave data behind if the tab dies mid-note.
        recorder.start(1000);
      });
      r.startedAt = performance.now();
      if (kind === 'video') r.firstFrame = grabFrame(stream).catch(() => undefined);
      return r;
    } catch (e) {
      stream.getTracks().forEach((t) => t.stop());
      throw e;
    }
  }

  /** Milliseconds recorded so far. */
  get elapsedMs(): number {
    return this.startedAt ? performance.now() - this.startedAt : 0;
  }

  /** Stop, release the devices and return the recording. */
  async stop(): Promise<RecordedNote> {
    const elapsedMs = this.elapsedMs;
    const settings = this.stream.getVideoTracks()[0]?.getSettings();
    if (!this.done) {
      this.done = true;
      const stopped = new Promise<void>((resolve) => {
        this.recorder.onstop = () => resolve();
      });
      this.recorder.stop();
      await stopped;
    }
    const thumbnail = await this.firstFrame;
    this.release();
    const mimeType = this.recorder.mimeType || (this.kind === 'voice' ? 'audio/webm' : 'video/webm');
    return {
      kind: this.kind,
      blob: new Blob(this.chunks, { type: mimeType }),
      mimeType: sendableMimeType(mimeType),
      elapsedMs,
      ...(settings?.width && settings.height ? { width: settings.width, height: settings.height } : {}),
      ...(thumbnail ? { thumbnail } : {}),
    };
  }

  /** Stop without keeping anything. */
  cancel(): void {
    if (!this.done) {
      this.done = true;
      this.recorder.onstop = null;
      if (this.recorder.state !== 'inactive') this.recorder.stop();
    }
    this.release();
  }

  private release(): void {
    this.stream.getTracks().forEach((t) => t.stop());
  }
}

/**
 * Duration and waveform of a voice note from its decoded samples. The duration comes from the
 * samples because a MediaRecorder WebM file states none (players report Infinity until they seek).
 */
export async function analyseVoice(blob: Blob): Promise<{ durationMs: number; waveform: Uint8Array }> {
  const ctx = new OfflineAudioContext({ numberOfChannels: 1, length: 1, sampleRate: 48_000 });
  const audio = await ctx.decodeAudioData(await blob.arrayBuffer());
  return {
    durationMs: Math.round(audio.duration * 1000),
    waveform: waveformPeaks(audio.getChannelData(0), { peaks: WAVEFORM_PEAKS }),
  };
}

/** The first frame a camera stream shows, as a thumbnail. */
async function grabFrame(stream: MediaStream): Promise<Picture> {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.srcObject = stream;
  try {
    await video.play();
    if (!video.videoWidth) await new Promise((r) => video.addEventListener('resize', r, { once: true }));
    // A frame must actually be presented before drawing it, or the canvas stays black.
    await new Promise<void>((resolve) => {
      if ('requestVideoFrameCallback' in video) video.requestVideoFrameCallback(() => resolve());
      else setTimeout(resolve, 100);
    });
    return await drawScaled(video, video.videoWidth, video.videoHeight);
  } finally {
    video.srcObject = null;
  }
}

/**
 * What the SDK sends for a recorded note: the recording with its duration and, for voice, the
 * waveform, both measured here on the sending device from the decoded audio (the wall-clock length
 * is the fallback), plus a video note's frame size and first-frame thumbnail. `extra` adds fields
 * such as the `callId` of a missed-call message.
 */
export async function noteMediaInput(note: RecordedNote, extra: Partial<SendMediaInput> = {}): Promise<SendMediaInput> {
  let durationMs = Math.round(note.elapsedMs);
  let waveform: Uint8Array | undefined;
  if (note.kind === 'voice') {
    const analysed = await analyseVoice(note.blob).catch(() => undefined);
    if (analysed && analysed.durationMs > 0) ({ durationMs, waveform } = analysed);
  }
  return {
    bytes: await bytesOf(note.blob),
    mimeType: note.mimeType,
    kind: note.kind,
    durationMs,
    ...extra,
    ...(waveform ? { waveform } : {}),
    ...(note.width && note.height ? { width: note.width, height: note.height } : {}),
    ...(note.thumbnail ? { thumbnail: await thumbnailInput(note.thumbnail) } : {}),
  };
}
