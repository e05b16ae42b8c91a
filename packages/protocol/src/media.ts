/**
 * Encrypted media (C4): the attachment reference carried inside end-to-end-encrypted content, and
 * the HTTP bodies of the resumable upload. The server sees blob ids, ciphertext sizes and digests
 * only; keys, nonces, MIME types, file names, captions, waveforms and thumbnails travel inside the
 * MLS ciphertext.
 */
import { z } from 'zod';
import { b64, idOf } from './common.ts';
import { expiresAtSchema } from './disappearing.ts';

/** A blob id: `b_` and 22 base64url characters of randomness, unguessable by design. */
export const blobIdSchema = idOf('b');
export type BlobId = z.infer<typeof blobIdSchema>;

/** Exactly `n` bytes as unpadded base64url text. */
export const b64Exact = (n: number) =>
  z
    .string()
    .length(Math.ceil((n * 4) / 3))
    .regex(/^[A-Za-z0-9_-]*$/, 'must be unpadded base64url');

/** Fixed sizes of the media format and of the upload protocol, shared by server and SDK. */
export const MEDIA_LIMITS = {
  /** AES-256 key bytes. */
  keyBytes: 32,
  /** AES-GCM nonce bytes. */
  nonceBytes: 12,
  /** AES-GCM tag bytes appended to every ciphertext: ciphertext size = plaintext size + 16. */
  tagBytes: 16,
  /** SHA-256 digest bytes. */
  digestBytes: 32,
  /** Largest chunk one HTTP append may carry (WebSocket appends: `wsChunkBytes`). */
  chunkBytes: 8 * 1024 * 1024,
  /** Largest chunk one WebSocket `appendUpload` frame may carry. */
  wsChunkBytes: 320 * 1024,
  /** Smallest chunk that does not finish the upload; bounds how many parts one upload can have. */
  minChunkBytes: 64 * 1024,
  /** Chunk size the SDK uses by default. */
  defaultChunkBytes: 1024 * 1024,
  /** Peaks in a voice-note waveform. */
  waveformPeaks: 256,
  /** Largest caption. */
  captionChars: 4096,
} as const;

/** The four kinds of media a client can send; they only change how clients present them. */
export const mediaKindSchema = z.enum(['image', 'file', 'voice', 'video']);
export type MediaKind = z.infer<typeof mediaKindSchema>;

/** A MIME type such as `image/png` or `audio/webm;codecs=opus` (parameters allowed). */
export const mimeTypeSchema = z
  .string()
  .max(255)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\s*;\s*[A-Za-z0-9!#$&^_.+-]+=("[^"\\]*"|[A-Za-z0-9!#$&^_.+-]+))*$/,
    'must be a MIME type such as image/png',
  );

/**
 * Where an encrypted blob lives and how to open it: enough for any holder of the reference to fetch
 * the ciphertext, check it against `digest` (SHA-256 of the ciphertext) and decrypt it with `key`
 * and `nonce` (AES-256-GCM). `size` is the ciphertext size, i.e. plaintext + 16 bytes.
 */
export const blobRefSchema = z.object({
  id: blobIdSchema,
  key: b64Exact(MEDIA_LIMITS.keyBytes),
  nonce: b64Exact(MEDIA_LIMITS.nonceBytes),
  digest: b64Exact(MEDIA_LIMITS.digestBytes),
  size: z.number().int().min(MEDIA_LIMITS.tagBytes).max(Number.MAX_SAFE_INTEGER),
  mimeType: mimeTypeSchema,
});
export type BlobRef = z.infer<typeof blobRefSchema>;

const dimension = z.number().int().positive().max(65535);

/** A thumbnail made on the sending device, encrypted and uploaded as a blob of its own. */
export const thumbnailRefSchema = blobRefSchema.extend({ width: dimension, height: dimension });
export type ThumbnailRef = z.infer<typeof thumbnailRefSchema>;

/** An attachment: the blob reference plus what a client needs to present it before downloading. */
export const attachmentSchema = blobRefSchema.extend({
  kind: mediaKindSchema,
  fileName: z.string().min(1).max(255).optional(),
  /** Voice and video notes. */
  durationMs: z
    .number()
    .int()
    .nonnegative()
    .max(24 * 3_600_000)
    .optional(),
  width: dimension.optional(),
  height: dimension.optional(),
  /** Voice notes: up to 256 peaks, one byte each (0 silent … 255 full scale), base64url. */
  waveform: b64(MEDIA_LIMITS.waveformPeaks).optional(),
  thumbnail: thumbnailRefSchema.optional(),
});
export type Attachment = z.infer<typeof attachmentSchema>;

// ---------- resumable upload over HTTP (docs/media.md)

/**
 * `POST /v1/media/uploads`: declare the ciphertext size and its SHA-256 digest. `expiresAt` (C17)
 * is the expiry of the disappearing message the blob goes with: the blob is deleted then at the
 * latest, however often it is fetched (`expiry_out_of_range` when past or over a year ahead).
 */
export const createUploadBody = z
  .object({
    size: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    digest: b64Exact(MEDIA_LIMITS.digestBytes),
    expiresAt: expiresAtSchema.optional(),
  })
  .strict();

/** Where an upload stands: the client resumes by appending at `offset`. */
export const uploadStatusResponse = z.object({
  blobId: blobIdSchema,
  size: z.number().int(),
  offset: z.number().int(),
  state: z.enum(['uploading', 'complete']),
  expiresAt: z.number(),
});
export type UploadStatus = z.infer<typeof uploadStatusResponse>;

/** `PATCH /v1/media/uploads/:blobId?offset=N` (octet-stream body) or the `appendUpload` frame. */
export const appendUploadParams = z
  .object({
    blobId: blobIdSchema,
    offset: z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  })
  .strict();

/** Path parameters naming one blob or upload. */
export const blobParams = z.object({ blobId: blobIdSchema }).strict();

/** `POST /v1/media/uploads/:blobId/finish`: the blob is stored and downloadable. */
export const finishUploadResponse = z.object({
  blobId: blobIdSchema,
  size: z.number().int(),
  digest: z.string(),
  expiresAt: z.number(),
});

/** `GET /v1/media/:blobId`: the blob id and an optional single `Range: bytes=…` header. */
export const downloadParams = z
  .object({
    blobId: blobIdSchema,
    range: z.string().max(100).optional(),
  })
  .strict();

/** `GET /v1/media`: this server's media limits and the caller's usage. */
export const mediaLimitsResponse = z.object({
  maxBytes: z.number().int(),
  quotaBytes: z.number().int(),
  usedBytes: z.number().int(),
  chunkBytes: z.number().int(),
  minChunkBytes: z.number().int(),
  ttlDays: z.number(),
});
export type MediaLimits = z.infer<typeof mediaLimitsResponse>;
