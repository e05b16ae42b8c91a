/**
 * Conversations and delivery (C2, C3): conversations, membership, the handshake log (commits and
 * Welcomes, one transaction per commit), messages and per-device queues. The send path (appending
 * batches, reading and acknowledging queues, the reads that route each send) is the driver's own
 * `SendPath`: sqlite.ts with prepared statements, postgres.ts with a fixed number of round trips
 * per batch; everything else is written once here.
 */
import {
  StorageConflict,
  type AppendResult,
  type CommitInput,
  type CommitResult,
  type ConversationDeviceRow,
  type ConversationRow,
  type ConversationStore,
  type MemberRow,
  type MessageKind,
  type MessageRow,
  type NewMessage,
  type PendingDelivery,
} from './types.ts';
import type { Tables } from './tables.ts';
import type { AnyDb, Db, StoreContext, Tx } from './driver.ts';
import { isUniqueViolation, num, u8 } from './rows.ts';

function toConversation(r: Tables['conversations']): ConversationRow {
  return {
    id: r.id,
    kind: r.kind as ConversationRow['kind'],
    epoch: num(r.epoch),
    createdAt: num(r.created_at),
    createdBy: r.created_by,
  };
}

/** Map a database message row (payload kept as the driver's bytes: no copy on the hot path). */
export function toMessage(r: Tables['messages']): MessageRow {
  return {
    id: r.id,
    conversationId: r.conversation_id,
    seq: num(r.seq),
    kind: r.kind as MessageKind,
    epoch: num(r.epoch),
    senderAccount: r.sender_account,
    senderDevice: r.sender_device,
    clientMessageId: r.client_message_id,
    payload: r.payload,
    sentAt: num(r.sent_at),
  };
}

function withoutPayload(m: MessageRow): Omit<MessageRow, 'payload'> {
  const { payload: _p, ...rest } = m;
  return rest;
}

/**
 * Per-conversation seq counters a driver hands out from memory (sqlite.ts). A commit reads the
 * counter through `current` and, once its transaction has written the row, reports it through
 * `written`, so later sends continue after it.
 */
export interface SeqCounters {
  /** The next seq of a conversation as handed out, or undefined when the row is current. */
  current(conversationId: string): number | undefined;
  written(conversationId: string, nextSeq: number): void;
}

/** The hot path of sending and receiving, which each driver implements in its fastest form (C3). */
export interface SendPath extends Pick<
  ConversationStore,
  | 'appendMessages'
  | 'ackDeliveries'
  | 'pendingDeliveries'
  | 'countPendingDeliveries'
  | 'getConversation'
  | 'listConversationDevices'
  | 'isDeviceInConversation'
> {
  /** Set when the driver hands out seqs from memory. */
  readonly seqs?: SeqCounters;
}

/** The reads of the send path as Kysely queries (the PostgreSQL driver's form). */
export function kyselySendReads(
  db: Db,
): Pick<
  SendPath,
  | 'pendingDeliveries'
  | 'countPendingDeliveries'
  | 'getConversation'
  | 'listConversationDevices'
  | 'isDeviceInConversation'
