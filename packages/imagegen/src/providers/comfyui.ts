/**
 * ComfyUI (C9): `POST /prompt` with an API-format workflow answers `prompt_id` (or `error` and
 * `node_errors`); `/history/{id}` stays `{}` until the run ends, then lists each output node's
 * images, fetched from `/view?filename=…&subfolder=…&type=…`; `/queue` tells queued from running.
 * A stopped job is deleted from the queue, or interrupted when it is the one running. Each model
 * is a workflow whose strings `{{prompt}}`, `{{seed}}`, `{{width}}`, `{{height}}` and
 * `{{variants}}` are filled in. Mapping table: docs/image-generation.md.
 */
import { ParleyError } from '@parley/protocol';
import { z } from 'zod';
import { runJob } from '../job.ts';
import type { Job } from '../job.ts';
import { checkRequest } from '../types.ts';
import type { CheckedRequest, GenerateOptions, GenerationResult, ImageProvider, ImageRequest } from '../types.ts';
import { collectVariants, jsonHeaders } from './common.ts';
import type { AdapterConfig } from './common.ts';

/** The models and, per model id, its API-format workflow with placeholders. */
export interface ComfyUiConfig extends AdapterConfig {
  readonly workflows: Readonly<Record<string, object>>;
}

const queued = z.object({ prompt_id: z.string().min(1) });
const imageRef = z.object({
  filename: z.string().min(1),
  subfolder: z.string().default(''),
  type: z.string().default('output'),
});
const entry = z.object({
  outputs: z.record(z.string(), z.object({ images: z.array(imageRef).optional() }).passthrough()),
  status: z
    .object({ status_str: z.string(), completed: z.boolean(), messages: z.array(z.unknown()).optional() })
    .optional(),
});
const history = z.record(z.string(), entry);
const queueState = z.object({
  queue_running: z.array(z.array(z.unknown())),
  queue_pending: z.array(z.array(z.unknown())),
});

/** The ComfyUI adapter. */
export class ComfyUiProvider implements ImageProvider {
  readonly id = 'comfyui';
  readonly label = 'ComfyUI';
  private readonly clientId = globalThis.crypto.randomUUID();
  constructor(private readonly config: ComfyUiConfig) {}

  models() {
    return this.config.models;
  }

  async generate(request: ImageRequest, options: GenerateOptions = {}): Promise<GenerationResult> {
    const { req, model } = checkRequest(request, this.config.models);
    const workflow = this.config.workflows[req.model];
    if (!workflow) throw new ParleyError('image_model_unknown', { details: { model: req.model } });
    const headers = jsonHeaders(this.config.apiKey ? { authorization: `Bearer ${this.config.apiKey}` } : {});
    let promptId: string | undefined;
    return runJob(
      this.id,
      this.config,
      options,
      async (job) => {
        const images = await collectVariants(req, model, async (seed, n) => {
          const filled = fill(workflow, { ...req, seed, variants: n });
          const q = await job.json(
            job.url('prompt'),
            { method: 'POST', headers, body: JSON.stringify({ prompt: filled, client_id: this.clientId }) },
            queued,
            { what: 'submit', readError: readComfyError },
          );
          promptId = q.prompt_id;
          job.progress({ stage: 'submitted' });
          const got = await this.finish(job, q.prompt_id, headers, seed);
          promptId = undefined;
          return got;
        });
        return { images, provider: this.id, model: req.model, seed: req.seed };
      },
      async (job, signal) => {
        if (!promptId) return;
        const id = promptId;
        const state = await job.sendAndRead(job.url('queue'), { method: 'GET', headers }, signal);
        const running = queueState.safeParse(state).data?.queue_running.some((item) => item[1] === id) ?? false;
        if (running)
          await job.sendDetached(
            job.url('interrupt'),
            { method: 'POST', headers, body: JSON.stringify({ prompt_id: id }) },
            signal,
          );
        else
          await job.sendDetached(
            job.url('queue'),
            { method: 'POST', headers, body: JSON.stringify({ delete: [id] }) },
            signal,
          );
      },
    );
  }

  private async finish(job: Job, id: string, headers: Record<string, string>, seed: number) {
    for (;;) {
      const h = await job.json(job.url(`history/${encodeURIComponent(id)}`), { method: 'GET', headers }, history, {
        what: 'poll',
      });
      const e = h[id];
      if (e && (e.status === undefined || e.status.completed || e.status.status_str === 'error')) {
        if (e.status?.status_str === 'error')
          throw new ParleyError('image_provider_failed', {
            details: { provider: this.id, messages: e.status.messages?.slice(-3) },
          });
        const refs = Object.values(e.outputs).flatMap((o) => (o.images ?? []).filter((i) => i.type === 'output'));
        if (refs.length === 0)
          throw new ParleyError('image_provider_bad_answer', {
            details: { provider: this.id, problem: 'a finished run with no output image' },
          });
        const out = [];
        for (const [i, r] of refs.entries()) {
          const q = new URLSearchParams({ filename: r.filename, subfolder: r.subfolder, type: r.type });
          out.push(await job.download(job.url(`view?${q}`), (seed + i) >>> 0));
        }
        return out;
      }
      const qs = await job.json(job.url('queue'), { method: 'GET', headers }, queueState, { what: 'queue' });
      const pending = qs.queue_pending.findIndex((item) => item[1] === id);
      job.progress(pending >= 0 ? { stage: 'queued', queuePosition: pending } : { stage: 'running' });
      await job.sleep();
    }
  }
}

/** A deep copy of the workflow with its placeholders filled: a whole-string `{{seed}}` becomes a number. */
export function fill(
  workflow: unknown,
  req: Pick<CheckedRequest, 'prompt' | 'seed' | 'width' | 'height' | 'variants'>,
): unknown {
  const values: Record<string, string | number> = {
    prompt: req.prompt,
    seed: req.seed,
    width: req.width,
    height: req.height,
    variants: req.variants,
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const whole = /^\{\{(\w+)\}\}$/.exec(v);
      if (whole && whole[1]! in values) return values[whole[1]!];
      return v.replace(/\{\{(\w+)\}\}/g, (m, k: string) => (k in values ? String(values[k]) : m));
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(workflow);
}

/** `POST /prompt` refuses an invalid workflow with 400 `{error: {type, message}, node_errors}`. */
function readComfyError(status: number, body: unknown): ParleyError | undefined {
  const b = body as { error?: { type?: unknown; message?: unknown }; node_errors?: unknown } | null;
  if (status === 400 && b?.error)
    return new ParleyError('image_request_invalid', {
      details: { provider: 'comfyui', type: b.error.type, reason: b.error.message, nodeErrors: b.node_errors },
    });
  return undefined;
}
