/**
 * The Business API's HTTP routes (C10, docs/business.md) at `/{version}/…` for any `vNN.N`, so
 * client libraries written for the Cloud API work with only their base URL changed. Every route:
 * a system-user bearer token of the business that owns the phone number (checked before the body
 * is read), a request budget per token, strict input, and errors only in the Cloud API's body.
 * The routes have their own table, like the admin API's, because their callers are businesses,
 * not devices, and their errors are not Parley's.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  BUSINESS_LIMITS,
  BUSINESS_PROFILE_FIELDS,
  PHONE_NUMBER_FIELDS,
  businessIdSchema,
  businessProfileUpdateBody,
} from '@parley/protocol';
import type { ServerContext } from '../context.ts';
import type { BusinessNumberRow, BusinessProfile, BusinessTokenRow } from '../storage/business.ts';
import { BusinessApiError } from './errors.ts';
import { businessTokenHash, displayPhone } from './service.ts';
import { postMessages } from './messages.ts';
import { TEMPLATE_ROUTES, type BusinessAccountRoute } from './templates.ts';
import { registerBusinessMediaRoutes } from './media.ts';

/** The version segment as a route constraint: other first segments (`/v1/…`, the web client's) never match. */
const VERSION = ':version(^v\\d{1,2}\\.\\d$)';

/** Requests per token: every Business API route shares one budget. */
const TOKEN_RULE = { limit: BUSINESS_LIMITS.requestsPerMinute, windowMs: 60_000 };
/** Failed bearer checks per address. */
const FAILED_AUTH_RULE = { limit: BUSINESS_LIMITS.failedAuthPerMinute, windowMs: 60_000 };
/** A token's last use is written at most this often (a write per request would cost the database). */
const TOUCH_EVERY_MS = 60_000;

/** `?fields=a,b`: a comma-separated subset of `allowed`. */
function fieldsQuery(allowed: readonly string[]) {
  return z
    .object({
      fields: z
        .string()
        .max(1_000)
        .transform((s) => s.split(',').map((f) => f.trim()))
        .refine((fs) => fs.every((f) => allowed.includes(f)), { message: `fields must be among ${allowed.join(', ')}` })
        .optional(),
    })
    .strict();
}

/** What a route knows about its caller once the token and the number have been checked. */
interface BusinessCaller {
  token: BusinessTokenRow;
  number: BusinessNumberRow;
}

/** One Business API route: path below the version, input, and what it answers. */
interface BusinessRoute<Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType> {
  /** Name in logs, limits and docs. */
  readonly name: string;
  readonly method: 'GET' | 'POST';
  /** Below `/{version}`; `:phoneNumberId` is checked against the token's business. */
  readonly path: string;
  readonly query: Q;
  readonly body?: B;
  readonly run: (
    ctx: ServerContext,
    caller: BusinessCaller,
    input: { query: z.infer<Q>; body: z.infer<B> },
  ) => Promise<unknown>;
}

const route = <Q extends z.ZodType, B extends z.ZodType = z.ZodUndefined>(
  r: BusinessRoute<Q, B>,
): BusinessRoute<Q, B> => r;

/** Only the asked-for fields of `all` (all of them without `?fields=`), `always` included. */
function pick(all: Record<string, unknown>, fields: string[] | undefined, always: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(all))
    if (v !== null && v !== undefined && (!fields || fields.includes(k) || always.includes(k))) out[k] = v;
  return out;
}

/** The profile as the Cloud API reads it (unset fields left out). */
function profileView(p: BusinessProfile): Record<string, unknown> {
  return {
    about: p.about,
    address: p.address,
    description: p.description,
    email: p.email,
    websites: p.websites.length ? p.websites : null,
    vertical: p.vertical,
    messaging_product: 'whatsapp',
  };
}

