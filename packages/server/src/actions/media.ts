/**
 * Media actions (C4): resumable upload of encrypted blobs, download, deletion and expiry. The
 * server handles ciphertext only: it checks sizes, the SHA-256 the uploader declared, quotas and
 * lifetimes, and never sees a key, a MIME type or a byte of plaintext.
 *
 * An upload is a `media_blobs` row in state `uploading` plus one blob-store object per received
 * chunk (`uploads/<id>/…`, recorded in `media_parts`). Finishing composes the parts into
 * `blobs/<xx>/<id>` while hashing them, and only a matching digest makes the row `complete`.
 * Every check happens before the first write, so a refused request changes nothing.
 */
import { createHash, randomBytes, timingSafeEqual, type Hash } from 'node:crypto';
import type { z } from 'zod';
import { MEDIA_LIMITS, ParleyError, fromB64, toB64, type createUploadBody, type UploadStatus } from '@parley/protocol';
import type { AuthedCaller, ServerContext } from '../context.ts';
import { StorageConflict, type MediaBlobRow, type MediaPartRow } from '../storage/types.ts';
import { blobIdOfPart, blobKey, partKey, uploadPrefix, type ByteRange } from '../blobs/index.ts';
import { BinaryAnswer } from '../answers.ts';
import { DAY, HOUR } from '../durations.ts';
import { checkExpiry, notPast } from './expiry.ts';

/** However late a blob is first fetched, it stays at least this long after a download (see {@link expiryAfterFetch}). */
export const FETCH_GRACE_MS = 7 * DAY;

/** A fresh blob id: 16 random bytes, so ids cannot be guessed (they are what a download needs). */
function newBlobId(): string {
  return `b_${randomBytes(16).toString('base64url')}`;
}

const ttlMs = (ctx: ServerContext) => ctx.config.mediaTtlDays * DAY;
const uploadTtlMs = (ctx: ServerContext) => ctx.config.mediaUploadTtlHours * HOUR;

/**
 * The expiry rule for downloads: a fetch keeps the blob for at least `min(7 days, TTL)` after it,
 * so a device that was offline for most of the TTL still has time to fetch, but never beyond twice
 * the TTL after the upload finished, so nobody can keep a blob alive forever by fetching it.
 */
export function expiryAfterFetch(
  row: Pick<MediaBlobRow, 'expiresAt' | 'completedAt' | 'createdAt'>,
  now: number,
  ttl: number,
): number {
  const cap = (row.completedAt ?? row.createdAt) + 2 * ttl;
  return Math.max(row.expiresAt, Math.min(now + Math.min(FETCH_GRACE_MS, ttl), cap));
}

function status(row: MediaBlobRow): UploadStatus {
  return { blobId: row.id, size: row.size, offset: row.received, state: row.state, expiresAt: row.expiresAt };
}

function finished(row: MediaBlobRow) {
  return { blobId: row.id, size: row.size, digest: toB64(row.digest), expiresAt: row.expiresAt };
}

function offsetMismatch(row: MediaBlobRow): ParleyError {
  return new ParleyError('upload_offset_mismatch', {
    details: { offset: row.received, size: row.size, state: row.state },
  });
}

/** The caller's own live upload (or finished blob); anyone else's is reported as not found. */
async function ownUpload(ctx: ServerContext, caller: AuthedCaller, blobId: string): Promise<MediaBlobRow> {
  const row = await ctx.storage.media.getMediaBlob(blobId);
  if (!row || row.ownerAccount !== caller.accountId || row.expiresAt <= ctx.now())
    throw new ParleyError('upload_not_found');
  return row;
}

/** Remove a blob's object and every part object of its upload (recorded or not). */
async function removeObjects(ctx: ServerContext, blobId: string): Promise<void> {
  await ctx.blobs.delete(blobKey(blobId));
  for await (const key of ctx.blobs.list(uploadPrefix(blobId))) await ctx.blobs.delete(key);
}

