/**
 * Profiles and presence visibility (C12): encrypted profile fields, privacy settings, the
 * conversations an account accepted (who counts as a contact) and last seen.
 */
import type { PrivacyRow, ProfileRow, ProfileStore, VisibilityValue } from './types.ts';
import type { Db, StoreContext } from './driver.ts';
import { num, u8 } from './rows.ts';

/** ProfileStore over Kysely, shared by both drivers. */
export class KyselyProfileStore implements ProfileStore {
  private readonly db: Db;

  constructor(private readonly ctx: StoreContext) {
    this.db = ctx.db;
  }

  async putProfile(row: ProfileRow): Promise<void> {
    const values = {
      version: row.version,
      name: row.name,
      about: row.about,
      photo: row.photo,
      open_fields: row.openFields.join(','),
      open_key: row.openKey,
      updated_at: row.updatedAt,
    };
    await this.db
      .insertInto('profiles')
      .values({ account_id: row.accountId, ...values })
      .onConflict((oc) => oc.column('account_id').doUpdateSet(values))
      .execute();
  }

  async getProfile(accountId: string): Promise<ProfileRow | null> {
    const r = await this.db.selectFrom('profiles').selectAll().where('account_id', '=', accountId).executeTakeFirst();
    if (!r) return null;
    const bytes = (b: Uint8Array | null) => (b === null ? null : u8(b));
    return {
      accountId: r.account_id,
      version: Number(r.version),
      name: bytes(r.name),
      about: bytes(r.about),
      photo: bytes(r.photo),
      openFields: r.open_fields ? (r.open_fields.split(',') as ProfileRow['openFields']) : [],
      openKey: bytes(r.open_key),
      updatedAt: num(r.updated_at),
    };
  }

  async getPrivacy(accountId: string): Promise<PrivacyRow> {
    const r = await this.db
      .selectFrom('privacy_settings')
      .selectAll()
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    if (!r) return { accountId, photo: 'contacts', about: 'contacts', lastSeen: 'contacts', online: 'contacts' };
    return {
      accountId,
      photo: r.photo as VisibilityValue,
      about: r.about as VisibilityValue,
      lastSeen: r.last_seen as VisibilityValue,
      online: r.online as VisibilityValue,
    };
  }

  async setPrivacy(accountId: string, changes: Partial<Omit<PrivacyRow, 'accountId'>>): Promise<PrivacyRow> {
    const next = { ...(await this.getPrivacy(accountId)), ...changes };
    const values = { photo: next.photo, about: next.about, last_seen: next.lastSeen, online: next.online };
    await this.db
      .insertInto('privacy_settings')
      .values({ account_id: accountId, ...values })
      .onConflict((oc) => oc.column('account_id').doUpdateSet(values))
      .execute();
    return next;
  }

  async noteAccepted(accountId: string, conversationId: string): Promise<void> {
    await this.db
      .insertInto('accepted_chats')
      .values({ account_id: accountId, conversation_id: conversationId })
      .onConflict((oc) => oc.columns(['account_id', 'conversation_id']).doNothing())
      .execute();
  }

  async isContact(owner: string, viewer: string): Promise<boolean> {
    if (owner === viewer) return true;
    // A conversation the owner accepted, which both still belong to.
    const r = await this.db
      .selectFrom('accepted_chats as a')
      .innerJoin('conversation_members as m', (j) =>
        j.onRef('m.conversation_id', '=', 'a.conversation_id').on('m.account_id', '=', viewer),
      )
      .innerJoin('conversation_members as o', (j) =>
        j.onRef('o.conversation_id', '=', 'a.conversation_id').on('o.account_id', '=', owner),
      )
      .select('a.conversation_id')
      .where('a.account_id', '=', owner)
      .limit(1)
      .executeTakeFirst();
    return r !== undefined;
  }

  async setLastSeen(accountId: string, at: number): Promise<void> {
    await this.db
      .insertInto('last_seen')
      .values({ account_id: accountId, at })
      .onConflict((oc) => oc.column('account_id').doUpdateSet({ at }))
      .execute();
  }

  async getLastSeen(accountId: string): Promise<number | null> {
    const r = await this.db.selectFrom('last_seen').select('at').where('account_id', '=', accountId).executeTakeFirst();
    return r ? num(r.at) : null;
  }
}
