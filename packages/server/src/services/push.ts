/**
 * Web Push sender (C18, docs/notifications.md). When a message is queued for a device that has no
 * open socket anywhere, the device's browser is woken through its push service: a content-free
 * wake-up (conversation, message id, sender, time: what the server routes anyway), encrypted for
 * the subscription as RFC 8291 requires (aes128gcm) and signed with the server's VAPID key
 * (RFC 8292), both by the `web-push` library. The service worker then shows a notification from
 * what the device itself knows.
 *
 * Pushes never slow the send path: `enqueue` only appends to an in-memory queue, and a worker pool
 * of `PARLEY_PUSH_CONCURRENCY` sends them, each request under a deadline. A push service answering
 * 404 or 410 has dropped the subscription, so it is deleted; other failures are counted and
 * dropped (the device still gets every message when it next connects: pushes are only wake-ups).
 */
import { createECDH, createPublicKey } from 'node:crypto';
import type { Logger } from 'pino';
import webpush from 'web-push';
import { fromB64, toB64, type PushWake } from '@parley/protocol';
import type { Config } from '../config/index.ts';
import type { PushSubscriptionRow, Storage } from '../storage/types.ts';
import type { ServerSecrets } from './server-secrets.ts';

/** Name of the VAPID private key among the server secrets. */
export const VAPID_SECRET = 'push-vapid-p256';

/** Lifetime of a VAPID JWT (RFC 8292 allows at most 24 hours). */
const VAPID_JWT_SECONDS = 12 * 3600;

/** One wake-up to send: the device, and what was queued for it. */
export interface PushJob {
  deviceId: string;
  wake: PushWake;
}

/** What the sender counted since start (the bench and tests read these). */
export interface PushCounters {
  /** Requests the push service accepted (2xx). */
  sent: number;
  /** Requests that failed (error status, deadline, network), the subscription kept. */
  failed: number;
  /** Subscriptions deleted because the push service answered 404 or 410. */
  gone: number;
  /** Wake-ups dropped because the queue was full. */
  dropped: number;
  /** Wake-ups skipped because one for the same device and conversation was still waiting. */
  coalesced: number;
}

/** A VAPID key pair: the P-256 private scalar and its uncompressed public point. */
export interface VapidKeys {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

/** Make a fresh P-256 private key (32 bytes, left-padded as the JWT signer expects). */
function makeVapidPrivate(): Uint8Array {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const raw = ecdh.getPrivateKey();
  const out = new Uint8Array(32);
  out.set(raw, 32 - raw.length);
  return out;
}

/** The VAPID key pair made at first start and kept sealed with the server secrets. */
export async function loadVapidKeys(secrets: ServerSecrets): Promise<VapidKeys> {
  const privateKey = await secrets.getOrCreate(VAPID_SECRET, makeVapidPrivate);
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(privateKey);
  return { privateKey, publicKey: new Uint8Array(ecdh.getPublicKey()) };
}

/** Why an endpoint is refused, or null when the server may send to it. */
export function endpointProblem(endpoint: string, httpHosts: readonly string[]): string | null {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    return 'is not a URL';
  }
  if (u.username || u.password) return 'must not carry credentials';
  if (u.hash) return 'must not carry a fragment';
  const host = u.hostname.toLowerCase();
  if (u.protocol === 'http:') {
    if (!httpHosts.includes(host)) return 'must be https (plain http only to an allowed loopback host)';
    return null;
  }
  if (u.protocol !== 'https:') return 'must be https';
  // The server POSTs wherever a subscription points: never to itself or the operator's network.
  if (isInternalHost(host)) return 'must name a public host';
  return null;
}

/** Loopback, private, link-local and unspecified address literals, and `localhost`. */
function isInternalHost(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 100 && b >= 64 && b <= 127) ||
      a >= 224
    );
  }
  if (host.startsWith('[')) {
    const h = host.slice(1, -1);
    return h === '::' || h === '::1' || /^f[cd]/.test(h) || /^fe[89ab]/.test(h) || h.startsWith('::ffff:');
  }
  return false;
}

