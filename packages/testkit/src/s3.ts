/**
 * An S3-compatible store for tests: the `s3rver` emulator on a free loopback port, with its data in
 * a temporary folder and one bucket created, so the S3 blob store runs against a real S3 API.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running emulator and the settings to reach it. */
export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** Where the emulator keeps objects (searched by the plaintext checks). */
  directory: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  close(): Promise<void>;
}

/** Start the emulator with one empty bucket. */
export async function startS3(bucket = 'parley-test'): Promise<TestS3> {
  // Loaded here, not at the top: every test imports this package, few of them start an emulator.
  const { default: S3rver } = await import('s3rver');
  const directory = mkdtempSync(join(tmpdir(), 'parley-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    directory,
    // The emulator checks signatures against these fixed credentials.
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    async close() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
