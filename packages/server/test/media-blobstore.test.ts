/**
 * The blob store contract (C4), run unchanged on the local folder store and on the S3 store against
 * an S3-compatible emulator; then the whole media flow through a server configured for S3 (on
 * SQLite and PostgreSQL), with the emulator's files searched for plaintext.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fromB64 } from '@parley/protocol';
import { loadConfig } from '../src/index.ts';
import {
  BlobSizeError,
  createLocalBlobStore,
  createS3BlobStore,
  localBlobRoot,
  type BlobStore,
} from '../src/blobs/index.ts';
import { sweepExpiredMedia } from '../src/actions/media.ts';
import {
  startS3,
  availableDrivers,
  newClient,
  startServer,
  until,
  type TestS3,
  type TestServer,
} from '@parley/testkit';

const KiB = 1024;

async function readAll(stream: Readable | null): Promise<Uint8Array> {
  assert.ok(stream, 'object exists');
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return new Uint8Array(Buffer.concat(chunks));
}

async function keys(store: BlobStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const k of store.list(prefix)) out.push(k);
  return out;
}

async function* chunksOf(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

interface StoreFixture {
  name: 'local' | 's3';
  open(): Promise<{ store: BlobStore; cleanup(): Promise<void> }>;
}

const fixtures: StoreFixture[] = [
  {
    name: 'local',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'parley-blobs-'));
      const store = await createLocalBlobStore(dir);
      return { store, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 's3',
    async open() {
      const s3 = await startS3();
      const quiet = { debug() {}, info() {}, warn() {}, error() {} };
      const store = await createS3BlobStore({
        bucket: s3.bucket,
        region: 'us-east-1',
        endpoint: s3.endpoint,
        credentials: s3.credentials,
        prefix: 'deploy-a/',
        logger: quiet,
      });
      return {
        store,
        async cleanup() {
          await store.close();
          await s3.close();
        },
      };
    },
  },
];

for (const fixture of fixtures) {
  describe(`blob store conformance [${fixture.name}]`, () => {
    let store: BlobStore;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ store, cleanup } = await fixture.open());
    });
    after(async () => cleanup?.());

    it('reports its kind', () => {
      assert.equal(store.kind, fixture.name);
    });

    it('stores a buffer or streamed chunks and reads them back whole and by range', async () => {
      const small = new Uint8Array(randomBytes(1000));
      await store.put('blobs/aa/one', small, small.length);
      assert.deepEqual(await readAll(await store.get('blobs/aa/one')), small);
      assert.deepEqual(await store.stat('blobs/aa/one'), { size: 1000 });
      const big = new Uint8Array(randomBytes(2 * 1024 * KiB + 7));
      await store.put('blobs/bb/two', chunksOf(big, 64 * KiB), big.length);
      assert.deepEqual(await readAll(await store.get('blobs/bb/two')), big);
      assert.deepEqual(await readAll(await store.get('blobs/bb/two', { start: 0, end: 0 })), big.subarray(0, 1));
      assert.deepEqual(
        await readAll(await store.get('blobs/bb/two', { start: 65_530, end: 65_545 })),
        big.subarray(65_530, 65_546),
      );
      assert.deepEqual(
        await readAll(await store.get('blobs/bb/two', { start: big.length - 10, end: big.length - 1 })),
        big.subarray(big.length - 10),
      );
    });

    it('replaces an object on put', async () => {
      await store.put('blobs/cc/x', new Uint8Array([1, 2, 3]), 3);
      await store.put('blobs/cc/x', new Uint8Array([9, 9]), 2);
      assert.deepEqual(await readAll(await store.get('blobs/cc/x')), new Uint8Array([9, 9]));
    });

    it('answers null for missing objects and deletes idempotently', async () => {
      assert.equal(await store.get('blobs/zz/missing'), null);
      assert.equal(await store.stat('blobs/zz/missing'), null);
      await store.delete('blobs/zz/missing');
      await store.put('blobs/zz/here', new Uint8Array([1]), 1);
      await store.delete('blobs/zz/here');
      await store.delete('blobs/zz/here');
      assert.equal(await store.stat('blobs/zz/here'), null);
    });

    it('lists keys under a prefix, in order, and nothing outside it', async () => {
      for (const k of ['uploads/b_1/0002', 'uploads/b_1/0001', 'uploads/b_10/0001', 'uploads/b_2/0001'])
        await store.put(k, new Uint8Array([1]), 1);
      assert.deepEqual(await keys(store, 'uploads/b_1/'), ['uploads/b_1/0001', 'uploads/b_1/0002']);
      assert.deepEqual(await keys(store, 'uploads/b_1'), ['uploads/b_1/0001', 'uploads/b_1/0002', 'uploads/b_10/0001']);
      assert.deepEqual(await keys(store, 'uploads/none/'), []);
      for (const k of await keys(store, 'uploads/')) await store.delete(k);
      assert.deepEqual(await keys(store, 'uploads/'), []);
    });

    it('refuses a body of the wrong length and leaves nothing behind', async () => {
      const before = await keys(store, '');
      const bytes = new Uint8Array(randomBytes(200 * KiB));
      await assert.rejects(store.put('blobs/dd/short', bytes, bytes.length + 1), BlobSizeError);
      await assert.rejects(store.put('blobs/dd/short', chunksOf(bytes, 64 * KiB), bytes.length + 1), BlobSizeError);
      await assert.rejects(store.put('blobs/dd/long', chunksOf(bytes, 64 * KiB), bytes.length - 1), BlobSizeError);
      if (fixture.name === 'local') {
        assert.equal(await store.stat('blobs/dd/short'), null);
        assert.equal(await store.stat('blobs/dd/long'), null);
        assert.deepEqual(await keys(store, ''), before);
      } else {
        // S3 discards an aborted PUT; the emulator writes what arrived *after* the abort, racing the
        // store's clean-up delete. What holds on both: no refused body becomes a complete object.
        for (const [key, declared] of [
          ['blobs/dd/short', bytes.length + 1],
          ['blobs/dd/long', bytes.length - 1],
        ] as const) {
          const st = await store.stat(key);
          assert.ok(st === null || st.size !== declared, `${key}: ${JSON.stringify(st)}`);
        }
      }
    });

    it('refuses keys that could escape its namespace', async () => {
      for (const bad of ['', '../etc/passwd', 'blobs/../../x', '/abs', 'a//b', '.hidden', 'a/./b', 'a/b/', 'sp ace']) {
        await assert.rejects(store.put(bad, new Uint8Array([1]), 1), /invalid blob key/, JSON.stringify(bad));
        await assert.rejects(store.get(bad), /invalid blob key/, JSON.stringify(bad));
      }
    });
  });
}

describe('local blob store', () => {
  it('hides half-written objects from list and drops them on the next start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-blobs-'));
    try {
      const store = await createLocalBlobStore(dir);
      await store.put('blobs/aa/kept', new Uint8Array([1, 2]), 2);
      // What a crash in the middle of a put leaves behind.
      writeFileSync(join(dir, '.tmp', 'half-written'), 'partial');
      assert.deepEqual(await keys(store, ''), ['blobs/aa/kept']);
      const reopened = await createLocalBlobStore(dir);
      assert.deepEqual(readdirSync(join(dir, '.tmp')), []);
      assert.deepEqual(await keys(reopened, ''), ['blobs/aa/kept']);
      assert.deepEqual(await readAll(await reopened.get('blobs/aa/kept')), new Uint8Array([1, 2]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('S3 configuration', () => {
  it('needs a bucket and both halves of a key pair', () => {
    assert.throws(() => loadConfig({ PARLEY_BLOB_STORE: 's3' }), /PARLEY_S3_BUCKET/);
    assert.throws(
      () => loadConfig({ PARLEY_BLOB_STORE: 's3', PARLEY_S3_BUCKET: 'b-1', PARLEY_S3_ACCESS_KEY_ID: 'x' }),
      /PARLEY_S3_SECRET_ACCESS_KEY/,
    );
    assert.throws(() => loadConfig({ PARLEY_BLOB_STORE: 'ftp' }), /PARLEY_BLOB_STORE/);
    assert.throws(() => loadConfig({ PARLEY_MEDIA_MAX_BYTES: '-5' }), /PARLEY_MEDIA_MAX_BYTES/);
    const c = loadConfig({
      PARLEY_BLOB_STORE: 's3',
      PARLEY_S3_BUCKET: 'media-bucket',
      PARLEY_S3_FORCE_PATH_STYLE: 'false',
      PARLEY_MEDIA_TTL_DAYS: '7',
    });
    assert.equal(c.s3ForcePathStyle, false);
    assert.equal(c.mediaTtlDays, 7);
    const d = loadConfig({});
    assert.equal(d.blobStore, 'local');
    assert.equal(d.mediaMaxBytes, 100 * 1024 * 1024);
    assert.equal(d.mediaTtlDays, 30);
  });
});

for (const { driver, skip } of await availableDrivers()) {
  describe(`media on an S3-compatible store [${driver}]`, { skip }, () => {
    let s3: TestS3;
    let t: TestServer;
    before(async () => {
      s3 = await startS3();
      t = await startServer(driver, {
        blobStore: 's3',
        s3Endpoint: s3.endpoint,
        s3Bucket: s3.bucket,
        s3AccessKeyId: s3.credentials.accessKeyId,
        s3SecretAccessKey: s3.credentials.secretAccessKey,
        s3Prefix: 'parley/',
      });
    });
    after(async () => {
      await t?.close();
      await s3?.close();
    });

    it('uploads, delivers, downloads and expires through the bucket, which holds only ciphertext', async () => {
      const ready = (await (await fetch(`${t.url}/readyz`)).json()) as { blobs: string };
      assert.equal(ready.blobs, 's3');
      const alice = await newClient(t.url);
      const bob = await newClient(t.url);
      try {
        const conv = await alice.startDirect(bob.self.accountId);
        const canary = Buffer.from(`S3-CANARY-${Math.random().toString(36).slice(2)}`);
        const file = new Uint8Array(Buffer.concat([randomBytes(200 * KiB), canary, randomBytes(100 * KiB)]));
        const sent = await alice.sendMedia(conv, {
          bytes: file,
          mimeType: 'application/zip',
          kind: 'file',
          fileName: 'archive.zip',
          chunkBytes: 64 * KiB,
        });
        const got = await until(
          async () => (await bob.messages(conv)).find((m) => m.id === sent.id),
          10_000,
          'bob got the file',
        );
        assert.deepEqual(await bob.downloadMedia(got.attachment!), file);

        const objects = await keys(t.server.ctx.blobs, '');
        assert.deepEqual(
          objects,
          [`blobs/${sent.attachment!.id.slice(2, 4)}/${sent.attachment!.id}`],
          'one object per blob, no parts left',
        );
        assert.deepEqual(
          filesUnder(t.dataDir).filter((f) => f.startsWith(localBlobRoot(t.dataDir))),
          [],
          'nothing in the local folder',
        );
        const needles = [
          canary,
          Buffer.from(fromB64(sent.attachment!.key)),
          Buffer.from(file.subarray(5000, 5024)),
          Buffer.from(file.subarray(file.length - 24)),
        ];
        const emulatorFiles = filesUnder(s3.directory);
        assert.ok(
          emulatorFiles.some((f) => f.includes('parley')),
          'objects live under the configured prefix',
        );
        for (const f of emulatorFiles) {
          const bytes = readFileSync(f);
          for (const n of needles) assert.equal(bytes.includes(n), false, `${f} holds plaintext`);
        }

        const swept = await sweepExpiredMedia(t.server.ctx, Date.now() + 31 * 86_400_000);
        assert.equal(swept.expired, 1);
        assert.deepEqual(await keys(t.server.ctx.blobs, ''), []);
      } finally {
        await alice.close();
        await bob.close();
      }
    });
  });
}
