/**
 * SQLite driver (C19 embedded default). WAL with `synchronous = NORMAL`: a commit is in the WAL
 * before the transaction returns, so a process crash (even SIGKILL) loses nothing committed; only
 * an OS crash or power cut can lose the last transactions. The hot paths (append, push, ack) run
 * as cached prepared statements inside one synchronous transaction per batch, because per-message
 * overhead decides whether one core persists 10,000 messages per second. They take Kysely's
 * connection lock first, so they never interleave with a Kysely transaction in flight. Everything
 * this driver does differently lives in this file: the send path (`SqliteSendPath`), the
 * in-memory seq counters, and `sqliteTraits`.
 */
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { Kysely, sql, type Transaction } from 'kysely';
import { FifoSqliteDialect } from './sqlite-driver.ts';
import type { Tables } from './tables.ts';
import { KyselyStorage } from './kysely-store.ts';
import { toDevice, type TokenLookup } from './accounts.ts';
import { toMessage, type SendPath, type SeqCounters } from './conversations.ts';
import type { DriverTraits, StoreContext } from './driver.ts';
import { AckQueue, type QueuedAck } from './ack-queue.ts';
import type { CheckpointReport, CheckpointRequest, CheckpointWorkerData } from './sqlite-checkpoint-worker.mjs';
import { ensurePrivateDir, restrictFile, touchPrivateFile } from '../private-files.ts';
import {
  StorageConflict,
  type AppendResult,
  type ConversationDeviceRow,
  type ConversationRow,
  type DeviceRow,
  type NewMessage,
  type PendingDelivery,
  type Storage,
} from './types.ts';

type Row = Record<string, unknown>;

/**
 * SQLite runs one write transaction at a time (one writer per file), so the row and table locks
 * PostgreSQL needs cost nothing here; replaced secrets are zeroed and the WAL truncated.
 */
export const sqliteTraits: DriverTraits = {
  forUpdate: (q) => q,
  forUpdateSkipLocked: (q) => q,
  lockAccount: async () => undefined,
  lockKtLog: async () => undefined,
  async overwriteSecurely(db, update) {
    // SQLite leaves a replaced value's bytes in the page's free space; secure_delete zeroes them.
    const { rows } = await sql<{ secure_delete: number }>`pragma secure_delete`.execute(db);
    await sql`pragma secure_delete = on`.execute(db);
    try {
      return await update();
    } finally {
      await sql.raw(`pragma secure_delete = ${Number(rows[0]?.secure_delete ?? 0)}`).execute(db);
    }
  },
  async purgeReplacedSecrets(db) {
    await sql`pragma wal_checkpoint(TRUNCATE)`.execute(db);
  },
};

/**
 * The SQLite send path: prepared statements on the raw connection, one synchronous transaction per
 * batch, acknowledgements riding in the next write, and seq counters handed out from memory.
 */
class SqliteSendPath implements SendPath, SeqCounters, TokenLookup {
  private readonly st;
  private readonly appendTx;
  private readonly ackTx;
  readonly seqs: SeqCounters = this;

