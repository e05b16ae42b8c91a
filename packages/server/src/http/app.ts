/**
 * HTTP layer (C19): Fastify routes generated from the handler table, plus health, the OpenAPI
 * document (`/openapi.json`), the dev outbox, and the built web client. Handlers stay thin:
 * authenticate, shape the request, hand it to the one dispatcher (`dispatch.ts`), answer.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { LIMITS, ParleyError } from '@parley/protocol';
import type { ServerContext, Caller } from '../context.ts';
import { OPS, type OpSpec } from '../ops.ts';
import { dispatch } from '../dispatch.ts';
import { byStatus, toParleyError } from '../errors.ts';
import { authenticate } from '../actions/accounts.ts';
import { DevOutboxSender } from '../services/sender.ts';
import { BinaryAnswer } from '../answers.ts';
import { registerAdminRoutes } from '../admin/routes.ts';
import { registerBusinessRoutes } from '../business/routes.ts';
import { registerDevOutbox } from './dev-outbox.ts';
import { readiness } from './health.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { setWebHeaders } from './web-headers.ts';

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(h);
  return m?.[1] ?? '';
}

/** Send a catalogued error with `Retry-After` on 429. */
export function replyError(reply: FastifyReply, e: ParleyError, requestId: string): FastifyReply {
  if (e.status === 429) reply.header('retry-after', String(Math.max(1, Math.ceil((e.retryAfterMs() ?? 1000) / 1000))));
  return reply.code(e.status).send(e.toBody(requestId));
}

function webRoot(ctx: ServerContext): string | null {
  const candidates = ctx.config.webDir
    ? [ctx.config.webDir]
    : [resolve(import.meta.dirname, '../../../../apps/web/dist')];
  return candidates.find((d) => existsSync(join(d, 'index.html'))) ?? null;
}

/** Register every HTTP route of the handler table, health, dev outbox and static web client. */
export async function registerHttp(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.setErrorHandler((err, req, reply) => replyError(reply, toParleyError(err, ctx.log, req.id), req.id));

  // Liveness: the process answers; no I/O (docs/operations.md, health.ts).
  app.get('/healthz', async () => ({ status: 'ok' }));
  // Readiness: the database and Redis answer within a deadline; 503 names the checks that failed.
  app.get('/readyz', async (_req, reply) => {
    // Shutting down: balancers stop sending clients here while in-flight work finishes.
    if (ctx.draining) return reply.code(503).send({ status: 'draining', node: ctx.nodeId });
    const r = await readiness(ctx);
    const about = {
      node: ctx.nodeId,
      connections: ctx.delivery.connectionCount,
      storage: ctx.storage.driver,
      bus: ctx.config.redisUrl ? 'redis' : 'memory',
      blobs: ctx.blobs.kind,
      checks: r.checks,
    };
    if (!r.ready) return reply.code(503).send({ status: 'unavailable', failed: r.failed, ...about });
    return { status: 'ready', ...about };
  });

  // The API's shape (no secrets, so public), built once from the route tables on first request.
  let openApi: string | null = null;
  app.get('/openapi.json', async (_req, reply) => {
    openApi ??= JSON.stringify(buildOpenApiDocument());
    return reply.header('content-type', 'application/json; charset=utf-8').send(openApi);
  });

  // Only the dev-outbox sender has an outbox; with a real sender the route does not exist.
  if (ctx.sender instanceof DevOutboxSender) registerDevOutbox(app, ctx.config, ctx.sender);

  // Binary bodies (media chunks, C4) arrive as Buffers. The JSON body limit applies to them too,
  // except on routes that declare a larger `bodyLimit`.
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  for (const [name, spec] of Object.entries(OPS) as [string, OpSpec][]) {
    if (!spec.http) continue;
    const { method, path, status, headers, bodyLimit } = spec.http;
    // Binary routes authenticate before the body is read, so no stranger makes the server buffer chunks.
    const early = new WeakMap<FastifyRequest, Caller>();
    app.route({
      method,
      url: path,
      ...(bodyLimit ? { bodyLimit } : {}),
      ...(spec.httpOnly ? { exposeHeadRoute: false } : {}),
      ...(spec.payload && spec.auth
        ? {
            onRequest: async (req: FastifyRequest) =>
              void early.set(req, { ip: req.ip, transport: 'http', ...(await authenticate(ctx, bearer(req))) }),
          }
        : {}),
      handler: async (req, reply) => {
        const caller: Caller = early.get(req) ?? {
          ip: req.ip,
          transport: 'http',
          ...(spec.auth ? await authenticate(ctx, bearer(req)) : {}),
        };
        const params = (req.params ?? {}) as Record<string, unknown>;
        const fromHeaders: Record<string, string> = {};
        for (const [header, field] of Object.entries(headers ?? {})) {
          const v = req.headers[header];
          if (typeof v === 'string') fromHeaders[field] = v;
        }
        // Shape the request into the dispatcher's `(body, payload)`; the op's own checks are its.
        let raw: unknown;
        let payload: Uint8Array | null = null;
        if (spec.payload) {
          if (Buffer.isBuffer(req.body))
            payload = new Uint8Array(req.body.buffer, req.body.byteOffset, req.body.byteLength);
          raw = { ...(req.query as object), ...params, ...fromHeaders };
        } else if (method === 'GET' || method === 'DELETE')
          raw = { ...(req.query as object), ...params, ...fromHeaders };
        else {
          const body = req.body ?? {};
          if (Buffer.isBuffer(body)) throw new ParleyError('unsupported_media_type');
          if (typeof body !== 'object' || Array.isArray(body))
            throw new ParleyError('bad_request', { details: { problem: 'body must be a JSON object' } });
          raw = { ...(body as object), ...params, ...fromHeaders };
        }
        const out = await dispatch(ctx, caller, name, raw, payload);
        ctx.log.debug({ op: name, requestId: req.id }, 'op served');
        if (out instanceof BinaryAnswer) return reply.code(out.status).headers(out.headers).send(out.body);
        return reply.code(status ?? 200).send(out);
      },
    });
  }

  // Staff routes and console (C14): their own table, staff tokens only (docs/admin.md).
  registerAdminRoutes(app, ctx);
  // The Business API (C10): its own table, business tokens only, Cloud API errors (docs/business.md).
  registerBusinessRoutes(app, ctx);

  const root = webRoot(ctx);
  if (root) {
    // Security headers (CSP, no referrer, nosniff) and cache policy on every file of the client.
    await app.register(fastifyStatic, {
      root,
      prefix: '/',
      wildcard: false,
      index: ['index.html'],
      cacheControl: false,
      setHeaders: setWebHeaders,
    });
  }
  app.setNotFoundHandler((req, reply) => {
    // The web client routes on the client side: unknown non-API GETs get its index page.
    // `/metrics` is never served here (it has a listener of its own): a scraper pointed at the
    // main port gets a plain 404, not the web client's page.
    const path = req.url.split('?')[0]!;
    if (root && req.method === 'GET' && !path.startsWith('/v1/') && !path.startsWith('/dev/') && path !== '/metrics')
      return reply.sendFile('index.html');
    return replyError(reply, new ParleyError('not_found'), req.id);
  });
}

