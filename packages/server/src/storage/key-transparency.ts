/**
 * The key-transparency log (C13, docs/key-transparency.md): leaves binding hidden labels to
 * identity keys, and signed tree heads. Append-only: there is no update or delete path.
 */
import type { KeyTransparencyStore, KtHeadRow, KtLeafRow } from './types.ts';
import type { Tables } from './tables.ts';
import type { AnyDb, Db, StoreContext } from './driver.ts';
import { num, u8 } from './rows.ts';

/** KeyTransparencyStore over Kysely, shared by both drivers. */
export class KyselyKeyTransparencyStore implements KeyTransparencyStore {
  private readonly db: Db;

  constructor(private readonly ctx: StoreContext) {
    this.db = ctx.db;
  }

  async appendKtLeaf(input: { label: Uint8Array; identityKey: Uint8Array; time: number }): Promise<KtLeafRow> {
    return this.ctx.transact(async (tx) => {
      // Index and version are read then written: appends from several processes take turns.
      await this.ctx.traits.lockKtLog(tx);
      const index = await this.leafCount(tx);
      const last = await tx
        .selectFrom('kt_leaves')
        .select('version')
        .where('label', '=', input.label)
        .orderBy('version', 'desc')
        .limit(1)
        .executeTakeFirst();
      const row: KtLeafRow = {
        index,
        label: input.label,
        identityKey: input.identityKey,
        version: last ? num(last.version) + 1 : 1,
        time: input.time,
      };
      await tx
        .insertInto('kt_leaves')
        .values({
          idx: row.index,
          label: row.label,
          identity_key: row.identityKey,
          version: row.version,
          created_at: row.time,
        })
        .execute();
      return row;
    });
  }

  async listKtLeaves(from: number, limit: number): Promise<KtLeafRow[]> {
    const rows = await this.db
      .selectFrom('kt_leaves')
      .selectAll()
      .where('idx', '>=', from)
      .orderBy('idx')
      .limit(limit)
      .execute();
    return rows.map(toKtLeaf);
  }

  ktLeafCount(): Promise<number> {
    return this.leafCount(this.db);
  }

  /**
   * The log has no gaps (indexes 0..n-1, append-only), so its size is the last index plus one: one
   * primary-key lookup, where count(*) would scan every leaf (for each append at start-up too).
   */
  private async leafCount(db: AnyDb): Promise<number> {
    const last = await db.selectFrom('kt_leaves').select('idx').orderBy('idx', 'desc').limit(1).executeTakeFirst();
    return last ? num(last.idx) + 1 : 0;
  }

  async latestKtLeaf(label: Uint8Array): Promise<KtLeafRow | null> {
    const r = await this.db
      .selectFrom('kt_leaves')
      .selectAll()
      .where('label', '=', label)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r ? toKtLeaf(r) : null;
  }

  async putKtHead(head: KtHeadRow): Promise<KtHeadRow> {
    await this.db
      .insertInto('kt_heads')
      .values({
        tree_size: head.treeSize,
        root_hash: head.rootHash,
        timestamp: head.timestamp,
        signature: head.signature,
      })
      .onConflict((oc) => oc.column('tree_size').doNothing())
      .execute();
    return (await this.getKtHead(head.treeSize))!;
  }

  async latestKtHead(): Promise<KtHeadRow | null> {
    const r = await this.db.selectFrom('kt_heads').selectAll().orderBy('tree_size', 'desc').limit(1).executeTakeFirst();
    return r ? toKtHead(r) : null;
  }

  async getKtHead(treeSize: number): Promise<KtHeadRow | null> {
    const r = await this.db.selectFrom('kt_heads').selectAll().where('tree_size', '=', treeSize).executeTakeFirst();
    return r ? toKtHead(r) : null;
  }

  async listKtHeads(fromSize: number, limit: number): Promise<KtHeadRow[]> {
    const rows = await this.db
      .selectFrom('kt_heads')
      .selectAll()
      .where('tree_size', '>=', fromSize)
      .orderBy('tree_size')
      .limit(limit)
      .execute();
    return rows.map(toKtHead);
  }

  async listUnloggedAccounts(limit: number): Promise<{ accountId: string; identityKey: Uint8Array }[]> {
    const rows = await this.db
      .selectFrom('accounts')
      .leftJoin('kt_leaves', 'kt_leaves.identity_key', 'accounts.identity_key')
      .select(['accounts.id as id', 'accounts.identity_key as key'])
      .where('kt_leaves.idx', 'is', null)
      .orderBy('accounts.created_at')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ accountId: r.id, identityKey: u8(r.key) }));
  }
}

function toKtLeaf(r: Tables['kt_leaves']): KtLeafRow {
  return {
    index: num(r.idx),
    label: u8(r.label),
    identityKey: u8(r.identity_key),
    version: num(r.version),
    time: num(r.created_at),
  };
}

function toKtHead(r: Tables['kt_heads']): KtHeadRow {
  return {
    treeSize: num(r.tree_size),
    rootHash: u8(r.root_hash),
    timestamp: num(r.timestamp),
    signature: u8(r.signature),
  };
}
