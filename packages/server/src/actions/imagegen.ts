/**
 * Hosted image generation (C9, docs/image-generation.md): the models this account may use, and a
 * job whose progress and result stream back as NDJSON lines to the one device that asked. Every
 * refusal before the job (model, request, block-list, running jobs, quota, budget) is an ordinary
 * error answer; once the stream has begun, a failure is its last line. When the device goes away
 * mid-job the job is cancelled, at the provider where its API allows.
 */
import { PassThrough } from 'node:stream';
import { ParleyError, toB64, type ImagineBody, type ImagineLine } from '@parley/protocol';
import { pngC2pa } from '@parley/imagegen';
import type { AuthedCaller, ServerContext } from '../context.ts';
import { BinaryAnswer } from '../answers.ts';

/** The models this account may use (`GET /v1/imagegen/models`). */
export function listImageModels(ctx: ServerContext, c: AuthedCaller) {
  return ctx.imagegen.models(c.accountId);
}

/** Run one job for the calling device (`POST /v1/imagegen/jobs`), answering NDJSON lines. */
export async function imagine(ctx: ServerContext, c: AuthedCaller, body: ImagineBody): Promise<BinaryAnswer> {
  const job = await ctx.imagegen.start(c.accountId, body);
  const out = new PassThrough();
  const abort = new AbortController();
  // The device hung up (or the answer broke): stop the job, at the provider too.
  out.on('close', () => abort.abort());
  const line = (l: ImagineLine) => {
    if (!out.destroyed) out.write(JSON.stringify(l) + '\n');
  };
  void job
    .run({
      signal: abort.signal,
      onProgress: (p) => line({ type: 'progress', ...p }),
    })
    .then(
      (r) =>
        line({
          type: 'result',
          provider: r.provider,
          model: r.model,
          modelName: job.modelName,
          ...(r.seed !== undefined ? { seed: r.seed } : {}),
          createdAt: ctx.now(),
          images: r.images.map((i) => ({
            data: toB64(i.bytes),
            mimeType: i.mimeType as 'image/png' | 'image/jpeg' | 'image/webp',
            ...(i.width ? { width: i.width } : {}),
            ...(i.height ? { height: i.height } : {}),
            ...(i.seed !== undefined ? { seed: i.seed } : {}),
            ...(i.c2pa || (i.mimeType === 'image/png' && pngC2pa(i.bytes)) ? { c2pa: true } : {}),
          })),
        }),
      (err: unknown) => {
        const e = err instanceof ParleyError ? err : new ParleyError('internal');
        if (!(err instanceof ParleyError)) ctx.log.error({ err }, 'image job crashed');
        line({ type: 'error', error: e.toBody().error });
      },
    )
    .finally(() => out.end());
  return new BinaryAnswer(out, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
}