/**
 * Answer what Node's HTTP parser refuses before Fastify sees a request (header overflow, a bad
 * request line or header, bad chunked encoding, a request that took too long) with a catalogued
 * JSON error instead of Node's or Fastify's own bodies; then drop the connection, as Node does,
 * since the rest of its bytes cannot be framed.
 */
export function clientErrorHandler(
  this: { log: FastifyBaseLogger },
  err: Error & { code?: string },
  socket: Duplex,
): void {
  // A reset connection has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const e =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? byStatus(431)
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? byStatus(408)
        : new ParleyError('bad_request', {
            details: { problem: 'the HTTP request could not be parsed', parser: err.code ?? 'unknown' },
          });
  this.log.debug({ err }, 'HTTP client error');
  // Only when nothing of an answer has been written yet (a parse error can come mid-body, after a
  // handler has started answering).
  if (socket.writable && (socket as Duplex & { bytesWritten?: number }).bytesWritten === 0) {
    const body = JSON.stringify(e.toBody());
    socket.write(
      `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/**
 * Fastify options shared by buildServer and tests. `maxParamLength` is the most a request line may
 * hold (Node's 16 KiB header limit), so a long path parameter reaches its schema and gets
 * `bad_request` like any malformed one, instead of not matching the route at all; the framework's
 * own refusals (a URL that is not valid percent-encoding) become catalogued errors.
 */
export function fastifyOptions(logger: unknown) {
  return {
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: LIMITS.httpBodyBytes,
    trustProxy: false,
    routerOptions: { maxParamLength: 16 * 1024 },
    genReqId: () => Math.random().toString(36).slice(2, 12),
    clientErrorHandler,
    frameworkErrors: (
      err: Error & { code?: string; statusCode?: number },
      req: FastifyRequest,
      reply: FastifyReply,
    ) => {
      void replyError(reply, byStatus(err.statusCode ?? 400, err.message), req.id);
    },
  } as const;
}

export { Fastify };