> {
  return {
    async pendingDeliveries(deviceId, afterCursor, limit) {
      const rows = await db
        .selectFrom('deliveries as d')
        .innerJoin('messages as m', 'm.id', 'd.message_id')
        .select([
          'd.cursor',
          'm.id',
          'm.conversation_id',
          'm.seq',
          'm.kind',
          'm.epoch',
          'm.sender_account',
          'm.sender_device',
          'm.client_message_id',
          'm.payload',
          'm.sent_at',
        ])
        .where('d.device_id', '=', deviceId)
        .where('d.cursor', '>', afterCursor)
        .orderBy('d.cursor')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ cursor: num(r.cursor), message: toMessage(r as unknown as Tables['messages']) }));
    },
    async countPendingDeliveries(deviceId) {
      const r = await db
        .selectFrom('deliveries')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('device_id', '=', deviceId)
        .executeTakeFirst();
      return num(r?.n ?? 0);
    },
    async getConversation(id) {
      const r = await db.selectFrom('conversations').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? toConversation(r) : null;
    },
    async listConversationDevices(conversationId) {
      const rows = await db
        .selectFrom('conversation_devices')
        .selectAll()
        .where('conversation_id', '=', conversationId)
        .orderBy('device_id')
        .execute();
      return rows.map((r) => ({ conversationId: r.conversation_id, deviceId: r.device_id, accountId: r.account_id }));
    },
    async isDeviceInConversation(conversationId, deviceId) {
      return Boolean(
        await db
          .selectFrom('conversation_devices')
          .select('device_id')
          .where('conversation_id', '=', conversationId)
          .where('device_id', '=', deviceId)
          .executeTakeFirst(),
      );
    },
  };
}

/** ConversationStore over Kysely, with the driver's send path. */
export class KyselyConversationStore implements ConversationStore {
  private readonly db: Db;

  constructor(
    private readonly ctx: StoreContext,
    private readonly path: SendPath,
  ) {
    this.db = ctx.db;
  }

  // ----- conversations
  async createConversation(row: ConversationRow, creatorDeviceId: string): Promise<void> {
    await this.ctx.transact(async (tx) => {
      const exists = await tx.selectFrom('conversations').select('id').where('id', '=', row.id).executeTakeFirst();
      if (exists) throw new StorageConflict('conversation_exists');
      try {
        await tx
          .insertInto('conversations')
          .values({
            id: row.id,
            kind: row.kind,
            epoch: row.epoch,
            next_seq: 1,
            created_at: row.createdAt,
            created_by: row.createdBy,
          })
          .execute();
      } catch (e) {
        if (isUniqueViolation(e)) throw new StorageConflict('conversation_exists');
        throw e;
      }
      await tx
        .insertInto('conversation_members')
        .values({ conversation_id: row.id, account_id: row.createdBy, role: 'admin' })
        .execute();
      await tx
        .insertInto('conversation_devices')
        .values({ conversation_id: row.id, device_id: creatorDeviceId, account_id: row.createdBy })
        .execute();
    });
  }

  getConversation(id: string): Promise<ConversationRow | null> {
    return this.path.getConversation(id);
  }

  async listConversationsForDevice(deviceId: string): Promise<ConversationRow[]> {
    const rows = await this.db
      .selectFrom('conversations')
      .innerJoin('conversation_devices as cd', 'cd.conversation_id', 'conversations.id')
      .selectAll('conversations')
      .where('cd.device_id', '=', deviceId)
      .orderBy('conversations.created_at')
      .execute();
    return rows.map(toConversation);
  }

  async listMembers(conversationId: string): Promise<MemberRow[]> {
    const rows = await this.db
      .selectFrom('conversation_members')
      .selectAll()
      .where('conversation_id', '=', conversationId)
      .orderBy('account_id')
      .execute();
    return rows.map((r) => ({
      conversationId: r.conversation_id,
      accountId: r.account_id,
      role: r.role as MemberRow['role'],
    }));
  }

  listConversationDevices(conversationId: string): Promise<ConversationDeviceRow[]> {
    return this.path.listConversationDevices(conversationId);
  }

  isDeviceInConversation(conversationId: string, deviceId: string): Promise<boolean> {
    return this.path.isDeviceInConversation(conversationId, deviceId);
  }

  async setRole(conversationId: string, accountId: string, role: 'admin' | 'member'): Promise<void> {
    await this.db
      .updateTable('conversation_members')
      .set({ role })
      .where('conversation_id', '=', conversationId)
      .where('account_id', '=', accountId)
      .execute();
  }