  constructor(
    private readonly raw: Database.Database,
    private readonly db: Kysely<Tables>,
    private readonly checkpointer: Checkpointer | null,
  ) {
    this.st = {
      dup: raw.prepare('select * from messages where client_message_id = ? and sender_device = ?'),
      seqOf: raw.prepare('select next_seq from conversations where id = ?'),
      setSeq: raw.prepare('update conversations set next_seq = ? where id = ?'),
      setMark: raw.prepare('update seq_mark set message_rowid = ? where id = 1'),
      insMsg: raw.prepare(
        'insert into messages (id, conversation_id, seq, kind, epoch, sender_account, sender_device, client_message_id, payload, sent_at) values (?,?,?,?,?,?,?,?,?,?)',
      ),
      insDel: raw.prepare('insert into deliveries (device_id, message_id) values (?, ?)'),
      insExpiry: raw.prepare('insert into message_expiries (message_id, expires_at) values (?, ?)'),
      pending: raw.prepare(
        'select d.cursor as cursor, m.* from deliveries d join messages m on m.id = d.message_id where d.device_id = ? and d.cursor > ? order by d.cursor limit ?',
      ),
      count: raw.prepare('select count(*) as n from deliveries where device_id = ?'),
      ack: raw.prepare('delete from deliveries where device_id = ? and cursor = ?'),
      token: raw.prepare('select * from devices where token_hash = ?'),
      convDevices: raw.prepare(
        'select conversation_id, device_id, account_id from conversation_devices where conversation_id = ? order by device_id',
      ),
      inConv: raw.prepare('select 1 from conversation_devices where conversation_id = ? and device_id = ?'),
      conv: raw.prepare('select * from conversations where id = ?'),
    };
    this.appendTx = raw.transaction((batch: NewMessage[], acks: QueuedAck[]) => {
      const acked = this.applyAcks(acks);
      const results = batch.map((m) => this.appendOne(m));
      return { results, acked, persisted: this.persistSeqsIfDue() };
    });
    recoverSeqs(raw);
    this.ackTx = raw.transaction((acks: QueuedAck[]): number[] => this.applyAcks(acks));
  }

  private appendOne(m: NewMessage): AppendResult {
    const dup = this.st.dup.get(m.clientMessageId, m.senderDevice) as Row | undefined;
    if (dup) {
      const { payload: _p, ...message } = toMessage(dup as never);
      return { message, duplicate: true, deliveries: [] };
    }
    const seq = this.takeSeq(m.conversationId);
    const inserted = this.st.insMsg.run(
      m.id,
      m.conversationId,
      seq,
      m.kind,
      m.epoch,
      m.senderAccount,
      m.senderDevice,
      m.clientMessageId,
      m.payload,
      m.sentAt,
    );
    this.lastMessageRowid = Number(inserted.lastInsertRowid);
    if (m.expiresAt !== undefined) this.st.insExpiry.run(m.id, m.expiresAt);
    const deliveries = m.recipients.map((d) => ({
      deviceId: d,
      cursor: Number(this.st.insDel.run(d, m.id).lastInsertRowid),
    }));
    // Spelled out rather than spread: one object of a fixed shape per message (C3 speed).
    const message = {
      id: m.id,
      conversationId: m.conversationId,
      seq,
      kind: m.kind,
      epoch: m.epoch,
      senderAccount: m.senderAccount,
      senderDevice: m.senderDevice,
      clientMessageId: m.clientMessageId,
      sentAt: m.sentAt,
    };
    return { message, duplicate: false, deliveries };
  }

  // ----- per-conversation seq counters, kept in memory (see recoverSeqs for the crash case)

  /** Next seq per conversation for conversations sent to since the counters were last cleared. */
  private readonly counters = new Map<string, number>();
  /** Conversations whose counter is ahead of their row. */
  private readonly dirtySeqs = new Set<string>();
  /** Counters as they were before the batch in progress (restored if its transaction rolls back). */
  private seqUndo = new Map<string, number | undefined>();
  private lastSeqPersist = performance.now();
  private lastMessageRowid = 0;

  /** The next seq of a conversation, counted in memory; the row is read once. */
  private takeSeq(conversationId: string): number {
    let next = this.counters.get(conversationId);
    if (next === undefined) {
      const row = this.st.seqOf.get(conversationId) as { next_seq: number } | undefined;
      if (!row) throw new StorageConflict('not_found');
      next = Number(row.next_seq);
    }
    if (!this.seqUndo.has(conversationId)) this.seqUndo.set(conversationId, this.counters.get(conversationId));
    this.counters.set(conversationId, next + 1);
    this.dirtySeqs.add(conversationId);
    return next;
  }

