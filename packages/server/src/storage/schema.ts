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
        await db.schema
          .createTable('accounts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('phone', 'text', (c) => c.notNull().unique())
          .addColumn('identity_key', t.bytes, (c) => c.notNull())
          .addColumn('pin_hash', 'text')
          .addColumn('discoverable', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('devices')
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
        await db.schema
          .createTable('verification_codes')
          .addColumn('phone', 'text', (c) => c.primaryKey())
          .addColumn('code_hash', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        // Every public key ever accepted, so none can be reused by anyone (C13).
        await db.schema
          .createTable('public_keys')
          .addColumn('key', t.bytes, (c) => c.primaryKey())
          .addColumn('purpose', 'text', (c) => c.notNull())
          .addColumn('device_id', 'text')
          .addColumn('account_id', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('key_packages')
          .addColumn('id', t.serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('device_id', 'text', (c) => c.notNull())
          .addColumn('data', t.bytes, (c) => c.notNull())
          .addColumn('last_resort', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('key_packages_device')
          .on('key_packages')
          .columns(['device_id', 'last_resort', 'id'])
          .execute();
        await db.schema
          .createTable('conversations')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('epoch', 'bigint', (c) => c.notNull())
          .addColumn('next_seq', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('conversation_members')
          .addColumn('conversation_id', 'text', (c) => c.notNull())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('conversation_members_pk', ['conversation_id', 'account_id'])
          .execute();
        await db.schema
          .createTable('conversation_devices')
          .addColumn('conversation_id', 'text', (c) => c.notNull())
          .addColumn('device_id', 'text', (c) => c.notNull())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('conversation_devices_pk', ['conversation_id', 'device_id'])
          .execute();
        await db.schema
          .createIndex('conversation_devices_device')
          .on('conversation_devices')
          .column('device_id')
          .execute();
        await db.schema
          .createTable('messages')
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
        await db.schema
          .createIndex('messages_handshake')
          .on('messages')
          .columns(['conversation_id', 'epoch'])
          .where(sql.ref('kind'), '=', 'commit')
          .execute();
        await db.schema
          .createTable('deliveries')
          .addColumn('cursor', t.serial, (c) =>
            dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
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
          await sql`insert into messages_next select id, conversation_id, seq, kind, epoch, sender_account, sender_device, client_message_id, payload, sent_at from messages`.execute(
            db,
          );
          await sql`drop table messages`.execute(db);
          await sql`alter table messages_next rename to messages`.execute(db);
          await db.schema
            .createIndex('messages_handshake')
            .on('messages')
            .columns(['conversation_id', 'epoch'])
            .where(sql.ref('kind'), '=', 'commit')
            .execute();
        }
        await db.schema
          .createIndex('messages_idempotency_by_client_id')
          .on('messages')
          .columns(['client_message_id', 'sender_device'])
          .unique()
          .execute();
      },
    },
    // Encrypted media (C4): blob metadata and the parts of uploads in progress. The bytes live in
    // the blob store; these rows hold only sizes, ciphertext digests, owners and times.
    '0003_media': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('media_blobs')
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
        await db.schema
          .createTable('media_parts')
          .addColumn('blob_id', 'text', (c) => c.notNull())
          .addColumn('start_offset', 'bigint', (c) => c.notNull())
          .addColumn('length', 'bigint', (c) => c.notNull())
          .addColumn('object_key', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('media_parts_pk', ['blob_id', 'start_offset'])
          .execute();
      },
    },
    '0004_discovery': {
      async up(db: Kysely<unknown>) {
        // Server-wide secrets every process must share (the discovery OPRF key), made once.
        await db.schema
          .createTable('server_secrets')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('value', t.bytes, (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        // OPRF tags of discoverable accounts only: an account that says "nobody" has no row.
        await db.schema
          .createTable('discovery_index')
          .addColumn('tag', t.bytes, (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().unique())
          .execute();
        // Keyed digests of the tags each account has looked up: for its quota of unseen numbers.
        await db.schema
          .createTable('discovery_seen')
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('digest', t.bytes, (c) => c.notNull())
          .addColumn('day', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('discovery_seen_pk', ['account_id', 'digest'])
          .execute();
        // Unseen numbers looked up per day, all accounts together: the enumeration alarm's input.
        await db.schema
          .createTable('discovery_days')
          .addColumn('day', 'integer', (c) => c.primaryKey())
          .addColumn('lookups', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    '0005_usernames': {
      async up(db: Kysely<unknown>) {
        // Keyed hashes only: exact-match lookups, no listing, no prefix search.
        await db.schema
          .createTable('usernames')
          .addColumn('hash', t.bytes, (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().unique())
          .execute();
      },
    },
    '0006_profiles': {
      async up(db: Kysely<unknown>) {
        // Encrypted fields only; `open_fields` lists those the owner made readable to everyone.
        await db.schema
          .createTable('profiles')
          .addColumn('account_id', 'text', (c) => c.primaryKey())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('name', t.bytes)
          .addColumn('about', t.bytes)
          .addColumn('photo', t.bytes)
          .addColumn('open_fields', 'text', (c) => c.notNull())
          .addColumn('open_key', t.bytes)
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('privacy_settings')
          .addColumn('account_id', 'text', (c) => c.primaryKey())
          .addColumn('photo', 'text', (c) => c.notNull())
          .addColumn('about', 'text', (c) => c.notNull())
          .addColumn('last_seen', 'text', (c) => c.notNull())
          .addColumn('online', 'text', (c) => c.notNull())
          .execute();
        // Conversations an account has accepted (sent something in): its "contacts" are their members.
        await db.schema
          .createTable('accepted_chats')
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('conversation_id', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('accepted_chats_pk', ['account_id', 'conversation_id'])
          .execute();
        await db.schema
          .createIndex('conversation_members_account')
          .on('conversation_members')
          .column('account_id')
          .execute();
        await db.schema
          .createTable('last_seen')
          .addColumn('account_id', 'text', (c) => c.primaryKey())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    // Insider access (C14, docs/admin.md): staff accounts (token hashes only) and the hash-chained,
    // append-only audit log of everything staff do.
    '0008_admin_audit': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('admin_accounts')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('token_hash', t.bytes, (c) => c.notNull().unique())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .execute();
        await db.schema
          .createTable('admin_audit')
          .addColumn('seq', 'bigint', (c) => c.primaryKey())
          .addColumn('time', 'bigint', (c) => c.notNull())
          .addColumn('admin', 'text', (c) => c.notNull())
          .addColumn('role', 'text')
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('target', 'text')
          .addColumn('reason', 'text')
          .addColumn('prev_hash', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('admin_audit_admin_time').on('admin_audit').columns(['admin', 'time']).execute();
        // No code path updates or deletes audit entries; the database refuses it too, so a slip or
        // an injected statement cannot rewrite history. Someone with owner rights can drop these
        // guards: the hash chain and the verifier are what detect that (docs/admin.md).
        if (dialect === 'postgres') {
          await sql`create or replace function parley_admin_audit_append_only() returns trigger language plpgsql as $$
            begin raise exception 'admin_audit is append-only'; end $$`.execute(db);
          await sql`create trigger admin_audit_no_update before update or delete on admin_audit for each row execute function parley_admin_audit_append_only()`.execute(
            db,
          );
          await sql`create trigger admin_audit_no_truncate before truncate on admin_audit for each statement execute function parley_admin_audit_append_only()`.execute(
            db,
          );
          await sql`revoke update, delete, truncate on admin_audit from public`.execute(db);
        } else {
          await sql`create trigger admin_audit_no_update before update on admin_audit begin select raise(abort, 'admin_audit is append-only'); end`.execute(
            db,
          );
          await sql`create trigger admin_audit_no_delete before delete on admin_audit begin select raise(abort, 'admin_audit is append-only'); end`.execute(
            db,
          );
        }
      },
    },
    // SQLite hands out per-conversation seqs from memory and writes the counters back about once a
    // second (storage/sqlite.ts); this row says up to which message the counters were last written,
    // so a restart after a crash re-counts only the messages after it. PostgreSQL keeps updating
    // the row on every send (several processes share it), so it needs no mark.
    '0009_sqlite_seq_mark': {
      async up(db: Kysely<unknown>) {
        if (dialect !== 'sqlite') return;
        await sql`create table seq_mark (id integer primary key, message_rowid integer not null)`.execute(db);
        await sql`insert into seq_mark (id, message_rowid) values (1, coalesce((select max(rowid) from messages), 0))`.execute(
          db,
        );
      },
    },
    // Server secrets sealed under a key kept outside the database (services/secret-key.ts): the id
    // of that key per row; null marks a value an older version stored in clear, sealed at start.
    '0010_server_secret_key_id': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('server_secrets').addColumn('key_id', 'text').execute();
      },
    },
    // Key transparency (C13, docs/key-transparency.md): the leaves of the Merkle log (hidden label,
    // identity key, per-label version, time) and every signed tree head ever published.
    '0007_key_transparency': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('kt_leaves')
          .addColumn('idx', 'bigint', (c) => c.primaryKey())
          .addColumn('label', t.bytes, (c) => c.notNull())
          .addColumn('identity_key', t.bytes, (c) => c.notNull())
          .addColumn('version', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addUniqueConstraint('kt_leaves_label_version', ['label', 'version'])
          .execute();
        await db.schema.createIndex('kt_leaves_identity_key').on('kt_leaves').column('identity_key').execute();
        await db.schema
          .createTable('kt_heads')
          .addColumn('tree_size', 'bigint', (c) => c.primaryKey())
          .addColumn('root_hash', t.bytes, (c) => c.notNull())
          .addColumn('timestamp', 'bigint', (c) => c.notNull())
          .addColumn('signature', t.bytes, (c) => c.notNull())
          .execute();
        // The log is append-only in code (no update or delete path) and in the database too. Someone
        // with owner rights can drop these guards: consistency proofs and the auditor detect that.
        if (dialect === 'postgres') {
          await sql`create or replace function parley_kt_append_only() returns trigger language plpgsql as $$
            begin raise exception 'the key-transparency log is append-only'; end $$`.execute(db);
          for (const table of ['kt_leaves', 'kt_heads']) {
            await sql`create trigger ${sql.raw(`${table}_no_update`)} before update or delete on ${sql.table(table)} for each row execute function parley_kt_append_only()`.execute(
              db,
            );
            await sql`create trigger ${sql.raw(`${table}_no_truncate`)} before truncate on ${sql.table(table)} for each statement execute function parley_kt_append_only()`.execute(
              db,
            );
            await sql`revoke update, delete, truncate on ${sql.table(table)} from public`.execute(db);
          }
        } else {
          for (const table of ['kt_leaves', 'kt_heads']) {
            await sql`create trigger ${sql.raw(`${table}_no_update`)} before update on ${sql.table(table)} begin select raise(abort, 'the key-transparency log is append-only'); end`.execute(
              db,
            );
            await sql`create trigger ${sql.raw(`${table}_no_delete`)} before delete on ${sql.table(table)} begin select raise(abort, 'the key-transparency log is append-only'); end`.execute(
              db,
            );
          }
        }
      },
    },
    // Codes bound to the request that asked for them (C1): one row per request, so a wrong guess
    // under one session never spends another's attempts, and a new request never replaces an older
    // one. Codes pending at upgrade (10 minutes at most) were bound to no session and are dropped.
    '0011_verification_sessions': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('verification_sessions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('phone', 'text', (c) => c.notNull())
          .addColumn('code_hash', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('verification_sessions_expiry')
          .on('verification_sessions')
          .column('expires_at')
          .execute();
        await db.schema.dropTable('verification_codes').execute();
      },
    },
    // Blocking and reporting (C15): each account's block list, read on the send path of direct
    // chats, and reports filed by users, with the messages the reporter's device chose to include.
    '0012_blocks_reports': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('blocks')
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('blocked_account_id', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('blocks_pk', ['account_id', 'blocked_account_id'])
          .execute();
        await db.schema
          .createTable('reports')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('reporter_account', 'text', (c) => c.notNull())
          .addColumn('reported_account', 'text', (c) => c.notNull())
          .addColumn('conversation_id', 'text')
          .addColumn('category', 'text', (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('messages', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('reports_created').on('reports').column('created_at').execute();
      },
    },
    // Business accounts (C10, docs/business.md): businesses with their profile, their phone numbers
    // and their API tokens (SHA-256 only). Each business's app secret is a sealed server secret.
    '0013_business': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('businesses')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('webhook_url', 'text')
          .addColumn('verify_token', 'text')
          .addColumn('about', 'text')
          .addColumn('address', 'text')
          .addColumn('description', 'text')
          .addColumn('email', 'text')
          .addColumn('websites', 'text', (c) => c.notNull())
          .addColumn('vertical', 'text')
          .addColumn('photo_id', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('business_numbers')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('business_id', 'text', (c) => c.notNull().references('businesses.id'))
          .addColumn('phone', 'text', (c) => c.notNull().unique())
          .addColumn('verified_name', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('business_numbers_business').on('business_numbers').column('business_id').execute();
        await db.schema
          .createTable('business_tokens')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('business_id', 'text', (c) => c.notNull().references('businesses.id'))
          .addColumn('token_hash', t.bytes, (c) => c.notNull().unique())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('last_used_at', 'bigint')
          .addColumn('revoked_at', 'bigint')
          .execute();
        await db.schema.createIndex('business_tokens_business').on('business_tokens').column('business_id').execute();
      },
    },
    // Disappearing messages (C17, docs/disappearing.md): the expiry a sender gave a message, in a
    // table of its own so the send path's insert into `messages` stays as it was for every other
    // message, and the expiry a disappearing message's blob must not outlive however often it is
    // fetched. The server learns these times and nothing else about the timer.
    '0014_disappearing': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('message_expiries')
          .addColumn('message_id', 'text', (c) => c.primaryKey())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('message_expiries_due').on('message_expiries').column('expires_at').execute();
        await db.schema.alterTable('media_blobs').addColumn('disappears_at', 'bigint').execute();
      },
    },
    // Linked devices (C1, docs/devices.md): short-lived link sessions, which hold only what the
    // server relays (public keys, sealed messages, the new device's token hash), and each account's
    // device list as its identity key signed it.
    '0018_linking': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('link_sessions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('device_id', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('ephemeral_key', t.bytes)
          .addColumn('request', t.bytes)
          .addColumn('token_hash', t.bytes)
          .addColumn('new_device_id', 'text')
          .addColumn('reply', t.bytes)
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('link_sessions_expires').on('link_sessions').column('expires_at').execute();
        await db.schema
          .createTable('device_lists')
          .addColumn('account_id', 'text', (c) => c.primaryKey())
          .addColumn('identity_key', t.bytes, (c) => c.notNull())
          .addColumn('version', 'bigint', (c) => c.notNull())
          .addColumn('issued_at', 'bigint', (c) => c.notNull())
          .addColumn('devices', 'text', (c) => c.notNull())
          .addColumn('signature', t.bytes, (c) => c.notNull())
          .execute();
      },
    },
    // Web Push (C18, docs/notifications.md): at most one subscription per device; an endpoint
    // belongs to one device. The VAPID key pair is a sealed server secret, not here.
    '0015_push': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('push_subscriptions')
          .addColumn('device_id', 'text', (c) => c.primaryKey().references('devices.id'))
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('endpoint', 'text', (c) => c.notNull().unique())
          .addColumn('p256dh', t.bytes, (c) => c.notNull())
          .addColumn('auth', t.bytes, (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    // Business messages (C10, docs/business.md): the hosted devices' state (sealed values of their
    // device stores) and the webhook job queue, which is also each business's delivery log.
    '0017_business_messages': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('business_device_state')
          .addColumn('phone_number_id', 'text', (c) => c.notNull().references('business_numbers.id'))
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('value', t.bytes, (c) => c.notNull())
          .addPrimaryKeyConstraint('business_device_state_pk', ['phone_number_id', 'key'])
          .execute();
        await db.schema
          .createTable('business_webhook_jobs')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('business_id', 'text', (c) => c.notNull().references('businesses.id'))
          .addColumn('order_key', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('bytes', 'integer', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('next_at', 'bigint', (c) => c.notNull())
          .addColumn('done_at', 'bigint')
          .addColumn('last_status', 'integer')
          .addColumn('last_error', 'text')
          .execute();
        await db.schema
          .createIndex('business_webhook_jobs_pending')
          .on('business_webhook_jobs')
          .columns(['state', 'id'])
          .execute();
        await db.schema
          .createIndex('business_webhook_jobs_business')
          .on('business_webhook_jobs')
          .columns(['business_id', 'id'])
          .execute();
      },
    },
    // Message templates and media uploads (C10, docs/business.md "Templates", "Media"): a
    // business's templates, one per name and language, with their review state; its uploads.
    '0019_business_templates': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('business_templates')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('business_id', 'text', (c) => c.notNull().references('businesses.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('language', 'text', (c) => c.notNull())
          .addColumn('category', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('reason', 'text')
          .addColumn('components', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addUniqueConstraint('business_templates_name', ['business_id', 'name', 'language'])
          .execute();
        // Media uploads: the blob is `business-media/<id>`, encrypted under `key`; gone after 30 days.
        await db.schema
          .createTable('business_media')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('business_id', 'text', (c) => c.notNull().references('businesses.id'))
          .addColumn('phone_number_id', 'text', (c) => c.notNull().references('business_numbers.id'))
          .addColumn('mime_type', 'text', (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('file_size', 'bigint', (c) => c.notNull())
          .addColumn('file_name', 'text')
          .addColumn('key', t.bytes, (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('business_media_expires').on('business_media').column('expires_at').execute();
      },
    },
    // Business rules (C10, docs/business.md "Rules and limits"): per business number and user, when
    // the user last wrote (the customer-service window) and whether they stopped the number's
    // marketing messages. Both are learnt by the number's own device, which receives the messages.
    '0020_business_rules': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('business_windows')
          .addColumn('phone_number_id', 'text', (c) => c.notNull().references('business_numbers.id'))
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('last_user_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('business_windows_pk', ['phone_number_id', 'account_id'])
          .execute();
        await db.schema
          .createTable('business_marketing_opt_outs')
          .addColumn('phone_number_id', 'text', (c) => c.notNull().references('business_numbers.id'))
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('business_marketing_opt_outs_pk', ['phone_number_id', 'account_id'])
          .execute();
      },
    },
  };
}

/** Bring the schema up to date; throws with the failing migration's error. */
export async function migrateToLatest(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'parley_migrations',
    migrationLockTableName: 'parley_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed)
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${(error as Error)?.message ?? error}`);
}
