/**
 * Business media (C10, docs/business.md "Media"): `POST /{v}/{phone-number-id}/media` (a multipart
 * form with `messaging_product`, `type` and `file`) stores an upload and answers its id;
 * `GET /{v}/{media-id}` answers its URL, type, SHA-256 and size; `DELETE` removes it. The URL is
 * the upload's download path, signed to expire in five minutes, and it also needs the business's
 * bearer token. Uploads live 30 days. A message may then name an upload by `id`: the number's
 * hosted device sends it to the user as an ordinary end-to-end encrypted attachment.
 *
 * The bytes go to the server's blob store (packages/server/src/blobs) encrypted with AES-256-GCM
 * under a key of their own, kept in the upload's row, so the blob store holds only ciphertext.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  randomInt,
  timingSafeEqual,
} from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { businessIdSchema, type HostedContent, type MediaKind } from '@parley/protocol';
import type { ServerContext } from '../context.ts';
import type { BusinessMediaRow } from '../storage/types.ts';
import type { BusinessNumberRow, BusinessTokenRow } from '../storage/business.ts';
import { BusinessApiError } from './errors.ts';
import { multipartBoundary, MultipartError, parseMultipart } from './multipart.ts';

/** How long an upload can be sent and fetched. */
export const MEDIA_TTL_MS = 30 * 24 * 3_600_000;
/** How long a download URL works. */
export const MEDIA_URL_TTL_MS = 5 * 60_000;

const MB = 1024 * 1024;
/** Types an upload may have and the largest size of each, as the Cloud API bounds them. */
export const BUSINESS_MEDIA_TYPES: Record<string, { maxBytes: number; kind: MediaKind }> = {
  'audio/aac': { maxBytes: 16 * MB, kind: 'file' },
  'audio/amr': { maxBytes: 16 * MB, kind: 'file' },
  'audio/mpeg': { maxBytes: 16 * MB, kind: 'file' },
  'audio/mp4': { maxBytes: 16 * MB, kind: 'file' },
  'audio/ogg': { maxBytes: 16 * MB, kind: 'file' },
  'image/jpeg': { maxBytes: 5 * MB, kind: 'image' },
  'image/png': { maxBytes: 5 * MB, kind: 'image' },
  'image/webp': { maxBytes: 500 * 1024, kind: 'image' },
  'video/mp4': { maxBytes: 16 * MB, kind: 'video' },
  'video/3gpp': { maxBytes: 16 * MB, kind: 'video' },
  'text/plain': { maxBytes: 100 * MB, kind: 'file' },
  'application/pdf': { maxBytes: 100 * MB, kind: 'file' },
  'application/msword': { maxBytes: 100 * MB, kind: 'file' },
  'application/vnd.ms-excel': { maxBytes: 100 * MB, kind: 'file' },
  'application/vnd.ms-powerpoint': { maxBytes: 100 * MB, kind: 'file' },
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': { maxBytes: 100 * MB, kind: 'file' },
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': { maxBytes: 100 * MB, kind: 'file' },
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': { maxBytes: 100 * MB, kind: 'file' },
};
/** The largest upload body: the largest file and room for the form around it. */
const UPLOAD_BODY_LIMIT = 100 * MB + 64 * 1024;
/** Which message types may carry which uploads. */
const TYPES_OF: Record<string, (mime: string) => boolean> = {
  image: (m) => m === 'image/jpeg' || m === 'image/png',
  sticker: (m) => m === 'image/webp',
  audio: (m) => m.startsWith('audio/'),
  video: (m) => m.startsWith('video/'),
  document: () => true,
};

/** Name of the server secret that signs download URLs. */
const URL_KEY = 'business-media-url-key';
/** Expired uploads removed per upload (the sweep rides on uploads, so it costs nothing when idle). */
const SWEEP_BATCH = 20;

/** A media id: 16 digits (phone-number and business ids have 15). */
function mediaId(): string {
  let id = String(randomInt(1, 10));
  for (let i = 0; i < 15; i++) id += String(randomInt(0, 10));
  return id;
}

const blobKeyOf = (id: string) => `business-media/${id}`;

function seal(key: Uint8Array, plain: Buffer): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  return Buffer.concat([iv, c.update(plain), c.final(), c.getAuthTag()]);
}

function open(key: Uint8Array, sealed: Buffer): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : Buffer.from(c));
  return Buffer.concat(chunks);
}

/** The upload's bytes as the business sent them. */
async function mediaBytes(ctx: ServerContext, row: BusinessMediaRow): Promise<Buffer> {
  const stream = await ctx.blobs.get(blobKeyOf(row.id));
  if (!stream) throw new BusinessApiError('media_not_found', `media ${row.id} is no longer stored`);
  return open(row.key, await readAll(stream));
}

/** A business's live upload, or the error an unknown, foreign or expired id gets. */
async function ownMedia(ctx: ServerContext, businessId: string, id: string, method: string): Promise<BusinessMediaRow> {
  const row = await ctx.storage.businessMedia.getMedia(id);
  if (!row || row.businessId !== businessId || row.expiresAt <= ctx.now())
    throw new BusinessApiError('unknown_object', `object ${id} does not exist or is not yours`, undefined, {
      method,
      id,
    });
  return row;
}

