/**
 * Business accounts (C10, docs/business.md): businesses, their phone numbers, the system-user
 * access tokens the Business API accepts (stored only as their SHA-256), and the business profile.
 * The app secret that signs a business's webhooks is not here: it is a server secret (sealed under
 * the key-encryption key, see services/server-secrets.ts), named by `businessAppSecretName`.
 */
import type { Tables } from './tables.ts';
import type { Db, StoreContext } from './driver.ts';
import { isUniqueViolation, num, u8 } from './rows.ts';

/** A business as the operator created it. */
export interface BusinessRow {
  id: string;
  name: string;
  /** Where webhooks go (null until registered). */
  webhookUrl: string | null;
  /** The token the business chose for the webhook verification handshake. */
  verifyToken: string | null;
  createdAt: number;
}

/** One business phone number: its id in the API, the number, and the name shown to users. */
export interface BusinessNumberRow {
  /** The phone-number id of the API paths (digits only). */
  id: string;
  businessId: string;
  /** E.164, `+` and digits. */
  phone: string;
  verifiedName: string;
  createdAt: number;
}

/** A system-user access token; the token itself is never stored, only its SHA-256. */
export interface BusinessTokenRow {
  id: string;
  businessId: string;
  tokenHash: Uint8Array;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/** The business profile users see (one per business, shared by its numbers). */
export interface BusinessProfile {
  about: string | null;
  address: string | null;
  description: string | null;
  email: string | null;
  websites: string[];
  vertical: string | null;
  /** Id of the profile photo (a media id), or null. */
  photoId: string | null;
}

/** An empty profile, as a new business has. */
export const EMPTY_PROFILE: BusinessProfile = {
  about: null,
  address: null,
  description: null,
  email: null,
  websites: [],
  vertical: null,
  photoId: null,
};

/** The business half of storage (reached as `storage.business`). */
export interface BusinessStore {
  /** Create a business with its first number; false (and nothing written) when the number is taken. */
  createBusiness(business: BusinessRow, number: BusinessNumberRow): Promise<boolean>;
  /** Add a number to an existing business; false when the number or its id is taken. */
  addNumber(number: BusinessNumberRow): Promise<boolean>;
  getBusiness(id: string): Promise<BusinessRow | null>;
  /** Every business, oldest first. */
  listBusinesses(): Promise<BusinessRow[]>;
  getNumber(phoneNumberId: string): Promise<BusinessNumberRow | null>;
  /** The business number with this E.164 number, if it is one. */
  getNumberByPhone(phone: string): Promise<BusinessNumberRow | null>;
  /** A business's numbers, oldest first. */
  listNumbers(businessId: string): Promise<BusinessNumberRow[]>;
  putToken(row: BusinessTokenRow): Promise<void>;
  getTokenByHash(tokenHash: Uint8Array): Promise<BusinessTokenRow | null>;
  /** A business's tokens, revoked ones included, oldest first. */
  listTokens(businessId: string): Promise<BusinessTokenRow[]>;
  /** Record a use of the token (kept for the operator's list). */
  touchToken(id: string, at: number): Promise<void>;
  /** Revoke a token of this business; false when it has no active token by that id. */
  revokeToken(businessId: string, tokenId: string, at: number): Promise<boolean>;
  getProfile(businessId: string): Promise<BusinessProfile | null>;
  /** Change the given fields of the profile; false when there is no such business. */
  updateProfile(businessId: string, patch: Partial<BusinessProfile>): Promise<boolean>;
}

/** Name of a business's app secret among the server secrets. */
export const businessAppSecretName = (businessId: string): string => `business-app-secret:${businessId}`;

function toBusiness(r: Tables['businesses']): BusinessRow {
  return {
    id: r.id,
    name: r.name,
    webhookUrl: r.webhook_url,
    verifyToken: r.verify_token,
    createdAt: num(r.created_at),
  };
}

function toNumber(r: Tables['business_numbers']): BusinessNumberRow {
  return {
    id: r.id,
    businessId: r.business_id,
    phone: r.phone,
    verifiedName: r.verified_name,
    createdAt: num(r.created_at),
  };
}

function toToken(r: Tables['business_tokens']): BusinessTokenRow {
  return {
    id: r.id,
    businessId: r.business_id,
    tokenHash: u8(r.token_hash),
    createdAt: num(r.created_at),
    lastUsedAt: r.last_used_at === null ? null : num(r.last_used_at),
    revokedAt: r.revoked_at === null ? null : num(r.revoked_at),
  };
}

function toProfile(r: Tables['businesses']): BusinessProfile {
  return {
    about: r.about,
    address: r.address,
    description: r.description,
    email: r.email,
    websites: JSON.parse(r.websites) as string[],
    vertical: r.vertical,
    photoId: r.photo_id,
  };
}

/** BusinessStore over Kysely, shared by both drivers. */
export class KyselyBusinessStore implements BusinessStore {
  private readonly db: Db;

