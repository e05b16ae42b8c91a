/**
 * PostgreSQL driver (C19 scale-out). Correct under several server processes: a commit locks its
 * conversation row (`SELECT … FOR UPDATE`) so exactly one commit per epoch wins, and appends lock
 * the conversations they touch in a fixed order (sorted ids) so `seq` stays gap-free without
 * deadlocks between processes.
 *
 * A batch of sends costs a fixed number of round trips, not a few per message: one query finds
 * the duplicates of the whole batch, one moves every touched conversation's counter, one inserts
 * the messages and one the queue entries (arrays passed as single parameters, so a batch of group
 * messages never runs into PostgreSQL's limit of 65,535 parameters). Acknowledgements arriving in
 * the same event-loop turn are deleted by one statement. Per message, a round trip to the
 * database costs far more than the row itself, which kept this driver near 1,000 messages/s.
 * Everything this driver does differently lives in this file: the send path and `postgresTraits`.
 */
import pg from 'pg';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import type { Tables } from './tables.ts';
import { KyselyStorage } from './kysely-store.ts';
import { kyselyTokenLookup } from './accounts.ts';
import { kyselySendReads, toMessage, type SendPath } from './conversations.ts';
import type { DriverTraits, StoreContext } from './driver.ts';
import { StorageConflict, type AppendResult, type MessageRow, type NewMessage } from './types.ts';
import { AckQueue, type QueuedAck } from './ack-queue.ts';

/** Messages per multi-row insert (10 parameters each, well under PostgreSQL's limit). */
const INSERT_CHUNK = 1000;

type Tx = Transaction<Tables>;

/**
 * Several processes run transactions at once: read-then-write sequences lock the rows (or the
 * table) they depend on; replaced secrets leave with a rewrite of their table.
 */
export const postgresTraits: DriverTraits = {
  forUpdate: (q) => q.forUpdate(),
  forUpdateSkipLocked: (q) => q.forUpdate().skipLocked(),
  async lockAccount(tx, accountId) {
    await tx.selectFrom('accounts').select('id').where('id', '=', accountId).forUpdate().executeTakeFirst();
  },
  async lockKtLog(tx) {
    await sql`lock table kt_leaves in exclusive mode`.execute(tx);
  },
  overwriteSecurely: (_db, update) => update(),
  async purgeReplacedSecrets(db) {
    await sql`vacuum full server_secrets`.execute(db);
  },
};

/** The PostgreSQL send path: a batch in a fixed number of round trips, acks of one turn in one statement. */
class PostgresSendPath implements Pick<SendPath, 'appendMessages' | 'ackDeliveries'> {
  constructor(private readonly db: Kysely<Tables>) {}

  async appendMessages(batch: NewMessage[]): Promise<AppendResult[]> {
    const ids = [...new Set(batch.map((m) => m.conversationId))].sort();
    return this.db.transaction().execute(async (tx) => {
      // Take the row locks in one sorted pass first; the counter update then never waits on
      // another process in an order that could deadlock.
      if (ids.length > 1)
        await sql`select id from conversations where id = any(${ids}) order by id for update`.execute(tx);
      return appendBatch(tx, batch);
    });
  }

  /** Acks of one event-loop turn: one statement (and one commit) for all of them. */
  private readonly acks = new AckQueue((q) => this.writeAcks(q));

  ackDeliveries(deviceId: string, cursors: number[]): Promise<number> {
    return this.acks.add(deviceId, cursors);
  }

  private async writeAcks(q: QueuedAck[]): Promise<void> {
    const devices: string[] = [];
    const cursors: string[] = [];
    for (const a of q)
      for (const c of a.cursors) {
        devices.push(a.deviceId);
        cursors.push(String(c));
      }
    try {
      const { rows } = await sql<{ device_id: string; cursor: string | number }>`
        delete from deliveries d using unnest(${devices}::text[], ${cursors}::bigint[]) as k(device_id, cursor)
        where d.device_id = k.device_id and d.cursor = k.cursor returning d.device_id, d.cursor`.execute(this.db);
      const deleted = new Set(rows.map((r) => `${r.device_id} ${r.cursor}`));
      for (const a of q) {
        // A cursor acknowledged twice in one turn is counted once, by the first ack that names it.
        let n = 0;
        for (const c of a.cursors) if (deleted.delete(`${a.deviceId} ${c}`)) n++;
        a.resolve(n);
      }
    } catch (e) {
      for (const a of q) a.reject(e);
    }
  }
}

/**
 * The whole batch inside one transaction: results in batch order, exactly as appending the
 * messages one by one would give (a repeat of a client message id, in the database or earlier in
 * the batch, is a duplicate of the stored one; seqs are gap-free per conversation in batch order).
 */
