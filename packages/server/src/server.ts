/**
 * Composition root (C19): `buildServer(config)` wires storage, bus, presence, rate limits, the
 * verification sender, delivery, the blob store and media sweeper (C4), HTTP routes and the
 * WebSocket gateway, and returns the app without listening. `main.ts` (and `parley serve`) only
 * call `listen`.
 */
import { randomBytes } from 'node:crypto';
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config/index.ts';
import type { ServerContext } from './context.ts';
import { createStorage } from './storage/index.ts';
import type { Storage } from './storage/types.ts';
import { createBus, createPresence } from './bus/index.ts';
import { createRateLimiter } from './limits/index.ts';
import { DevOutboxSender, HttpSmsSender, type VerificationSender } from './services/sender.ts';
import { Delivery } from './services/delivery.ts';
import { RoutingCache } from './services/routing.ts';
import { Fastify, fastifyOptions, registerHttp } from './http/app.ts';
import { attachGateway } from './ws/gateway.ts';
import { createBlobStore, type BlobStore } from './blobs/index.ts';
import { MediaSweeper } from './services/media-sweeper.ts';
import { CallService } from './services/calls.ts';
import { DiscoveryService } from './services/discovery.ts';
import { KeyTransparency } from './services/key-transparency.ts';
import { ProfileService } from './services/profiles.ts';

/** A built, not yet listening, Parley server. */
export interface ParleyServer {
  readonly app: FastifyInstance;
  readonly ctx: ServerContext;
  /** Listen on config host/port (or the given port); resolves to the base URL. */
  listen(port?: number): Promise<string>;
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
  log?: Logger;
  storage?: Storage;
  now?: () => number;
  sender?: VerificationSender;
  /** A blob store to use instead of the configured one (left open on close). */
  blobs?: BlobStore;
}

function makeSender(config: Config, log: Logger): VerificationSender {
  if (config.smsSender === 'http' && config.smsHttpUrl) return new HttpSmsSender(config.smsHttpUrl, config.smsHttpToken);
  log.warn('verification codes go to the dev outbox (GET /dev/outbox); configure PARLEY_SMS_SENDER=http for production');
  return new DevOutboxSender();
}

/** Build the whole server from a validated config. */
export async function buildServer(config: Config, opts: BuildOptions = {}): Promise<ParleyServer> {
  const log = opts.log ?? pino({ level: config.logLevel, base: { svc: 'parley' } });
  const nodeId = config.nodeId ?? `node-${randomBytes(4).toString('hex')}`;
  const storage = opts.storage ?? (await createStorage({ dataDir: config.dataDir, onIdleError: (err) => log.warn({ err }, 'database dropped an idle connection'), ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}) }));
  await storage.migrate();
  const redis = config.redisUrl ? { redisUrl: config.redisUrl, prefix: config.redisPrefix } : {};
  const bus = createBus(redis);
  const presence = createPresence(redis);
  const limiter = createRateLimiter(redis);
  const sender = opts.sender ?? makeSender(config, log);
  const delivery = new Delivery(storage, bus, presence, nodeId, log, Boolean(config.redisUrl));
  // Only a lone process may cache routing: with Redis configured, other nodes change membership
  // too. Several processes on one database without Redis would not wake each other's devices, so
  // that is not a deployment; PostgreSQL alone still means one process and keeps the cache.
  const routing = new RoutingCache(storage, !config.redisUrl);
  const blobs = opts.blobs ?? (await createBlobStore(config, log));
  const now = opts.now ?? Date.now;
  const calls = new CallService({ config, nodeId, routing, delivery, presence, distributed: Boolean(config.redisUrl), log, now });
  const discovery = new DiscoveryService(storage, config, log, now);
  const transparency = new KeyTransparency(storage, log, now);
  // Independent start-ups (their server secrets, the log's missing bindings): wait for both at once.
  await Promise.all([discovery.start(), transparency.start()]);
  const profiles = new ProfileService(storage, delivery, presence, Boolean(config.redisUrl), log, now);
  const ctx: ServerContext = { config, nodeId, storage, bus, presence, limiter, sender, delivery, routing, blobs, calls, discovery, transparency, profiles, log, now, draining: false };
  await delivery.start();
  const mediaSweeper = new MediaSweeper(ctx, config.mediaSweepSeconds * 1000);
  mediaSweeper.start();

  const app = Fastify(fastifyOptions(log));
  await registerHttp(app, ctx);
  const gateway = attachGateway(app.server, ctx);
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
      await app.listen({ port: port ?? config.port, host: config.host });
      const addr = app.server.address();
      const p = typeof addr === 'object' && addr ? addr.port : config.port;
      return `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${p}`;
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
      await (drained ??= drain());
      transparency.stop();
      await mediaSweeper.stop();
      await discovery.idle();
      await delivery.stop();
      await app.close();
      if (!opts.blobs) await blobs.close();
      await Promise.allSettled([bus.close(), presence.close(), limiter.close()]);
      if (!opts.storage) await storage.close();
    },
  };
}