  async removeAccountFromConversation(conversationId: string, accountId: string): Promise<string[]> {
    return this.ctx.transact(async (tx) => {
      const devices = await tx
        .selectFrom('conversation_devices')
        .select('device_id')
        .where('conversation_id', '=', conversationId)
        .where('account_id', '=', accountId)
        .execute();
      await tx
        .deleteFrom('conversation_devices')
        .where('conversation_id', '=', conversationId)
        .where('account_id', '=', accountId)
        .execute();
      await tx
        .deleteFrom('conversation_members')
        .where('conversation_id', '=', conversationId)
        .where('account_id', '=', accountId)
        .execute();
      return devices.map((d) => d.device_id);
    });
  }

  /**
   * The conversation row, locked for the rest of the transaction where the driver locks rows, with
   * the counter as a driver that hands out seqs from memory has it.
   */
  private async lockConversation(tx: Tx, id: string): Promise<Tables['conversations'] | undefined> {
    const row = await this.ctx.traits
      .forUpdate(tx.selectFrom('conversations').selectAll().where('id', '=', id))
      .executeTakeFirst();
    const next = row && this.path.seqs?.current(id);
    return row && next !== undefined ? { ...row, next_seq: next } : row;
  }

  private async findDuplicate(tx: AnyDb, senderDevice: string, clientMessageId: string): Promise<MessageRow | null> {
    const r = await tx
      .selectFrom('messages')
      .selectAll()
      .where('client_message_id', '=', clientMessageId)
      .where('sender_device', '=', senderDevice)
      .executeTakeFirst();
    return r ? toMessage(r) : null;
  }

  private async insertMessage(tx: AnyDb, m: NewMessage, seq: number): Promise<AppendResult> {
    await tx
      .insertInto('messages')
      .values({
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
      })
      .execute();
    const deliveries: { deviceId: string; cursor: number }[] = [];
    if (m.recipients.length) {
      const rows = await tx
        .insertInto('deliveries')
        .values(m.recipients.map((d) => ({ device_id: d, message_id: m.id })))
        .returning(['cursor', 'device_id'])
        .execute();
      for (const r of rows) deliveries.push({ deviceId: r.device_id, cursor: num(r.cursor) });
      deliveries.sort((a, b) => a.cursor - b.cursor);
    }
    const { payload: _p, recipients: _r, ...rest } = m;
    return { message: { ...rest, seq }, duplicate: false, deliveries };
  }

  async applyCommit(input: CommitInput): Promise<CommitResult> {
    return this.ctx.transact(async (tx) => {
      const conv = await this.lockConversation(tx, input.conversationId);
      if (!conv) throw new StorageConflict('not_found');
      const dup = await this.findDuplicate(tx, input.commit.senderDevice, input.commit.clientMessageId);
      if (dup) {
        const w = input.welcome
          ? await this.findDuplicate(tx, input.welcome.senderDevice, input.welcome.clientMessageId)
          : null;
        return {
          commit: { message: withoutPayload(dup), duplicate: true, deliveries: [] },
          welcome: w ? { message: withoutPayload(w), duplicate: true, deliveries: [] } : null,
          epoch: dup.epoch + 1,
        };
      }
      if (num(conv.epoch) !== input.expectedEpoch) throw new StorageConflict('stale_epoch');
      const current = await tx
        .selectFrom('conversation_devices')
        .select(['device_id', 'account_id'])
        .where('conversation_id', '=', input.conversationId)
        .execute();
      const inConv = new Set(current.map((d) => d.device_id));
      if (input.adds.some((a) => inConv.has(a.deviceId)) || input.removes.some((r) => !inConv.has(r)))
        throw new StorageConflict('member_conflict');
      let seq = num(conv.next_seq);
      const commit = await this.insertMessage(tx, input.commit, seq++);
      if (input.removes.length) {
        await tx
          .deleteFrom('conversation_devices')
          .where('conversation_id', '=', input.conversationId)
          .where('device_id', 'in', input.removes)
          .execute();
      }
      for (const a of input.adds) {
        await tx
          .insertInto('conversation_devices')
          .values({ conversation_id: input.conversationId, device_id: a.deviceId, account_id: a.accountId })
          .execute();
      }
      // Membership follows devices: an account with no device left stops being a member.
      const left = await tx
        .selectFrom('conversation_devices')
        .select('account_id')
        .distinct()
        .where('conversation_id', '=', input.conversationId)
        .execute();
      const stillIn = new Set(left.map((r) => r.account_id));
      const members = await tx
        .selectFrom('conversation_members')
        .select('account_id')
        .where('conversation_id', '=', input.conversationId)
        .execute();
      const known = new Set(members.map((m) => m.account_id));
      const gone = [...known].filter((a) => !stillIn.has(a));
      if (gone.length)
        await tx
          .deleteFrom('conversation_members')
          .where('conversation_id', '=', input.conversationId)
          .where('account_id', 'in', gone)
          .execute();
      const fresh = [...stillIn].filter((a) => !known.has(a));
      if (fresh.length)
        await tx
          .insertInto('conversation_members')
          .values(fresh.map((a) => ({ conversation_id: input.conversationId, account_id: a, role: 'member' })))
          .execute();
      const welcome = input.welcome ? await this.insertMessage(tx, input.welcome, seq++) : null;
      const epoch = input.expectedEpoch + 1;
      await tx
        .updateTable('conversations')
        .set({ epoch, next_seq: seq })
        .where('id', '=', input.conversationId)
        .execute();
      this.path.seqs?.written(input.conversationId, seq);
      return { commit, welcome, epoch };
    });
  }

