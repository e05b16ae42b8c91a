/**
 * Server secrets (services/secrets.ts): named values sealed under a key kept outside the database.
 * How a replaced value is wiped from the database's files is the driver's (DriverTraits).
 */
import { type SealedSecret, type SecretStore, type StoredSecret } from './types.ts';
import type { Db, StoreContext } from './driver.ts';
import { u8 } from './rows.ts';

/** SecretStore over Kysely, shared by both drivers. */
export class KyselySecretStore implements SecretStore {
  private readonly db: Db;

  constructor(private readonly ctx: StoreContext) {
    this.db = ctx.db;
  }

  async getOrCreateSecret(name: string, make: () => SealedSecret, now: number): Promise<StoredSecret> {
    const found = await this.db
      .selectFrom('server_secrets')
      .select(['name', 'value', 'key_id'])
      .where('name', '=', name)
      .executeTakeFirst();
    if (found) return toSecret(found);
    // Two processes starting together: the first insert wins and both read the winner back.
    const made = make();
    await this.db
      .insertInto('server_secrets')
      .values({ name, value: made.value, key_id: made.keyId, created_at: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    return toSecret(
      await this.db
        .selectFrom('server_secrets')
        .select(['name', 'value', 'key_id'])
        .where('name', '=', name)
        .executeTakeFirstOrThrow(),
    );
  }

  async listSecrets(): Promise<StoredSecret[]> {
    return (
      await this.db.selectFrom('server_secrets').select(['name', 'value', 'key_id']).orderBy('name').execute()
    ).map(toSecret);
  }

  async replaceSecret(name: string, fromKeyId: string | null, to: SealedSecret): Promise<boolean> {
    const update = () =>
      this.db
        .updateTable('server_secrets')
        .set({ value: to.value, key_id: to.keyId })
        .where('name', '=', name)
        .where('key_id', fromKeyId === null ? 'is' : '=', fromKeyId)
        .executeTakeFirst();
    return this.ctx.traits.overwriteSecurely(this.db, async () => Number((await update()).numUpdatedRows) === 1);
  }

  async purgeReplacedSecrets(): Promise<void> {
    await this.ctx.traits.purgeReplacedSecrets(this.db);
  }
}

/** Map a database media row. */
function toSecret(r: { name: string; value: Uint8Array; key_id: string | null }): StoredSecret {
  return { name: r.name, value: u8(r.value), keyId: r.key_id };
}
