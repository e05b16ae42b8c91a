/** @parley/server/testing: helpers for tests that need a real database (C19). */
import pg from 'pg';
import type { Kysely } from 'kysely';
import { KyselyStorage } from './storage/kysely-store.ts';
import type { Storage } from './storage/types.ts';
import { loadCurrentKey, sealSecret } from './services/secret-key.ts';

export { crashSqliteStorage, sqliteFileOf } from './storage/sqlite.ts';
export { rawSocketOf } from './ws/ws-internals.ts';
/** The two storage drivers, for tests that exercise a store directly (`@parley/testkit`'s `openStorage`). */
export { createPostgresStorage, createSqliteStorage, type Storage } from './storage/index.ts';

/** Admin connection used to create and drop per-test databases. */
export const PG_ADMIN_URL = process.env.PARLEY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Create a fresh, empty PostgreSQL database; `drop()` removes it (forcing out connections). */
export async function pgTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `parley_t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = PG_ADMIN_URL.replace(/\/[^/?]*(\?|$)/, `/${name}$1`);
  return {
    url,
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * Seal a value as the server would store server secret `name` under the key in `keyFile`: for
 * tests that play an insider who replaces a secret in the database (the server then uses it).
 */
export function sealServerSecret(keyFile: string, name: string, value: Uint8Array): Uint8Array {
  // A non-null "sealed under" means a missing file is an error here, never a new key.
  const { key } = loadCurrentKey({ dataDir: '.', secretKeyFile: keyFile }, 'the test database');
  return sealSecret(key, name, value);
}

/**
 * The database handle under a Kysely-backed storage, typed loosely (any table, any column), for
 * tests that play an operator with rights on the database (dropping guards, rewriting rows).
 * Throws for a storage that is not Kysely-backed rather than handing out something else.
 */
export function rawDatabaseOf(storage: Storage): Kysely<Record<string, Record<string, unknown>>> {
  if (!(storage instanceof KyselyStorage)) throw new TypeError('not a Kysely-backed storage');
  return storage.db as unknown as Kysely<Record<string, Record<string, unknown>>>;
}

/**
 * The rate limiters on their own (C12), for the bench that compares them with a library on the
 * hot path; the server builds its own from configuration.
 */
export { createMemoryRateLimiter, createRedisRateLimiter, type RateLimiter, type RateRule } from './limits/index.ts';
