/**
 * The media part of the storage contract (C4), run unchanged on SQLite and PostgreSQL: the quota
 * checks (bytes, and unfinished uploads per account) and the insert are one step, a chunk is recorded only at the exact offset (so of two racing
 * appends one wins), an upload completes only when every byte is there, downloads never shorten an
 * expiry, and an expiry-guarded delete spares a blob a download just extended. On PostgreSQL the
 * races run between two connection pools, as between two server processes.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { StorageConflict, createPostgresStorage, type MediaBlobRow, type Storage } from '../src/storage/index.ts';
import { availableDrivers, openStorage as open, rid, seedAccount } from '@parley/testkit';

const drivers = await availableDrivers();

/** An account to own blobs (the quota lock takes its row on PostgreSQL). */
async function owner(s: Storage): Promise<string> {
  return (await seedAccount(s)).account.id;
}

function upload(ownerAccount: string, size: number, at = 1000): MediaBlobRow {
  return {
    id: rid('b'),
    ownerAccount,
    state: 'uploading',
    size,
    digest: new Uint8Array(randomBytes(32)),
    received: 0,
    createdAt: at,
    completedAt: null,
    expiresAt: at + 100,
    lastFetchedAt: null,
    // Not a disappearing message's blob: read back as null (C17).
    disappearsAt: null,
  };
}

const part = (blobId: string, offset: number, length: number) => ({
  blobId,
  offset,
  length,
  objectKey: `uploads/${blobId}/${offset}-${randomBytes(4).toString('hex')}`,
});

