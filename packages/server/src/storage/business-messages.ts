/**
 * Business messages (C10, docs/business.md): the state of each hosted business device (its device
 * store's values, sealed by the caller before they get here) and the webhook job queue. A job is
 * one webhook POST with its exact bytes; it stays after delivery (or after giving up), its body
 * emptied, as the business's delivery log. Jobs of one conversation (`orderKey`) go out in id order: a later one
 * waits while an earlier one is pending.
 */
import type { Tables } from './tables.ts';
import type { Db, StoreContext } from './driver.ts';
import { num, u8 } from './rows.ts';

/** Where a webhook job is. */
export type WebhookJobState = 'pending' | 'delivered' | 'failed';

/** One webhook POST, queued or done. */
export interface WebhookJobRow {
  /** Sortable: the queue's order. */
  id: string;
  businessId: string;
  orderKey: string;
  /** `message`, `reaction`, `status:<status>`: what the log shows. */
  kind: string;
  /** The exact bytes to POST; empty once the job is done (delivered or failed): the log keeps no content. */
  body: string;
  /** The body's length. */
  bytes: number;
  state: WebhookJobState;
  attempts: number;
  createdAt: number;
  nextAt: number;
  doneAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
}

/** The business-messages half of storage (reached as `storage.businessMessages`). */
export interface BusinessMessageStore {
  getDeviceValue(phoneNumberId: string, key: string): Promise<Uint8Array | undefined>;
  setDeviceValue(phoneNumberId: string, key: string, value: Uint8Array): Promise<void>;
  deleteDeviceValue(phoneNumberId: string, key: string): Promise<void>;
  deviceKeys(phoneNumberId: string, prefix: string): Promise<string[]>;
  /** True when the number's hosted device has stored anything (it registered). */
  hasDevice(phoneNumberId: string): Promise<boolean>;
  enqueueWebhook(job: WebhookJobRow): Promise<void>;
  /**
   * Pending jobs that may go now: due, and the oldest pending one of their conversation; at most
   * `limit`, oldest first.
   */
  dueWebhooks(now: number, limit: number): Promise<WebhookJobRow[]>;
  /**
   * Take a pending job for one attempt: true when its `nextAt` was still `expectedNextAt` (no other
   * process took it), and then it is left alone until `leaseUntil`.
   */
  claimWebhook(id: string, expectedNextAt: number, leaseUntil: number): Promise<boolean>;
  /** Record an attempt's outcome: delivered, failed for good, or pending again until `nextAt`. */
  finishWebhook(
    id: string,
    outcome: {
      state: WebhookJobState;
      attempts: number;
      nextAt: number;
      doneAt: number | null;
      status: number | null;
      error: string | null;
    },
  ): Promise<void>;
  /** A business's delivery log, newest first. */
  webhookLog(businessId: string, limit: number): Promise<WebhookJobRow[]>;
}

function toJob(r: Tables['business_webhook_jobs']): WebhookJobRow {
  return {
    id: r.id,
    businessId: r.business_id,
    orderKey: r.order_key,
    kind: r.kind,
    body: r.body,
    bytes: num(r.bytes),
    state: r.state as WebhookJobState,
    attempts: num(r.attempts),
    createdAt: num(r.created_at),
    nextAt: num(r.next_at),
    doneAt: r.done_at === null ? null : num(r.done_at),
    lastStatus: r.last_status === null ? null : num(r.last_status),
    lastError: r.last_error,
  };
}

/** How many pending jobs one scan reads to find the heads of their conversations. */
const SCAN = 1_000;

/** BusinessMessageStore over Kysely, shared by both drivers. */
export class KyselyBusinessMessageStore implements BusinessMessageStore {
  private readonly db: Db;

  constructor(ctx: StoreContext) {
    this.db = ctx.db;
  }

