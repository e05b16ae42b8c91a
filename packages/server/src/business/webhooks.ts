/**
 * Webhooks (C10, docs/business.md "Webhooks"): what a business hears about its chats, in the Cloud
 * API's envelope, signed with its app secret (`X-Hub-Signature-256`) over exactly the bytes sent,
 * which are ASCII-only JSON. Events go into a durable queue on the server's storage first (so a
 * send never waits for a receiver), then a worker POSTs them: in order per conversation, each POST
 * with a deadline, failures retried with exponential backoff until a day has passed. The queue is
 * also the delivery log the operator reads (`parley business webhooks`).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { asciiJson, type BusinessWebhookEnvelope, type BusinessWebhookValue } from '@parley/protocol';
import type { Logger } from 'pino';
import type { Storage, WebhookJobRow } from '../storage/types.ts';
import { businessAppSecretName, type BusinessNumberRow } from '../storage/business.ts';
import type { ServerSecrets } from '../services/server-secrets.ts';
import type { HostedEvent } from './hosted.ts';

/** How long a webhook event is retried before it is marked failed. */
export const WEBHOOK_RETRY_FOR_MS = 24 * 3_600_000;
/** Longest wait between two attempts. */
export const WEBHOOK_MAX_BACKOFF_MS = 3_600_000;
/** Deadline of one POST (and of the verification GET). */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** POSTs in flight at once (each to a different conversation). */
const PARALLEL = 16;
/** While a POST is in flight, other processes leave its job alone this long. */
const LEASE_MS = WEBHOOK_TIMEOUT_MS * 3;

/** The id of a business message as the Cloud API shows it: the chat and Parley's message id. */
export function wamidOf(conversationId: string, messageId: string): string {
  return `wamid.${conversationId}.${messageId}`;
}

/** The chat and message of a wamid, or null when it is not one of Parley's. */
export function parseWamid(wamid: string): { conversationId: string; messageId: string } | null {
  const m = /^wamid\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{1,64})$/.exec(wamid);
  return m ? { conversationId: m[1]!, messageId: m[2]! } : null;
}

/** The number without its `+`: the Cloud API's `wa_id`. */
export const waId = (phone: string): string => phone.replace(/^\+/, '');

