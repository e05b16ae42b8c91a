/**
 * Media a business uploaded through the Business API (C10, docs/business.md "Media"): one row per
 * upload, naming its blob (encrypted at rest under the row's own key, so the blob store holds only
 * ciphertext like every blob), its type, digest and size, and when it expires (30 days).
 */
import type { Tables } from './tables.ts';
import type { Db, StoreContext } from './driver.ts';
import { num, u8 } from './rows.ts';

/** One upload as stored. */
export interface BusinessMediaRow {
  /** 16 digits (phone-number and business ids have 15, so the two never collide in a path). */
  id: string;
  businessId: string;
  phoneNumberId: string;
  mimeType: string;
  /** Hex SHA-256 of the file as uploaded. */
  sha256: string;
  fileSize: number;
  fileName: string | null;
  /** AES-256-GCM key of the stored blob. */
  key: Uint8Array;
  createdAt: number;
  expiresAt: number;
}

/** The business-media half of storage (reached as `storage.businessMedia`). */
export interface BusinessMediaStore {
  putMedia(row: BusinessMediaRow): Promise<void>;
  /** The upload, whoever owns it and whether expired (callers check both). */
  getMedia(id: string): Promise<BusinessMediaRow | null>;
  /** Delete one business's upload; false when it had none of that id. */
  deleteMedia(businessId: string, id: string): Promise<boolean>;
  /** Uploads expired at `now`, at most `limit` (their blobs go first, then `deleteMedia`). */
  expiredMedia(now: number, limit: number): Promise<BusinessMediaRow[]>;
}

function toMedia(r: Tables['business_media']): BusinessMediaRow {
  return {
    id: r.id,
    businessId: r.business_id,
    phoneNumberId: r.phone_number_id,
    mimeType: r.mime_type,
    sha256: r.sha256,
    fileSize: num(r.file_size),
    fileName: r.file_name,
    key: u8(r.key),
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
  };
}

/** BusinessMediaStore over Kysely, shared by both drivers. */
export class KyselyBusinessMediaStore implements BusinessMediaStore {
  private readonly db: Db;

  constructor(ctx: StoreContext) {
    this.db = ctx.db;
  }

  async putMedia(row: BusinessMediaRow): Promise<void> {
    await this.db
      .insertInto('business_media')
      .values({
        id: row.id,
        business_id: row.businessId,
        phone_number_id: row.phoneNumberId,
        mime_type: row.mimeType,
        sha256: row.sha256,
        file_size: row.fileSize,
        file_name: row.fileName,
        key: row.key,
        created_at: row.createdAt,
        expires_at: row.expiresAt,
      })
      .execute();
  }

  async getMedia(id: string): Promise<BusinessMediaRow | null> {
    const r = await this.db.selectFrom('business_media').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toMedia(r) : null;
  }

  async deleteMedia(businessId: string, id: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('business_media')
      .where('id', '=', id)
      .where('business_id', '=', businessId)
      .executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  async expiredMedia(now: number, limit: number): Promise<BusinessMediaRow[]> {
    const rows = await this.db
      .selectFrom('business_media')
      .selectAll()
      .where('expires_at', '<=', now)
      .orderBy('expires_at')
      .limit(limit)
      .execute();
    return rows.map(toMedia);
  }
}