  async getDeviceValue(phoneNumberId: string, key: string): Promise<Uint8Array | undefined> {
    const r = await this.db
      .selectFrom('business_device_state')
      .select('value')
      .where('phone_number_id', '=', phoneNumberId)
      .where('key', '=', key)
      .executeTakeFirst();
    return r ? u8(r.value) : undefined;
  }

  async setDeviceValue(phoneNumberId: string, key: string, value: Uint8Array): Promise<void> {
    await this.db
      .insertInto('business_device_state')
      .values({ phone_number_id: phoneNumberId, key, value })
      .onConflict((oc) => oc.columns(['phone_number_id', 'key']).doUpdateSet({ value }))
      .execute();
  }

  async deleteDeviceValue(phoneNumberId: string, key: string): Promise<void> {
    await this.db
      .deleteFrom('business_device_state')
      .where('phone_number_id', '=', phoneNumberId)
      .where('key', '=', key)
      .execute();
  }

  async deviceKeys(phoneNumberId: string, prefix: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('business_device_state')
      .select('key')
      .where('phone_number_id', '=', phoneNumberId)
      .execute();
    return rows.map((r) => r.key).filter((k) => k.startsWith(prefix));
  }

  async hasDevice(phoneNumberId: string): Promise<boolean> {
    const r = await this.db
      .selectFrom('business_device_state')
      .select('key')
      .where('phone_number_id', '=', phoneNumberId)
      .limit(1)
      .executeTakeFirst();
    return r !== undefined;
  }

  async enqueueWebhook(job: WebhookJobRow): Promise<void> {
    await this.db
      .insertInto('business_webhook_jobs')
      .values({
        id: job.id,
        business_id: job.businessId,
        order_key: job.orderKey,
        kind: job.kind,
        body: job.body,
        bytes: job.bytes,
        state: job.state,
        attempts: job.attempts,
        created_at: job.createdAt,
        next_at: job.nextAt,
        done_at: job.doneAt,
        last_status: job.lastStatus,
        last_error: job.lastError,
      })
      .execute();
  }

  async dueWebhooks(now: number, limit: number): Promise<WebhookJobRow[]> {
    const rows = await this.db
      .selectFrom('business_webhook_jobs')
      .selectAll()
      .where('state', '=', 'pending')
      .orderBy('id')
      .limit(SCAN)
      .execute();
    // Only the head of each conversation may go, and only once it is due.
    const seen = new Set<string>();
    const out: WebhookJobRow[] = [];
    for (const r of rows) {
      if (seen.has(r.order_key)) continue;
      seen.add(r.order_key);
      if (num(r.next_at) <= now) out.push(toJob(r));
      if (out.length >= limit) break;
    }
    return out;
  }

  async claimWebhook(id: string, expectedNextAt: number, leaseUntil: number): Promise<boolean> {
    const r = await this.db
      .updateTable('business_webhook_jobs')
      .set({ next_at: leaseUntil })
      .where('id', '=', id)
      .where('state', '=', 'pending')
      .where('next_at', '=', expectedNextAt)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async finishWebhook(
    id: string,
    o: {
      state: WebhookJobState;
      attempts: number;
      nextAt: number;
      doneAt: number | null;
      status: number | null;
      error: string | null;
    },
  ): Promise<void> {
    await this.db
      .updateTable('business_webhook_jobs')
      .set({
        state: o.state,
        // What users wrote is kept only while it still has to be delivered.
        ...(o.state === 'pending' ? {} : { body: '' }),
        attempts: o.attempts,
        next_at: o.nextAt,
        done_at: o.doneAt,
        last_status: o.status,
        last_error: o.error,
      })
      .where('id', '=', id)
      .execute();
  }

  async webhookLog(businessId: string, limit: number): Promise<WebhookJobRow[]> {
    return (
      await this.db
        .selectFrom('business_webhook_jobs')
        .selectAll()
        .where('business_id', '=', businessId)
        .orderBy('id', 'desc')
        .limit(limit)
        .execute()
    ).map(toJob);
  }
}