/** This server's media limits and the caller's usage (`GET /v1/media`). */
export async function mediaLimits(ctx: ServerContext, caller: AuthedCaller) {
  return {
    maxBytes: ctx.config.mediaMaxBytes,
    quotaBytes: ctx.config.mediaQuotaBytes,
    usedBytes: await ctx.storage.media.mediaBytesUsed(caller.accountId),
    chunkBytes: MEDIA_LIMITS.chunkBytes,
    minChunkBytes: MEDIA_LIMITS.minChunkBytes,
    ttlDays: ctx.config.mediaTtlDays,
  };
}

/**
 * Start an upload of `size` ciphertext bytes whose SHA-256 is `digest`; its size counts against the
 * quota at once, and it counts against the account's unfinished uploads (`mediaMaxUploads`) until
 * it is finished, discarded or expired.
 */
export async function createUpload(
  ctx: ServerContext,
  caller: AuthedCaller,
  body: z.infer<typeof createUploadBody>,
): Promise<UploadStatus> {
  if (body.size > ctx.config.mediaMaxBytes)
    throw new ParleyError('blob_too_large', { details: { size: body.size, maxBytes: ctx.config.mediaMaxBytes } });
  if (body.size < MEDIA_LIMITS.tagBytes)
    throw new ParleyError('bad_request', {
      details: [{ path: 'size', problem: `an AES-GCM ciphertext has at least ${MEDIA_LIMITS.tagBytes} bytes` }],
    });
  const now = ctx.now();
  checkExpiry(body.expiresAt, now);
  const row: MediaBlobRow = {
    id: newBlobId(),
    ownerAccount: caller.accountId,
    state: 'uploading',
    size: body.size,
    digest: fromB64(body.digest),
    received: 0,
    createdAt: now,
    completedAt: null,
    expiresAt: notPast(body.expiresAt, now + uploadTtlMs(ctx)),
    lastFetchedAt: null,
    disappearsAt: body.expiresAt ?? null,
  };
  try {
    await ctx.storage.media.createMediaUpload(row, ctx.config.mediaQuotaBytes, ctx.config.mediaMaxUploads);
  } catch (e) {
    if (e instanceof StorageConflict && e.code === 'uploads_exceeded')
      throw new ParleyError('too_many_uploads', { details: { maxUploads: ctx.config.mediaMaxUploads } });
    if (e instanceof StorageConflict && e.code === 'quota_exceeded') {
      const usedBytes = await ctx.storage.media.mediaBytesUsed(caller.accountId);
      throw new ParleyError('blob_quota_exceeded', {
        details: { size: body.size, usedBytes, quotaBytes: ctx.config.mediaQuotaBytes },
      });
    }
    throw e;
  }
  return status(row);
}

/** Where the caller's upload stands: a client resumes by appending at `offset`. */
export async function getUpload(ctx: ServerContext, caller: AuthedCaller, blobId: string): Promise<UploadStatus> {
  return status(await ownUpload(ctx, caller, blobId));
}

/**
 * Append one chunk at `offset`, which must be exactly the bytes received so far. The chunk is
 * stored as its own object first and then recorded with a compare-and-set on the offset, so of two
 * racing appends (a retry after a dropped connection) exactly one counts; the other's object is
 * removed and it is told the current offset.
 */
export async function appendUpload(
  ctx: ServerContext,
  caller: AuthedCaller,
  input: { blobId: string; offset: number },
  chunk: Uint8Array,
): Promise<UploadStatus> {
  const row = await ownUpload(ctx, caller, input.blobId);
  if (row.state !== 'uploading' || input.offset !== row.received) throw offsetMismatch(row);
  if (chunk.length === 0)
    throw new ParleyError('bad_request', { details: [{ path: 'body', problem: 'the chunk is empty' }] });
  const end = input.offset + chunk.length;
  if (end > row.size)
    throw new ParleyError('blob_too_large', {
      message: 'The chunk goes past the declared size.',
      details: { size: row.size, offset: input.offset, chunkBytes: chunk.length },
    });
  if (end < row.size && chunk.length < MEDIA_LIMITS.minChunkBytes) {
    throw new ParleyError('bad_request', {
      details: [
        { path: 'body', problem: `chunks before the last must have at least ${MEDIA_LIMITS.minChunkBytes} bytes` },
      ],
    });
  }
  const part: MediaPartRow = {
    blobId: row.id,
    offset: input.offset,
    length: chunk.length,
    objectKey: partKey(row.id, input.offset),
  };
  await ctx.blobs.put(part.objectKey, chunk, chunk.length);
  const expiresAt = notPast(row.disappearsAt, ctx.now() + uploadTtlMs(ctx));
  try {
    const received = await ctx.storage.media.addMediaPart(part, expiresAt);
    return { ...status(row), offset: received, expiresAt };
  } catch (e) {
    await ctx.blobs
      .delete(part.objectKey)
      .catch((err) => ctx.log.warn({ err, key: part.objectKey }, 'could not remove a refused upload part'));
    if (e instanceof StorageConflict && e.code === 'offset_mismatch') {
      const now = await ctx.storage.media.getMediaBlob(row.id);
      if (!now) throw new ParleyError('upload_not_found');
      throw offsetMismatch(now);
    }
    throw e;
  }
}