/** Every Business API route so far (docs/business.md lists them). */
export const BUSINESS_ROUTES = [
  route({
    name: 'phone_number.read',
    method: 'GET',
    path: '/:phoneNumberId',
    query: fieldsQuery(PHONE_NUMBER_FIELDS),
    run: async (_ctx, { number }, { query }) =>
      pick(
        {
          verified_name: number.verifiedName,
          code_verification_status: 'VERIFIED',
          display_phone_number: displayPhone(number.phone),
          quality_rating: 'GREEN',
          platform_type: 'CLOUD_API',
          throughput: { level: 'STANDARD' },
          name_status: 'APPROVED',
          id: number.id,
        },
        query.fields,
        ['id'],
      ),
  }),
  route({
    name: 'business_profile.read',
    method: 'GET',
    path: '/:phoneNumberId/whatsapp_business_profile',
    query: fieldsQuery(BUSINESS_PROFILE_FIELDS),
    run: async (ctx, { number }, { query }) => {
      const profile = await ctx.storage.business.getProfile(number.businessId);
      if (!profile)
        throw new BusinessApiError('unknown_object', `no object ${number.id}`, undefined, {
          method: 'get',
          id: number.id,
        });
      return { data: [pick(profileView(profile), query.fields, ['messaging_product'])] };
    },
  }),
  route({
    name: 'business_profile.update',
    method: 'POST',
    path: '/:phoneNumberId/whatsapp_business_profile',
    query: z.object({}).strict(),
    body: businessProfileUpdateBody,
    run: async (ctx, { number }, { body }) => {
      const patch: Partial<BusinessProfile> = {};
      if (body.about !== undefined) patch.about = body.about;
      // An empty string clears a field, as on the Cloud API.
      if (body.address !== undefined) patch.address = body.address || null;
      if (body.description !== undefined) patch.description = body.description || null;
      if (body.email !== undefined) patch.email = body.email || null;
      if (body.websites !== undefined) patch.websites = body.websites;
      if (body.vertical !== undefined) patch.vertical = body.vertical;
      if (body.profile_picture_handle !== undefined) patch.photoId = body.profile_picture_handle;
      if (!(await ctx.storage.business.updateProfile(number.businessId, patch)))
        throw new BusinessApiError('unknown_object', `no object ${number.id}`, undefined, {
          method: 'post',
          id: number.id,
        });
      return { success: true };
    },
  }),
  route({
    name: 'messages.send',
    method: 'POST',
    path: '/:phoneNumberId/messages',
    query: z.object({}).strict(),
    // Checked in full by the route (a read mark or a message of one type): docs/business.md.
    body: z.record(z.string(), z.unknown()),
    run: async (ctx, { number }, { body }) => postMessages(ctx, number, body),
  }),
];

/** The bearer token of a request, or null when the header is missing or malformed. */
function bearer(req: FastifyRequest): string | null {
  const m = /^Bearer +([A-Za-z0-9_-]{1,512})$/i.exec(req.headers.authorization ?? '');
  return m?.[1] ?? null;
}

/** The Business API's error answer for anything a route or the framework threw. */
function replyBusinessError(ctx: ServerContext, err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  let e: BusinessApiError;
  if (err instanceof BusinessApiError) e = err;
  else if (err instanceof z.ZodError) {
    const issue = err.issues[0]!;
    e = new BusinessApiError('invalid_parameter', `${issue.path.join('.') || 'body'}: ${issue.message}`);
  } else {
    const fe = err as FastifyError;
    // The framework refused the body (not JSON, too large, a type it does not read).
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500)
      e = new BusinessApiError(
        'invalid_parameter',
        fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'request body too large' : 'request body must be JSON',
      );
    else {
      ctx.log.error({ err, requestId: req.id }, 'business API request failed');
      e = new BusinessApiError('internal', 'retry later');
    }
  }
  if (e.retryAfterMs !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(e.retryAfterMs / 1000))));
  return reply
    .code(e.status)
    .header('cache-control', 'no-store')
    .send(e.toBody(String(req.id)));
}

