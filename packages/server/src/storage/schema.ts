/**
 * Schema and migrations for both drivers (C19), written once with Kysely's schema builder. Each
 * migration runs in order, once, recorded in `parley_migrations`; running them again is a no-op,
 * and several processes starting together serialise on the migration lock.
 */
import { Kysely, Migrator, sql, type Migration, type MigrationProvider } from 'kysely';

/** Column types that differ between SQLite and PostgreSQL. */
function types(dialect: 'sqlite' | 'postgres') {
  return {
    bytes: dialect === 'postgres' ? sql`bytea` : sql`blob`,
    serial: dialect === 'postgres' ? sql`bigserial` : sql`integer`,
  };
}

function migrations(dialect: 'sqlite' | 'postgres'): Record<string, Migration> {
  const t = types(dialect);
  return {
    '0001_core': {
      async up(db: Kysely<unknown>) {
        await db.schema.createTable('accounts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('phone', 'text', (c) => c.notNull().unique())
          .addColumn('identity_key', t.bytes, (c) => c.notNull())
          .addColumn('pin_hash', 'text')
          .addColumn('discoverable', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createTable('devices')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('signing_key', t.bytes, (c) => c.notNull())
          .addColumn('signing_key_cert', t.bytes, (c) => c.notNull())
          .addColumn('token_hash', t.bytes, (c) => c.notNull().unique())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .execute();
        await db.schema.createIndex('devices_account').on('devices').column('account_id').execute();
        await db.schema.createTable('verification_codes')
          .addColumn('phone', 'text', (c) => c.primaryKey())
          .addColumn('code_hash', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        // Every public key ever accepted, so none can be reused by anyone (C13).
        await db.schema.createTable('public_keys')
          .addColumn('key', t.bytes, (c) => c.primaryKey())
          .addColumn('purpose', 'text', (c) => c.notNull())
          .addColumn('device_id', 'text')
          .addColumn('account_id', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createTable('key_packages')
          .addColumn('id', t.serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('device_id', 'text', (c) => c.notNull())
          .addColumn('data', t.bytes, (c) => c.notNull())
          .addColumn('last_resort', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('key_packages_device').on('key_packages').columns(['device_id', 'last_resort', 'id']).execute();
        await db.schema.createTable('conversations')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('epoch', 'bigint', (c) => c.notNull())
          .addColumn('next_seq', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createTable('conversation_members')
          .addColumn('conversation_id', 'text', (c) => c.notNull())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('conversation_members_pk', ['conversation_id', 'account_id'])
          .execute();
        await db.schema.createTable('conversation_devices')
          .addColumn('conversation_id', 'text', (c) => c.notNull())
          .addColumn('device_id', 'text', (c) => c.notNull())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('conversation_devices_pk', ['conversation_id', 'device_id'])
          .execute();
        await db.schema.createIndex('conversation_devices_device').on('conversation_devices').column('device_id').execute();
        await db.schema.createTable('messages')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('conversation_id', 'text', (c) => c.notNull())
          .addColumn('seq', 'bigint', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('epoch', 'bigint', (c) => c.notNull())
          .addColumn('sender_account', 'text', (c) => c.notNull())
          .addColumn('sender_device', 'text', (c) => c.notNull())
          .addColumn('client_message_id', 'text', (c) => c.notNull())
          .addColumn('payload', t.bytes, (c) => c.notNull())
          .addColumn('sent_at', 'bigint', (c) => c.notNull())
          .addUniqueConstraint('messages_idempotency', ['sender_device', 'client_message_id'])
          .addUniqueConstraint('messages_order', ['conversation_id', 'seq'])
          .execute();
        // Only commits form the handshake log: a partial index keeps application messages out of it.
        await db.schema.createIndex('messages_handshake').on('messages').columns(['conversation_id', 'epoch']).where(sql.ref('kind'), '=', 'commit').execute();
        await db.schema.createTable('deliveries')
          .addColumn('cursor', t.serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('device_id', 'text', (c) => c.notNull())
          .addColumn('message_id', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('deliveries_device').on('deliveries').columns(['device_id', 'cursor']).execute();
      },
    },
    /**
     * Every random-position index write on the send path costs a whole page in the WAL (C3 speed).
     * Idempotency is now keyed client id first: clients make ids that start with the time, so new
     * keys land at the right edge of the index instead of anywhere. The (conversation, seq) unique
     * index goes: `seq` is handed out by the conversation row's counter under that row's lock in
     * the same transaction, so it was never what kept order gap-free, and nothing reads by it.
     */
    '0002_append_friendly_indexes': {
      async up(db: Kysely<unknown>) {
        if (dialect === 'postgres') {
          await sql`alter table messages drop constraint messages_order`.execute(db);
          await sql`alter table messages drop constraint messages_idempotency`.execute(db);
        } else {
          // SQLite cannot drop a table constraint: rebuild the table with the same columns.
          await sql`create table messages_next (
            id text primary key, conversation_id text not null, seq bigint not null, kind text not null,
            epoch bigint not null, sender_account text not null, sender_device text not null,
            client_message_id text not null, payload blob not null, sent_at bigint not null)`.execute(db);
          await sql`insert into messages_next select id, conversation_id, seq, kind, epoch, sender_account, sender_device, client_message_id, payload, sent_at from messages`.execute(db);
          await sql`drop table messages`.execute(db);
          await sql`alter table messages_next rename to messages`.execute(db);
          await db.schema.createIndex('messages_handshake').on('messages').columns(['conversation_id', 'epoch']).where(sql.ref('kind'), '=', 'commit').execute();
        }
        await db.schema.createIndex('messages_idempotency_by_client_id').on('messages').columns(['client_message_id', 'sender_device']).unique().execute();
      },
    },
    // Encrypted media (C4): blob metadata and the parts of uploads in progress. The bytes live in
    // the blob store; these rows hold only sizes, ciphertext digests, owners and times.
    '0003_media': {
      async up(db: Kysely<unknown>) {
        await db.schema.createTable('media_blobs')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('owner_account', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('size', 'bigint', (c) => c.notNull())
          .addColumn('digest', t.bytes, (c) => c.notNull())
          .addColumn('received', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('completed_at', 'bigint')
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('last_fetched_at', 'bigint')
          .execute();
        await db.schema.createIndex('media_blobs_owner').on('media_blobs').column('owner_account').execute();
        await db.schema.createIndex('media_blobs_expiry').on('media_blobs').column('expires_at').execute();
        await db.schema.createTable('media_parts')
          .addColumn('blob_id', 'text', (c) => c.notNull())
          .addColumn('start_offset', 'bigint', (c) => c.notNull())
          .addColumn('length', 'bigint', (c) => c.notNull())
          .addColumn('object_key', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('media_parts_pk', ['blob_id', 'start_offset'])
          .execute();
      },
    },
  };
}

/** Bring the schema up to date; throws with the failing migration's error. */
export async function migrateToLatest(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const migrator = new Migrator({ db, provider, migrationTableName: 'parley_migrations', migrationLockTableName: 'parley_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${(error as Error)?.message ?? error}`);
}