async function urlSignature(ctx: ServerContext, id: string, expires: number): Promise<string> {
  const key = await ctx.secrets.getOrCreate(URL_KEY, () => randomBytes(32));
  return createHmac('sha256', key).update(`business-media:${id}:${expires}`).digest('hex');
}

/** Remove a few expired uploads, blob first (a row without its blob would answer 131053). */
async function sweep(ctx: ServerContext): Promise<void> {
  for (const row of await ctx.storage.businessMedia.expiredMedia(ctx.now(), SWEEP_BATCH)) {
    await ctx.blobs.delete(blobKeyOf(row.id));
    await ctx.storage.businessMedia.deleteMedia(row.businessId, row.id);
  }
}

/**
 * What a message naming an upload by `id` sends: the upload's bytes as an attachment, or 131053
 * when this business has no such live upload or its type does not fit the message type.
 */
export async function uploadedMediaContent(
  ctx: ServerContext,
  number: BusinessNumberRow,
  type: string,
  media: { id: string; caption?: string; filename?: string },
): Promise<HostedContent> {
  const row = await ctx.storage.businessMedia.getMedia(media.id);
  if (!row || row.businessId !== number.businessId || row.expiresAt <= ctx.now())
    throw new BusinessApiError('media_not_found', `media ${media.id.slice(0, 64)} does not exist`);
  if (!TYPES_OF[type]?.(row.mimeType))
    throw new BusinessApiError('media_not_found', `media ${row.id} is ${row.mimeType}, which a ${type} cannot carry`);
  const fileName = media.filename ?? row.fileName ?? undefined;
  return {
    kind: 'media',
    bytes: new Uint8Array(await mediaBytes(ctx, row)),
    mimeType: row.mimeType,
    mediaKind: BUSINESS_MEDIA_TYPES[row.mimeType]?.kind ?? 'file',
    ...(fileName ? { fileName } : {}),
    ...(media.caption ? { caption: media.caption } : {}),
  };
}

/** What the media routes need from the Business API's registration (routes.ts). */
export interface BusinessRouteHooks {
  authenticate(req: FastifyRequest): Promise<void>;
  errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply;
  tokenOf(req: FastifyRequest): BusinessTokenRow;
  version: string;
}

const MEDIA_ID = ':mediaId(^\\d{16}$)';