async function appendBatch(tx: Tx, batch: NewMessage[]): Promise<AppendResult[]> {
  const key = (device: string, clientId: string) => `${device} ${clientId}`;
  const { rows: found } = await sql<Tables['messages']>`
    select m.* from messages m join unnest(${batch.map((m) => m.senderDevice)}::text[], ${batch.map((m) => m.clientMessageId)}::text[]) as k(sender_device, client_message_id)
    on m.sender_device = k.sender_device and m.client_message_id = k.client_message_id`.execute(tx);
  const earlier = new Map<string, Omit<MessageRow, 'payload'>>(
    found.map((r) => {
      const { payload: _p, ...m } = toMessage(r);
      return [key(m.senderDevice, m.clientMessageId), m];
    }),
  );

  // Which messages are new (the first of each client id not stored yet), and how many per conversation.
  const fresh: NewMessage[] = [];
  const perConversation = new Map<string, number>();
  /** Client key → id of the batch's first message with it. */
  const firstId = new Map<string, string>();
  for (const m of batch) {
    const k = key(m.senderDevice, m.clientMessageId);
    if (earlier.has(k) || firstId.has(k)) continue;
    firstId.set(k, m.id);
    fresh.push(m);
    perConversation.set(m.conversationId, (perConversation.get(m.conversationId) ?? 0) + 1);
  }

  const nextSeq = new Map<string, number>();
  if (perConversation.size) {
    const convIds = [...perConversation.keys()];
    const { rows } = await sql<{ id: string; next_seq: string | number }>`
      update conversations c set next_seq = c.next_seq + x.n
      from unnest(${convIds}::text[], ${convIds.map((id) => perConversation.get(id)!)}::bigint[]) as x(id, n)
      where c.id = x.id returning c.id, c.next_seq`.execute(tx);
    if (rows.length !== convIds.length) throw new StorageConflict('not_found');
    for (const r of rows) nextSeq.set(r.id, Number(r.next_seq) - perConversation.get(r.id)!);
  }

  const byMessageId = new Map<string, AppendResult>();
  const rows = fresh.map((m) => {
    const seq = nextSeq.get(m.conversationId)!;
    nextSeq.set(m.conversationId, seq + 1);
    const { payload: _p, recipients: _r, ...rest } = m;
    const result: AppendResult = { message: { ...rest, seq }, duplicate: false, deliveries: [] };
    byMessageId.set(m.id, result);
    return {
      id: m.id,
      conversation_id: m.conversationId,
      seq,
      kind: m.kind,
      epoch: m.epoch,
      sender_account: m.senderAccount,
      sender_device: m.senderDevice,
      client_message_id: m.clientMessageId,
      payload: m.payload,
      sent_at: m.sentAt,
    };
  });
  for (let i = 0; i < rows.length; i += INSERT_CHUNK)
    await tx
      .insertInto('messages')
      .values(rows.slice(i, i + INSERT_CHUNK))
      .execute();

  // Disappearing messages (C17): their expiries, for the sweeper.
  const expiring = fresh.filter((m) => m.expiresAt !== undefined);
  if (expiring.length)
    await tx
      .insertInto('message_expiries')
      .values(expiring.map((m) => ({ message_id: m.id, expires_at: m.expiresAt! })))
      .execute();

  // Queue entries in batch order, so each device's cursors follow the order of its messages.
  const devices: string[] = [];
  const messages: string[] = [];
  for (const m of fresh)
    for (const d of m.recipients) {
      devices.push(d);
      messages.push(m.id);
    }
  if (devices.length) {
    const { rows: queued } = await sql<{ cursor: string | number; device_id: string; message_id: string }>`
      insert into deliveries (device_id, message_id)
      select device_id, message_id from unnest(${devices}::text[], ${messages}::text[]) with ordinality as u(device_id, message_id, i) order by i
      returning cursor, device_id, message_id`.execute(tx);
    for (const q of queued)
      byMessageId.get(q.message_id)!.deliveries.push({ deviceId: q.device_id, cursor: Number(q.cursor) });
    for (const r of byMessageId.values()) r.deliveries.sort((a, b) => a.cursor - b.cursor);
  }

  return batch.map((m): AppendResult => {
    const own = byMessageId.get(m.id);
    if (own) return own;
    // A repeat: of a stored message, or of one earlier in this batch.
    const k = key(m.senderDevice, m.clientMessageId);
    return { message: earlier.get(k) ?? byMessageId.get(firstId.get(k)!)!.message, duplicate: true, deliveries: [] };
  });
}

/**
 * Connect a pool to PostgreSQL at `url`. `onIdleError` hears about idle connections the database
 * dropped (a restart, an administrator's terminate); the pool replaces them on the next query, so
 * such an error must never take the process down as an unhandled 'error' event.
 */
export async function createPostgresStorage(opts: {
  url: string;
  poolSize?: number;
  onIdleError?: (err: Error) => void;
}): Promise<KyselyStorage> {
  const pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 10 });
  pool.on('error', (err) => opts.onIdleError?.(err));
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  const ctx: StoreContext = { db, transact: (fn) => db.transaction().execute(fn), traits: postgresTraits };
  const send = new PostgresSendPath(db);
  const sendPath: SendPath = {
    ...kyselySendReads(db),
    appendMessages: (batch) => send.appendMessages(batch),
    ackDeliveries: (deviceId, cursors) => send.ackDeliveries(deviceId, cursors),
  };
  return new KyselyStorage(ctx, 'postgres', { sendPath, tokens: kyselyTokenLookup(db) });
}