/** `sha256=<hex>` over the exact body bytes. */
export function webhookSignature(appSecret: string, body: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(body, 'utf8').digest('hex')}`;
}

/** Sortable ids: the clock, then a counter within one millisecond, then randomness. */
let lastMs = 0;
let counter = 0;
export function jobId(now: number): string {
  if (now > lastMs) {
    lastMs = now;
    counter = 0;
  } else counter++;
  return `${lastMs.toString(36).padStart(10, '0')}${counter.toString(36).padStart(5, '0')}${randomBytes(3).toString('hex')}`;
}

/** The message object of an inbound user message, by what it carries. */
function inboundMessage(e: Extract<HostedEvent, { type: 'message' }>, businessWaId: string): Record<string, unknown> {
  const base: Record<string, unknown> = {
    id: wamidOf(e.conversationId, e.messageId),
    timestamp: String(Math.floor(e.at / 1000)),
  };
  if (e.replyTo) base.context = { from: businessWaId, id: wamidOf(e.conversationId, e.replyTo) };
  const b = e.business;
  if (b?.kind === 'interactive-reply') {
    base.context = { from: businessWaId, id: wamidOf(e.conversationId, b.messageId) };
    return {
      ...base,
      type: 'interactive',
      interactive: {
        type: b.replyType,
        [b.replyType]: { id: b.id, title: b.title, ...(b.description ? { description: b.description } : {}) },
      },
    };
  }
  if (b?.kind === 'location')
    return {
      ...base,
      type: 'location',
      location: {
        latitude: b.latitude,
        longitude: b.longitude,
        ...(b.name ? { name: b.name } : {}),
        ...(b.address ? { address: b.address } : {}),
      },
    };
  if (e.attachment) {
    const type =
      e.attachment.kind === 'image'
        ? 'image'
        : e.attachment.kind === 'voice'
          ? 'audio'
          : e.attachment.kind === 'video'
            ? 'video'
            : 'document';
    return {
      ...base,
      type,
      [type]: {
        mime_type: e.attachment.mime,
        file_size: e.attachment.size,
        ...(e.attachment.caption ? { caption: e.attachment.caption } : {}),
      },
    };
  }
  return { ...base, type: 'text', text: { body: e.text } };
}

/** Builds webhook bodies from hosted-device events and queues them; delivers the queue. */
export class BusinessWebhooks {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly storage: Storage,
    private readonly secrets: ServerSecrets,
    private readonly log: Logger,
    private readonly now: () => number,
    /** The first retry's wait; each later one doubles it (PARLEY_BUSINESS_WEBHOOK_RETRY_MS). */
    private readonly retryBaseMs: number,
    private readonly fetchFn: typeof fetch = fetch,
  ) {}

  /** Queue what a hosted device reported, when its business has a webhook. */
  async fromHostedEvent(e: HostedEvent): Promise<void> {
    // A marketing preference is no message to the business: rules.ts reports it as user_preferences.
    if (e.type === 'message' && e.business?.kind === 'marketing-preference') return;
    const number = await this.storage.business.getNumber(e.phoneNumberId);
    if (!number) return;
    const business = await this.storage.business.getBusiness(number.businessId);
    if (!business?.webhookUrl) return;
    const userId = e.type === 'status' ? e.recipient : e.from;
    const user = await this.storage.accounts.getAccount(userId);
    if (!user) return;
    const value = this.value(number);
    if (e.type === 'status')
      value.statuses = [
        {
          id: wamidOf(e.conversationId, e.messageId),
          status: e.status,
          timestamp: String(Math.floor(e.at / 1000)),
          recipient_id: waId(user.phone),
        },
      ];
    else {
      value.contacts = [{ profile: { name: waId(user.phone) }, wa_id: waId(user.phone) }];
      value.messages = [
        e.type === 'reaction'
          ? {
              from: waId(user.phone),
              id: `wamid.${e.conversationId}.r${randomBytes(8).toString('hex')}`,
              timestamp: String(Math.floor(e.at / 1000)),
              type: 'reaction',
              reaction: { message_id: wamidOf(e.conversationId, e.messageId), emoji: e.emoji },
            }
          : { from: waId(user.phone), ...inboundMessage(e, waId(number.phone)) },
      ];
    }
    await this.enqueue(number, e.conversationId, e.type === 'status' ? `status:${e.status}` : e.type, value);
  }

  /** Queue a `failed` status: the message never reached the user (131026). */
  async failed(number: BusinessNumberRow, wamid: string, to: string, details: string): Promise<void> {
    const business = await this.storage.business.getBusiness(number.businessId);
    if (!business?.webhookUrl) return;
    const value = this.value(number);
    value.statuses = [
      {
        id: wamid,
        status: 'failed',
        timestamp: String(Math.floor(this.now() / 1000)),
        recipient_id: waId(to),
        errors: [
          { code: 131026, title: 'Message Undeliverable', message: 'Message Undeliverable', error_data: { details } },
        ],
      },
    ];
    await this.enqueue(number, `to:${waId(to)}`, 'status:failed', value);
  }

  /** Queue a `user_preferences` change: the user stopped or resumed the number's marketing messages. */
  async userPreference(phoneNumberId: string, accountId: string, value: 'stop' | 'resume', at: number): Promise<void> {
    const number = await this.storage.business.getNumber(phoneNumberId);
    if (!number) return;
    const business = await this.storage.business.getBusiness(number.businessId);
    const user = await this.storage.accounts.getAccount(accountId);
    if (!business?.webhookUrl || !user) return;
    const wa = waId(user.phone);
    const v = this.value(number);
    v.contacts = [{ profile: { name: wa }, wa_id: wa }];
    v.user_preferences = [
      {
        wa_id: wa,
        detail:
          value === 'stop'
            ? 'User requested to stop marketing messages'
            : 'User requested to resume marketing messages',
        category: 'marketing_messages',
        value,
        timestamp: Math.floor(at / 1000),
      },
    ];
    await this.enqueue(number, `to:${wa}`, `preference:${value}`, v, 'user_preferences');
  }

  private value(number: BusinessNumberRow): BusinessWebhookValue {
    return {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: waId(number.phone), phone_number_id: number.id },
    };
  }

  private async enqueue(
    number: BusinessNumberRow,
    orderKey: string,
    kind: string,
    value: BusinessWebhookValue,
    field: 'messages' | 'user_preferences' = 'messages',
  ): Promise<void> {
    const envelope: BusinessWebhookEnvelope = {
      object: 'whatsapp_business_account',
      entry: [{ id: number.businessId, changes: [{ field, value }] }],
    };
    const now = this.now();
    const body = asciiJson(envelope);
    await this.storage.businessMessages.enqueueWebhook({
      id: jobId(now),
      businessId: number.businessId,
      orderKey: `${number.id}:${orderKey}`,
      kind,
      body,
      bytes: body.length,
      state: 'pending',
      attempts: 0,
      createdAt: now,
      nextAt: now,
      doneAt: null,
      lastStatus: null,
      lastError: null,
    });
    this.kick();
  }

  /** Start the worker (it also picks up what an earlier process left queued). */
  start(intervalMs = 500): void {
    this.timer = setInterval(() => this.kick(), intervalMs);
    this.timer.unref();
    this.kick();
  }

  /** Run a pass now unless one is running (it loops while work is due). */
  kick(): void {
    if (this.stopped || this.running) return;
    this.running = this.pass()
      .catch((err: unknown) => this.log.warn({ err }, 'webhook pass failed'))
      .finally(() => {
        this.running = null;
      });
  }

  private async pass(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const due = (await this.storage.businessMessages.dueWebhooks(this.now(), PARALLEL)).filter(
        (j) => !this.inFlight.has(j.id),
      );
      if (!due.length) return;
      await Promise.all(due.map((j) => this.attempt(j)));
    }
  }

  private async attempt(job: WebhookJobRow): Promise<void> {
    const now = this.now();
    // Claimed for the length of one POST, so another process (or a crash) does not lose or double it.
    if (!(await this.storage.businessMessages.claimWebhook(job.id, job.nextAt, now + LEASE_MS))) return;
    this.inFlight.add(job.id);
    try {
      const business = await this.storage.business.getBusiness(job.businessId);
      let status: number | null = null;
      let error: string | null = null;
      if (!business?.webhookUrl) error = 'no webhook URL';
      else {
        const secret = Buffer.from(
          await this.secrets.getOrCreate(businessAppSecretName(business.id), () => randomBytes(16)),
        ).toString('hex');
        try {
          const res = await this.fetchFn(business.webhookUrl, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'x-hub-signature-256': webhookSignature(secret, job.body),
              'user-agent': 'Parley-Webhooks/1',
            },
            body: job.body,
            redirect: 'manual',
            signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
          });
          status = res.status;
          await res.body?.cancel().catch(() => undefined);
          if (status < 200 || status >= 300) error = `HTTP ${status}`;
        } catch (e) {
          error =
            (e as Error).name === 'TimeoutError' ? `no answer within ${WEBHOOK_TIMEOUT_MS} ms` : (e as Error).message;
        }
      }
      const attempts = job.attempts + 1;
      const at = this.now();
      if (error === null)
        await this.storage.businessMessages.finishWebhook(job.id, {
          state: 'delivered',
          attempts,
          nextAt: at,
          doneAt: at,
          status,
          error,
        });
      else {
        const wait = Math.min(this.retryBaseMs * 2 ** (attempts - 1), WEBHOOK_MAX_BACKOFF_MS);
        const giveUp = at + wait - job.createdAt > WEBHOOK_RETRY_FOR_MS;
        await this.storage.businessMessages.finishWebhook(job.id, {
          state: giveUp ? 'failed' : 'pending',
          attempts,
          nextAt: at + wait,
          doneAt: giveUp ? at : null,
          status,
          error: error.slice(0, 500),
        });
      }
    } finally {
      this.inFlight.delete(job.id);
    }
  }

  /** Stop the worker and wait for the POSTs in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}

/**
 * The verification handshake of a newly registered webhook URL: a GET with `hub.mode=subscribe`,
 * the business's verify token and a random challenge, which the receiver must echo as its body.
 */
export async function verifyWebhookUrl(url: string, verifyToken: string, fetchFn: typeof fetch = fetch): Promise<void> {
  const challenge = randomBytes(16).toString('hex');
  const u = new URL(url);
  u.searchParams.set('hub.mode', 'subscribe');
  u.searchParams.set('hub.verify_token', verifyToken);
  u.searchParams.set('hub.challenge', challenge);
  let res: Response;
  try {
    res = await fetchFn(u, { redirect: 'manual', signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS) });
  } catch (e) {
    throw new Error(`the webhook URL did not answer the verification request: ${(e as Error).message}`);
  }
  const body = (await res.text()).trim();
  if (res.status !== 200 || body !== challenge)
    throw new Error(`the webhook URL did not echo the challenge (HTTP ${res.status})`);
}

/** One line of the delivery log, as the operator reads it. */
export function logEntry(j: WebhookJobRow): Record<string, unknown> {
  return {
    id: j.id,
    kind: j.kind,
    state: j.state,
    attempts: j.attempts,
    createdAt: j.createdAt,
    nextAt: j.state === 'pending' ? j.nextAt : null,
    doneAt: j.doneAt,
    lastStatus: j.lastStatus,
    lastError: j.lastError,
    bytes: j.bytes,
  };
}
