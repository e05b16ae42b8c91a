/**
 * Replicate (C9): `POST /v1/predictions` with `Prefer: wait` may answer finished; otherwise
 * `urls.get` is polled through starting / processing to succeeded, failed or canceled, and the
 * output addresses are downloaded at once. A stopped job is cancelled with `urls.cancel`, and
 * every prediction carries `Cancel-After` set to the job's deadline.
 * Mapping table: docs/image-generation.md.
 */
import { ParleyError } from '@parley/protocol';
import { z } from 'zod';
import { runJob, toBase64 } from '../job.ts';
import type { Job } from '../job.ts';
import { checkRequest } from '../types.ts';
import type { GenerateOptions, GenerationResult, ImageProvider, ImageRequest } from '../types.ts';
import { collectVariants, jsonHeaders } from './common.ts';
import type { AdapterConfig } from './common.ts';

const prediction = z.object({
  id: z.string().min(1),
  status: z.enum(['starting', 'processing', 'succeeded', 'failed', 'canceled', 'aborted']),
  output: z.union([z.string(), z.array(z.string()), z.null()]).optional(),
  error: z.unknown().optional(),
  logs: z.string().nullish(),
  urls: z.object({ get: z.string().min(1), cancel: z.string().min(1) }),
});
type Prediction = z.infer<typeof prediction>;

/** Replicate's safety checker fails a prediction with an error naming NSFW or sensitive content. */
const REFUSAL = /nsfw|safety|sensitive|flagged|content polic/i;
/** How long the submit asks Replicate to hold the answer (`Prefer: wait=N`, at most 60). */
const WAIT_SECONDS = 30;

/** The Replicate adapter. */
export class ReplicateProvider implements ImageProvider {
  readonly id = 'replicate';
  readonly label = 'Replicate';
  constructor(private readonly config: AdapterConfig) {}

  models() {
    return this.config.models;
  }

  async generate(request: ImageRequest, options: GenerateOptions = {}): Promise<GenerationResult> {
    const { req, model } = checkRequest(request, this.config.models);
    const headers = jsonHeaders(this.config.apiKey ? { authorization: `Bearer ${this.config.apiKey}` } : {});
    let current: Prediction | undefined;
    return runJob(
      this.id,
      this.config,
      options,
      async (job) => {
        const images = await collectVariants(req, model, async (seed, n) => {
          const input = {
            prompt: req.prompt,
            seed,
            num_outputs: n,
            ...(req.aspectRatio ? { aspect_ratio: req.aspectRatio } : { width: req.width, height: req.height }),
            ...(req.inputImage
              ? { image: `data:${req.inputImage.mimeType};base64,${toBase64(req.inputImage.bytes)}` }
              : {}),
          };
          current = await job.json(
            job.url('v1/predictions'),
            {
              method: 'POST',
              headers: {
                ...headers,
                prefer: `wait=${Math.max(1, Math.min(WAIT_SECONDS, Math.floor(job.remainingMs() / 1000)))}`,
                // Replicate ends the prediction itself at our deadline, even when the cancel below
                // cannot reach it (stopped while this submit still waits for its id).
                'cancel-after': `${Math.max(1, Math.ceil(job.remainingMs() / 1000))}s`,
              },
              body: JSON.stringify({ version: req.model, input }),
            },
            prediction,
            { what: 'submit' },
          );
          job.progress({ stage: 'submitted' });
          const done = await this.finish(job, current, headers);
          current = undefined;
          const outputs = typeof done.output === 'string' ? [done.output] : (done.output ?? []);
          if (outputs.length === 0)
            throw new ParleyError('image_provider_bad_answer', {
              details: { provider: this.id, problem: 'succeeded with no output' },
            });
          const out = [];
          for (const [i, o] of outputs.entries()) out.push(await job.download(o, (seed + i) >>> 0));
          return out;
        });
        return { images, provider: this.id, model: req.model, seed: req.seed };
      },
      async (job, signal) => {
        if (!current) return;
        const at = job.url(current.urls.cancel);
        await job.sendDetached(at, { method: 'POST', headers: job.authFor(at, headers, 'authorization') }, signal);
      },
    );
  }

  private async finish(job: Job, first: Prediction, headers: Record<string, string>): Promise<Prediction> {
    let p = first;
    for (;;) {
      if (p.status === 'succeeded') return p;
      if (p.status === 'failed') {
        const reason = typeof p.error === 'string' ? p.error : JSON.stringify(p.error ?? null);
        throw new ParleyError(REFUSAL.test(reason) ? 'image_provider_refused' : 'image_provider_failed', {
          details: { provider: this.id, reason },
        });
      }
      if (p.status === 'canceled' || p.status === 'aborted')
        throw new ParleyError('image_provider_failed', { details: { provider: this.id, status: p.status } });
      const fraction = logProgress(p.logs);
      job.progress({
        stage: p.status === 'starting' ? 'queued' : 'running',
        ...(fraction !== undefined ? { fraction } : {}),
      });
      await job.sleep();
      const at = job.url(p.urls.get);
      p = await job.json(at, { method: 'GET', headers: job.authFor(at, headers, 'authorization') }, prediction, {
        what: 'poll',
      });
    }
  }
}

/** The last `NN%|` progress bar in a prediction's logs, as 0–1. */
function logProgress(logs: string | null | undefined): number | undefined {
  const all = [...(logs ?? '').matchAll(/(\d{1,3})%\|/g)];
  const last = all.at(-1);
  return last ? Math.min(1, Number(last[1]) / 100) : undefined;
}