/** Register the Business API on the app. */
export function registerBusinessRoutes(app: FastifyInstance, ctx: ServerContext): void {
  /** The token of each request, found before its body is read. */
  const tokens = new WeakMap<FastifyRequest, BusinessTokenRow>();

  async function refuse(req: FastifyRequest, details: string): Promise<never> {
    const d = await ctx.limiter.consume(`business-auth-failed:${req.ip}`, FAILED_AUTH_RULE);
    if (!d.allowed) throw new BusinessApiError('rate_limited', 'too many failed token checks', d.retryAfterMs);
    throw new BusinessApiError('invalid_token', details);
  }

  async function authenticate(req: FastifyRequest): Promise<void> {
    const token = bearer(req);
    if (token === null) return refuse(req, 'an Authorization: Bearer access token is required');
    const row = await ctx.storage.business.getTokenByHash(businessTokenHash(token));
    if (!row) return refuse(req, 'the access token is not valid');
    if (row.revokedAt !== null) return refuse(req, 'the access token has been revoked');
    const d = await ctx.limiter.consume(`business-token:${row.id}`, TOKEN_RULE);
    if (!d.allowed) throw new BusinessApiError('rate_limited', 'request limit reached for this token', d.retryAfterMs);
    const now = ctx.now();
    if (row.lastUsedAt === null || now - row.lastUsedAt >= TOUCH_EVERY_MS)
      await ctx.storage.business.touchToken(row.id, now);
    tokens.set(req, row);
  }

  const errorHandler = (err: unknown, req: FastifyRequest, reply: FastifyReply) =>
    replyBusinessError(ctx, err, req, reply);

  for (const r of BUSINESS_ROUTES as BusinessRoute[]) {
    app.route({
      method: r.method,
      url: `/${VERSION}${r.path}`,
      onRequest: async (req) => authenticate(req),
      errorHandler,
      handler: async (req, reply) => {
        reply.header('cache-control', 'no-store');
        const params = req.params as { phoneNumberId: string };
        const token = tokens.get(req)!;
        // An unknown id and another business's number answer alike: ids reveal nothing.
        const id = businessIdSchema.safeParse(params.phoneNumberId).success ? params.phoneNumberId : null;
        const number = id === null ? null : await ctx.storage.business.getNumber(id);
        if (!number || number.businessId !== token.businessId)
          throw new BusinessApiError(
            'unknown_object',
            `object ${params.phoneNumberId.slice(0, 64)} does not exist or is not yours`,
            undefined,
            { method: r.method.toLowerCase(), id: params.phoneNumberId.slice(0, 64) },
          );
        const query = r.query.parse(req.query ?? {});
        let body: unknown;
        if (r.body) {
          if (req.body === undefined || req.body === null || typeof req.body !== 'object' || Array.isArray(req.body))
            throw new BusinessApiError('invalid_parameter', 'body must be a JSON object');
          body = r.body.parse(req.body);
        }
        const out = await r.run(ctx, { token, number }, { query, body });
        ctx.log.debug({ op: `business.${r.name}`, requestId: req.id }, 'business API request served');
        return out;
      },
    });
  }

  // Routes of the business itself (`/{v}/{business-id}/…`): the id must be the token's business.
  for (const r of TEMPLATE_ROUTES as BusinessAccountRoute[]) {
    app.route({
      method: r.method,
      url: `/${VERSION}${r.path}`,
      onRequest: async (req) => authenticate(req),
      errorHandler,
      handler: async (req, reply) => {
        reply.header('cache-control', 'no-store');
        const params = req.params as { businessId: string };
        const token = tokens.get(req)!;
        // Another business's id answers as one that does not exist.
        if (params.businessId !== token.businessId)
          throw new BusinessApiError(
            'unknown_object',
            `object ${params.businessId.slice(0, 64)} does not exist or is not yours`,
            undefined,
            { method: r.method.toLowerCase(), id: params.businessId.slice(0, 64) },
          );
        const query = r.query.parse(req.query ?? {});
        let body: unknown;
        if (r.body) {
          if (req.body === undefined || req.body === null || typeof req.body !== 'object' || Array.isArray(req.body))
            throw new BusinessApiError('invalid_parameter', 'body must be a JSON object');
          body = r.body.parse(req.body);
        }
        const out = await r.run(ctx, { token, businessId: token.businessId }, { query, body });
        ctx.log.debug({ op: `business.${r.name}`, requestId: req.id }, 'business API request served');
        return out;
      },
    });
  }

  // Media upload, read, delete and download (media.ts): multipart bodies, so in a scope of their own.
  registerBusinessMediaRoutes(app, ctx, {
    authenticate,
    errorHandler,
    tokenOf: (req) => tokens.get(req)!,
    version: VERSION,
  });

  // Any other path under a version: the token is checked first, then the path is unknown.
  app.route({
    method: ['GET', 'POST', 'DELETE'],
    url: `/${VERSION}/*`,
    onRequest: async (req) => authenticate(req),
    errorHandler,
    handler: async (req) => {
      throw new BusinessApiError('unknown_path', `no route ${req.method} ${req.url.split('?')[0]}`);
    },
  });
}
