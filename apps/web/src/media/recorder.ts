/**
 * Recording voice and video notes and preparing media on this device (C4, C5): MediaRecorder with
 * Opus (and VP8 for video), the duration and waveform of a voice note from its decoded samples, and
 * thumbnails drawn on a canvas. Nothing here leaves the device unencrypted: the SDK encrypts what
 * these functions return before uploading it.
 */
import { waveformPeaks, type SendMediaInput } from '@parley/sdk';

export type NoteKind = 'voice' | 'video';

/** Opus at this rate keeps speech clear at about 240 KB a minute. */
export const VOICE_BITS_PER_SECOND = 32_000;
/** Video notes are small and round on screen: a modest rate is enough. */
export const VIDEO_BITS_PER_SECOND = 600_000;
/** Longest notes; recording stops and sends by itself at the limit. */
export const MAX_NOTE_MS: Record<NoteKind, number> = { voice: 15 * 60_000, video: 60_000 };
/** Shorter recordings are almost always accidental: they are not sent. */
export const MIN_NOTE_MS = 500;
/** Largest side of a thumbnail, in pixels. */
export const THUMBNAIL_SIDE = 320;
/** Peaks in a voice-note waveform (the protocol allows up to 256). */
export const WAVEFORM_PEAKS = 64;

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

/** A picture made on this device: encoded bytes and their pixel size. */
export interface Picture {
  blob: Blob;
  width: number;
  height: number;
}

/** A finished recording. */
export interface RecordedNote {
  kind: NoteKind;
  blob: Blob;
  mimeType: string;
  /** Wall-clock length of the recording. */
  elapsedMs: number;
  /** Video notes: the camera's frame size and the first frame as a thumbnail. */
  width?: number;
  height?: number;
  thumbnail?: Picture;
}

/**
 * A MIME type the protocol accepts: parameter values with characters outside a token (the comma in
 * `codecs=vp8,opus`) are quoted, as RFC 2045 asks.
 */
export function sendableMimeType(type: string): string {
  const [base, ...params] = type
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean);
  const quoted = params.map((p) => {
    const eq = p.indexOf('=');
    if (eq < 0) return p;
    const value = p.slice(eq + 1);
    return /^("[^"\\]*"|[A-Za-z0-9!#$&^_.+-]+)$/.test(value) ? p : `${p.slice(0, eq)}="${value.replace(/["\\]/g, '')}"`;
  });
  return [base ?? 'application/octet-stream', ...quoted].join(';');
}

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

/** Draw a picture source scaled to fit `side` and encode it as JPEG. */
async function drawScaled(
  source: CanvasImageSource,
  width: number,
  height: number,
  side = THUMBNAIL_SIDE,
): Promise<Picture> {
  const scale = Math.min(1, side / Math.max(width, height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  canvas.getContext('2d')!.drawImage(source, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.72));
  if (!blob) throw new Error('Could not encode the thumbnail.');
  return { blob, width: canvas.width, height: canvas.height };
}

/**
 * An image's pixel size and, for images worth it, a thumbnail made here. Undefined when this
 * browser cannot decode the file (it is then sent as a plain file).
 */
export async function inspectImage(
  file: Blob,
): Promise<{ width: number; height: number; thumbnail?: Picture } | undefined> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return undefined;
  }
  try {
    const { width, height } = bitmap;
    // Small images load as fast as a thumbnail would: no second blob.
    const worth = Math.max(width, height) > THUMBNAIL_SIDE || file.size > 64 * 1024;
    return { width, height, ...(worth ? { thumbnail: await drawScaled(bitmap, width, height) } : {}) };
  } finally {
    bitmap.close();
  }
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

/** `m:ss` (or `h:mm:ss`) for a length in milliseconds. */
export function clock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** The time of day of a moment, as messages show it (`14:05`). */
export const timeOfDay = (ms: number): string =>
  new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

/** File sizes the way people read them. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** The bytes of a Blob, as the SDK takes them. */
export const bytesOf = async (blob: Blob): Promise<Uint8Array> => new Uint8Array(await blob.arrayBuffer());

/** A thumbnail made here, as the SDK takes it. */
export const thumbnailInput = async (p: Picture): Promise<NonNullable<SendMediaInput['thumbnail']>> => ({
  bytes: await bytesOf(p.blob),
  mimeType: 'image/jpeg',
  width: p.width,
  height: p.height,
});

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