/** Decode a subscription key as browsers give it (base64url, padding tolerated), or null. */
function decodeKey(text: string): Uint8Array | null {
  const s = text.replace(/=+$/, '');
  if (!/^[A-Za-z0-9_-]+$/.test(s) || s.length % 4 === 1) return null;
  try {
    return fromB64(s);
  } catch {
    return null;
  }
}

/** The subscription's keys checked (a P-256 point on the curve, a 16-byte secret), or null. */
export function parseSubscriptionKeys(keys: { p256dh: string; auth: string }): {
  p256dh: Uint8Array;
  auth: Uint8Array;
} | null {
  const p256dh = decodeKey(keys.p256dh);
  const auth = decodeKey(keys.auth);
  if (!p256dh || !auth || p256dh.length !== 65 || p256dh[0] !== 4 || auth.length !== 16) return null;
  try {
    // Throws unless (x, y) is a point on P-256.
    createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: toB64(p256dh.subarray(1, 33)), y: toB64(p256dh.subarray(33)) },
      format: 'jwk',
    });
  } catch {
    return null;
  }
  return { p256dh, auth };
}

/** The push sender of one process. */
export class PushSender {
  private queue: PushJob[] = [];
  private head = 0;
  /** `deviceId conversationId` of the wake-ups waiting in the queue (one is enough per chat). */
  private readonly waiting = new Set<string>();
  private active = 0;
  private idleWaiters: (() => void)[] = [];
  private stopped = false;
  private vapid: VapidKeys | null = null;
  private vapidPublic = '';
  private vapidPrivate = '';
  readonly counters: PushCounters = { sent: 0, failed: 0, gone: 0, dropped: 0, coalesced: 0 };

  constructor(
    private readonly storage: Storage,
    private readonly config: Config,
    private readonly log: Logger,
  ) {}

  /** Load (or make, at first start) the VAPID keys. */
  async start(secrets: ServerSecrets): Promise<void> {
    this.vapid = await loadVapidKeys(secrets);
    this.vapidPublic = toB64(this.vapid.publicKey);
    this.vapidPrivate = toB64(this.vapid.privateKey);
  }

  /** The VAPID public key, unpadded base64url (the browser's `applicationServerKey`). */
  get publicKey(): string {
    if (!this.vapid) throw new Error('push sender used before start()');
    return this.vapidPublic;
  }

  /** Wake-ups waiting or being sent. */
  get pending(): number {
    return this.queue.length - this.head + this.active;
  }

  /** Queue wake-ups; returns at once (the send path never waits for a push service). */
  enqueue(jobs: readonly PushJob[]): void {
    if (this.stopped || !this.config.push) return;
    for (const job of jobs) {
      const key = `${job.deviceId} ${job.wake.conversationId}`;
      if (this.waiting.has(key)) {
        this.counters.coalesced++;
        continue;
      }
      if (this.queue.length - this.head >= this.config.pushQueueMax) {
        const old = this.queue[this.head++]!;
        this.waiting.delete(`${old.deviceId} ${old.wake.conversationId}`);
        this.counters.dropped++;
      }
      this.waiting.add(key);
      this.queue.push(job);
    }
    this.pumpSoon();
  }

