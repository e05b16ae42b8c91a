/**
 * Composition root (C19): `buildServer(config)` wires storage, bus, presence, rate limits, the
 * server secrets sealed under the key-encryption key, the verification sender and the sweep of
 * expired codes (C1), delivery, the blob store and media
 * sweeper (C4), HTTP routes and the WebSocket gateway, and returns the app without listening.
 * `main.ts` (and `parley serve`) only call `listen`.
 */
import { randomBytes } from 'node:crypto';
import type { DestinationStream, Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config/index.ts';
import type { ServerContext } from './context.ts';
import { createStorage } from './storage/index.ts';
import { ensurePrivateDir } from './private-files.ts';
import type { Storage } from './storage/types.ts';
import { createBus, createPresence } from './bus/index.ts';
import { countRefusals, createRateLimiter } from './limits/index.ts';
import { DevOutboxSender, HttpSmsSender, type VerificationSender } from './services/sender.ts';
import { Delivery } from './services/delivery.ts';
import { PushSender } from './services/push.ts';
import { Revocations } from './services/revocations.ts';
import { RoutingCache } from './services/routing.ts';
import { BlockLists } from './services/blocks.ts';
import { Fastify, fastifyOptions, registerHttp } from './http/app.ts';
import { attachGateway } from './ws/gateway.ts';
import { createLogger } from './logging.ts';
import { ServerMetrics } from './metrics/counters.ts';
import { createMetricsRegistry } from './metrics/registry.ts';
import { listenMetrics, type MetricsListener } from './metrics/listener.ts';
import { createBlobStore, type BlobStore } from './blobs/index.ts';
import { Sweeper } from './services/sweeper.ts';
import { sweepExpiredCodes } from './actions/accounts.ts';
import { sweepExpiredMedia } from './actions/media.ts';
import { sweepExpiredMessages } from './actions/conversations.ts';
import { CallService } from './services/calls.ts';
import { DiscoveryService } from './services/discovery.ts';
import { ImageGenService } from './imagegen/service.ts';
import { memoryCounters, redisCounters } from './imagegen/counters.ts';
import { ServerSecrets } from './services/server-secrets.ts';
import { KeyTransparency } from './services/key-transparency.ts';
import { ProfileService } from './services/profiles.ts';
import { BusinessRuntime } from './business/runtime.ts';
import type { BusinessDevices } from './business/hosted.ts';

/** A built, not yet listening, Parley server. */
export interface ParleyServer {
  readonly app: FastifyInstance;
  readonly ctx: ServerContext;
  /** Listen on config host (127.0.0.1 when unset) and port (or the given port); resolves to the base URL. Starts the metrics listener when configured. */
  listen(port?: number): Promise<string>;
  /** Base URL of the metrics listener (`GET /metrics`) once listening; null when metrics are off. */
  readonly metricsUrl: string | null;
  /** True once `drain` (or `close`) has begun (see `ServerContext.draining`). */
  readonly draining: boolean;
  /**
   * First half of a graceful shutdown: take no new connections or frames (`/readyz` answers
   * 503), answer every frame already taken (sends once their batch is written), then close the
   * WebSockets with 1012 "server restarting" so clients reconnect elsewhere. Storage stays open.
   */
  drain(): Promise<void>;
  /** Shut down gracefully: `drain`, then write what is pending, stop the services, close storage. */
  close(): Promise<void>;
}

/** Options for tests: inject a logger, storage or clock. */
export interface BuildOptions {
  /** A logger to use as it is (its own redaction, if any); tests that read the server's logs pass `logDestination` instead. */
  log?: Logger;
  /** Where the server's own (redacted) logger writes JSON lines; stdout when unset. */
  logDestination?: DestinationStream;
  storage?: Storage;
  now?: () => number;
  sender?: VerificationSender;
  /** A blob store to use instead of the configured one (left open on close). */
  blobs?: BlobStore;
  /**
   * The hosted business devices (C10): `@parley/sdk/node`'s `BusinessDeviceHost`, which the server
   * cannot import itself. Without it the Business API cannot send.
   */
  businessDevices?: BusinessDevices;
}

/** The address `listen` binds when PARLEY_HOST is unset: this machine only. */
export const DEFAULT_HOST = '127.0.0.1';

function makeSender(config: Config, log: Logger): VerificationSender {
  if (config.smsSender === 'http' && config.smsHttpUrl)
    return new HttpSmsSender(config.smsHttpUrl, config.smsHttpToken);
  log.warn(
    'verification codes go to the dev outbox (GET /dev/outbox, for the operator only: see the start banner); configure PARLEY_SMS_SENDER=http for production',
  );
  return new DevOutboxSender(config.devOutboxToken ?? randomBytes(24).toString('base64url'));
}

/** The URL a client on this machine reaches a server listening on `host` with. */
function localUrl(host: string, port: number): string {
  if (host === '0.0.0.0' || host === '::') return `http://127.0.0.1:${port}`;
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

/** Build the whole server from a validated config. */
export async function buildServer(config: Config, opts: BuildOptions = {}): Promise<ParleyServer> {
  const log = opts.log ?? createLogger(config.logLevel, opts.logDestination);
  const nodeId = config.nodeId ?? `node-${randomBytes(4).toString('hex')}`;
  // The data folder holds the SQLite files, local media and the secret key file: owner only.
  ensurePrivateDir(config.dataDir);
  const storage =
    opts.storage ??
    (await createStorage({
      dataDir: config.dataDir,
      onIdleError: (err) => log.warn({ err }, 'database dropped an idle connection'),
      ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    }));
  await storage.migrate();
  const redis = config.redisUrl ? { redisUrl: config.redisUrl, prefix: config.redisPrefix } : {};
  const bus = createBus(redis);
  const presence = createPresence(redis);
  const now = opts.now ?? Date.now;
  const metrics = new ServerMetrics(now);
  const limiter = countRefusals(createRateLimiter(redis), (key) => metrics.refused(key));
  const sender = opts.sender ?? makeSender(config, log);
  const revocations = new Revocations(bus, storage, log);
  const delivery = new Delivery(storage, bus, presence, nodeId, log, Boolean(config.redisUrl), revocations, metrics);
  // Only a lone process may cache routing: with Redis configured, other nodes change membership
  // too. Several processes on one database without Redis would not wake each other's devices, so
  // that is not a deployment; PostgreSQL alone still means one process and keeps the cache.
  const routing = new RoutingCache(storage, !config.redisUrl);
  // Block lists are cached on the same terms as routing (services/blocks.ts).
  const blocks = new BlockLists(storage, !config.redisUrl);
  const blobs = opts.blobs ?? (await createBlobStore(config, log));
  const calls = new CallService({
    config,
    nodeId,
    routing,
    delivery,
    presence,
    distributed: Boolean(config.redisUrl),
    log,
    now,
  });
  const secrets = new ServerSecrets(storage, config, log, now);
  try {
    // Before anything uses a secret: a missing or wrong key stops the start here, with one line.
    await secrets.start();
  } catch (e) {
    if (!opts.storage) await storage.close();
    throw e;
  }
  const discovery = new DiscoveryService(storage, secrets, config, log, now);
  const transparency = new KeyTransparency(storage, secrets, log, now);
  // Independent start-ups (their server secrets, the log's missing bindings): wait for both at once.
  await Promise.all([discovery.start(), transparency.start()]);
  const profiles = new ProfileService(storage, delivery, presence, Boolean(config.redisUrl), log, now);
  const push = new PushSender(storage, config, log);
  await push.start(secrets);
  // Application messages stored for a device with no open socket wake it through Web Push (C18).
  if (config.push)
    delivery.onOffline((offline) =>
      push.enqueue(
        offline.map(({ deviceId, message: m }) => ({
          deviceId,
          wake: {
            v: 1,
            t: 'message',
            conversationId: m.conversationId,
            messageId: m.id,
            from: m.senderAccount,
            sentAt: m.sentAt,
          },
        })),
      ),
    );
  const business = new BusinessRuntime(
    storage,
    secrets,
    log,
    now,
    config.businessWebhookRetryMs,
    opts.businessDevices ?? null,
    limiter,
    {
      throughputPerSecond: config.businessThroughputPerSecond,
      pairBurst: config.businessPairBurst,
      dailyUsers: config.businessDailyUsers,
    },
  );
  // Quotas, budget and running jobs of hosted image generation: shared in Redis when configured.
  const imagegen = new ImageGenService(
    config,
    config.redisUrl ? redisCounters({ url: config.redisUrl, prefix: config.redisPrefix }) : memoryCounters(now),
    log,
    now,
  );
  const ctx: ServerContext = {
    config,
    nodeId,
    storage,
    secrets,
    bus,
    presence,
    limiter,
    sender,
    delivery,
    revocations,
    routing,
    blocks,
    blobs,
    calls,
    discovery,
    transparency,
    profiles,
    push,
    metrics,
    business,
    imagegen,
    log,
    now,
    draining: false,
  };
  // A revoked device's sockets on this node close and leave its calls at once (C1).
  revocations.onRevoked((deviceIds) => {
    for (const conn of delivery.cutOff(deviceIds)) calls.detach(conn);
  });
  // Alone, the in-process bus loses nothing; with other nodes, sweep for missed revocations.
  await Promise.all([
    delivery.start(),
    revocations.start(config.redisUrl ? () => delivery.connectedDevices() : undefined),
  ]);
  // The sweep actions are handed to the timers here, so services never import actions.
  const mediaSweeper = new Sweeper('media', () => sweepExpiredMedia(ctx), config.mediaSweepSeconds * 1000, log);
  mediaSweeper.start();
  const codeSweeper = new Sweeper(
    'verification codes',
    () => sweepExpiredCodes(ctx),
    config.codeSweepSeconds * 1000,
    log,
  );
  codeSweeper.start();
  // Disappearing messages (C17): often, since a timer may be as short as 5 seconds.
  const messageSweeper = new Sweeper(
    'disappearing messages',
    () => sweepExpiredMessages(ctx),
    config.messageSweepSeconds * 1000,
    log,
  );
  messageSweeper.start();

  const app = Fastify(fastifyOptions(log));
  await registerHttp(app, ctx);
  const gateway = attachGateway(app.server, ctx);
  // Off unless a port is configured: no registry, no process-metrics collectors, no listener.
  const registry =
    config.metricsPort === undefined
      ? null
      : createMetricsRegistry(
          metrics,
          {
            sockets: () => gateway.count(),
            devices: () => delivery.connectionCount,
            sendQueue: () => delivery.queued,
            pendingDeliveries: () => storage.conversations.countAllPendingDeliveries(),
          },
          log,
        );
  let metricsListener: MetricsListener | null = null;
  let closed = false;
  let drained: Promise<void> | null = null;
  const drain = async () => {
    ctx.draining = true;
    // No new TCP connections; open ones (WebSockets, keep-alive HTTP) go on until closed below.
    // Fastify's own close later finds the listener closed and carries on.
    if (app.server.listening) app.server.close();
    // Every frame already taken is answered before its socket closes: a send the client saw
    // acknowledged is stored, and a stored send is never left unanswered.
    await gateway.quiesce();
    // Before the sockets close, so participants are told with `call-ended`.
    calls.stop();
    await gateway.close();
  };

  return {
    app,
    ctx,
    async listen(port?: number) {
      const host = config.host ?? DEFAULT_HOST;
      await app.listen({ port: port ?? config.port, host });
      if (registry && config.metricsPort !== undefined && !metricsListener)
        metricsListener = await listenMetrics(registry, config.metricsHost, config.metricsPort, log);
      const addr = app.server.address();
      const url = localUrl(host, typeof addr === 'object' && addr ? addr.port : config.port);
      await business.start(url);
      return url;
    },
    get metricsUrl() {
      return metricsListener?.url ?? null;
    },
    get draining() {
      return ctx.draining;
    },
    drain() {
      return (drained ??= drain());
    },
    async close() {
      if (closed) return;
      closed = true;
      // The hosted devices are clients of this server: they leave before it drains.
      await business.stop();
      await (drained ??= drain());
      await metricsListener?.close();
      registry?.clear();
      transparency.stop();
      await mediaSweeper.stop();
      await codeSweeper.stop();
      await messageSweeper.stop();
      await discovery.idle();
      await delivery.stop();
      await push.stop();
      await revocations.stop();
      await app.close();
      if (!opts.blobs) await blobs.close();
      await Promise.allSettled([bus.close(), presence.close(), limiter.close(), imagegen.close()]);
      if (!opts.storage) await storage.close();
    },
  };
}
