/**
 * Metrics recording (C19): the numbers the hot paths (gateway, delivery) bump. They are plain
 * fields and typed arrays, always present whether or not metrics are served, so recording costs
 * an increment or two and allocates nothing: per-message work must leave nothing behind
 * (docs/architecture.md, Delivery). `registry.ts` turns them into Prometheus metrics at scrape
 * time; nothing here imports prom-client.
 */

/** Upper bounds (seconds) of the delivery-lag histogram: from a push within the same turn to a device back after a day. */
export const LAG_BUCKETS_S = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86_400,
] as const;

/** Upper bounds (seconds) of the storage-latency histogram. */
export const STORAGE_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10] as const;

/** Storage operations timed at the delivery boundary: a group-commit batch, and a queue read. */
export const STORAGE_OPS = ['append', 'pending'] as const;
/** One of STORAGE_OPS. */
export type StorageOp = (typeof STORAGE_OPS)[number];

/**
 * WebSocket close codes counted by their number; any other (a client may send 3000-4999) counts
 * as `other`, so a client cannot make the server keep thousands of series.
 */
const KNOWN_CLOSE_CODES = new Set([1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1011, 1012, 4000, 4001, 4008]);

/** A histogram's raw state: per-bucket counts (the last is +Inf), sum and count. */
export class Buckets {
  /** Non-cumulative: `counts[i]` holds values in (bounds[i-1], bounds[i]]; the last slot is above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  /** Count one value. */
  record(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/**
 * The rate-limit name of a bucket key, for a metric label: the leading segments that name the
 * limit (`reg:num`, `kt:proof`, `admin-auth-failed`), never the rest, which holds phone numbers,
 * addresses and account ids. A segment counts as a name when it is lowercase letters and hyphens
 * and has a letter past `f`: every part of an IPv4 or IPv6 address is digits or hex letters, a
 * number starts with `+` and ids have `_`, so none of them can pass.
 */
export function limitName(key: string): string {
  const parts = key.split(':', 2);
  const names: string[] = [];
  for (const p of parts) {
    if (!/^[a-z-]+$/.test(p) || !/[g-z]/.test(p)) break;
    names.push(p);
  }
  return names.length ? names.join(':') : 'other';
}

/** The counters of one server; bumped on the hot paths, read by the Prometheus registry. */
export class ServerMetrics {
  /** Application messages stored (group-commit batches, duplicates excluded). */
  messagesIn = 0;
  /** Deliveries pushed to sockets on this process (a re-push after reconnect counts again). */
  messagesOut = 0;
  /** WebSocket frames refused as `bad_frame` (not JSON, bad header). */
  wsBadFrames = 0;
  /** Socket-level errors reported by `ws` (protocol violations, oversized frames, resets). */
  wsErrors = 0;
  /** Closed WebSockets by close code (known codes, else `other`). */
  readonly wsCloses = new Map<string, number>();
  /** Refused rate-limit consumes by limit name (see limitName). */
  readonly rateLimitRefusals = new Map<string, number>();
  /** Seconds from acceptance (the message's `sentAt`) to push. */
  readonly deliveryLag = new Buckets(LAG_BUCKETS_S);
  /** Seconds per storage operation, once per batch or queue read, never per message. */
  readonly storage: Record<StorageOp, Buckets> = {
    append: new Buckets(STORAGE_BUCKETS_S),
    pending: new Buckets(STORAGE_BUCKETS_S),
  };

  /** `now` is the server's clock, the one `sentAt` was taken from. */
  constructor(private readonly now: () => number = Date.now) {}

  /** One delivery pushed; `sentAt` is when the server accepted the message (ms since the epoch). */
  pushed(sentAt: number): void {
    this.messagesOut++;
    const lag = this.now() - sentAt;
    this.deliveryLag.record(lag > 0 ? lag / 1000 : 0);
  }

  /** A WebSocket closed with `code`. */
  wsClosed(code: number): void {
    const k = KNOWN_CLOSE_CODES.has(code) ? String(code) : 'other';
    this.wsCloses.set(k, (this.wsCloses.get(k) ?? 0) + 1);
  }

  /** A rate limiter refused a consume of `key`. */
  refused(key: string): void {
    const k = limitName(key);
    this.rateLimitRefusals.set(k, (this.rateLimitRefusals.get(k) ?? 0) + 1);
  }
}