  /**
   * Inside a write transaction: when SEQ_PERSIST_MS have passed, write every counter that moved
   * back to its row together with the rowid of the newest message they account for. Returns true
   * when it wrote (the dirty set is cleared only once that transaction has committed).
   */
  private persistSeqsIfDue(force = false): boolean {
    if (
      !this.dirtySeqs.size ||
      (!force && performance.now() - this.lastSeqPersist < SEQ_PERSIST_MS && this.dirtySeqs.size < SEQ_CACHE_MAX)
    )
      return false;
    for (const id of this.dirtySeqs) this.st.setSeq.run(this.counters.get(id)!, id);
    this.st.setMark.run(this.lastMessageRowid);
    return true;
  }

  /** After a batch transaction: keep its counters (and forget them once written), or undo them. */
  private settleSeqs(committed: boolean, persisted: boolean): void {
    if (!committed) {
      for (const [id, before] of this.seqUndo) {
        if (before === undefined) {
          this.counters.delete(id);
          this.dirtySeqs.delete(id);
        } else this.counters.set(id, before);
      }
    } else if (persisted) {
      this.dirtySeqs.clear();
      this.lastSeqPersist = performance.now();
      if (this.counters.size >= SEQ_CACHE_MAX) this.counters.clear();
    }
    this.seqUndo = new Map();
  }

  /** The counter as handed out from memory (a commit reads it in place of the row's). */
  current(conversationId: string): number | undefined {
    return this.counters.get(conversationId);
  }

  /** Inside a commit transaction (conversations.ts applyCommit): the row now holds the counter. */
  written(conversationId: string, nextSeq: number): void {
    this.counters.set(conversationId, nextSeq);
    this.dirtySeqs.delete(conversationId);
  }

  /** Kysely transactions in progress (their statements span several event-loop turns). */
  private openTransactions = 0;

  /** The stores' transactions: counted, so the send path knows when it must take the connection lock. */
  async transact<T>(fn: (tx: Transaction<Tables>) => Promise<T>): Promise<T> {
    this.openTransactions++;
    try {
      return await this.db.transaction().execute(fn);
    } finally {
      this.openTransactions--;
    }
  }

