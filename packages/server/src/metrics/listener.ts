/**
 * The metrics listener (C19): `GET /metrics` in Prometheus text format on its own port
 * (`PARLEY_METRICS_PORT`), bound to loopback unless `PARLEY_METRICS_HOST` says otherwise. It is
 * never on the main port: that one faces the internet (through a load balancer), and metrics
 * there would be public the day someone forgets a proxy rule. A separate listener is private by
 * default and can be opened deliberately to a scraper's network.
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

/** A running metrics listener. */
export interface MetricsListener {
  /** `http://host:port` the listener is bound to. */
  readonly url: string;
  close(): Promise<void>;
}

/** Slow or stuck scrapers are cut off after this long (every network call has a deadline). */
const REQUEST_TIMEOUT_MS = 10_000;

/** Serve `registry` at `/metrics` on `host:port` (port 0 picks a free one). */
export async function listenMetrics(
  registry: Registry,
  host: string,
  port: number,
  log: Logger,
): Promise<MetricsListener> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end('not found: metrics are at GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => {
        log.error({ err }, 'metrics: scrape failed');
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('scrape failed\n');
      },
    );
  });
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  log.info({ metrics: `http://${shownHost}:${bound}/metrics` }, 'metrics listening');
  return {
    url: `http://${shownHost}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