  async listCommits(conversationId: string, sinceEpoch: number): Promise<MessageRow[]> {
    const rows = await this.db
      .selectFrom('messages')
      .selectAll()
      .where('conversation_id', '=', conversationId)
      .where('kind', '=', 'commit')
      .where('epoch', '>=', sinceEpoch)
      .orderBy('epoch')
      .execute();
    return rows.map((r) => ({ ...toMessage(r), payload: u8(r.payload) }));
  }

  // ----- messages and queues: the driver's send path
  appendMessages(batch: NewMessage[]): Promise<AppendResult[]> {
    return this.path.appendMessages(batch);
  }

  pendingDeliveries(deviceId: string, afterCursor: number, limit: number): Promise<PendingDelivery[]> {
    return this.path.pendingDeliveries(deviceId, afterCursor, limit);
  }

  async countAllPendingDeliveries(): Promise<number> {
    const r = await this.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    return num(r?.n ?? 0);
  }

  countPendingDeliveries(deviceId: string): Promise<number> {
    return this.path.countPendingDeliveries(deviceId);
  }

  async expireMessages(now: number, limit: number): Promise<{ messages: number; deliveries: number }> {
    const due = await this.db
      .selectFrom('message_expiries')
      .select('message_id')
      .where('expires_at', '<=', now)
      .orderBy('expires_at')
      .limit(limit)
      .execute();
    if (!due.length) return { messages: 0, deliveries: 0 };
    const ids = due.map((r) => r.message_id);
    // The bytes go, not only the reference to them: SQLite zeroes the freed space while it writes.
    return this.ctx.traits.overwriteSecurely(this.db, () =>
      this.ctx.transact(async (tx) => {
        const gone = await tx.deleteFrom('deliveries').where('message_id', 'in', ids).executeTakeFirst();
        await tx
          .updateTable('messages')
          .set({ payload: new Uint8Array(0) })
          .where('id', 'in', ids)
          .execute();
        const done = await tx.deleteFrom('message_expiries').where('message_id', 'in', ids).executeTakeFirst();
        return { messages: Number(done.numDeletedRows), deliveries: Number(gone.numDeletedRows) };
      }),
    );
  }

  ackDeliveries(deviceId: string, cursors: number[]): Promise<number> {
    return this.path.ackDeliveries(deviceId, cursors);
  }
}
