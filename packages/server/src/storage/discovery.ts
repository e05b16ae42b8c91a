/**
 * Discovery and usernames (C12): the index of discoverable accounts (by keyed tag, never the
 * number), each account's lookup quota and the day's global count, and usernames (keyed hashes).
 */
import { sql } from 'kysely';
import { StorageConflict, type DiscoveryStore } from './types.ts';
import type { AnyDb, Db, StoreContext } from './driver.ts';
import { isUniqueViolation, num, u8 } from './rows.ts';

/** DiscoveryStore over Kysely, shared by both drivers. */
export class KyselyDiscoveryStore implements DiscoveryStore {
  private readonly db: Db;

  constructor(private readonly ctx: StoreContext) {
    this.db = ctx.db;
  }

  async setDiscoverable(accountId: string, tag: Uint8Array | null): Promise<void> {
    await this.ctx.transact(async (tx) => {
      await tx.deleteFrom('discovery_index').where('account_id', '=', accountId).execute();
      if (tag) await tx.insertInto('discovery_index').values({ tag, account_id: accountId }).execute();
      await tx
        .updateTable('accounts')
        .set({ discoverable: tag ? 1 : 0 })
        .where('id', '=', accountId)
        .execute();
    });
  }

  async listUnindexedDiscoverable(limit: number): Promise<{ accountId: string; phone: string }[]> {
    const rows = await this.db
      .selectFrom('accounts')
      .leftJoin('discovery_index', 'discovery_index.account_id', 'accounts.id')
      .select(['accounts.id as id', 'accounts.phone as phone'])
      .where('accounts.discoverable', '=', 1)
      .where('discovery_index.tag', 'is', null)
      .limit(limit)
      .execute();
    return rows.map((r) => ({ accountId: r.id, phone: r.phone }));
  }

  async findDiscoverable(tags: Uint8Array[]): Promise<{ tag: Uint8Array; accountId: string }[]> {
    if (!tags.length) return [];
    const rows = await this.db
      .selectFrom('discovery_index')
      .select(['tag', 'account_id'])
      .where('tag', 'in', tags)
      .execute();
    return rows.map((r) => ({ tag: u8(r.tag), accountId: r.account_id }));
  }

  async discoveryUsed(accountId: string): Promise<number> {
    return this.seenCount(this.db, accountId);
  }

  private async seenCount(db: AnyDb, accountId: string): Promise<number> {
    const r = await db
      .selectFrom('discovery_seen')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    return num(r?.n ?? 0);
  }

  discoveryFresh(accountId: string, digests: Uint8Array[]): Promise<number> {
    return this.freshWithin(this.db, accountId, digests);
  }

  private async freshWithin(db: AnyDb, accountId: string, digests: Uint8Array[]): Promise<number> {
    const unique = uniqueBytes(digests);
    if (!unique.length) return 0;
    const r = await db
      .selectFrom('discovery_seen')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('account_id', '=', accountId)
      .where('digest', 'in', unique)
      .executeTakeFirst();
    return unique.length - num(r?.n ?? 0);
  }

  async recordDiscoveryLookup(
    accountId: string,
    digests: Uint8Array[],
    day: number,
    allowance: number,
  ): Promise<{ allowed: boolean; used: number; fresh: number }> {
    return this.ctx.transact(async (tx) => {
      // Two lookups of one account at once must not both fit the same allowance.
      await this.ctx.traits.lockAccount(tx, accountId);
      const used = await this.seenCount(tx, accountId);
      const unique = uniqueBytes(digests);
      const fresh = await this.freshWithin(tx, accountId, unique);
      if (used + fresh > allowance) return { allowed: false, used, fresh };
      if (fresh > 0) {
        await tx
          .insertInto('discovery_seen')
          .values(unique.map((digest) => ({ account_id: accountId, digest, day })))
          .onConflict((oc) => oc.columns(['account_id', 'digest']).doNothing())
          .execute();
        await tx
          .insertInto('discovery_days')
          .values({ day, lookups: fresh })
          .onConflict((oc) => oc.column('day').doUpdateSet({ lookups: sql`discovery_days.lookups + ${fresh}` }))
          .execute();
      }
      return { allowed: true, used: used + fresh, fresh };
    });
  }

  async discoveryDays(fromDay: number, toDay: number): Promise<Map<number, number>> {
    const rows = await this.db
      .selectFrom('discovery_days')
      .selectAll()
      .where('day', '>=', fromDay)
      .where('day', '<=', toDay)
      .execute();
    return new Map(rows.map((r) => [r.day, num(r.lookups)]));
  }

  // ----- usernames (C12)
  async setUsername(accountId: string, keyedHash: Uint8Array | null): Promise<void> {
    try {
      await this.ctx.transact(async (tx) => {
        await tx.deleteFrom('usernames').where('account_id', '=', accountId).execute();
        if (keyedHash) await tx.insertInto('usernames').values({ hash: keyedHash, account_id: accountId }).execute();
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw new StorageConflict('username_taken');
      throw e;
    }
  }

  async findUsername(keyedHash: Uint8Array): Promise<string | null> {
    const r = await this.db
      .selectFrom('usernames')
      .select('account_id')
      .where('hash', '=', keyedHash)
      .executeTakeFirst();
    return r?.account_id ?? null;
  }

  async hasUsername(accountId: string): Promise<boolean> {
    return (
      (await this.db.selectFrom('usernames').select('hash').where('account_id', '=', accountId).executeTakeFirst()) !==
      undefined
    );
  }
}

/** The distinct byte strings of a list, first occurrence kept. */
function uniqueBytes(list: Uint8Array[]): Uint8Array[] {
  const seen = new Set<string>();
  return list.filter((b) => {
    const k = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
