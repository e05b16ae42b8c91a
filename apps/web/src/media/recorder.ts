/**
 * Preparing media on this device (C4, C5): note limits, thumbnails drawn on a canvas, MIME types,
 * sizes and times as people read them. Recording itself (MediaRecorder, the waveform) is in
 * `note-recorder.ts`, a chunk loaded when a note is first recorded. Nothing here leaves the device
 * unencrypted: the SDK encrypts what these functions return before uploading it.
 */
import type { SendMediaInput } from '@parley/sdk';

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

/** Draw a picture source scaled to fit `side` and encode it as JPEG. */
export async function drawScaled(
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
