/**
 * Black Forest Labs Flux (C9): `POST /v1/<model>` with `x-key` answers `{id, polling_url}`; the
 * polling URL answers a status until `Ready`, whose `result.sample` is a signed address valid
 * about ten minutes, so it is downloaded at once. The API has no cancel: a stopped job is
 * abandoned (and billed by the provider). Mapping table: docs/image-generation.md.
 */
import { ParleyError } from '@parley/protocol';
import { z } from 'zod';
import { runJob, toBase64 } from '../job.ts';
import type { Job } from '../job.ts';
import { checkRequest } from '../types.ts';
import type { GenerateOptions, GenerationResult, ImageProvider, ImageRequest } from '../types.ts';
import { collectVariants, jsonHeaders } from './common.ts';
import type { AdapterConfig } from './common.ts';

const submitted = z.object({ id: z.string().min(1), polling_url: z.string().min(1) });
const polled = z.object({
  status: z.string(),
  result: z.object({ sample: z.string().min(1), seed: z.number().optional() }).nullish(),
  progress: z.number().nullish(),
  details: z.unknown().optional(),
});

/** The BFL states that end in a refusal by its moderation. */
const MODERATED = new Set(['Request Moderated', 'Content Moderated']);

/** The Flux adapter. */
export class BflProvider implements ImageProvider {
  readonly id = 'bfl';
  readonly label = 'Black Forest Labs';
  constructor(private readonly config: AdapterConfig) {}

  models() {
    return this.config.models;
  }

  async generate(request: ImageRequest, options: GenerateOptions = {}): Promise<GenerationResult> {
    const { req, model } = checkRequest(request, this.config.models);
    return runJob(this.id, this.config, options, async (job) => {
      const images = await collectVariants(req, model, async (seed) => {
        const body = {
          prompt: req.prompt,
          seed,
          output_format: 'png',
          ...(req.aspectRatio ? { aspect_ratio: req.aspectRatio } : { width: req.width, height: req.height }),
          ...(req.inputImage ? { input_image: toBase64(req.inputImage.bytes) } : {}),
        };
        return [await this.one(job, req.model, body, seed)];
      });
      return { images, provider: this.id, model: req.model, seed: req.seed };
    });
  }

  private async one(job: Job, model: string, body: object, seed: number) {
    const headers = jsonHeaders(this.config.apiKey ? { 'x-key': this.config.apiKey } : {});
    const task = await job.json(
      job.url(`v1/${model}`),
      { method: 'POST', headers, body: JSON.stringify(body) },
      submitted,
      { what: 'submit', readError: readBflError },
    );
    job.progress({ stage: 'submitted' });
    for (;;) {
      const at = job.url(task.polling_url);
      const s = await job.json(at, { method: 'GET', headers: job.authFor(at, headers, 'x-key') }, polled, {
        what: 'poll',
      });
      if (s.status === 'Ready') {
        if (!s.result)
          throw new ParleyError('image_provider_bad_answer', {
            details: { provider: this.id, problem: 'Ready without result' },
          });
        return job.download(s.result.sample, seed);
      }
      if (MODERATED.has(s.status))
        throw new ParleyError('image_provider_refused', {
          details: { provider: this.id, status: s.status, reason: s.details },
        });
      if (s.status === 'Task not found')
        throw new ParleyError('image_result_expired', { details: { provider: this.id, id: task.id } });
      if (s.status === 'Error' || s.status === 'Failed')
        throw new ParleyError('image_provider_failed', {
          details: { provider: this.id, status: s.status, reason: s.details },
        });
      if (s.status !== 'Pending')
        throw new ParleyError('image_provider_bad_answer', {
          details: { provider: this.id, problem: 'unknown status', got: s.status },
        });
      job.progress({ stage: 'running', ...(typeof s.progress === 'number' ? { fraction: clamp01(s.progress) } : {}) });
      await job.sleep();
    }
  }
}

/** BFL answers a bad request with 422 `{detail: [...]}` (validation) and no credit with 402. */
function readBflError(status: number, body: unknown): ParleyError | undefined {
  if (status === 402)
    return new ParleyError('image_provider_key_rejected', { details: { provider: 'bfl', status, body } });
  return undefined;
}

/** BFL reports progress as 0–1 on newer models and 0–100 on some; both become 0–1. */
function clamp01(n: number): number {
  const f = n > 1 ? n / 100 : n;
  return Math.min(1, Math.max(0, f));
}