/** The parts' bytes in order, fed through `hash` on the way. */
async function* composeParts(ctx: ServerContext, parts: MediaPartRow[], hash: Hash): AsyncGenerator<Uint8Array> {
  let expected = 0;
  for (const part of parts) {
    if (part.offset !== expected) throw new Error(`upload ${part.blobId} has a gap at ${expected}`);
    const stream = await ctx.blobs.get(part.objectKey);
    if (!stream) throw new Error(`upload ${part.blobId} lost its part at ${part.offset}`);
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      yield chunk;
    }
    expected += part.length;
  }
}

/**
 * Finish an upload: every declared byte must have arrived (`upload_incomplete` otherwise, and the
 * upload stays resumable), and the bytes must hash to the declared digest (`blob_digest_mismatch`
 * otherwise, and the upload is discarded with its quota reservation). Finishing twice answers the
 * same, so a client whose answer was lost simply asks again.
 */
export async function finishUpload(ctx: ServerContext, caller: AuthedCaller, blobId: string) {
  const row = await ownUpload(ctx, caller, blobId);
  if (row.state === 'complete') return finished(row);
  if (row.received < row.size)
    throw new ParleyError('upload_incomplete', { details: { offset: row.received, size: row.size } });
  const parts = await ctx.storage.media.listMediaParts(blobId);
  const hash = createHash('sha256');
  const key = blobKey(blobId);
  await ctx.blobs.put(key, composeParts(ctx, parts, hash), row.size);
  const digest = hash.digest();
  if (digest.length !== row.digest.length || !timingSafeEqual(digest, row.digest)) {
    await ctx.storage.media.deleteMediaBlob(blobId);
    await removeObjects(ctx, blobId);
    throw new ParleyError('blob_digest_mismatch', {
      message: 'The uploaded bytes do not match the declared digest; the upload was discarded.',
    });
  }
  const now = ctx.now();
  const expiresAt = notPast(row.disappearsAt, now + ttlMs(ctx));
  if (!(await ctx.storage.media.completeMediaUpload(blobId, now, expiresAt))) {
    const current = await ctx.storage.media.getMediaBlob(blobId);
    // A concurrent finish got there first: same bytes, same answer.
    if (current?.state === 'complete') return finished(current);
    // Discarded or expired meanwhile: the composed object belongs to nobody.
    await ctx.blobs.delete(key);
    throw new ParleyError('upload_not_found');
  }
  for await (const k of ctx.blobs.list(uploadPrefix(blobId))) {
    await ctx.blobs
      .delete(k)
      .catch((err) => ctx.log.warn({ err, key: k }, 'could not remove an upload part; the sweeper will'));
  }
  return finished({ ...row, state: 'complete', received: row.size, completedAt: now, expiresAt });
}

/** Parse a single-range `Range: bytes=…` header against a blob of `size` bytes. */
export function parseRange(header: string, size: number): ByteRange {
  const m = /^bytes=(\d{0,16})-(\d{0,16})$/.exec(header.trim());
  const unsatisfiable = () => new ParleyError('range_not_satisfiable', { details: { range: header, size } });
  if (!m || (m[1] === '' && m[2] === '')) throw unsatisfiable();
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw unsatisfiable();
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || start > end) throw unsatisfiable();
  return { start, end };
}

