/**
 * fal (C9): a queue submit to `POST <queue>/<model>` answers `request_id`, `status_url`,
 * `response_url` and `cancel_url`; the status goes IN_QUEUE (with `queue_position`) → IN_PROGRESS
 * → COMPLETED, then the response holds `images[]` (addresses downloaded at once) and
 * `has_nsfw_concepts`. A stopped job is cancelled with `PUT cancel_url`. Mapping table:
 * docs/image-generation.md.
 */
import { ParleyError } from '@parley/protocol';
import { z } from 'zod';
import { runJob, toBase64 } from '../job.ts';
import type { Job } from '../job.ts';
import { checkRequest } from '../types.ts';
import type { GenerateOptions, GenerationResult, ImageProvider, ImageRequest } from '../types.ts';
import { collectVariants, jsonHeaders } from './common.ts';
import type { AdapterConfig } from './common.ts';

const queued = z.object({
  request_id: z.string().min(1),
  status_url: z.string().min(1),
  response_url: z.string().min(1),
  cancel_url: z.string().min(1),
});
type Queued = z.infer<typeof queued>;
const status = z.object({
  status: z.enum(['IN_QUEUE', 'IN_PROGRESS', 'COMPLETED']),
  queue_position: z.number().int().nullish(),
  logs: z.array(z.object({ message: z.string() }).passthrough()).nullish(),
  error: z.unknown().optional(),
  error_type: z.string().nullish(),
});
const response = z.object({
  images: z
    .array(z.object({ url: z.string().min(1), width: z.number().optional(), height: z.number().optional() }))
    .min(1),
  seed: z.number().optional(),
  has_nsfw_concepts: z.array(z.boolean()).optional(),
});

/** The fal adapter. `baseUrl` is the queue address (`https://queue.fal.run`). */
export class FalProvider implements ImageProvider {
  readonly id = 'fal';
  readonly label = 'fal';
  constructor(private readonly config: AdapterConfig) {}

  models() {
    return this.config.models;
  }

  async generate(request: ImageRequest, options: GenerateOptions = {}): Promise<GenerationResult> {
    const { req, model } = checkRequest(request, this.config.models);
    const headers = jsonHeaders(this.config.apiKey ? { authorization: `Key ${this.config.apiKey}` } : {});
    let current: Queued | undefined;
    return runJob(
      this.id,
      this.config,
      options,
      async (job) => {
        const images = await collectVariants(req, model, async (seed, n) => {
          const body = {
            prompt: req.prompt,
            seed,
            num_images: n,
            image_size: { width: req.width, height: req.height },
            ...(req.inputImage
              ? { image_url: `data:${req.inputImage.mimeType};base64,${toBase64(req.inputImage.bytes)}` }
              : {}),
          };
          current = await job.json(
            job.url(req.model),
            { method: 'POST', headers, body: JSON.stringify(body) },
            queued,
            { what: 'submit', readError: readFalError },
          );
          job.progress({ stage: 'submitted' });
          const got = await this.finish(job, current, headers, seed);
          current = undefined;
          return got;
        });
        return { images, provider: this.id, model: req.model, seed: req.seed };
      },
      async (job, signal) => {
        if (!current) return;
        const at = job.url(current.cancel_url);
        await job.sendDetached(at, { method: 'PUT', headers: job.authFor(at, headers, 'authorization') }, signal);
      },
    );
  }

  private async finish(job: Job, q: Queued, headers: Record<string, string>, seed: number) {
    for (;;) {
      const at = job.url(q.status_url + (q.status_url.includes('?') ? '&' : '?') + 'logs=1');
      const s = await job.json(at, { method: 'GET', headers: job.authFor(at, headers, 'authorization') }, status, {
        what: 'poll',
      });
      if (s.status === 'COMPLETED') {
        if (s.error !== undefined && s.error !== null)
          throw new ParleyError(
            s.error_type === 'content_policy_violation' ? 'image_provider_refused' : 'image_provider_failed',
            {
              details: { provider: this.id, reason: s.error, type: s.error_type },
            },
          );
        break;
      }
      if (s.status === 'IN_QUEUE')
        job.progress({
          stage: 'queued',
          ...(typeof s.queue_position === 'number' ? { queuePosition: s.queue_position } : {}),
        });
      else job.progress({ stage: 'running' });
      await job.sleep();
    }
    const at = job.url(q.response_url);
    const r = await job.json(at, { method: 'GET', headers: job.authFor(at, headers, 'authorization') }, response, {
      what: 'response',
      readError: readFalError,
    });
    // The safety checker blanks a flagged image and says so in has_nsfw_concepts: never pass those on.
    const kept = r.images.filter((_, i) => r.has_nsfw_concepts?.[i] !== true);
    if (kept.length === 0)
      throw new ParleyError('image_provider_refused', { details: { provider: this.id, reason: 'has_nsfw_concepts' } });
    const base = r.seed ?? seed;
    const out = [];
    for (const [i, img] of kept.entries()) out.push(await job.download(img.url, (base + i) >>> 0));
    return out;
  }
}

/** fal's errors: `{detail: [{type, msg}]}` (422), where a `content_policy_violation` type is a refusal. */
function readFalError(status: number, body: unknown): ParleyError | undefined {
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (Array.isArray(detail) && detail.some((d) => (d as { type?: unknown })?.type === 'content_policy_violation'))
    return new ParleyError('image_provider_refused', { details: { provider: 'fal', status, reason: detail } });
  return undefined;
}