/** Register the media routes (in their own scope, so only they read multipart bodies). */
export function registerBusinessMediaRoutes(app: FastifyInstance, ctx: ServerContext, hooks: BusinessRouteHooks): void {
  const { authenticate, errorHandler, tokenOf, version } = hooks;
  void app.register(async (scope) => {
    scope.addContentTypeParser(
      'multipart/form-data',
      { parseAs: 'buffer', bodyLimit: UPLOAD_BODY_LIMIT },
      (_req, body, done) => done(null, body),
    );

    scope.route({
      method: 'POST',
      url: `/${version}/:phoneNumberId/media`,
      bodyLimit: UPLOAD_BODY_LIMIT,
      onRequest: async (req) => authenticate(req),
      errorHandler,
      handler: async (req, reply) => {
        reply.header('cache-control', 'no-store');
        const token = tokenOf(req);
        const { phoneNumberId } = req.params as { phoneNumberId: string };
        const number = businessIdSchema.safeParse(phoneNumberId).success
          ? await ctx.storage.business.getNumber(phoneNumberId)
          : null;
        if (!number || number.businessId !== token.businessId)
          throw new BusinessApiError(
            'unknown_object',
            `object ${phoneNumberId.slice(0, 64)} does not exist or is not yours`,
            undefined,
            {
              method: 'post',
              id: phoneNumberId.slice(0, 64),
            },
          );
        z.object({})
          .strict()
          .parse(req.query ?? {});
        const boundary = multipartBoundary(req.headers['content-type']);
        if (!boundary || !Buffer.isBuffer(req.body))
          throw new BusinessApiError(
            'invalid_parameter',
            'the body must be multipart/form-data with file, type and messaging_product',
          );
        let parts;
        try {
          parts = parseMultipart(req.body, boundary);
        } catch (e) {
          if (e instanceof MultipartError)
            throw new BusinessApiError('invalid_parameter', `multipart body: ${e.message}`);
          throw e;
        }
        const field = (name: string) => {
          const ps = parts.filter((p) => p.name === name);
          if (ps.length > 1) throw new BusinessApiError('invalid_parameter', `${name}: given more than once`);
          return ps[0];
        };
        for (const p of parts)
          if (!['file', 'type', 'messaging_product'].includes(p.name))
            throw new BusinessApiError('invalid_parameter', `${p.name.slice(0, 64)}: not a field of a media upload`);
        const product = field('messaging_product');
        if (product?.data.toString('utf8') !== 'whatsapp')
          throw new BusinessApiError('invalid_parameter', 'messaging_product: must be whatsapp');
        const type = field('type')?.data.toString('utf8').trim().toLowerCase();
        const file = field('file');
        if (!type) throw new BusinessApiError('required_parameter_missing', 'type: the MIME type of the file');
        if (!file || file.filename === null)
          throw new BusinessApiError('required_parameter_missing', 'file: the file to upload');
        const spec = BUSINESS_MEDIA_TYPES[type];
        if (!spec)
          throw new BusinessApiError('media_not_found', `type ${type.slice(0, 128)} is not a supported media type`);
        if (file.data.length === 0) throw new BusinessApiError('invalid_parameter', 'file: empty');
        if (file.data.length > spec.maxBytes)
          throw new BusinessApiError(
            'media_not_found',
            `file: ${file.data.length} bytes, at most ${spec.maxBytes} for ${type}`,
          );

        const now = ctx.now();
        const key = randomBytes(32);
        const row: BusinessMediaRow = {
          id: mediaId(),
          businessId: number.businessId,
          phoneNumberId: number.id,
          mimeType: type,
          sha256: createHash('sha256').update(file.data).digest('hex'),
          fileSize: file.data.length,
          fileName: file.filename.slice(0, 256) || null,
          key,
          createdAt: now,
          expiresAt: now + MEDIA_TTL_MS,
        };
        const sealed = seal(key, file.data);
        await ctx.blobs.put(blobKeyOf(row.id), sealed, sealed.length);
        await ctx.storage.businessMedia.putMedia(row);
        await sweep(ctx).catch((err: unknown) => ctx.log.warn({ err }, 'business media sweep failed'));
        return { id: row.id };
      },
    });

    scope.route({
      method: 'GET',
      url: `/${version}/${MEDIA_ID}`,
      onRequest: async (req) => authenticate(req),
      errorHandler,
      handler: async (req, reply) => {
        reply.header('cache-control', 'no-store');
        const { mediaId: id } = req.params as { mediaId: string };
        const query = z
          .object({ phone_number_id: businessIdSchema.optional() })
          .strict()
          .parse(req.query ?? {});
        const row = await ownMedia(ctx, tokenOf(req).businessId, id, 'get');
        if (query.phone_number_id !== undefined && query.phone_number_id !== row.phoneNumberId)
          throw new BusinessApiError('unknown_object', `object ${id} was not uploaded by that number`, undefined, {
            method: 'get',
            id,
          });
        const expires = ctx.now() + MEDIA_URL_TTL_MS;
        const url = new URL(
          `${req.protocol}://${req.headers.host ?? 'localhost'}/${(req.params as { version: string }).version}/${id}/download`,
        );
        url.searchParams.set('expires', String(expires));
        url.searchParams.set('signature', await urlSignature(ctx, id, expires));
        return {
          messaging_product: 'whatsapp',
          url: url.toString(),
          mime_type: row.mimeType,
          sha256: row.sha256,
          file_size: row.fileSize,
          id: row.id,
        };
      },
    });

    scope.route({
      method: 'DELETE',
      url: `/${version}/${MEDIA_ID}`,
      onRequest: async (req) => authenticate(req),
      errorHandler,
      handler: async (req, reply) => {
        reply.header('cache-control', 'no-store');
        const { mediaId: id } = req.params as { mediaId: string };
        z.object({ phone_number_id: businessIdSchema.optional() })
          .strict()
          .parse(req.query ?? {});
        const row = await ownMedia(ctx, tokenOf(req).businessId, id, 'delete');
        await ctx.blobs.delete(blobKeyOf(row.id));
        await ctx.storage.businessMedia.deleteMedia(row.businessId, row.id);
        return { success: true };
      },
    });

    scope.route({
      method: 'GET',
      url: `/${version}/${MEDIA_ID}/download`,
      onRequest: async (req) => authenticate(req),
      errorHandler,
      handler: async (req, reply) => {
        const { mediaId: id } = req.params as { mediaId: string };
        const query = z
          .object({ expires: z.string().regex(/^\d{1,15}$/), signature: z.string().regex(/^[0-9a-f]{64}$/) })
          .strict()
          .parse(req.query ?? {});
        const row = await ownMedia(ctx, tokenOf(req).businessId, id, 'get');
        const want = Buffer.from(await urlSignature(ctx, id, Number(query.expires)), 'hex');
        if (!timingSafeEqual(want, Buffer.from(query.signature, 'hex')))
          throw new BusinessApiError('invalid_parameter', 'signature: this is not a download URL the API gave');
        if (Number(query.expires) <= ctx.now())
          throw new BusinessApiError('invalid_parameter', 'the download URL has expired: read the media id again');
        const bytes = await mediaBytes(ctx, row);
        return reply
          .header('cache-control', 'no-store')
          .header('content-type', row.mimeType)
          .header('content-length', String(bytes.length))
          .header('x-content-type-options', 'nosniff')
          .header('content-disposition', 'attachment')
          .send(bytes);
      },
    });
  });
}
