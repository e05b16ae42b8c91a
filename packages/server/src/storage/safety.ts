/**
 * Block lists and reports (C15): each account's block list, which the send path of direct chats
 * reads, and the reports users file, with the messages the reporter's own device included.
 */
import type { BlockRow, ReportRow, SafetyStore } from './types.ts';
import type { Db, StoreContext } from './driver.ts';
import { num } from './rows.ts';

/** SafetyStore over Kysely, shared by both drivers. */
export class KyselySafetyStore implements SafetyStore {
  private readonly db: Db;

  constructor(ctx: StoreContext) {
    this.db = ctx.db;
  }

  async block(row: BlockRow, maxEntries: number): Promise<boolean> {
    const { n } = await this.db
      .selectFrom('blocks')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('account_id', '=', row.accountId)
      .executeTakeFirstOrThrow();
    if (num(n) >= maxEntries) {
      // Re-blocking someone already on a full list is still fine.
      const there = await this.db
        .selectFrom('blocks')
        .select('account_id')
        .where('account_id', '=', row.accountId)
        .where('blocked_account_id', '=', row.blockedAccountId)
        .executeTakeFirst();
      return there !== undefined;
    }
    await this.db
      .insertInto('blocks')
      .values({ account_id: row.accountId, blocked_account_id: row.blockedAccountId, created_at: row.createdAt })
      .onConflict((oc) => oc.columns(['account_id', 'blocked_account_id']).doNothing())
      .execute();
    return true;
  }

  async unblock(accountId: string, blocked: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('blocks')
      .where('account_id', '=', accountId)
      .where('blocked_account_id', '=', blocked)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async listBlocked(accountId: string): Promise<BlockRow[]> {
    const rows = await this.db
      .selectFrom('blocks')
      .selectAll()
      .where('account_id', '=', accountId)
      .orderBy('created_at', 'desc')
      .orderBy('blocked_account_id')
      .execute();
    return rows.map((r) => ({
      accountId: r.account_id,
      blockedAccountId: r.blocked_account_id,
      createdAt: num(r.created_at),
    }));
  }

  async blockersOf(sender: string, candidates: readonly string[]): Promise<string[]> {
    if (!candidates.length) return [];
    const rows = await this.db
      .selectFrom('blocks')
      .select('account_id')
      .where('blocked_account_id', '=', sender)
      .where('account_id', 'in', [...candidates])
      .execute();
    return rows.map((r) => r.account_id);
  }

  async putReport(row: ReportRow): Promise<void> {
    await this.db
      .insertInto('reports')
      .values({
        id: row.id,
        reporter_account: row.reporterAccount,
        reported_account: row.reportedAccount,
        conversation_id: row.conversationId,
        category: row.category,
        reason: row.reason,
        messages: JSON.stringify(row.messages),
        created_at: row.createdAt,
      })
      .execute();
  }

  async countReportsBy(reporter: string, since: number): Promise<number> {
    const { n } = await this.db
      .selectFrom('reports')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('reporter_account', '=', reporter)
      .where('created_at', '>=', since)
      .executeTakeFirstOrThrow();
    return num(n);
  }

  async listReports(before: number, limit: number): Promise<Omit<ReportRow, 'messages'>[]> {
    const rows = await this.db
      .selectFrom('reports')
      .select(['id', 'reporter_account', 'reported_account', 'conversation_id', 'category', 'reason', 'created_at'])
      .where('created_at', '<', before)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: r.id,
      reporterAccount: r.reporter_account,
      reportedAccount: r.reported_account,
      conversationId: r.conversation_id,
      category: r.category,
      reason: r.reason,
      createdAt: num(r.created_at),
    }));
  }

  async getReport(id: string): Promise<ReportRow | null> {
    const r = await this.db.selectFrom('reports').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) return null;
    return {
      id: r.id,
      reporterAccount: r.reporter_account,
      reportedAccount: r.reported_account,
      conversationId: r.conversation_id,
      category: r.category,
      reason: r.reason,
      messages: JSON.parse(r.messages) as ReportRow['messages'],
      createdAt: num(r.created_at),
    };
  }
}
