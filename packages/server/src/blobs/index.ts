/**
 * Blob store entry (C4): the interface, both implementations, the key layout, and the store chosen
 * by configuration (`PARLEY_BLOB_STORE`).
 */
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import type { BlobStore } from './types.ts';
import { createLocalBlobStore } from './local.ts';
import { createS3BlobStore } from './s3.ts';

export * from './types.ts';
export { LocalBlobStore, createLocalBlobStore } from './local.ts';
export { S3BlobStore, createS3BlobStore, type S3Logger, type S3Options } from './s3.ts';

/** Where the local store keeps its files: `<dataDir>/media`. */
export function localBlobRoot(dataDir: string): string {
  return join(dataDir, 'media');
}

/**
 * Key of a finished blob. A two-character fan-out keeps folders (and S3 listing pages) small.
 */
export function blobKey(blobId: string): string {
  return `blobs/${blobId.slice(2, 4)}/${blobId}`;
}

/** Prefix under which an upload's parts live until the upload is finished or discarded. */
export function uploadPrefix(blobId: string): string {
  return `uploads/${blobId}/`;
}

/**
 * Key of one received chunk. The random suffix keeps two racing appends at the same offset from
 * writing the same object: only the one the database accepts is ever read.
 */
export function partKey(blobId: string, offset: number): string {
  return `${uploadPrefix(blobId)}${String(offset).padStart(16, '0')}-${randomBytes(6).toString('hex')}`;
}

/** The blob id a part key belongs to, or null for keys outside `uploads/`. */
export function blobIdOfPart(key: string): string | null {
  const m = /^uploads\/(b_[A-Za-z0-9_-]{22})\//.exec(key);
  return m?.[1] ?? null;
}

/** Build the configured store. An S3 bucket that does not answer is logged, not fatal: it may come up later. */
export async function createBlobStore(config: Config, log: Logger): Promise<BlobStore> {
  if (config.blobStore === 's3') {
    const store = await createS3BlobStore({
      bucket: config.s3Bucket!,
      region: config.s3Region,
      prefix: config.s3Prefix,
      ...(config.s3Endpoint ? { endpoint: config.s3Endpoint } : {}),
      ...(config.s3ForcePathStyle !== undefined ? { forcePathStyle: config.s3ForcePathStyle } : {}),
      ...(config.s3AccessKeyId && config.s3SecretAccessKey
        ? { credentials: { accessKeyId: config.s3AccessKeyId, secretAccessKey: config.s3SecretAccessKey } }
        : {}),
      logger: {
        debug: (...content) => log.debug({ s3: content }, 's3 client'),
        info: (...content) => log.debug({ s3: content }, 's3 client'),
        warn: (...content) => log.warn({ s3: content }, 's3 client'),
        error: (...content) => log.error({ s3: content }, 's3 client'),
      },
    });
    await store
      .check()
      .catch((err) =>
        log.error(
          { err, bucket: config.s3Bucket },
          'S3 bucket is not reachable; media uploads and downloads will fail until it is',
        ),
      );
    return store;
  }
  return createLocalBlobStore(localBlobRoot(config.dataDir));
}
