/**
 * Web Push subscriptions (C18, docs/notifications.md): at most one per device, and an endpoint
 * belongs to one device. The server keeps the endpoint and the subscription's public key and auth
 * secret, which let it encrypt a wake-up for that browser; they reveal nothing of any message.
 */
import type { Db, StoreContext } from './driver.ts';
import { isUniqueViolation, num, u8 } from './rows.ts';

/** One device's push subscription as stored. */
export interface PushSubscriptionRow {
  deviceId: string;
  accountId: string;
  /** The push service URL the browser gave (RFC 8030 push resource). */
  endpoint: string;
  /** The browser's P-256 public key, uncompressed (65 bytes). */
  p256dh: Uint8Array;
  /** The browser's authentication secret (16 bytes). */
  auth: Uint8Array;
  updatedAt: number;
}

/** What setting a subscription did. */
export type PutPushResult = 'stored' | 'endpoint_in_use';

/** Push subscriptions, one per device (C18). */
export interface PushStore {
  /**
   * Set or replace the device's subscription. Refused (`endpoint_in_use`, nothing changed) when the
   * endpoint is held by another device.
   */
  putSubscription(row: PushSubscriptionRow): Promise<PutPushResult>;
  /** The device's subscription, or null. */
  getSubscription(deviceId: string): Promise<PushSubscriptionRow | null>;
  /** The subscriptions of those of `deviceIds` that have one (the push fan-out reads these). */
  subscriptionsOf(deviceIds: readonly string[]): Promise<PushSubscriptionRow[]>;
  /** Delete the device's subscription; true when there was one. */
  deleteSubscription(deviceId: string): Promise<boolean>;
  /**
   * Delete the device's subscription only while it still names `endpoint` (the push service said
   * that endpoint is gone; a newer subscription set meanwhile stays). True when deleted.
   */
  deleteIfEndpoint(deviceId: string, endpoint: string): Promise<boolean>;
}

type Row = {
  device_id: string;
  account_id: string;
  endpoint: string;
  p256dh: Uint8Array;
  auth: Uint8Array;
  updated_at: number | string | bigint;
};

const fromRow = (r: Row): PushSubscriptionRow => ({
  deviceId: r.device_id,
  accountId: r.account_id,
  endpoint: r.endpoint,
  p256dh: u8(r.p256dh),
  auth: u8(r.auth),
  updatedAt: num(r.updated_at),
});

/** Sizes of `IN (…)` lists the fan-out reads in one query. */
const CHUNK = 500;

/** PushStore over Kysely, shared by both drivers. */
export class KyselyPushStore implements PushStore {
  private readonly db: Db;

  constructor(private readonly ctx: StoreContext) {
    this.db = ctx.db;
  }

  async putSubscription(row: PushSubscriptionRow): Promise<PutPushResult> {
    try {
      return await this.ctx.transact(async (tx) => {
        const holder = await tx
          .selectFrom('push_subscriptions')
          .select('device_id')
          .where('endpoint', '=', row.endpoint)
          .executeTakeFirst();
        if (holder && holder.device_id !== row.deviceId) return 'endpoint_in_use';
        await tx
          .insertInto('push_subscriptions')
          .values({
            device_id: row.deviceId,
            account_id: row.accountId,
            endpoint: row.endpoint,
            p256dh: row.p256dh,
            auth: row.auth,
            updated_at: row.updatedAt,
          })
          .onConflict((oc) =>
            oc.column('device_id').doUpdateSet({
              endpoint: row.endpoint,
              p256dh: row.p256dh,
              auth: row.auth,
              updated_at: row.updatedAt,
            }),
          )
          .execute();
        return 'stored' as const;
      });
    } catch (e) {
      // Two devices racing for one endpoint: the unique index lets only the first in.
      if (isUniqueViolation(e)) return 'endpoint_in_use';
      throw e;
    }
  }

  async getSubscription(deviceId: string): Promise<PushSubscriptionRow | null> {
    const r = await this.db
      .selectFrom('push_subscriptions')
      .selectAll()
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    return r ? fromRow(r) : null;
  }

  async subscriptionsOf(deviceIds: readonly string[]): Promise<PushSubscriptionRow[]> {
    const out: PushSubscriptionRow[] = [];
    for (let i = 0; i < deviceIds.length; i += CHUNK) {
      const rows = await this.db
        .selectFrom('push_subscriptions')
        .selectAll()
        .where('device_id', 'in', deviceIds.slice(i, i + CHUNK))
        .execute();
      for (const r of rows) out.push(fromRow(r));
    }
    return out;
  }

  async deleteSubscription(deviceId: string): Promise<boolean> {
    const r = await this.db.deleteFrom('push_subscriptions').where('device_id', '=', deviceId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async deleteIfEndpoint(deviceId: string, endpoint: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('push_subscriptions')
      .where('device_id', '=', deviceId)
      .where('endpoint', '=', endpoint)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