  /**
   * Run synchronous statements now when no Kysely transaction is open (the common case: no lock,
   * no extra turn), otherwise behind Kysely's connection lock so they never land inside it.
   */
  private locked<T>(fn: () => T): Promise<T> {
    if (this.openTransactions === 0) {
      try {
        return Promise.resolve(fn());
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return this.db.connection().execute(async () => fn());
  }

  /**
   * Like `locked`, for writes: while the checkpointer finishes a WAL reset (a few milliseconds of
   * fsync on its thread), writes wait for it without blocking the event loop, so the reset
   * completes and the next write starts the WAL over.
   */
  private writeLocked<T>(fn: () => T): Promise<T> {
    const pause = this.checkpointer?.pause;
    return pause ? pause.then(() => this.writeLocked(fn)) : this.locked(fn);
  }

  appendMessages(batch: NewMessage[]): Promise<AppendResult[]> {
    // Acknowledgements waiting for the next write ride in the same transaction (one WAL commit).
    return this.writeLocked(() => {
      const acks = this.acks.take();
      try {
        let out;
        try {
          out = this.appendTx(batch, acks);
        } catch (e) {
          this.settleSeqs(false, false);
          throw e;
        }
        this.settleSeqs(true, out.persisted);
        const { results, acked } = out;
        acks.forEach((a, i) => a.resolve(acked[i]!));
        this.checkpointer?.afterCommit();
        return results;
      } catch (e) {
        // The transaction rolled back: the acks that rode along are written on their own.
        this.writeAcks(acks);
        throw e;
      }
    });
  }

  /** Acks queued during this event-loop turn: the next batch transaction takes them along, else they go on their own. */
  private readonly acks = new AckQueue((q) => this.writeLocked(() => this.writeAcks(q)));

  /** Delete acknowledged entries; returns the count per ack (resolved only after commit). */
  private applyAcks(q: QueuedAck[]): number[] {
    return q.map((a) => a.cursors.reduce((n, c) => n + this.st.ack.run(a.deviceId, c).changes, 0));
  }

  private writeAcks(q: QueuedAck[]): void {
    if (!q.length) return;
    try {
      const counts = this.ackTx(q);
      q.forEach((a, i) => a.resolve(counts[i]!));
      this.checkpointer?.afterCommit();
    } catch (e) {
      q.forEach((a) => a.reject(e));
    }
  }

  pendingDeliveries(deviceId: string, afterCursor: number, limit: number): Promise<PendingDelivery[]> {
    return this.locked(() =>
      (this.st.pending.all(deviceId, afterCursor, limit) as Row[]).map((r) => ({
        cursor: Number(r.cursor),
        message: toMessage(r as never),
      })),
    );
  }

  countPendingDeliveries(deviceId: string): Promise<number> {
    return this.locked(() => Number((this.st.count.get(deviceId) as { n: number }).n));
  }

  ackDeliveries(deviceId: string, cursors: number[]): Promise<number> {
    return this.acks.add(deviceId, cursors);
  }

  getDeviceByTokenHash(tokenHash: Uint8Array): Promise<DeviceRow | null> {
    return this.locked(() => {
      const r = this.st.token.get(tokenHash) as Row | undefined;
      return r ? toDevice(r as never) : null;
    });
  }

  listConversationDevices(conversationId: string): Promise<ConversationDeviceRow[]> {
    return this.locked(() =>
      (this.st.convDevices.all(conversationId) as Row[]).map((r) => ({
        conversationId: String(r.conversation_id),
        deviceId: String(r.device_id),
        accountId: String(r.account_id),
      })),
    );
  }

  isDeviceInConversation(conversationId: string, deviceId: string): Promise<boolean> {
    return this.locked(() => this.st.inConv.get(conversationId, deviceId) !== undefined);
  }

  getConversation(id: string): Promise<ConversationRow | null> {
    return this.locked(() => {
      const r = this.st.conv.get(id) as Row | undefined;
      return r
        ? {
            id: String(r.id),
            kind: r.kind as ConversationRow['kind'],
            epoch: Number(r.epoch),
            createdAt: Number(r.created_at),
            createdBy: String(r.created_by),
          }
        : null;
    });
  }

  /** Write every counter back (on close), so a clean restart has nothing to recover. */
  persistSeqs(): Promise<void> {
    return this.locked(() => {
      const persisted = this.raw.transaction(() => this.persistSeqsIfDue(true))();
      this.settleSeqs(true, persisted);
    });
  }
}

/** Open (creating if needed) the SQLite database at `file`. */
export async function createSqliteStorage(opts: { file: string }): Promise<KyselyStorage> {
  if (opts.file !== ':memory:') {
    // SQLite gives the WAL and shared-memory files the mode of the database file, so the database
    // file is made 0600 before SQLite creates it; files left by an older version are tightened.
    ensurePrivateDir(dirname(opts.file));
    touchPrivateFile(opts.file);
    for (const suffix of SQLITE_SIDE_FILES) restrictFile(opts.file + suffix);
  }
  const raw = new Database(opts.file);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  raw.pragma('busy_timeout = 5000');
  // The hot pages of the send path (index tails, the queue, recent messages) fit in a few MiB, and
  // colder pages come from the OS page cache. The cache is kept small on purpose: when a b-tree
  // rebalances after deletes (acknowledged queue rows), SQLite parks a page under a temporary
  // number past the end of the file, and the commit that follows then walks the cache's whole
  // hash table to drop it. With 64 MiB that walk ran on nearly every commit (~2 % of server CPU,
  // found with perf); at 8 MiB, `npm run bench` used 8-20 % less CPU per message (docs/benchmarks.md).
  raw.pragma(`cache_size = -${SQLITE_CACHE_KIB}`);
  // Temp b-trees never touch disk.
  raw.pragma('temp_store = MEMORY');
  const db = new Kysely<Tables>({ dialect: new FifoSqliteDialect(raw) });
  const checkpointer = opts.file === ':memory:' ? null : new Checkpointer(raw, opts.file);
  // Prepared statements need the tables: migrate before constructing the driver.
  const { migrateToLatest } = await import('./schema.ts');
  await migrateToLatest(db as unknown as Kysely<unknown>, 'sqlite');
  // Made by SQLite with the database file's mode; set explicitly all the same (C19 files at rest).
  if (opts.file !== ':memory:') for (const suffix of SQLITE_SIDE_FILES) restrictFile(opts.file + suffix);
  const path = new SqliteSendPath(raw, db, checkpointer);
  const ctx: StoreContext = { db, transact: (fn) => path.transact(fn), traits: sqliteTraits };
  const storage = new KyselyStorage(ctx, 'sqlite', { sendPath: path, tokens: path });
  handles.set(storage, { raw, checkpointer });
  storage.onClosed(async () => path.persistSeqs());
  if (checkpointer)
    storage.onClosed(async () => {
      await checkpointer.terminate();
      raw.pragma('wal_checkpoint(TRUNCATE)');
    });
  return storage;
}

/** The connection and checkpointer of each SQLite storage, for the test hooks below. */
const handles = new WeakMap<Storage, { raw: Database.Database; checkpointer: Checkpointer | null }>();

function handlesOf(storage: Storage): { raw: Database.Database; checkpointer: Checkpointer | null } {
  const h = handles.get(storage);
  if (!h) throw new Error('not a SQLite storage');
  return h;
}

/** Test hook: the database file of a SQLite storage. */
export function sqliteFileOf(storage: Storage): string {
  return handlesOf(storage).raw.name;
}

/**
 * Test hook: end a SQLite storage as a crash would, writing nothing on the way down (the seq
 * counters stay unwritten; the next start recovers them).
 */
export async function crashSqliteStorage(storage: Storage): Promise<void> {
  const { raw, checkpointer } = handlesOf(storage);
  await checkpointer?.terminate();
  raw.close();
}

/** Files SQLite keeps next to the database in WAL mode (and the rollback journal, briefly). */
const SQLITE_SIDE_FILES = ['-wal', '-shm', '-journal'];

/** SQLite page cache per connection, in KiB (see createSqliteStorage for why it is not larger). */
const SQLITE_CACHE_KIB = 8192;

/**
 * How long counters may run ahead of their rows. Writing a conversation's `next_seq` on every send
 * dirtied one more randomly placed page per message in every commit (the largest single share of
 * WAL traffic at 1,000 conversations); written at most this often, a busy conversation's row is
 * rewritten once per interval instead of once per message.
 */
const SEQ_PERSIST_MS = 1000;
/** Counters kept in memory at most; past this they are written back and forgotten. */
const SEQ_CACHE_MAX = 100_000;

/**
 * After a crash the rows may lag the counters by up to SEQ_PERSIST_MS of sends. `seq_mark` holds the
 * rowid of the newest message the rows accounted for when they were last written (in the same
 * transaction), and message rowids only grow (messages are never deleted), so the messages after
 * it are exactly the ones to re-count: each conversation continues after its highest seq.
 */
function recoverSeqs(raw: Database.Database): void {
  raw.transaction(() => {
    const mark = Number(
      (raw.prepare('select message_rowid from seq_mark where id = 1').get() as { message_rowid: number }).message_rowid,
    );
    raw
      .prepare(
        `update conversations set next_seq = r.n
      from (select conversation_id, max(seq) + 1 as n from messages where rowid > ? group by conversation_id) as r
      where conversations.id = r.conversation_id and conversations.next_seq < r.n`,
      )
      .run(mark);
    const newest = raw.prepare('select max(rowid) as r from messages').get() as { r: number | null };
    raw.prepare('update seq_mark set message_rowid = ? where id = 1').run(newest.r ?? 0);
  })();
}

/** WAL frames (pages) after which the writer finishes a checkpoint itself so the WAL starts over. */
const WAL_RESET_FRAMES = 8192;
/** How often the worker copies the WAL back into the database file. */
const CHECKPOINT_INTERVAL_MS = 200;
/** Size the WAL file is cut back to after it starts over. */
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/** How long writes wait for the worker to finish a WAL reset before the writer does it itself. */
const WAL_RESET_TIMEOUT_MS = 250;

/**
 * Keeps the WAL bounded. Checkpoints (copying the WAL back into the database file, with an fsync)
 * run on a worker thread with its own connection, so the event loop does not wait for the copying.
 * PASSIVE mode never blocks the writer, but under a steady stream of writes it can never finish:
 * frames written while it copies are left over, so the WAL is never fully copied back, never
 * starts over, and grows without bound (960 MB after a one-minute benchmark), making every page
 * lookup in it slower. So the worker reports how many frames the WAL holds, and once that passes
 * WAL_RESET_FRAMES the writer pauses its writes (`pause`; reads and the event loop go on) while the
 * worker runs one more PASSIVE checkpoint: nothing writes meanwhile, so it completes, and the next
 * transaction starts the WAL over (journal_size_limit trims the file). The worker runs it, not the
 * writer, because on the event loop its two fsyncs would stall every connection (figures in
 * docs/benchmarks.md, "WAL reset off the event loop"). If the worker does not answer in time, or
 * has died, the writer runs it.
 */
class Checkpointer {
  private readonly worker: Worker;
  private alive = true;
  /** Frames in the WAL as the worker last saw them. */
  private walFrames = 0;
  /** The reset in progress; `id` tells the worker's answer to it from a late answer to an earlier one. */
  private reset: { id: number; done: Promise<void>; resolve: () => void; timer: NodeJS.Timeout } | null = null;
  private resets = 0;

  constructor(
    private readonly raw: Database.Database,
    file: string,
  ) {
    raw.pragma('wal_autocheckpoint = 0');
    raw.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    const data: CheckpointWorkerData = { file, intervalMs: CHECKPOINT_INTERVAL_MS };
    this.worker = new Worker(new URL('./sqlite-checkpoint-worker.mjs', import.meta.url), { workerData: data });
    this.worker.unref();
    this.worker.on('message', (m: CheckpointReport) => {
      if (m.frames >= 0) this.walFrames = m.frames;
      if (m.reset) this.endReset(m.reset, false);
    });
    const fallBack = () => {
      this.alive = false;
      if (this.reset) this.endReset(this.reset.id, true);
      if (raw.open) raw.pragma('wal_autocheckpoint = 1000');
    };
    this.worker.on('error', fallBack);
    this.worker.on('exit', fallBack);
  }

  /** Set while a reset is in progress: writes wait for it. */
  get pause(): Promise<void> | null {
    return this.reset?.done ?? null;
  }

  /**
   * Call after a write transaction commits: starts a reset when the WAL is large. Never throws: the
   * transaction has committed, and a checkpoint that fails is retried by the next pass.
   */
  afterCommit(): void {
    if (this.walFrames < WAL_RESET_FRAMES || this.reset || !this.alive) return;
    this.walFrames = 0;
    const id = ++this.resets;
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    this.reset = { id, done, resolve, timer: setTimeout(() => this.endReset(id, true), WAL_RESET_TIMEOUT_MS) };
    this.worker.postMessage(id satisfies CheckpointRequest);
  }

  /** Let writes go on after reset `id`; `here` runs the checkpoint on this thread first (the worker did not). */
  private endReset(id: number, here: boolean): void {
    const r = this.reset;
    if (!r || r.id !== id) return;
    if (here && this.raw.open) {
      try {
        this.raw.pragma('wal_checkpoint(PASSIVE)');
      } catch {
        // The worker's next pass (or the next reset) tries again.
      }
    }
    clearTimeout(r.timer);
    this.reset = null;
    r.resolve();
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}
