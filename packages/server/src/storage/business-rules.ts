/**
 * Business rules' storage (C10, docs/business.md "Rules and limits"): per business number and
 * user, when the user last wrote to the number (the start of the 24-hour customer-service window)
 * and whether the user stopped the number's marketing messages. The number's own device learns
 * both from the messages it receives; nothing here is read from message content by the server.
 */
import type { Db, StoreContext } from './driver.ts';
import { num } from './rows.ts';

/** The business-rules half of storage (reached as `storage.businessRules`). */
export interface BusinessRuleStore {
  /** The user wrote to the number at `at`; an earlier time never replaces a later one. */
  noteUserMessage(phoneNumberId: string, accountId: string, at: number): Promise<void>;
  /** When the user last wrote to the number, or null when never. */
  lastUserMessage(phoneNumberId: string, accountId: string): Promise<number | null>;
  /** Record a stop (`stopped` true) or a resume; true when that changed anything. */
  setMarketingOptOut(phoneNumberId: string, accountId: string, stopped: boolean, at: number): Promise<boolean>;
  /** True when the user stopped the number's marketing messages. */
  marketingOptedOut(phoneNumberId: string, accountId: string): Promise<boolean>;
}

/** BusinessRuleStore over Kysely, shared by both drivers. */
export class KyselyBusinessRuleStore implements BusinessRuleStore {
  private readonly db: Db;

  constructor(ctx: StoreContext) {
    this.db = ctx.db;
  }

  async noteUserMessage(phoneNumberId: string, accountId: string, at: number): Promise<void> {
    // One statement, so two processes noting at once keep the later time.
    await this.db
      .insertInto('business_windows')
      .values({ phone_number_id: phoneNumberId, account_id: accountId, last_user_at: at })
      .onConflict((oc) =>
        oc
          .columns(['phone_number_id', 'account_id'])
          .doUpdateSet({ last_user_at: at })
          .where('business_windows.last_user_at', '<', at),
      )
      .execute();
  }

  async lastUserMessage(phoneNumberId: string, accountId: string): Promise<number | null> {
    const r = await this.db
      .selectFrom('business_windows')
      .select('last_user_at')
      .where('phone_number_id', '=', phoneNumberId)
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    return r ? num(r.last_user_at) : null;
  }

  async setMarketingOptOut(phoneNumberId: string, accountId: string, stopped: boolean, at: number): Promise<boolean> {
    if (!stopped) {
      const r = await this.db
        .deleteFrom('business_marketing_opt_outs')
        .where('phone_number_id', '=', phoneNumberId)
        .where('account_id', '=', accountId)
        .executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    }
    const r = await this.db
      .insertInto('business_marketing_opt_outs')
      .values({ phone_number_id: phoneNumberId, account_id: accountId, created_at: at })
      .onConflict((oc) => oc.columns(['phone_number_id', 'account_id']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  async marketingOptedOut(phoneNumberId: string, accountId: string): Promise<boolean> {
    const r = await this.db
      .selectFrom('business_marketing_opt_outs')
      .select('account_id')
      .where('phone_number_id', '=', phoneNumberId)
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    return r !== undefined;
  }
}
