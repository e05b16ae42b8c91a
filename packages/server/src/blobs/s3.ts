/**
 * S3-compatible blob store (C4, scale-out): objects in one bucket under an optional key prefix, so
 * every server process sees every upload part and blob. Works with any store that speaks the S3
 * API (path-style addressing for self-hosted ones). The S3 client is loaded only when this store is
 * configured, so the embedded default never pays for it.
 */
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { BlobSizeError, assertBlobKey, sizedChunks, type BlobBody, type BlobStore, type ByteRange } from './types.ts';

/** Connection settings for {@link createS3BlobStore}. */
export interface S3Options {
  bucket: string;
  region: string;
  endpoint?: string;
  /** Key prefix inside the bucket (empty or ending in `/`). */
  prefix?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Where the S3 client's own warnings go (the console when unset). */
  logger?: S3Logger;
}

/** The logger shape the S3 client accepts. */
export interface S3Logger {
  debug(...content: unknown[]): void;
  info(...content: unknown[]): void;
  warn(...content: unknown[]): void;
  error(...content: unknown[]): void;
}

type S3Module = typeof import('@aws-sdk/client-s3');

function isMissing(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === 'NoSuchKey' || err?.name === 'NotFound' || err?.$metadata?.httpStatusCode === 404;
}

/** A {@link BlobStore} over an S3-compatible bucket. */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  private readonly prefix: string;

  constructor(
    private readonly s3: S3Module,
    private readonly client: S3Client,
    readonly bucket: string,
    prefix = '',
  ) {
    this.prefix = prefix;
  }

  private key(key: string): string {
    assertBlobKey(key);
    return this.prefix + key;
  }

  async put(key: string, body: BlobBody, size: number): Promise<void> {
    const command = (Body: Uint8Array | Readable) =>
      new this.s3.PutObjectCommand({
        Bucket: this.bucket,
        Key: this.key(key),
        Body,
        ContentLength: size,
        ContentType: 'application/octet-stream',
      });
    if (body instanceof Uint8Array) {
      if (body.length !== size) throw new BlobSizeError(size, body.length);
      await this.client.send(command(body));
      return;
    }
    // A stream is length-checked on the way. A wrong length aborts the request at once: otherwise
    // the store would wait (minutes) for bytes that never come, or the request would overrun.
    const abort = new AbortController();
    let failure: unknown;
    async function* checked(): AsyncGenerator<Uint8Array> {
      try {
        yield* sizedChunks(body, size);
      } catch (e) {
        failure = e;
        abort.abort(e);
        throw e;
      }
    }
    const stream = Readable.from(checked());
    // The failure is reported through `failure` below; an error event nobody listens to would
    // otherwise become an uncaught exception once the aborted request has let go of the stream.
    stream.on('error', () => undefined);
    try {
      await this.client.send(command(stream), { abortSignal: abort.signal });
    } catch (e) {
      if (failure) {
        // S3 itself never keeps an aborted PUT, but some compatible stores keep what arrived.
        await this.delete(key).catch(() => undefined);
        throw failure;
      }
      throw e;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable | null> {
    let res;
    try {
      res = await this.client.send(
        new this.s3.GetObjectCommand({
          Bucket: this.bucket,
          Key: this.key(key),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
    const body = res.Body as Readable;
    if (!range) return body;
    // The HTTP answer promises exactly the range's length, so a store that answers with more (some
    // emulators read `bytes=0-0` as "to the end"; some ignore Range altogether) is trimmed here.
    const answeredFrom = res.ContentRange ? Number(/^bytes (\d+)-/.exec(res.ContentRange)?.[1] ?? NaN) : 0;
    if (!(answeredFrom <= range.start)) {
      body.destroy();
      throw new Error(`the store answered range ${res.ContentRange} for bytes=${range.start}-${range.end}`);
    }
    const length = range.end - range.start + 1;
    if (answeredFrom === range.start && Number(res.ContentLength) === length) return body;
    return Readable.from(slice(body, range.start - answeredFrom, length));
  }

  async stat(key: string): Promise<{ size: number } | null> {
    try {
      const res = await this.client.send(new this.s3.HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return { size: Number(res.ContentLength ?? 0) };
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new this.s3.DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    let ContinuationToken: string | undefined;
    do {
      const res = await this.client.send(
        new this.s3.ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix + prefix,
          ...(ContinuationToken ? { ContinuationToken } : {}),
        }),
      );
      for (const o of res.Contents ?? []) if (o.Key) yield o.Key.slice(this.prefix.length);
      ContinuationToken = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  /** Check that the bucket answers (used at start, to log a misconfiguration early). */
  async check(timeoutMs = 5000): Promise<void> {
    await this.client.send(new this.s3.HeadBucketCommand({ Bucket: this.bucket }), {
      abortSignal: AbortSignal.timeout(timeoutMs),
    });
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

/** `length` bytes of `src` after skipping `skip`; the source is released as soon as they are out. */
async function* slice(src: Readable, skip: number, length: number): AsyncGenerator<Uint8Array> {
  let toSkip = skip;
  let left = length;
  try {
    for await (const raw of src) {
      let chunk = raw as Uint8Array;
      if (toSkip > 0) {
        if (chunk.length <= toSkip) {
          toSkip -= chunk.length;
          continue;
        }
        chunk = chunk.subarray(toSkip);
        toSkip = 0;
      }
      if (chunk.length >= left) {
        yield chunk.subarray(0, left);
        return;
      }
      left -= chunk.length;
      yield chunk;
    }
  } finally {
    src.destroy();
  }
}

/** Connect to an S3-compatible bucket (the bucket must exist). */
export async function createS3BlobStore(opts: S3Options): Promise<S3BlobStore> {
  const s3 = await import('@aws-sdk/client-s3');
  const client = new s3.S3Client({
    region: opts.region,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    forcePathStyle: opts.forcePathStyle ?? Boolean(opts.endpoint),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
    // Self-hosted S3-compatible stores differ in their support for the newer optional checksums:
    // send and check them only where the API requires them. Blobs carry their own SHA-256 anyway.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return new S3BlobStore(s3, client, opts.bucket, opts.prefix ?? '');
}
