/**
 * Media on the client (C4): encrypt on this device, upload the ciphertext in chunks with progress,
 * resume from the server's offset after a failed chunk, and download with `Range` resumption, then
 * check size and digest before decrypting. `ParleyClient.sendMedia` / `downloadMedia` use these.
 */
import {
  MEDIA_LIMITS,
  ParleyError,
  attachmentSchema,
  fromB64,
  toB64,
  type Attachment,
  type BlobRef,
  type MediaKind,
} from '@parley/protocol';
import { concatBytes, decryptMedia, encryptMedia } from '@parley/crypto';
import type { HttpApi } from './transport/http.ts';
import { withDeadline } from './transport/deadline.ts';
import { TRANSFER_BACKOFF, backoffDelay } from './backoff.ts';

/** Progress of one transfer, in ciphertext bytes. */
export interface TransferProgress {
  /** Bytes the server confirmed (upload) or that arrived (download). */
  bytes: number;
  totalBytes: number;
}

/** Tuning for uploads and downloads. */
export interface TransferOptions {
  onProgress?: (p: TransferProgress) => void;
  /** Chunk size for uploads (clamped to the protocol's bounds; default 1 MiB). */
  chunkBytes?: number;
  /** Consecutive failures tolerated before giving up (default 5). */
  retries?: number;
  /**
   * Uploads: the expiry of the disappearing message the file goes with (C17, ms since the epoch);
   * the server deletes the blob then at the latest. The SDK sets it from the chat's timer.
   */
  expiresAt?: number;
}

/** A file to send, made on this device: bytes plus what the receiver needs to present it. */
export interface SendMediaInput extends TransferOptions {
  bytes: Uint8Array;
  mimeType: string;
  kind: MediaKind;
  fileName?: string;
  caption?: string;
  /** Voice and video notes. */
  durationMs?: number;
  width?: number;
  height?: number;
  /** Voice notes: peaks 0..255, e.g. from `waveformPeaks`. */
  waveform?: Uint8Array;
  /** Images and videos: a small preview made on this device (browsers draw it on a canvas); encrypted and uploaded as its own blob. */
  thumbnail?: { bytes: Uint8Array; mimeType: string; width: number; height: number };
  /** Ties a voice or video message to the call it answers (missed-call notes). */
  callId?: string;
}

const RETRYABLE = new Set([
  'timeout',
  'unavailable',
  'internal',
  'rate_limited',
  'upload_offset_mismatch',
  'upload_incomplete',
]);

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Wait before retry `n` (1-based): the server's word for 429, else exponential backoff. */
function backoff(n: number, e: unknown): number {
  if (e instanceof ParleyError && e.isRateLimited()) return e.retryAfterMs() ?? 1000;
  return backoffDelay(TRANSFER_BACKOFF, n - 1);
}

/** The offset the server reported in an offset or incompleteness error, if any. */
function reportedOffset(e: unknown): number | undefined {
  if (!(e instanceof ParleyError) || (e.code !== 'upload_offset_mismatch' && e.code !== 'upload_incomplete'))
    return undefined;
  const offset = (e.details as { offset?: unknown } | undefined)?.offset;
  return typeof offset === 'number' ? offset : undefined;
}

function asRetryable(e: unknown): ParleyError {
  if (e instanceof ParleyError) return e;
  // A stream that breaks while reading is a network failure like any other.
  return new ParleyError('unavailable', { message: (e as Error)?.message ?? String(e) });
}

/**
 * Upload ciphertext whose SHA-256 is `digest` and return its blob id. After a failed chunk it asks
 * the server where the upload stands and continues from there, so a chunk that arrived before the
 * connection dropped is not sent twice and one that did not is sent again.
 */
export async function uploadCiphertext(
  api: HttpApi,
  ciphertext: Uint8Array,
  digest: Uint8Array,
  opts: TransferOptions = {},
): Promise<string> {
  const size = ciphertext.length;
  const chunk = Math.min(
    MEDIA_LIMITS.chunkBytes,
    Math.max(MEDIA_LIMITS.minChunkBytes, opts.chunkBytes ?? MEDIA_LIMITS.defaultChunkBytes),
  );
  const retries = opts.retries ?? 5;
  // Creating is not retried: a repeat would reserve quota twice (the spare upload would expire).
  const { blobId } = await api.createUpload(size, toB64(digest), opts.expiresAt);
  let offset = 0;
  let failures = 0;
  opts.onProgress?.({ bytes: 0, totalBytes: size });
  for (;;) {
    try {
      if (offset >= size) {
        await api.finishUpload(blobId);
        return blobId;
      }
      offset = (await api.appendUpload(blobId, offset, ciphertext.subarray(offset, Math.min(size, offset + chunk))))
        .offset;
      failures = 0;
      opts.onProgress?.({ bytes: offset, totalBytes: size });
    } catch (caught) {
      const e = asRetryable(caught);
      if (!RETRYABLE.has(e.code) || ++failures > retries) throw e;
      const known = reportedOffset(e);
      if (known === undefined) {
        await sleep(backoff(failures, e));
        const status = await api.getUpload(blobId).catch(() => null);
        if (status) offset = status.offset;
      } else offset = known;
      opts.onProgress?.({ bytes: offset, totalBytes: size });
    }
  }
}

/** Encrypt `bytes` with a fresh key and nonce, upload the ciphertext, and return its reference. */
export async function uploadBlob(
  api: HttpApi,
  bytes: Uint8Array,
  mimeType: string,
  opts: TransferOptions = {},
): Promise<BlobRef> {
  const enc = await encryptMedia(bytes);
  const id = await uploadCiphertext(api, enc.ciphertext, enc.digest, opts);
  return { id, key: toB64(enc.key), nonce: toB64(enc.nonce), digest: toB64(enc.digest), size: enc.size, mimeType };
}

