/**
 * The blob store interface (C4): where encrypted media bytes live. Two implementations share one
 * conformance suite (`test/media-blobstore.test.ts`): a folder under the data directory (the
 * embedded default) and any S3-compatible object store. A store only ever holds ciphertext; it knows
 * nothing about owners, quotas or expiry, which live in the database (`media_blobs`).
 */
import type { Readable } from 'node:stream';

/** An inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

/** Bytes to store: a buffer, or chunks produced as they are read (a blob is composed from parts). */
export type BlobBody = Uint8Array | AsyncIterable<Uint8Array>;

/** A key/value store for immutable objects. Keys are `/`-separated segments of `[A-Za-z0-9_.-]`. */
export interface BlobStore {
  /** Which implementation this is, for logs and `/readyz`. */
  readonly kind: 'local' | 's3';
  /**
   * Store exactly `size` bytes under `key`, replacing any previous object. The object becomes
   * visible only once complete; a body of any other length is refused with {@link BlobSizeError}
   * and leaves nothing behind (on S3 the aborted PUT is discarded by the store; a compatible store
   * that keeps partial PUTs gets a best-effort delete).
   */
  put(key: string, body: BlobBody, size: number): Promise<void>;
  /** The object's bytes (only `range` when given), or null when there is no such object. */
  get(key: string, range?: ByteRange): Promise<Readable | null>;
  /** The object's size, or null when there is no such object. */
  stat(key: string): Promise<{ size: number } | null>;
  /** Remove an object; removing a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** Every key starting with `prefix`, in lexicographic order. */
  list(prefix: string): AsyncIterable<string>;
  /** Release connections and handles. */
  close(): Promise<void>;
}

/** A body whose length differs from the size given to `put`. */
export class BlobSizeError extends Error {
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`blob body has ${actual} bytes, expected ${expected}`);
    this.name = 'BlobSizeError';
  }
}

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/** Throw unless `key` is a safe object key (no empty, dot-leading or traversal segments). */
export function assertBlobKey(key: string): void {
  if (key.length === 0 || key.length > 512 || !key.split('/').every((s) => SEGMENT.test(s)))
    throw new Error(`invalid blob key ${JSON.stringify(key)}`);
}

/** Wrap a body so it yields its chunks and fails with {@link BlobSizeError} unless it has `size` bytes. */
export async function* sizedChunks(body: BlobBody, size: number): AsyncGenerator<Uint8Array> {
  if (body instanceof Uint8Array) {
    if (body.length !== size) throw new BlobSizeError(size, body.length);
    yield body;
    return;
  }
  let seen = 0;
  for await (const chunk of body) {
    seen += chunk.length;
    if (seen > size) throw new BlobSizeError(size, seen);
    yield chunk;
  }
  if (seen !== size) throw new BlobSizeError(size, seen);
}
