/**
 * AUTOMATIC1111 (`--api`) and stable-diffusion.cpp's server (C9): `POST /sdapi/v1/txt2img` (or
 * `img2img` with an input image) holds the connection until the images are made and answers them
 * base64 in `images[]`, with the seeds in the `info` JSON string. Meanwhile `/sdapi/v1/progress`
 * is polled for `progress`. A stopped job is ended with `POST /sdapi/v1/interrupt`. There is no
 * content policy to map. Mapping table: docs/image-generation.md.
 */
import { z } from 'zod';
import { runJob, toBase64 } from '../job.ts';
import type { Job } from '../job.ts';
import { checkRequest } from '../types.ts';
import type { GenerateOptions, GenerationResult, ImageProvider, ImageRequest } from '../types.ts';
import { collectVariants, jsonHeaders } from './common.ts';
import type { AdapterConfig } from './common.ts';

const answer = z.object({ images: z.array(z.string().min(1)).min(1), info: z.string().optional() });
const info = z.object({ all_seeds: z.array(z.number()).optional(), seed: z.number().optional() }).passthrough();
const progress = z.object({ progress: z.number() }).passthrough();

/** The AUTOMATIC1111 / stable-diffusion.cpp adapter. `apiKey`, when set, is sent as HTTP Basic `user:password`. */
export class A1111Provider implements ImageProvider {
  readonly id = 'a1111';
  readonly label = 'AUTOMATIC1111';
  constructor(private readonly config: AdapterConfig) {}

  models() {
    return this.config.models;
  }

  async generate(request: ImageRequest, options: GenerateOptions = {}): Promise<GenerationResult> {
    const { req, model } = checkRequest(request, this.config.models);
    const headers = jsonHeaders(this.config.apiKey ? { authorization: `Basic ${btoa(this.config.apiKey)}` } : {});
    let running = false;
    return runJob(
      this.id,
      this.config,
      options,
      async (job) => {
        const images = await collectVariants(req, model, async (seed, n) => {
          const body = {
            prompt: req.prompt,
            seed,
            width: req.width,
            height: req.height,
            batch_size: n,
            n_iter: 1,
            override_settings: { sd_model_checkpoint: req.model },
            ...(req.inputImage ? { init_images: [toBase64(req.inputImage.bytes)] } : {}),
          };
          const path = req.inputImage ? 'sdapi/v1/img2img' : 'sdapi/v1/txt2img';
          running = true;
          job.progress({ stage: 'submitted' });
          const call = job.json(job.url(path), { method: 'POST', headers, body: JSON.stringify(body) }, answer, {
            what: 'submit',
          });
          const watching = this.watch(job, headers, call);
          // Left true when the call fails, so a stopped job is interrupted at the server.
          const a = await call;
          running = false;
          await watching;
          // With several images some servers put a grid of them first: keep the last `n`.
          const b64 = a.images.slice(-n);
          const seeds = parseSeeds(job, a.info);
          return b64.map((img, i) => job.decodeBase64(img, seeds?.[i] ?? (seed + i) >>> 0));
        });
        return { images, provider: this.id, model: req.model, seed: req.seed };
      },
      async (job, signal) => {
        if (running) await job.sendDetached(job.url('sdapi/v1/interrupt'), { method: 'POST', headers }, signal);
      },
    );
  }

  /** Polls `/sdapi/v1/progress` until the generation call settles; progress is only a display aid. */
  private async watch(job: Job, headers: Record<string, string>, call: Promise<unknown>): Promise<void> {
    let settled = false;
    void call.then(
      () => (settled = true),
      () => (settled = true),
    );
    while (!settled) {
      await new Promise((r) => setTimeout(r, job.pollIntervalMs));
      if (settled || job.signal.aborted) return;
      try {
        const p = await job.json(
          job.url('sdapi/v1/progress?skip_current_image=true'),
          { method: 'GET', headers },
          progress,
          {
            what: 'progress',
          },
        );
        if (!settled) job.progress({ stage: 'running', fraction: Math.min(1, Math.max(0, p.progress)) });
      } catch {
        // stable-diffusion.cpp may not offer /progress, and a failed poll must not fail the job.
        return;
      }
    }
  }
}

/** `info` is a JSON string; its `all_seeds` gives each image's seed. */
function parseSeeds(job: Job, text: string | undefined): number[] | undefined {
  if (!text) return undefined;
  const i = job.parse(text, info, 'info');
  return i.all_seeds ?? (i.seed !== undefined ? [i.seed] : undefined);
}
