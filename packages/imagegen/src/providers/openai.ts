/**
 * OpenAI-compatible image services (C9): `POST /v1/images/generations` answers `data[]` with
 * `b64_json` or a `url` (downloaded at once). A refusal is a 400 whose `error.code` is
 * `content_policy_violation` or `moderation_blocked`. The API has no job to cancel: aborting
 * drops the request. Mapping table: docs/image-generation.md.
 */
import { ParleyError } from '@parley/protocol';
import { z } from 'zod';
import { runJob } from '../job.ts';
import { checkRequest } from '../types.ts';
import type { GenerateOptions, GenerationResult, ImageProvider, ImageRequest } from '../types.ts';
import { collectVariants, jsonHeaders } from './common.ts';
import type { AdapterConfig } from './common.ts';

const answer = z.object({
  data: z.array(z.object({ b64_json: z.string().min(1).optional(), url: z.string().min(1).optional() })).min(1),
});

/** Settings beyond the common ones: whether to ask for `response_format` (older models need it). */
export interface OpenAiConfig extends AdapterConfig {
  /** `b64_json` or `url` sends `response_format`; absent sends none (models that always answer base64). */
  readonly responseFormat?: 'b64_json' | 'url';
}

const REFUSAL_CODES = new Set(['content_policy_violation', 'moderation_blocked']);

/** The OpenAI-compatible adapter. */
export class OpenAiProvider implements ImageProvider {
  readonly id = 'openai';
  readonly label = 'OpenAI-compatible';
  constructor(private readonly config: OpenAiConfig) {}

  models() {
    return this.config.models;
  }

  async generate(request: ImageRequest, options: GenerateOptions = {}): Promise<GenerationResult> {
    const { req, model } = checkRequest(request, this.config.models);
    return runJob(this.id, this.config, options, async (job) => {
      const headers = jsonHeaders(this.config.apiKey ? { authorization: `Bearer ${this.config.apiKey}` } : {});
      const images = await collectVariants(req, model, async (_seed, n) => {
        const body = {
          model: req.model,
          prompt: req.prompt,
          n,
          size: `${req.width}x${req.height}`,
          ...(this.config.responseFormat ? { response_format: this.config.responseFormat } : {}),
        };
        job.progress({ stage: 'submitted' });
        // One synchronous call: from here the provider is making the images.
        job.progress({ stage: 'running' });
        const a = await job.json(
          job.url('v1/images/generations'),
          { method: 'POST', headers, body: JSON.stringify(body) },
          answer,
          { what: 'submit', readError: readOpenAiError },
        );
        const out = [];
        for (const d of a.data) {
          if (d.b64_json) out.push(job.decodeBase64(d.b64_json));
          else if (d.url) out.push(await job.download(d.url));
          else
            throw new ParleyError('image_provider_bad_answer', {
              details: { provider: 'openai', problem: 'an item with neither b64_json nor url' },
            });
        }
        return out;
      });
      // These services take no seed: the result says so by carrying none.
      return { images, provider: this.id, model: req.model };
    });
  }
}

/** `{error: {code, type, message}}`: a content-policy code is a refusal. */
function readOpenAiError(status: number, body: unknown): ParleyError | undefined {
  const e = (body as { error?: { code?: unknown; type?: unknown; message?: unknown } } | null)?.error;
  if (status === 400 && e && (REFUSAL_CODES.has(String(e.code)) || e.type === 'image_generation_user_error'))
    return new ParleyError('image_provider_refused', {
      details: { provider: 'openai', code: e.code, reason: e.message },
    });
  return undefined;
}
