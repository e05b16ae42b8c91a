/**
 * Prometheus metrics (C19): one prom-client Registry per server (never the global default: tests
 * build several servers in one process), filled at scrape time from `ServerMetrics` and a few
 * cheap reads, plus prom-client's process metrics (event-loop delay, GC, memory, CPU). Built only
 * when metrics are served (`PARLEY_METRICS_PORT`); docs/operations.md lists every metric.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { Logger } from 'pino';
import { check } from '../http/health.ts';
import { STORAGE_OPS, type Buckets, type ServerMetrics } from './counters.ts';

/** How long the queue-depth count may take at scrape time before the sample is left out. */
export const SCRAPE_QUERY_DEADLINE_MS = 2000;

/** Live figures read at scrape time. */
export interface MetricSources {
  /** Open WebSockets, authenticated or not. */
  sockets(): number;
  /** Devices with an authenticated socket on this process. */
  devices(): number;
  /** Sends waiting for the next group-commit batch. */
  sendQueue(): number;
  /** Queue entries waiting for any device (a database count). */
  pendingDeliveries(): Promise<number>;
}

/** One value of a metric as prom-client's registry prints it. */
interface Sample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * A histogram backed by `Buckets` (one series per label value): the hot path records into a typed
 * array and this turns it into Prometheus `_bucket`/`_sum`/`_count` lines when scraped. prom-client's
 * own Histogram allocates on every observe, which the delivery path must not.
 */
class BucketsHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly series: () => [Record<string, string>, Buckets][],
  ) {}
  async get() {
    const values: Sample[] = [];
    for (const [labels, b] of this.series()) {
      let cumulative = 0;
      b.bounds.forEach((bound, i) => {
        cumulative += b.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: bound }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: b.count });
      values.push({ metricName: `${this.name}_sum`, labels, value: b.sum });
      values.push({ metricName: `${this.name}_count`, labels, value: b.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
  reset(): void {}
}

/** A counter whose value is read from `read()` at scrape time (it only ever grows). */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): void {
  let last = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const v = read();
      if (v > last) this.inc(v - last);
      last = v;
    },
  });
}

/** A labelled counter mirrored from a map of label value → count. */
function mirroredLabelledCounter(
  registry: Registry,
  name: string,
  help: string,
  label: string,
  read: () => Map<string, number>,
): void {
  const last = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      for (const [k, v] of read()) {
        const before = last.get(k) ?? 0;
        if (v > before) this.inc({ [label]: k }, v - before);
        last.set(k, v);
      }
    },
  });
}

/** Build the registry of one server. */
export function createMetricsRegistry(m: ServerMetrics, sources: MetricSources, log: Logger): Registry {
  const registry = new Registry();
  // Event-loop delay (nodejs_eventloop_lag_*), GC (nodejs_gc_duration_seconds), heap, CPU, handles.
  collectDefaultMetrics({ register: registry });

  new Gauge({
    name: 'parley_websocket_connections',
    help: 'Open WebSocket connections (authenticated or not).',
    registers: [registry],
    collect() {
      this.set(sources.sockets());
    },
  });
  new Gauge({
    name: 'parley_connected_devices',
    help: 'Devices with an authenticated WebSocket on this process.',
    registers: [registry],
    collect() {
      this.set(sources.devices());
    },
  });
  new Gauge({
    name: 'parley_send_queue_depth',
    help: 'Sends waiting to be written in the next group-commit batch.',
    registers: [registry],
    collect() {
      this.set(sources.sendQueue());
    },
  });
  new Gauge({
    name: 'parley_pending_deliveries',
    help: 'Queue entries waiting for any device to acknowledge them (all processes; counted in the database at scrape time).',
    registers: [registry],
    async collect() {
      let n: number | undefined;
      const outcome = await check(
        async () => (n = await sources.pendingDeliveries()),
        SCRAPE_QUERY_DEADLINE_MS,
        (err) => log.warn({ err }, 'metrics: pending deliveries not counted'),
      );
      // Leave the sample out rather than report a stale or made-up figure.
      if (outcome === 'ok' && n !== undefined) this.set(n);
      else this.reset();
    },
  });

  mirroredCounter(
    registry,
    'parley_messages_in_total',
    'Application messages stored (sends accepted; duplicates excluded).',
    () => m.messagesIn,
  );
  mirroredCounter(
    registry,
    'parley_messages_out_total',
    'Deliveries pushed to sockets on this process (re-pushes after a reconnect included).',
    () => m.messagesOut,
  );
  mirroredCounter(
    registry,
    'parley_websocket_bad_frames_total',
    'WebSocket frames refused as bad_frame (not JSON, malformed header).',
    () => m.wsBadFrames,
  );
  mirroredCounter(
    registry,
    'parley_websocket_errors_total',
    'WebSocket protocol and socket errors (invalid frames, oversized payloads, resets).',
    () => m.wsErrors,
  );
  mirroredLabelledCounter(
    registry,
    'parley_websocket_closes_total',
    'Closed WebSockets by close code (unlisted codes as "other").',
    'code',
    () => m.wsCloses,
  );
  mirroredLabelledCounter(
    registry,
    'parley_rate_limit_refusals_total',
    'Requests refused by a rate limit, by limit name (never the key).',
    'limit',
    () => m.rateLimitRefusals,
  );

  const histograms = [
    new BucketsHistogram(
      'parley_delivery_lag_seconds',
      'Seconds from a message being accepted to its delivery being pushed.',
      () => [[{}, m.deliveryLag]],
    ),
    new BucketsHistogram(
      'parley_storage_seconds',
      'Seconds per storage operation: append = one group-commit batch, pending = one queue read.',
      () => STORAGE_OPS.map((op) => [{ op }, m.storage[op]]),
    ),
  ];
  // The registry prints any object with a name and get(); prom-client's type names only its own classes.
  for (const h of histograms) registry.registerMetric(h as unknown as Metric);
  return registry;
}