  constructor(private readonly ctx: StoreContext) {
    this.db = ctx.db;
  }

  async createBusiness(business: BusinessRow, number: BusinessNumberRow): Promise<boolean> {
    try {
      await this.ctx.transact(async (tx) => {
        await tx
          .insertInto('businesses')
          .values({
            id: business.id,
            name: business.name,
            webhook_url: business.webhookUrl,
            verify_token: business.verifyToken,
            about: null,
            address: null,
            description: null,
            email: null,
            websites: '[]',
            vertical: null,
            photo_id: null,
            created_at: business.createdAt,
          })
          .execute();
        await tx.insertInto('business_numbers').values(numberValues(number)).execute();
      });
      return true;
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }

  async addNumber(number: BusinessNumberRow): Promise<boolean> {
    try {
      await this.db.insertInto('business_numbers').values(numberValues(number)).execute();
      return true;
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }

  async getBusiness(id: string): Promise<BusinessRow | null> {
    const r = await this.db.selectFrom('businesses').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toBusiness(r) : null;
  }

  async listBusinesses(): Promise<BusinessRow[]> {
    return (await this.db.selectFrom('businesses').selectAll().orderBy('created_at').orderBy('id').execute()).map(
      toBusiness,
    );
  }

  async getNumber(phoneNumberId: string): Promise<BusinessNumberRow | null> {
    const r = await this.db
      .selectFrom('business_numbers')
      .selectAll()
      .where('id', '=', phoneNumberId)
      .executeTakeFirst();
    return r ? toNumber(r) : null;
  }

  async getNumberByPhone(phone: string): Promise<BusinessNumberRow | null> {
    const r = await this.db.selectFrom('business_numbers').selectAll().where('phone', '=', phone).executeTakeFirst();
    return r ? toNumber(r) : null;
  }

  async listNumbers(businessId: string): Promise<BusinessNumberRow[]> {
    return (
      await this.db
        .selectFrom('business_numbers')
        .selectAll()
        .where('business_id', '=', businessId)
        .orderBy('created_at')
        .orderBy('id')
        .execute()
    ).map(toNumber);
  }

  async putToken(row: BusinessTokenRow): Promise<void> {
    await this.db
      .insertInto('business_tokens')
      .values({
        id: row.id,
        business_id: row.businessId,
        token_hash: row.tokenHash,
        created_at: row.createdAt,
        last_used_at: row.lastUsedAt,
        revoked_at: row.revokedAt,
      })
      .execute();
  }

  async getTokenByHash(tokenHash: Uint8Array): Promise<BusinessTokenRow | null> {
    const r = await this.db
      .selectFrom('business_tokens')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    return r ? toToken(r) : null;
  }

  async listTokens(businessId: string): Promise<BusinessTokenRow[]> {
    return (
      await this.db
        .selectFrom('business_tokens')
        .selectAll()
        .where('business_id', '=', businessId)
        .orderBy('created_at')
        .orderBy('id')
        .execute()
    ).map(toToken);
  }

  async touchToken(id: string, at: number): Promise<void> {
    await this.db.updateTable('business_tokens').set({ last_used_at: at }).where('id', '=', id).execute();
  }

  async revokeToken(businessId: string, tokenId: string, at: number): Promise<boolean> {
    const r = await this.db
      .updateTable('business_tokens')
      .set({ revoked_at: at })
      .where('id', '=', tokenId)
      .where('business_id', '=', businessId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async getProfile(businessId: string): Promise<BusinessProfile | null> {
    const r = await this.db.selectFrom('businesses').selectAll().where('id', '=', businessId).executeTakeFirst();
    return r ? toProfile(r) : null;
  }

  async updateProfile(businessId: string, patch: Partial<BusinessProfile>): Promise<boolean> {
    const set: Partial<Tables['businesses']> = {};
    if (patch.about !== undefined) set.about = patch.about;
    if (patch.address !== undefined) set.address = patch.address;
    if (patch.description !== undefined) set.description = patch.description;
    if (patch.email !== undefined) set.email = patch.email;
    if (patch.websites !== undefined) set.websites = JSON.stringify(patch.websites);
    if (patch.vertical !== undefined) set.vertical = patch.vertical;
    if (patch.photoId !== undefined) set.photo_id = patch.photoId;
    if (!Object.keys(set).length) return (await this.getBusiness(businessId)) !== null;
    const r = await this.db.updateTable('businesses').set(set).where('id', '=', businessId).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}

function numberValues(n: BusinessNumberRow): Tables['business_numbers'] {
  return {
    id: n.id,
    business_id: n.businessId,
    phone: n.phone,
    verified_name: n.verifiedName,
    created_at: n.createdAt,
  };
}
