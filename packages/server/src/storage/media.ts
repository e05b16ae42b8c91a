/**
 * Media (C4): encrypted blobs and the uploads that become them. The server knows a blob's size,
 * the SHA-256 of its ciphertext and its owner; never its key, type or content.
 */
import { sql } from 'kysely';
import { StorageConflict, type MediaBlobRow, type MediaPartRow, type MediaStore } from './types.ts';
import type { Tables } from './tables.ts';
import type { AnyDb, Db, StoreContext } from './driver.ts';
import { num, u8 } from './rows.ts';

/** MediaStore over Kysely, shared by both drivers. */
export class KyselyMediaStore implements MediaStore {
  private readonly db: Db;

  constructor(private readonly ctx: StoreContext) {
    this.db = ctx.db;
  }

  async createMediaUpload(row: MediaBlobRow, quotaBytes: number, maxUploads: number): Promise<void> {
    await this.ctx.transact(async (tx) => {
      // Two uploads of one account starting together must not both fit the same free space (or the
      // last free upload slot): the account's transactions take turns for the checks.
      await this.ctx.traits.lockAccount(tx, row.ownerAccount);
      const open = await tx
        .selectFrom('media_blobs')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('owner_account', '=', row.ownerAccount)
        .where('state', '=', 'uploading')
        .where('expires_at', '>', row.createdAt)
        .executeTakeFirst();
      if (num(open?.n ?? 0) >= maxUploads) throw new StorageConflict('uploads_exceeded');
      const used = await this.bytesUsedWithin(tx, row.ownerAccount);
      if (used + row.size > quotaBytes) throw new StorageConflict('quota_exceeded');
      await tx
        .insertInto('media_blobs')
        .values({
          id: row.id,
          owner_account: row.ownerAccount,
          state: row.state,
          size: row.size,
          digest: row.digest,
          received: row.received,
          created_at: row.createdAt,
          completed_at: row.completedAt,
          expires_at: row.expiresAt,
          last_fetched_at: row.lastFetchedAt,
          disappears_at: row.disappearsAt ?? null,
        })
        .execute();
    });
  }

  private async bytesUsedWithin(db: AnyDb, accountId: string): Promise<number> {
    const r = await db
      .selectFrom('media_blobs')
      .select((eb) => eb.fn.sum<number | string | null>('size').as('n'))
      .where('owner_account', '=', accountId)
      .executeTakeFirst();
    return num(r?.n ?? 0);
  }

  async getMediaBlob(id: string): Promise<MediaBlobRow | null> {
    const r = await this.db.selectFrom('media_blobs').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toMediaBlob(r) : null;
  }

  mediaBytesUsed(accountId: string): Promise<number> {
    return this.bytesUsedWithin(this.db, accountId);
  }

  async listMediaParts(blobId: string): Promise<MediaPartRow[]> {
    const rows = await this.db
      .selectFrom('media_parts')
      .selectAll()
      .where('blob_id', '=', blobId)
      .orderBy('start_offset')
      .execute();
    return rows.map(toMediaPart);
  }

  async listExpiredMedia(now: number, limit: number): Promise<MediaBlobRow[]> {
    const rows = await this.db
      .selectFrom('media_blobs')
      .selectAll()
      .where('expires_at', '<=', now)
      .orderBy('expires_at')
      .limit(limit)
      .execute();
    return rows.map(toMediaBlob);
  }

  async addMediaPart(part: MediaPartRow, expiresAt: number): Promise<number> {
    return this.ctx.transact(async (tx) => {
      // Compare-and-set on `received`: of two appends racing at one offset exactly one moves it.
      const moved = await tx
        .updateTable('media_blobs')
        .set({ received: part.offset + part.length, expires_at: expiresAt })
        .where('id', '=', part.blobId)
        .where('state', '=', 'uploading')
        .where('received', '=', part.offset)
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1) throw new StorageConflict('offset_mismatch');
      await tx
        .insertInto('media_parts')
        .values({ blob_id: part.blobId, start_offset: part.offset, length: part.length, object_key: part.objectKey })
        .execute();
      return part.offset + part.length;
    });
  }

  async completeMediaUpload(id: string, completedAt: number, expiresAt: number): Promise<boolean> {
    return this.ctx.transact(async (tx) => {
      const r = await tx
        .updateTable('media_blobs')
        .set({ state: 'complete', completed_at: completedAt, expires_at: expiresAt })
        .where('id', '=', id)
        .where('state', '=', 'uploading')
        .whereRef('received', '=', 'size')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      await tx.deleteFrom('media_parts').where('blob_id', '=', id).execute();
      return true;
    });
  }

  async touchMediaBlob(id: string, fetchedAt: number, expiresAt: number): Promise<void> {
    await this.db
      .updateTable('media_blobs')
      .set({
        last_fetched_at: fetchedAt,
        expires_at: sql<number>`case when expires_at < ${expiresAt} then ${expiresAt} else expires_at end`,
      })
      .where('id', '=', id)
      .execute();
  }

  async deleteMediaBlob(
    id: string,
    opts: { expiredAt?: number } = {},
  ): Promise<{ blob: MediaBlobRow; parts: MediaPartRow[] } | null> {
    return this.ctx.transact(async (tx) => {
      let q = tx.selectFrom('media_blobs').selectAll().where('id', '=', id);
      if (opts.expiredAt !== undefined) q = q.where('expires_at', '<=', opts.expiredAt);
      const row = await this.ctx.traits.forUpdate(q).executeTakeFirst();
      if (!row) return null;
      const parts = await tx
        .selectFrom('media_parts')
        .selectAll()
        .where('blob_id', '=', id)
        .orderBy('start_offset')
        .execute();
      await tx.deleteFrom('media_parts').where('blob_id', '=', id).execute();
      await tx.deleteFrom('media_blobs').where('id', '=', id).execute();
      return { blob: toMediaBlob(row), parts: parts.map(toMediaPart) };
    });
  }
}

function toMediaBlob(r: Tables['media_blobs']): MediaBlobRow {
  return {
    id: r.id,
    ownerAccount: r.owner_account,
    state: r.state as MediaBlobRow['state'],
    size: num(r.size),
    digest: u8(r.digest),
    received: num(r.received),
    createdAt: num(r.created_at),
    completedAt: r.completed_at === null ? null : num(r.completed_at),
    expiresAt: num(r.expires_at),
    lastFetchedAt: r.last_fetched_at === null ? null : num(r.last_fetched_at),
    disappearsAt: r.disappears_at === null || r.disappears_at === undefined ? null : num(r.disappears_at),
  };
}

function toMediaPart(r: Tables['media_parts']): MediaPartRow {
  return { blobId: r.blob_id, offset: num(r.start_offset), length: num(r.length), objectKey: r.object_key };
}