for (const { driver, skip } of drivers) {
  describe(`media storage conformance [${driver}]`, { skip }, () => {
    let s: Storage;
    let env: Awaited<ReturnType<typeof open>>;
    before(async () => {
      env = await open(driver);
      s = env.storage;
    });
    after(async () => env?.cleanup());

    it('records an upload within the quota and refuses one beyond it, counting uploads in progress', async () => {
      const a = await owner(s);
      const first = upload(a, 600);
      await s.media.createMediaUpload(first, 1000, 100);
      assert.deepEqual(await s.media.getMediaBlob(first.id), first);
      assert.equal(await s.media.mediaBytesUsed(a), 600);
      await assert.rejects(
        s.media.createMediaUpload(upload(a, 401), 1000, 100),
        (e: unknown) => e instanceof StorageConflict && e.code === 'quota_exceeded',
      );
      assert.equal(await s.media.mediaBytesUsed(a), 600, 'the refused upload left no row');
      await s.media.createMediaUpload(upload(a, 400), 1000, 100);
      assert.equal(await s.media.mediaBytesUsed(a), 1000);
      assert.equal(await s.media.mediaBytesUsed(await owner(s)), 0, 'quotas are per account');
    });

    it("refuses an upload beyond the unfinished-upload cap; finished, expired and other accounts' uploads do not count", async () => {
      const a = await owner(s);
      const [u1, u2] = [upload(a, 20), upload(a, 20)];
      await s.media.createMediaUpload(u1, 10_000, 2);
      await s.media.createMediaUpload(u2, 10_000, 2);
      await assert.rejects(
        s.media.createMediaUpload(upload(a, 20), 10_000, 2),
        (e: unknown) => e instanceof StorageConflict && e.code === 'uploads_exceeded',
      );
      assert.equal(await s.media.mediaBytesUsed(a), 40, 'the refused upload left no row');
      await s.media.createMediaUpload(upload(await owner(s), 20), 10_000, 2);
      // Once u1 and u2 have expired (they live until 1100) they no longer hold slots.
      await s.media.createMediaUpload(upload(a, 20, 1100), 10_000, 2);
      await s.media.createMediaUpload(upload(a, 20, 1100), 10_000, 2);
      await assert.rejects(
        s.media.createMediaUpload(upload(a, 20, 1100), 10_000, 2),
        (e: unknown) => e instanceof StorageConflict && e.code === 'uploads_exceeded',
      );
    });

    it('records chunks only at the exact offset and completes only when every byte is there', async () => {
      const a = await owner(s);
      const u = upload(a, 300);
      await s.media.createMediaUpload(u, 10_000, 100);
      assert.equal(await s.media.addMediaPart(part(u.id, 0, 100), 5000), 100);
      for (const wrong of [0, 50, 150]) {
        await assert.rejects(
          s.media.addMediaPart(part(u.id, wrong, 100), 6000),
          (e: unknown) => e instanceof StorageConflict && e.code === 'offset_mismatch',
          `offset ${wrong}`,
        );
      }
      const mid = (await s.media.getMediaBlob(u.id))!;
      assert.equal(mid.received, 100);
      assert.equal(mid.expiresAt, 5000, 'an appended chunk moved the expiry; refused ones did not');
      assert.equal((await s.media.listMediaParts(u.id)).length, 1);
      assert.equal(await s.media.completeMediaUpload(u.id, 7000, 9000), false, 'not every byte is there');
      await s.media.addMediaPart(part(u.id, 100, 200), 5000);
      assert.deepEqual(
        (await s.media.listMediaParts(u.id)).map((p) => [p.offset, p.length]),
        [
          [0, 100],
          [100, 200],
        ],
      );
      assert.equal(await s.media.completeMediaUpload(u.id, 7000, 9000), true);
      const done = (await s.media.getMediaBlob(u.id))!;
      assert.equal(done.state, 'complete');
      assert.equal(done.completedAt, 7000);
      assert.equal(done.expiresAt, 9000);
      assert.deepEqual(await s.media.listMediaParts(u.id), [], 'part rows go once the blob is whole');
      assert.equal(await s.media.completeMediaUpload(u.id, 7001, 9001), false, 'completing twice changes nothing');
      await assert.rejects(
        s.media.addMediaPart(part(u.id, 300, 1), 1),
        (e: unknown) => e instanceof StorageConflict && e.code === 'offset_mismatch',
        'no chunk after completion',
      );
    });

    it('never shortens an expiry on download, and an expiry-guarded delete spares an extended blob', async () => {
      const a = await owner(s);
      const u = upload(a, 100);
      await s.media.createMediaUpload(u, 10_000, 100);
      await s.media.touchMediaBlob(u.id, 1500, 50);
      assert.deepEqual(
        [(await s.media.getMediaBlob(u.id))!.lastFetchedAt, (await s.media.getMediaBlob(u.id))!.expiresAt],
        [1500, 1100],
      );
      await s.media.touchMediaBlob(u.id, 1600, 2000);
      assert.equal((await s.media.getMediaBlob(u.id))!.expiresAt, 2000);
      assert.deepEqual(
        (await s.media.listExpiredMedia(1999, 10)).map((r) => r.id).filter((id) => id === u.id),
        [],
      );
      assert.deepEqual(
        (await s.media.listExpiredMedia(2000, 10)).map((r) => r.id).filter((id) => id === u.id),
        [u.id],
      );
      assert.equal(await s.media.deleteMediaBlob(u.id, { expiredAt: 1999 }), null, 'not expired yet: kept');
      await s.media.addMediaPart(part(u.id, 0, 100), 2000);
      const gone = await s.media.deleteMediaBlob(u.id, { expiredAt: 2000 });
      assert.equal(gone?.blob.id, u.id);
      assert.equal(gone?.parts.length, 1, 'the deleted parts are handed back for their objects');
      assert.equal(await s.media.getMediaBlob(u.id), null);
      assert.deepEqual(await s.media.listMediaParts(u.id), []);
      assert.equal(await s.media.deleteMediaBlob(u.id), null);
      assert.equal(await s.media.mediaBytesUsed(a), 0);
    });

    if (driver === 'postgres') {
      it('keeps the quota and the offset single-winner with two concurrent writers', async () => {
        const other = await createPostgresStorage({ url: env.url! });
        try {
          const a = await owner(s);
          const creates = await Promise.allSettled(
            Array.from({ length: 10 }, (_, i) =>
              (i % 2 ? s : other).media.createMediaUpload(upload(a, 300), 1000, 100),
            ),
          );
          assert.equal(creates.filter((r) => r.status === 'fulfilled').length, 3, 'exactly as many as fit');
          assert.equal(await s.media.mediaBytesUsed(a), 900);
          const c = await owner(s);
          const slots = await Promise.allSettled(
            Array.from({ length: 10 }, (_, i) => (i % 2 ? s : other).media.createMediaUpload(upload(c, 10), 1000, 4)),
          );
          assert.equal(slots.filter((r) => r.status === 'fulfilled').length, 4, 'exactly as many uploads as the cap');
          const b = await owner(s);
          const u = upload(b, 1000);
          await s.media.createMediaUpload(u, 10_000, 100);
          const race = await Promise.allSettled([
            s.media.addMediaPart(part(u.id, 0, 100), 1),
            other.media.addMediaPart(part(u.id, 0, 200), 1),
          ]);
          assert.equal(race.filter((r) => r.status === 'fulfilled').length, 1, 'one chunk per offset');
          const parts = await s.media.listMediaParts(u.id);
          assert.equal(parts.length, 1);
          assert.equal(
            (await s.media.getMediaBlob(u.id))!.received,
            parts[0]!.length,
            'the offset matches the recorded part',
          );
        } finally {
          await other.close();
        }
      });
    }
  });
}
