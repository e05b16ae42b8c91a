/**
 * Message templates of businesses (C10, docs/business.md "Templates"): one row per template
 * (a name in one language), its components as the business wrote them (JSON) and where its review
 * stands. A name and language are unique per business.
 */
import type { Tables } from './tables.ts';
import type { Db, StoreContext } from './driver.ts';
import { isUniqueViolation, num } from './rows.ts';

/** One template as stored. */
export interface TemplateRow {
  /** Numeric, like the Cloud API's template ids. */
  id: string;
  businessId: string;
  name: string;
  language: string;
  category: string;
  /** PENDING, APPROVED, REJECTED, PAUSED or DISABLED. */
  status: string;
  /** Why it was rejected, paused or disabled (null otherwise). */
  reason: string | null;
  /** The components as created (a JSON array). */
  components: string;
  createdAt: number;
  updatedAt: number;
}

/** Which templates a list wants. */
export interface TemplateFilter {
  name?: string;
  status?: string;
  category?: string;
  language?: string;
  /** Only ids after this one (the paging cursor). */
  after?: string;
}

/** The templates half of storage (reached as `storage.businessTemplates`). */
export interface BusinessTemplateStore {
  /** False when the business already has a template of that name and language (nothing written). */
  createTemplate(row: TemplateRow): Promise<boolean>;
  getTemplate(id: string): Promise<TemplateRow | null>;
  findTemplate(businessId: string, name: string, language: string): Promise<TemplateRow | null>;
  /** A business's templates in id order, at most `limit`. */
  listTemplates(businessId: string, filter: TemplateFilter, limit: number): Promise<TemplateRow[]>;
  /** Move a template from `from` to `to`: false (nothing written) when it is no longer in `from`. */
  setTemplateStatus(id: string, from: string, to: string, reason: string | null, now: number): Promise<boolean>;
  /** Delete a business's templates of one name (every language, or only id `id`); the rows deleted. */
  deleteTemplates(businessId: string, name: string, id?: string): Promise<TemplateRow[]>;
}

function toTemplate(r: Tables['business_templates']): TemplateRow {
  return {
    id: r.id,
    businessId: r.business_id,
    name: r.name,
    language: r.language,
    category: r.category,
    status: r.status,
    reason: r.reason,
    components: r.components,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

/** BusinessTemplateStore over Kysely, shared by both drivers. */
export class KyselyBusinessTemplateStore implements BusinessTemplateStore {
  private readonly db: Db;

  constructor(private readonly ctx: StoreContext) {
    this.db = ctx.db;
  }

  async createTemplate(row: TemplateRow): Promise<boolean> {
    try {
      await this.db
        .insertInto('business_templates')
        .values({
          id: row.id,
          business_id: row.businessId,
          name: row.name,
          language: row.language,
          category: row.category,
          status: row.status,
          reason: row.reason,
          components: row.components,
          created_at: row.createdAt,
          updated_at: row.updatedAt,
        })
        .execute();
      return true;
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }

  async getTemplate(id: string): Promise<TemplateRow | null> {
    const r = await this.db.selectFrom('business_templates').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toTemplate(r) : null;
  }

  async findTemplate(businessId: string, name: string, language: string): Promise<TemplateRow | null> {
    const r = await this.db
      .selectFrom('business_templates')
      .selectAll()
      .where('business_id', '=', businessId)
      .where('name', '=', name)
      .where('language', '=', language)
      .executeTakeFirst();
    return r ? toTemplate(r) : null;
  }

  async listTemplates(businessId: string, filter: TemplateFilter, limit: number): Promise<TemplateRow[]> {
    let q = this.db.selectFrom('business_templates').selectAll().where('business_id', '=', businessId);
    if (filter.name !== undefined) q = q.where('name', '=', filter.name);
    if (filter.status !== undefined) q = q.where('status', '=', filter.status);
    if (filter.category !== undefined) q = q.where('category', '=', filter.category);
    if (filter.language !== undefined) q = q.where('language', '=', filter.language);
    if (filter.after !== undefined) q = q.where('id', '>', filter.after);
    const rows = await q.orderBy('id').limit(limit).execute();
    return rows.map(toTemplate);
  }

  async setTemplateStatus(id: string, from: string, to: string, reason: string | null, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('business_templates')
      .set({ status: to, reason, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async deleteTemplates(businessId: string, name: string, id?: string): Promise<TemplateRow[]> {
    return this.ctx.transact(async (tx) => {
      let q = tx
        .selectFrom('business_templates')
        .selectAll()
        .where('business_id', '=', businessId)
        .where('name', '=', name);
      if (id !== undefined) q = q.where('id', '=', id);
      const rows = (await q.execute()).map(toTemplate);
      if (rows.length)
        await tx
          .deleteFrom('business_templates')
          .where(
            'id',
            'in',
            rows.map((r) => r.id),
          )
          .execute();
      return rows;
    });
  }
}