/**
 * Download a finished blob (HTTP only: the answer is raw bytes, with `Range` support). Any
 * authenticated device may fetch any blob whose id it knows: ids are 128-bit random, the bytes are
 * ciphertext, and the key travels only inside the MLS message, so the id is not a secret worth a
 * membership check that would tell the server which conversation a blob belongs to.
 */
export async function downloadBlob(
  ctx: ServerContext,
  _caller: AuthedCaller,
  input: { blobId: string; range?: string | undefined },
): Promise<BinaryAnswer> {
  const now = ctx.now();
  const row = await ctx.storage.media.getMediaBlob(input.blobId);
  if (!row || row.state !== 'complete' || row.expiresAt <= now) throw new ParleyError('blob_not_found');
  const range = input.range === undefined ? null : parseRange(input.range, row.size);
  const body = await ctx.blobs.get(blobKey(row.id), range ?? undefined);
  if (!body) {
    ctx.log.error({ blobId: row.id }, 'blob recorded but missing from the blob store');
    throw new ParleyError('blob_not_found');
  }
  try {
    const expiresAt = notPast(row.disappearsAt, expiryAfterFetch(row, now, ttlMs(ctx)));
    await ctx.storage.media.touchMediaBlob(row.id, now, expiresAt);
  } catch (e) {
    body.destroy();
    throw e;
  }
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'content-length': String(range ? range.end - range.start + 1 : row.size),
    'accept-ranges': 'bytes',
    etag: `"${toB64(row.digest)}"`,
    // Immutable ciphertext behind a bearer token: private caches may keep it.
    'cache-control': 'private, max-age=86400, immutable',
  };
  if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${row.size}`;
  return new BinaryAnswer(body, headers, range ? 206 : 200);
}

/** Delete a blob or abandon an upload (owner only); frees its quota at once. */
export async function deleteBlob(ctx: ServerContext, caller: AuthedCaller, blobId: string) {
  const row = await ctx.storage.media.getMediaBlob(blobId);
  // Someone else's unfinished upload is private: not found, like every other upload op says.
  if (!row || (row.state === 'uploading' && row.ownerAccount !== caller.accountId))
    throw new ParleyError('blob_not_found');
  if (row.ownerAccount !== caller.accountId)
    throw new ParleyError('forbidden', { message: 'Only the uploader may delete a blob.' });
  const gone = await ctx.storage.media.deleteMediaBlob(blobId);
  if (gone) await removeObjects(ctx, blobId);
  return { blobId, deleted: true };
}

/**
 * The sweeper's work (run every PARLEY_MEDIA_SWEEP_SECONDS, and safe to run on several nodes at
 * once): delete every blob and upload whose expiry has passed (rows first, so a crash leaves at
 * worst an unreferenced object, never a row without its bytes), then remove part objects whose
 * upload is no longer in progress (left by a crash or by a lost race).
 */
export async function sweepExpiredMedia(
  ctx: ServerContext,
  now = ctx.now(),
): Promise<{ expired: number; leftoverParts: number }> {
  const BATCH = 100;
  let expired = 0;
  for (;;) {
    const batch = await ctx.storage.media.listExpiredMedia(now, BATCH);
    for (const row of batch) {
      const gone = await ctx.storage.media.deleteMediaBlob(row.id, { expiredAt: now });
      if (!gone) continue;
      await removeObjects(ctx, row.id);
      expired++;
    }
    if (batch.length < BATCH) break;
  }
  let leftoverParts = 0;
  const inProgress = new Map<string, boolean>();
  for await (const key of ctx.blobs.list('uploads/')) {
    const id = blobIdOfPart(key);
    if (!id) continue;
    let live = inProgress.get(id);
    if (live === undefined) {
      live = (await ctx.storage.media.getMediaBlob(id))?.state === 'uploading';
      inProgress.set(id, live);
    }
    if (!live) {
      await ctx.blobs.delete(key);
      leftoverParts++;
    }
  }
  return { expired, leftoverParts };
}