  /** Resolves once nothing waits or is in flight (tests and the bench). */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Stop taking wake-ups; waits for requests in flight (each is under its deadline). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.counters.dropped += this.queue.length - this.head;
    this.queue = [];
    this.head = 0;
    this.waiting.clear();
    if (this.active) await this.idle();
  }

  private scheduled = false;

  /** Start workers after this turn, so one batch's wake-ups share one subscription read. */
  private pumpSoon(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.pump();
    });
  }

  /** Take jobs in chunks, read their subscriptions in one query, and keep the pool full. */
  private async pump(): Promise<void> {
    while (this.active < this.config.pushConcurrency && this.head < this.queue.length) {
      const room = this.config.pushConcurrency - this.active;
      const take = this.queue.slice(this.head, this.head + Math.max(room, 1));
      this.head += take.length;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      for (const j of take) this.waiting.delete(`${j.deviceId} ${j.wake.conversationId}`);
      this.active += take.length;
      let subs: Map<string, PushSubscriptionRow>;
      try {
        const rows = await this.storage.push.subscriptionsOf(take.map((j) => j.deviceId));
        subs = new Map(rows.map((r) => [r.deviceId, r]));
      } catch (err) {
        this.log.warn({ err }, 'push: reading subscriptions failed');
        this.counters.failed += take.length;
        this.active -= take.length;
        continue;
      }
      for (const job of take) {
        const sub = subs.get(job.deviceId);
        if (!sub) {
          this.active--;
          continue;
        }
        void this.sendOne(sub, job).finally(() => {
          this.active--;
          if (this.head < this.queue.length) void this.pump();
          else this.checkIdle();
        });
      }
    }
    this.checkIdle();
  }

  private checkIdle(): void {
    if (this.pending !== 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** VAPID `Authorization` per push-service origin, with its JWT's expiry (seconds). */
  private readonly vapidHeaders = new Map<string, { header: string; exp: number }>();

  /**
   * The VAPID header for a push service (RFC 8292: the JWT's `aud` is the origin). Signing a JWT
   * cost more than encrypting the payload, and every push to one service can carry the same one,
   * so it is made once per origin and renewed an hour before its 12-hour expiry.
   */
  private vapidHeader(origin: string): string {
    const now = Math.floor(Date.now() / 1000);
    const known = this.vapidHeaders.get(origin);
    if (known && known.exp - now > 3600) return known.header;
    const exp = now + VAPID_JWT_SECONDS;
    const { Authorization } = webpush.getVapidHeaders(
      origin,
      this.config.pushSubject,
      this.vapidPublic,
      this.vapidPrivate,
      'aes128gcm',
      exp,
    );
    // Bounded: push services are a handful of origins; anything past that is not worth keeping.
    if (this.vapidHeaders.size >= 64) this.vapidHeaders.clear();
    this.vapidHeaders.set(origin, { header: Authorization, exp });
    return Authorization;
  }

  /** Encrypt and send one wake-up; deletes the subscription when the push service says it is gone. */
  private async sendOne(sub: PushSubscriptionRow, job: PushJob): Promise<void> {
    // Checked again at send time: the allowed http hosts may have changed since it was stored.
    if (endpointProblem(sub.endpoint, this.config.pushHttpHosts)) {
      this.counters.failed++;
      return;
    }
    let req: { endpoint: string; method: string; headers: Record<string, string | number>; body: Buffer | null };
    try {
      req = webpush.generateRequestDetails(
        { endpoint: sub.endpoint, keys: { p256dh: toB64(sub.p256dh), auth: toB64(sub.auth) } },
        JSON.stringify(job.wake),
        {
          // VAPID is added below from a per-origin cache; the library does the RFC 8291 encryption.
          vapidDetails: null as unknown as undefined,
          headers: { Authorization: this.vapidHeader(new URL(sub.endpoint).origin) },
          TTL: this.config.pushTtlSeconds,
          urgency: 'high',
          contentEncoding: 'aes128gcm',
        },
      ) as unknown as typeof req;
    } catch (err) {
      this.counters.failed++;
      this.log.warn({ err, deviceId: sub.deviceId }, 'push: could not encrypt a wake-up');
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = String(v);
    try {
      const res = await fetch(req.endpoint, {
        method: 'POST',
        headers,
        body: req.body ? new Uint8Array(req.body) : null,
        redirect: 'error',
        signal: AbortSignal.timeout(this.config.pushTimeoutMs),
      });
      // The answer's body is never needed; read it so the connection can be reused.
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) {
        this.counters.sent++;
        return;
      }
      if (res.status === 404 || res.status === 410) {
        this.counters.gone++;
        await this.storage.push.deleteIfEndpoint(sub.deviceId, sub.endpoint);
        return;
      }
      this.counters.failed++;
      this.log.debug({ status: res.status, deviceId: sub.deviceId }, 'push: the push service refused a wake-up');
    } catch (err) {
      this.counters.failed++;
      this.log.debug({ err, deviceId: sub.deviceId }, 'push: request failed');
    }
  }
}
