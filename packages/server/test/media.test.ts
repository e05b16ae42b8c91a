/**
 * Encrypted media end to end (C4), on SQLite and PostgreSQL: files encrypted on the sending device,
 * uploaded in resumable chunks, referenced from the MLS message, downloaded, verified and decrypted
 * by the receiver; the server's blob store never holds a plaintext byte sequence. Every bad input
 * (wrong offset, oversized, truncated, wrong digest, unauthenticated, foreign, over quota) gets its
 * catalogued error and changes nothing; expiry is checked with an injected clock.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import WebSocket from 'ws';
import { ERRORS, ParleyError, encodeFrame, fromB64, toB64, type ErrorCode } from '@parley/protocol';
import { MemoryStore, ParleyClient, waveformPeaks, type WebSocketCtor } from '@parley/sdk';
import {
  availableDrivers,
  newClient,
  nextPhone,
  outboxCode,
  startServer,
  until,
  type TestServer,
} from '@parley/testkit';
import { deviceToken } from '@parley/sdk/testing';
import { expiryAfterFetch, sweepExpiredMedia } from '../src/actions/media.ts';
import { localBlobRoot } from '../src/blobs/index.ts';

const drivers = await availableDrivers();
const KiB = 1024;
const MiB = 1024 * KiB;
const DAY = 86_400_000;

/** Files under a folder, recursively. */
function filesUnder(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** Everything a media request could change: media rows, part rows, blob-store objects. */
async function snapshot(t: TestServer): Promise<{ blobs: number; parts: number; objects: string[] }> {
  const objects: string[] = [];
  for await (const k of t.server.ctx.blobs.list('')) objects.push(k);
  if (t.databaseUrl) {
    const db = new pg.Client({ connectionString: t.databaseUrl });
    await db.connect();
    try {
      const n = async (table: string) => Number((await db.query(`select count(*) as n from ${table}`)).rows[0].n);
      return { blobs: await n('media_blobs'), parts: await n('media_parts'), objects };
    } finally {
      await db.end();
    }
  }
  const db = new Database(join(t.dataDir, 'parley.sqlite'), { readonly: true });
  try {
    const n = (table: string) => (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
    return { blobs: n('media_blobs'), parts: n('media_parts'), objects };
  } finally {
    db.close();
  }
}

/** Assert that `p` fails with catalogued `code` and its HTTP status. */
async function rejectsWith(p: Promise<unknown>, code: ErrorCode, what: string = code): Promise<ParleyError> {
  let caught: unknown;
  await assert.rejects(
    p,
    (e: unknown) => {
      caught = e;
      return true;
    },
    what,
  );
  assert.ok(caught instanceof ParleyError, `${what}: ${String(caught)}`);
  assert.equal(caught.code, code, `${what}: ${caught.message}`);
  assert.equal(caught.status, ERRORS[code].status, `${what} status`);
  return caught;
}

const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

/** A registered, connected client whose HTTP goes through `fetchImpl`. */
async function clientWithFetch(url: string, fetchImpl: typeof fetch): Promise<ParleyClient> {
  const client = await ParleyClient.open({
    store: new MemoryStore(),
    WebSocket: WebSocket as unknown as WebSocketCtor,
    keyPackageTarget: 12,
    fetch: fetchImpl,
  });
  const phone = nextPhone();
  await client.requestCode(url, phone);
  await client.verify(await outboxCode(url, phone), { deviceName: 'test' });
  await client.connect();
  return client;
}

/** Upload `bytes` as a blob through the raw API (no encryption needed for server-side checks). */
async function uploadRaw(c: ParleyClient, bytes: Uint8Array, chunk = 64 * KiB): Promise<string> {
  const { blobId } = await c.api.createUpload(bytes.length, toB64(sha256(bytes)));
  for (let at = 0; at < bytes.length; at += chunk)
    await c.api.appendUpload(blobId, at, bytes.subarray(at, Math.min(bytes.length, at + chunk)));
  await c.api.finishUpload(blobId);
  return blobId;
}

for (const { driver, skip } of drivers) {
  describe(`media [${driver}]`, { skip }, () => {
    let t: TestServer;
    const clients: ParleyClient[] = [];
    const make = async (c: Promise<ParleyClient>) => {
      const client = await c;
      clients.push(client);
      return client;
    };
    before(async () => {
      t = await startServer(driver, { mediaMaxBytes: 2 * MiB, mediaQuotaBytes: 3 * MiB });
    });
    after(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await t?.close();
    });

    it('sends an image with a thumbnail and a voice note; the receiver downloads, verifies and decrypts', async () => {
      const alice = await make(newClient(t.url));
      const bob = await make(newClient(t.url));
      const conv = await alice.startDirect(bob.self.accountId);
      const image = new Uint8Array(randomBytes(700 * KiB));
      const thumb = new Uint8Array(randomBytes(3 * KiB));
      const progress: number[] = [];
      const sent = await alice.sendMedia(conv, {
        bytes: image,
        mimeType: 'image/png',
        kind: 'image',
        fileName: 'photo.png',
        width: 640,
        height: 480,
        caption: 'look at this',
        thumbnail: { bytes: thumb, mimeType: 'image/jpeg', width: 64, height: 48 },
        chunkBytes: 128 * KiB,
        onProgress: (p) => progress.push(p.bytes),
      });
      assert.ok(sent.attachment, 'the sender keeps the reference');
      const size = image.length + 16;
      assert.equal(sent.attachment.size, size);
      assert.equal(progress[0], 0);
      assert.equal(progress.at(-1), size);
      assert.ok(progress.length >= 7, `progress per chunk: ${progress}`);
      assert.deepEqual(
        progress,
        [...progress].sort((a, b) => a - b),
        'progress never goes back',
      );

      const got = await until(
        async () => (await bob.messages(conv)).find((m) => m.id === sent.id),
        10_000,
        'bob got the image',
      );
      assert.ok(got.attachment);
      assert.equal(got.text, 'look at this');
      assert.deepEqual(got.attachment, sent.attachment, 'the whole reference arrives inside the MLS message');
      assert.equal(got.attachment.kind, 'image');
      assert.equal(got.attachment.fileName, 'photo.png');
      assert.deepEqual(await bob.downloadMedia(got.attachment), image);
      assert.ok(got.attachment.thumbnail);
      assert.notEqual(got.attachment.thumbnail.id, got.attachment.id);
      assert.deepEqual(await bob.downloadMedia(got.attachment.thumbnail), thumb);

      // What the server recorded: owner, ciphertext size and digest, complete, no parts left.
      const row = await t.server.ctx.storage.media.getMediaBlob(got.attachment.id);
      assert.ok(row);
      assert.equal(row.ownerAccount, alice.self.accountId);
      assert.equal(row.state, 'complete');
      assert.equal(row.size, size);
      assert.deepEqual(row.digest, fromB64(got.attachment.digest));
      assert.deepEqual(await t.server.ctx.storage.media.listMediaParts(row.id), []);
      const leftovers: string[] = [];
      for await (const k of t.server.ctx.blobs.list('uploads/')) leftovers.push(k);
      assert.deepEqual(leftovers, [], 'parts are removed once the blob is composed');
      const limits = await alice.api.mediaLimits();
      assert.equal(limits.usedBytes, size + thumb.length + 16);
      assert.equal(limits.maxBytes, 2 * MiB);

      // A voice note with waveform, duration and the call it answers.
      const pcm = new Float32Array(48_000).map((_, i) => Math.sin(i / 8) * (i / 48_000));
      const waveform = waveformPeaks(pcm, { peaks: 48 });
      const voice = new Uint8Array(randomBytes(90 * KiB));
      const note = await alice.sendMedia(conv, {
        bytes: voice,
        mimeType: 'audio/webm;codecs=opus',
        kind: 'voice',
        durationMs: 1000,
        waveform,
        callId: 'call-123456',
      });
      const heard = await until(
        async () => (await bob.messages(conv)).find((m) => m.id === note.id),
        10_000,
        'bob got the voice note',
      );
      assert.equal(heard.text, '');
      assert.equal(heard.callId, 'call-123456');
      assert.equal(heard.attachment?.durationMs, 1000);
      assert.deepEqual(fromB64(heard.attachment!.waveform!), waveform);
      assert.deepEqual(await bob.downloadMedia(heard.attachment!), voice);
    });

    it('keeps no plaintext byte sequence of the file, nor its key, anywhere on the server', async () => {
      const alice = await make(newClient(t.url));
      const bob = await make(newClient(t.url));
      const conv = await alice.startDirect(bob.self.accountId);
      const canary = Buffer.from(`MEDIA-CANARY-${Math.random().toString(36).slice(2)}-plaintext`);
      const file = new Uint8Array(Buffer.concat([randomBytes(150 * KiB), canary, randomBytes(150 * KiB)]));
      const sent = await alice.sendMedia(conv, {
        bytes: file,
        mimeType: 'application/pdf',
        kind: 'file',
        fileName: 'secret-report.pdf',
      });
      await until(async () => (await bob.messages(conv)).some((m) => m.id === sent.id), 10_000, 'delivered');

      const needles = [canary, Buffer.from('secret-report.pdf'), Buffer.from(fromB64(sent.attachment!.key))];
      for (const at of [0, 1000, 100 * KiB, file.length - 64]) needles.push(Buffer.from(file.subarray(at, at + 24)));
      const blobFiles = filesUnder(localBlobRoot(t.dataDir));
      assert.ok(blobFiles.length >= 1, 'the blob folder holds the ciphertext');
      assert.ok(blobFiles.reduce((n, f) => n + statSync(f).size, 0) >= file.length, 'and all of it');
      for (const f of filesUnder(t.dataDir)) {
        const bytes = readFileSync(f);
        for (const n of needles) assert.equal(bytes.includes(n), false, `${f} holds plaintext`);
      }
      if (t.databaseUrl) {
        const db = new pg.Client({ connectionString: t.databaseUrl });
        await db.connect();
        try {
          const rows = (await db.query('select t::text as row from media_blobs t')).rows as { row: string }[];
          assert.ok(rows.length > 0);
          for (const r of rows) for (const n of needles) assert.equal(r.row.includes(n.toString('hex')), false);
        } finally {
          await db.end();
        }
      }
    });

    it('resumes an upload after a chunk is lost on the way, or its answer is lost on the way back, and a download after it breaks off', async () => {
      let patches = 0;
      let statusCalls = 0;
      const flakyUpload: typeof fetch = async (input, init) => {
        const url = String(input);
        if (init?.method === 'GET' && url.includes('/v1/media/uploads/')) statusCalls++;
        if (init?.method !== 'PATCH') return fetch(input, init);
        patches++;
        if (patches === 2) {
          // The connection drops half-way through the chunk: the server never gets it whole.
          const chunk = init.body as Uint8Array;
          const body = new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(chunk.subarray(0, chunk.length >> 1));
              setTimeout(() => controller.error(new Error('connection dropped')), 20);
            },
          });
          return fetch(input, { ...init, body, duplex: 'half' } as RequestInit);
        }
        if (patches === 4) {
          // The chunk arrives, the answer does not.
          await (await fetch(input, init)).arrayBuffer();
          throw new TypeError('socket hang up');
        }
        return fetch(input, init);
      };
      const ranges: (string | null)[] = [];
      let downloads = 0;
      const flakyDownload: typeof fetch = async (input, init) => {
        if (init?.method !== 'GET' || !/\/v1\/media\/b_/.test(String(input))) return fetch(input, init);
        ranges.push(new Headers(init.headers).get('range'));
        const res = await fetch(input, init);
        if (++downloads > 1) return res;
        // The first download breaks off after 100 KiB.
        const reader = res.body!.getReader();
        let sent = 0;
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            const { done, value } = await reader.read();
            if (done || sent >= 100 * KiB) {
              await reader.cancel();
              controller.error(new TypeError('terminated'));
              return;
            }
            sent += value.length;
            controller.enqueue(value);
          },
        });
        return new Response(body, { status: res.status, headers: res.headers });
      };
      const alice = await make(clientWithFetch(t.url, flakyUpload));
      const bob = await make(clientWithFetch(t.url, flakyDownload));
      const conv = await alice.startDirect(bob.self.accountId);
      const file = new Uint8Array(randomBytes(6 * 64 * KiB + 1000));
      const progress: number[] = [];
      const sent = await alice.sendMedia(conv, {
        bytes: file,
        mimeType: 'video/mp4',
        kind: 'video',
        durationMs: 4000,
        chunkBytes: 64 * KiB,
        onProgress: (p) => progress.push(p.bytes),
      });
      const chunks = Math.ceil((file.length + 16) / (64 * KiB));
      assert.equal(patches, chunks + 1, 'only the chunk that never arrived was sent again');
      assert.equal(statusCalls, 2, 'after each failure the client asked where the upload stands');
      assert.equal(progress.at(-1), file.length + 16);
      assert.deepEqual(
        progress,
        [...progress].sort((a, b) => a - b),
      );
      const leftovers: string[] = [];
      for await (const k of t.server.ctx.blobs.list(`uploads/${sent.attachment!.id}/`)) leftovers.push(k);
      assert.deepEqual(leftovers, []);

      const got = await until(
        async () => (await bob.messages(conv)).find((m) => m.id === sent.id),
        10_000,
        'bob got the video note',
      );
      assert.deepEqual(await bob.downloadMedia(got.attachment!), file);
      assert.equal(ranges[0], null);
      assert.match(String(ranges[1]), /^bytes=\d+-$/, 'the second request continues where the first broke off');
      assert.ok(Number(/\d+/.exec(String(ranges[1]))![0]) >= 64 * KiB);
    });

    it('refuses a wrong offset, a chunk past the declared size, an oversized declaration and non-binary chunks, changing nothing', async () => {
      const alice = await make(newClient(t.url));
      const bytes = new Uint8Array(randomBytes(200 * KiB));
      const declared = toB64(sha256(bytes));
      await rejectsWith(
        alice.api.createUpload(2 * MiB + 1, declared),
        'blob_too_large',
        'declared size over the limit',
      );
      await rejectsWith(alice.api.createUpload(8, declared), 'bad_request', 'smaller than a GCM tag');
      const base = await snapshot(t);
      const up = await alice.api.createUpload(bytes.length, declared);
      assert.equal(up.offset, 0);
      assert.match(up.blobId, /^b_[A-Za-z0-9_-]{22}$/);
      const created = await snapshot(t);
      assert.equal(created.blobs, base.blobs + 1);

      const mismatch = await rejectsWith(
        alice.api.appendUpload(up.blobId, 5, bytes.subarray(5, 64 * KiB + 5)),
        'upload_offset_mismatch',
      );
      assert.equal((mismatch.details as { offset: number }).offset, 0, 'the error says where to resume');
      assert.deepEqual(await snapshot(t), created);

      const first = await alice.api.appendUpload(up.blobId, 0, bytes.subarray(0, 64 * KiB));
      assert.equal(first.offset, 64 * KiB);
      const afterFirst = await snapshot(t);
      assert.equal(afterFirst.parts, created.parts + 1);
      const again = await rejectsWith(
        alice.api.appendUpload(up.blobId, 0, bytes.subarray(0, 64 * KiB)),
        'upload_offset_mismatch',
        'the same chunk twice',
      );
      assert.equal((again.details as { offset: number }).offset, 64 * KiB);
      await rejectsWith(
        alice.api.appendUpload(up.blobId, 64 * KiB, new Uint8Array(bytes.length)),
        'blob_too_large',
        'past the declared size',
      );
      await rejectsWith(
        alice.api.appendUpload(up.blobId, 64 * KiB, bytes.subarray(64 * KiB, 65 * KiB)),
        'bad_request',
        'a tiny chunk that does not end the upload',
      );
      await rejectsWith(
        alice.api.appendUpload(up.blobId, 64 * KiB, new Uint8Array(0)),
        'bad_request',
        'an empty chunk',
      );
      assert.deepEqual((await alice.api.getUpload(up.blobId)).offset, 64 * KiB);

      const url = `${t.url}/v1/media/uploads/${up.blobId}?offset=${64 * KiB}`;
      const auth = { authorization: `Bearer ${deviceToken(alice)}` };
      const asJson = await fetch(url, {
        method: 'PATCH',
        headers: { ...auth, 'content-type': 'application/json' },
        body: '{"bytes":"AAAA"}',
      });
      assert.equal(asJson.status, 415);
      assert.equal(((await asJson.json()) as { error: { code: string } }).error.code, 'unsupported_media_type');
      const noBody = await fetch(url, { method: 'PATCH', headers: auth });
      assert.equal(((await noBody.json()) as { error: { code: string } }).error.code, 'unsupported_media_type');
      const huge = await fetch(url, {
        method: 'PATCH',
        headers: { ...auth, 'content-type': 'application/octet-stream' },
        body: new Uint8Array(8 * MiB + 1),
      });
      assert.equal(huge.status, 413);
      assert.equal(((await huge.json()) as { error: { code: string } }).error.code, 'payload_too_large');
      const badOffset = await fetch(`${t.url}/v1/media/uploads/${up.blobId}?offset=-1`, {
        method: 'PATCH',
        headers: { ...auth, 'content-type': 'application/octet-stream' },
        body: new Uint8Array(10),
      });
      assert.equal(((await badOffset.json()) as { error: { code: string } }).error.code, 'bad_request');
      assert.deepEqual(await snapshot(t), afterFirst);

      // The same op over the WebSocket (binary frame), and the HTTP-only download refused there.
      const ws = new WebSocket(t.url.replace('http', 'ws') + '/v1/ws');
      const answers: {
        id: number;
        status: number;
        body: { error?: { code: string; details?: { offset?: number } }; offset?: number };
      }[] = [];
      ws.on('message', (d, binary) => {
        if (!binary) answers.push(JSON.parse(d.toString()));
      });
      await new Promise((r) => ws.once('open', r));
      ws.send(JSON.stringify({ id: 1, op: 'hello', body: { token: deviceToken(alice), protocol: 1 } }));
      await until(() => answers.some((a) => a.id === 1), 5000, 'hello answered');
      ws.send(
        encodeFrame({ id: 2, op: 'appendUpload', body: { blobId: up.blobId, offset: 0 } }, bytes.subarray(0, 64 * KiB)),
      );
      ws.send(
        encodeFrame(
          { id: 3, op: 'appendUpload', body: { blobId: up.blobId, offset: 64 * KiB } },
          bytes.subarray(64 * KiB, 128 * KiB),
        ),
      );
      ws.send(JSON.stringify({ id: 4, op: 'downloadBlob', body: { blobId: up.blobId } }));
      await until(() => [2, 3, 4].every((id) => answers.some((a) => a.id === id)), 5000, 'socket answers');
      ws.close();
      const byId = new Map(answers.map((a) => [a.id, a]));
      assert.equal(byId.get(2)?.body.error?.code, 'upload_offset_mismatch');
      assert.equal(byId.get(2)?.body.error?.details?.offset, 64 * KiB);
      assert.equal(byId.get(3)?.status, 200);
      assert.equal(byId.get(3)?.body.offset, 128 * KiB);
      assert.equal(byId.get(4)?.body.error?.code, 'unknown_op');
      await alice.api.appendUpload(up.blobId, 128 * KiB, bytes.subarray(128 * KiB));
      const done = await alice.api.finishUpload(up.blobId);
      assert.equal(done.digest, declared);
    });

    it('keeps a truncated upload resumable and discards one whose bytes do not match the digest', async () => {
      const alice = await make(newClient(t.url));
      const bytes = new Uint8Array(randomBytes(300 * KiB));
      const up = await alice.api.createUpload(bytes.length, toB64(sha256(bytes)));
      await alice.api.appendUpload(up.blobId, 0, bytes.subarray(0, 128 * KiB));
      const before = await snapshot(t);
      const incomplete = await rejectsWith(alice.api.finishUpload(up.blobId), 'upload_incomplete');
      assert.deepEqual(incomplete.details, { offset: 128 * KiB, size: bytes.length });
      assert.deepEqual(await snapshot(t), before);
      await rejectsWith(
        alice.api.downloadBlob(up.blobId),
        'blob_not_found',
        'an unfinished upload is not downloadable',
      );
      await alice.api.appendUpload(up.blobId, 128 * KiB, bytes.subarray(128 * KiB));
      await alice.api.finishUpload(up.blobId);
      assert.deepEqual(new Uint8Array(await (await alice.api.downloadBlob(up.blobId)).arrayBuffer()), bytes);
      const twice = await alice.api.finishUpload(up.blobId);
      assert.equal(twice.blobId, up.blobId, 'finishing again answers the same');

      const clean = await snapshot(t);
      const other = new Uint8Array(randomBytes(bytes.length));
      const bad = await alice.api.createUpload(bytes.length, toB64(sha256(other)));
      await alice.api.appendUpload(bad.blobId, 0, bytes.subarray(0, 128 * KiB));
      await alice.api.appendUpload(bad.blobId, 128 * KiB, bytes.subarray(128 * KiB));
      await rejectsWith(alice.api.finishUpload(bad.blobId), 'blob_digest_mismatch');
      assert.deepEqual(await snapshot(t), clean, 'the upload, its parts and its objects are gone');
      await rejectsWith(alice.api.getUpload(bad.blobId), 'upload_not_found');
      await rejectsWith(alice.api.downloadBlob(bad.blobId), 'blob_not_found');
      assert.equal((await alice.api.mediaLimits()).usedBytes, bytes.length, 'its quota reservation is released');
    });

    it('answers unauthenticated and foreign requests with catalogued errors; any signed-in device may fetch ciphertext by id', async () => {
      const alice = await make(newClient(t.url));
      const carol = await make(newClient(t.url));
      const bytes = new Uint8Array(randomBytes(100 * KiB));
      const done = await uploadRaw(alice, bytes);
      const pending = await alice.api.createUpload(bytes.length, toB64(sha256(bytes)));
      const before = await snapshot(t);

      const routes: [string, string, RequestInit?][] = [
        ['GET', '/v1/media'],
        [
          'POST',
          '/v1/media/uploads',
          {
            body: JSON.stringify({ size: 100, digest: toB64(sha256(bytes)) }),
            headers: { 'content-type': 'application/json' },
          },
        ],
        ['GET', `/v1/media/uploads/${pending.blobId}`],
        [
          'PATCH',
          `/v1/media/uploads/${pending.blobId}?offset=0`,
          { body: bytes.subarray(0, 64 * KiB), headers: { 'content-type': 'application/octet-stream' } },
        ],
        ['POST', `/v1/media/uploads/${pending.blobId}/finish`],
        ['GET', `/v1/media/${done}`],
        ['DELETE', `/v1/media/${done}`],
      ];
      for (const [method, path, init] of routes) {
        for (const authorization of [undefined, 'Bearer not-a-token', 'Basic abc']) {
          const headers = {
            ...(init?.headers as Record<string, string> | undefined),
            ...(authorization ? { authorization } : {}),
          };
          const r = await fetch(t.url + path, { ...init, method, headers });
          assert.equal(r.status, 401, `${method} ${path} with ${authorization}`);
          assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'unauthenticated');
        }
      }

      // Uploads in progress are private to their account.
      await rejectsWith(carol.api.getUpload(pending.blobId), 'upload_not_found');
      await rejectsWith(carol.api.appendUpload(pending.blobId, 0, bytes.subarray(0, 64 * KiB)), 'upload_not_found');
      await rejectsWith(carol.api.finishUpload(pending.blobId), 'upload_not_found');
      await rejectsWith(carol.api.deleteBlob(pending.blobId), 'blob_not_found');
      await rejectsWith(carol.api.deleteBlob(done), 'forbidden', 'only the uploader deletes');
      await rejectsWith(carol.api.downloadBlob(`b_${'A'.repeat(22)}`), 'blob_not_found');
      await rejectsWith(carol.api.downloadBlob('not-an-id'), 'bad_request');
      assert.deepEqual(await snapshot(t), before);

      // Policy: a finished blob is ciphertext behind an unguessable id; any signed-in device may fetch it.
      const fetched = new Uint8Array(await (await carol.api.downloadBlob(done)).arrayBuffer());
      assert.deepEqual(fetched, bytes);
    });

    it('serves single byte ranges and refuses unsatisfiable ones', async () => {
      const alice = await make(newClient(t.url));
      const bytes = new Uint8Array(randomBytes(70 * KiB));
      const id = await uploadRaw(alice, bytes);
      const get = (range?: string) =>
        fetch(`${t.url}/v1/media/${id}`, {
          headers: { authorization: `Bearer ${deviceToken(alice)}`, ...(range ? { range } : {}) },
        });
      const whole = await get();
      assert.equal(whole.status, 200);
      assert.equal(whole.headers.get('accept-ranges'), 'bytes');
      assert.equal(whole.headers.get('content-length'), String(bytes.length));
      assert.equal(whole.headers.get('etag'), `"${toB64(sha256(bytes))}"`);
      assert.deepEqual(new Uint8Array(await whole.arrayBuffer()), bytes);
      const cases: [string, number, number][] = [
        ['bytes=0-9', 0, 9],
        ['bytes=1000-', 1000, bytes.length - 1],
        ['bytes=-5', bytes.length - 5, bytes.length - 1],
        ['bytes=70000-999999', 70000, bytes.length - 1],
      ];
      for (const [range, start, end] of cases) {
        const r = await get(range);
        assert.equal(r.status, 206, range);
        assert.equal(r.headers.get('content-range'), `bytes ${start}-${end}/${bytes.length}`, range);
        assert.deepEqual(new Uint8Array(await r.arrayBuffer()), bytes.subarray(start, end + 1), range);
      }
      for (const range of [
        `bytes=${bytes.length}-`,
        'bytes=10-5',
        'bytes=0-1,5-6',
        'bytes=-0',
        'items=0-1',
        'bytes=-',
      ]) {
        const r = await get(range);
        assert.equal(r.status, 416, range);
        assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'range_not_satisfiable');
      }
    });

    it('refuses a file over the size limit before sending anything, and gives back its thumbnail', async () => {
      const alice = await make(newClient(t.url));
      const bob = await make(newClient(t.url));
      const conv = await alice.startDirect(bob.self.accountId);
      const before = await snapshot(t);
      const tooBig = new Uint8Array(2 * MiB);
      await rejectsWith(
        alice.sendMedia(conv, {
          bytes: tooBig,
          mimeType: 'video/mp4',
          kind: 'video',
          thumbnail: { bytes: new Uint8Array(500), mimeType: 'image/jpeg', width: 10, height: 10 },
        }),
        'blob_too_large',
      );
      await rejectsWith(
        alice.sendMedia(conv, { bytes: new Uint8Array(10), mimeType: 'not a type', kind: 'file' }),
        'bad_request',
        'a bad MIME type costs no upload',
      );
      assert.deepEqual(await snapshot(t), before);
      assert.equal((await alice.api.mediaLimits()).usedBytes, 0);
      assert.deepEqual(
        (await alice.messages(conv)).filter((m) => m.attachment),
        [],
        'no message was sent',
      );
    });

    it('enforces the per-account quota, counting uploads in progress, and frees it on delete', async () => {
      const alice = await make(newClient(t.url));
      const bob = await make(newClient(t.url));
      const big = await alice.api.createUpload(2 * MiB, toB64(sha256(new Uint8Array(1))));
      assert.equal((await alice.api.mediaLimits()).usedBytes, 2 * MiB, 'an upload reserves its declared size');
      const before = await snapshot(t);
      const over = await rejectsWith(
        alice.api.createUpload(1.5 * MiB, toB64(sha256(new Uint8Array(2)))),
        'blob_quota_exceeded',
      );
      assert.deepEqual(over.details, { size: 1.5 * MiB, usedBytes: 2 * MiB, quotaBytes: 3 * MiB });
      assert.deepEqual(await snapshot(t), before);
      // Quotas are per account.
      await bob.api.createUpload(1.5 * MiB, toB64(sha256(new Uint8Array(3))));
      await alice.api.deleteBlob(big.blobId);
      assert.equal((await alice.api.mediaLimits()).usedBytes, 0);
      await alice.api.createUpload(1.5 * MiB, toB64(sha256(new Uint8Array(2))));
    });
  });

  describe(`media expiry [${driver}]`, { skip }, () => {
    let t: TestServer;
    let skew = 0;
    const clients: ParleyClient[] = [];
    before(async () => {
      // The sweeper timer runs every second here, on the injected clock.
      t = await startServer(
        driver,
        { mediaTtlDays: 30, mediaUploadTtlHours: 24, mediaSweepSeconds: 1 },
        { now: () => Date.now() + skew },
      );
    });
    after(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await t?.close();
    });

    it('deletes blobs nobody fetched after the TTL, extends fetched ones modestly, and drops abandoned uploads', async () => {
      const alice = await newClient(t.url);
      const bob = await newClient(t.url);
      clients.push(alice, bob);
      const ctx = t.server.ctx;
      const fetched = await uploadRaw(alice, new Uint8Array(randomBytes(70 * KiB)));
      const ignored = await uploadRaw(alice, new Uint8Array(randomBytes(70 * KiB)));
      const abandoned = await alice.api.createUpload(200 * KiB, toB64(sha256(new Uint8Array(1))));
      await alice.api.appendUpload(abandoned.blobId, 0, new Uint8Array(64 * KiB));
      const created = (await ctx.storage.media.getMediaBlob(fetched))!;
      assert.ok(Math.abs(created.expiresAt - (ctx.now() + 30 * DAY)) < 60_000, 'a blob lives 30 days');

      skew = 25 * 3_600_000;
      await sweepExpiredMedia(ctx);
      assert.equal(
        await ctx.storage.media.getMediaBlob(abandoned.blobId),
        null,
        'an unfinished upload expires a day after its last chunk',
      );
      const parts: string[] = [];
      for await (const k of ctx.blobs.list(`uploads/${abandoned.blobId}/`)) parts.push(k);
      assert.deepEqual(parts, []);
      assert.ok(await ctx.storage.media.getMediaBlob(fetched));

      skew = 29 * DAY;
      await bob.api.downloadBlob(fetched).then((r) => r.arrayBuffer());
      const touched = (await ctx.storage.media.getMediaBlob(fetched))!;
      assert.ok(touched.lastFetchedAt !== null && Math.abs(touched.lastFetchedAt - ctx.now()) < 60_000);
      assert.ok(
        Math.abs(touched.expiresAt - (ctx.now() + 7 * DAY)) < 60_000,
        'a download keeps it a week past the fetch',
      );

      skew = 31 * DAY;
      await sweepExpiredMedia(ctx);
      assert.equal(await ctx.storage.media.getMediaBlob(ignored), null, 'nobody fetched it: gone after 30 days');
      assert.equal(await ctx.blobs.stat(`blobs/${ignored.slice(2, 4)}/${ignored}`), null, 'its bytes too');
      await rejectsWith(bob.api.downloadBlob(ignored), 'blob_not_found');
      assert.ok(await ctx.storage.media.getMediaBlob(fetched), 'the fetched one lives on');

      // A part object left behind by a crash (its upload is gone) is removed too.
      const orphan = `uploads/b_${'Z'.repeat(22)}/0000000000000000-deadbeef`;
      await ctx.blobs.put(orphan, new Uint8Array(10), 10);
      await sweepExpiredMedia(ctx);
      assert.equal(await ctx.blobs.stat(orphan), null);

      // Past the extended expiry, the timer (not a manual sweep) deletes it.
      skew = 37 * DAY;
      await until(
        async () => (await ctx.storage.media.getMediaBlob(fetched)) === null,
        5000,
        'the sweeper timer deleted the blob',
      );
      await until(
        async () => (await ctx.blobs.stat(`blobs/${fetched.slice(2, 4)}/${fetched}`)) === null,
        5000,
        'and its bytes',
      );
      await rejectsWith(bob.api.downloadBlob(fetched), 'blob_not_found');
      assert.equal((await alice.api.mediaLimits()).usedBytes, 0, 'expired blobs no longer count against the quota');
    });

    it('caps how far downloads can extend a blob: twice the TTL after upload', () => {
      const ttl = 30 * DAY;
      const row = { createdAt: 0, completedAt: 0, expiresAt: ttl };
      assert.equal(expiryAfterFetch(row, 1 * DAY, ttl), ttl, 'an early fetch does not shorten or lengthen it');
      assert.equal(expiryAfterFetch(row, 29 * DAY, ttl), 36 * DAY);
      assert.equal(expiryAfterFetch({ ...row, expiresAt: 57 * DAY }, 56 * DAY, ttl), 60 * DAY, 'never past 2 × TTL');
      assert.equal(
        expiryAfterFetch({ ...row, expiresAt: 2 * DAY }, 1 * DAY, 2 * DAY),
        3 * DAY,
        'a TTL shorter than a week bounds the grace',
      );
    });
  });
}
