/**
 * PostgreSQL driver (C19 scale-out). Correct under several server processes: a commit locks its
 * conversation row (`SELECT … FOR UPDATE`) so exactly one commit per epoch wins, and appends lock
 * the conversations they touch in a fixed order (sorted ids) so `seq` stays gap-free without
 * deadlocks between processes.
 */
import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import type { Tables } from './tables.ts';
import { KyselyStorage } from './kysely-store.ts';
import type { AppendResult, NewMessage } from './types.ts';

class PostgresStorage extends KyselyStorage {
  override async appendMessages(batch: NewMessage[]): Promise<AppendResult[]> {
    const ids = [...new Set(batch.map((m) => m.conversationId))].sort();
    return this.transact(async (tx) => {
      // Take the row locks in one sorted pass first; the per-message updates then never wait on
      // another process in an order that could deadlock.
      if (ids.length > 1) await sql`select id from conversations where id = any(${ids}) order by id for update`.execute(tx);
      return this.appendWithin(tx, batch);
    });
  }
}

/**
 * Connect a pool to PostgreSQL at `url`. `onIdleError` hears about idle connections the database
 * dropped (a restart, an administrator's terminate); the pool replaces them on the next query, so
 * such an error must never take the process down as an unhandled 'error' event.
 */
export async function createPostgresStorage(opts: { url: string; poolSize?: number; onIdleError?: (err: Error) => void }): Promise<KyselyStorage> {
  const pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 10 });
  pool.on('error', (err) => opts.onIdleError?.(err));
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  return new PostgresStorage(db, 'postgres', async () => undefined);
}
