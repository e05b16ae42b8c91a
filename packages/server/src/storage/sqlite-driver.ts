/**
 * Kysely dialect for the embedded SQLite store (C19) whose single connection is handed out in
 * strict arrival order.
 *
 * SQLite has one connection, so every Kysely query waits its turn for it. Kysely's own SQLite
 * driver lets every waiter re-check the lock each time it is released: with N queries waiting,
 * one release wakes all N, so N queued queries cost on the order of N² wake-ups, all of them
 * microtasks that never yield to I/O. One client pipelining 2,000 reads on a WebSocket held the
 * event loop for tens of seconds, and with it every other client and `/healthz`. Here waiters
 * form a queue and a release wakes exactly the next one, so N queries cost N wake-ups.
 */
import type Database from 'better-sqlite3';
import {
  CompiledQuery,
  SqliteDialect,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

/** The one connection: runs compiled queries synchronously on better-sqlite3. */
class Connection implements DatabaseConnection {
  constructor(private readonly db: Database.Database) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    try {
      const stmt = this.db.prepare(query.sql);
      const params = query.parameters as unknown[];
      if (stmt.reader) return Promise.resolve({ rows: stmt.all(params) as R[] });
      const { changes, lastInsertRowid } = stmt.run(params);
      return Promise.resolve({ numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not used with SQLite');
  }
}

/** A lock whose waiters are served first come, first served; a release wakes only the next. */
export class FifoLock {
  private held = false;
  private readonly waiters: (() => void)[] = [];
  private head = 0;

  /** Resolves once the caller holds the lock. */
  acquire(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Hand the lock to the longest waiter, or free it. */
  release(): void {
    if (this.head < this.waiters.length) {
      const next = this.waiters[this.head]!;
      this.waiters[this.head++] = noop;
      // Drop served entries now and then instead of shifting the array on every release.
      if (this.head > 1024 && this.head * 2 > this.waiters.length) {
        this.waiters.splice(0, this.head);
        this.head = 0;
      }
      next();
      return;
    }
    this.waiters.length = 0;
    this.head = 0;
    this.held = false;
  }

  /** Callers waiting for the lock (not counting the holder). */
  get waiting(): number {
    return this.waiters.length - this.head;
  }
}

function noop(): void {}

class FifoSqliteDriver implements Driver {
  private readonly lock = new FifoLock();
  private readonly connection: Connection;

  constructor(private readonly db: Database.Database) {
    this.connection = new Connection(db);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.lock.acquire();
    return this.connection;
  }

  async beginTransaction(connection: DatabaseConnection, _settings: TransactionSettings): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async releaseConnection(): Promise<void> {
    this.lock.release();
  }

  async destroy(): Promise<void> {
    this.db.close();
  }
}

/** Kysely's SQLite dialect (same SQL, adapter and introspection) with the first-come lock. */
export class FifoSqliteDialect extends SqliteDialect {
  constructor(private readonly raw: Database.Database) {
    super({ database: raw });
  }

  override createDriver(): Driver {
    return new FifoSqliteDriver(this.raw);
  }
}