/**
 * Encrypt and upload a file (and its thumbnail) and return the attachment reference to send. The
 * descriptive fields are checked first, so a bad MIME type or file name costs no upload.
 */
export async function prepareAttachment(api: HttpApi, input: SendMediaInput): Promise<Attachment> {
  const described = {
    kind: input.kind,
    ...(input.fileName !== undefined ? { fileName: input.fileName } : {}),
    ...(input.durationMs !== undefined ? { durationMs: input.durationMs } : {}),
    ...(input.width !== undefined ? { width: input.width } : {}),
    ...(input.height !== undefined ? { height: input.height } : {}),
    ...(input.waveform !== undefined ? { waveform: toB64(input.waveform) } : {}),
  };
  const check = attachmentSchema
    .omit({ id: true, key: true, nonce: true, digest: true, size: true, thumbnail: true })
    .safeParse({ ...described, mimeType: input.mimeType });
  if (!check.success)
    throw new ParleyError('bad_request', {
      details: check.error.issues.map((i) => ({ path: i.path.join('.'), problem: i.message })),
    });
  const thumbnail = input.thumbnail
    ? {
        ...(await uploadBlob(
          api,
          input.thumbnail.bytes,
          input.thumbnail.mimeType,
          input.expiresAt !== undefined ? { expiresAt: input.expiresAt } : {},
        )),
        width: input.thumbnail.width,
        height: input.thumbnail.height,
      }
    : undefined;
  let blob: BlobRef;
  try {
    blob = await uploadBlob(api, input.bytes, input.mimeType, input);
  } catch (e) {
    // An orphaned thumbnail would hold quota until it expires: give it back.
    if (thumbnail) await api.deleteBlob(thumbnail.id).catch(() => undefined);
    throw e;
  }
  return attachmentSchema.parse({ ...blob, ...described, ...(thumbnail ? { thumbnail } : {}) });
}

/**
 * Download a blob's ciphertext. A transfer that breaks off continues with `Range` from the last byte
 * received; more bytes than the reference announces are refused at once.
 */
export async function downloadCiphertext(
  api: HttpApi,
  ref: Pick<BlobRef, 'id' | 'size'>,
  opts: TransferOptions = {},
): Promise<Uint8Array> {
  const retries = opts.retries ?? 5;
  const parts: Uint8Array[] = [];
  let got = 0;
  let failures = 0;
  while (got < ref.size) {
    try {
      const res = await api.downloadBlob(ref.id, got);
      // A server (or proxy) that ignores Range sends everything again: start over.
      if (got > 0 && res.status !== 206) {
        parts.length = 0;
        got = 0;
      }
      if (!res.body) throw new ParleyError('unavailable', { message: 'empty response' });
      const reader = res.body.getReader();
      for (;;) {
        // Each chunk has the request deadline: a stalled stream is cancelled and resumed by Range.
        const { done, value } = await withDeadline(api.timeoutMs, `The download of ${ref.id} stalled: no data`, () =>
          reader.read(),
        ).catch(async (e: unknown) => {
          await reader.cancel().catch(() => undefined);
          throw e;
        });
        if (done) break;
        if (got + value.length > ref.size) {
          await reader.cancel();
          throw new ParleyError('blob_digest_mismatch', {
            message: `The blob is larger than its reference says (${ref.size} bytes).`,
          });
        }
        parts.push(value);
        got += value.length;
        failures = 0;
        opts.onProgress?.({ bytes: got, totalBytes: ref.size });
      }
      if (got < ref.size) throw new ParleyError('unavailable', { message: 'The download ended early.' });
    } catch (caught) {
      const e = asRetryable(caught);
      if (!RETRYABLE.has(e.code) || ++failures > retries) throw e;
      await sleep(backoff(failures, e));
    }
  }
  return concatBytes(...parts);
}

/** Download a blob, check its size and digest, then decrypt it. */
export async function openBlob(api: HttpApi, ref: BlobRef, opts: TransferOptions = {}): Promise<Uint8Array> {
  const ciphertext = await downloadCiphertext(api, ref, opts);
  return decryptMedia(ciphertext, {
    key: fromB64(ref.key),
    nonce: fromB64(ref.nonce),
    digest: fromB64(ref.digest),
    size: ref.size,
  });
}

/**
 * Forwarding (C15): fetch and decrypt an attachment (and its thumbnail), then encrypt both again
 * with fresh keys and upload them as new blobs. The copy then lives on its own: it does not expire
 * with the original, and the original's sender deleting their blob does not break it.
 */
export async function reuploadAttachment(api: HttpApi, a: Attachment, opts: TransferOptions = {}): Promise<Attachment> {
  const { id: _id, key: _key, nonce: _nonce, digest: _digest, size: _size, mimeType, thumbnail, ...described } = a;
  const bytes = await openBlob(api, a, opts);
  const thumb = thumbnail
    ? {
        ...(await uploadBlob(api, await openBlob(api, thumbnail), thumbnail.mimeType)),
        width: thumbnail.width,
        height: thumbnail.height,
      }
    : undefined;
  let blob: BlobRef;
  try {
    blob = await uploadBlob(api, bytes, mimeType, opts);
  } catch (e) {
    if (thumb) await api.deleteBlob(thumb.id).catch(() => undefined);
    throw e;
  }
  return attachmentSchema.parse({ ...blob, ...described, mimeType, ...(thumb ? { thumbnail: thumb } : {}) });
}
