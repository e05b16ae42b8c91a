/**
 * What every entity store is given (C19): the Kysely connection, the driver's transaction, and the
 * few things the two drivers do differently outside the send path, each written once per driver
 * (`sqliteTraits` in sqlite.ts, `postgresTraits` in postgres.ts) instead of as branches on the
 * driver's name inside every store.
 */
import type { Kysely, SelectQueryBuilder, Transaction } from 'kysely';
import type { Tables } from './tables.ts';

/** The database as the stores see it. */
export type Db = Kysely<Tables>;
/** An open transaction. */
export type Tx = Transaction<Tables>;
/** Either: helpers that run inside or outside a transaction take this. */
export type AnyDb = Db | Tx;

/**
 * Driver differences outside the send path. PostgreSQL runs transactions of several processes at
 * once, so concurrent read-then-write sequences lock rows; SQLite runs one write transaction at a
 * time, so its locks are no-ops (and cost no query).
 */
export interface DriverTraits {
  /** `q` locking the rows it selects until the transaction ends (SELECT … FOR UPDATE). */
  forUpdate<DB, TB extends keyof DB, O>(q: SelectQueryBuilder<DB, TB, O>): SelectQueryBuilder<DB, TB, O>;
  /** Like `forUpdate`, skipping rows another transaction holds, so two claims never take the same row. */
  forUpdateSkipLocked<DB, TB extends keyof DB, O>(q: SelectQueryBuilder<DB, TB, O>): SelectQueryBuilder<DB, TB, O>;
  /** Serialise transactions of one account (quota checks that read, then write). */
  lockAccount(tx: Tx, accountId: string): Promise<void>;
  /** Serialise appends to the key-transparency log (index and version are read, then written). */
  lockKtLog(tx: Tx): Promise<void>;
  /** Run an update so the bytes it replaces do not stay readable in the database's free space. */
  overwriteSecurely<T>(db: Db, update: () => Promise<T>): Promise<T>;
  /** Leave no copy of replaced server secrets in the database's files. */
  purgeReplacedSecrets(db: Db): Promise<void>;
}

/** What each entity store is constructed with. */
export interface StoreContext {
  readonly db: Db;
  /** Run `fn` in one transaction (the SQLite driver tracks open ones, see sqlite.ts). */
  transact<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  readonly traits: DriverTraits;
}
