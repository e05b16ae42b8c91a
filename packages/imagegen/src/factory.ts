/**
 * One model of one provider, described as data (C9): what the server's configuration lists for
 * each hosted model and what a device keeps for a model it calls itself. `createProvider` turns it
 * into the adapter, so both sides build providers the same way.
 */
import { z } from 'zod';
import type { ImageProvider } from './types.ts';
import { BflProvider } from './providers/bfl.ts';
import { OpenAiProvider } from './providers/openai.ts';
import { ReplicateProvider } from './providers/replicate.ts';
import { FalProvider } from './providers/fal.ts';
import { ComfyUiProvider } from './providers/comfyui.ts';
import { A1111Provider } from './providers/a1111.ts';

/** The adapters that call a provider over HTTP. */
export const HTTP_PROVIDERS = ['bfl', 'openai', 'replicate', 'fal', 'comfyui', 'a1111'] as const;
export type HttpProviderId = (typeof HTTP_PROVIDERS)[number];

/** Who each adapter's provider is, as the first-use sentence names it. */
export const PROVIDER_NAMES: Readonly<Record<HttpProviderId, string>> = {
  bfl: 'Black Forest Labs',
  openai: 'an OpenAI-compatible image service',
  replicate: 'Replicate',
  fal: 'fal',
  comfyui: 'a ComfyUI server',
  a1111: 'a Stable Diffusion (AUTOMATIC1111) server',
};

/** The fields of a model spec, for schemas that add their own (the server's hosted models). */
export const modelSpecShape = {
  provider: z.enum(HTTP_PROVIDERS),
  baseUrl: z.string().regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// address'),
  apiKey: z.string().min(1).max(4096).optional(),
  /** The provider's own model name. */
  model: z.string().min(1).max(200),
  displayName: z.string().min(1).max(100),
  maxVariantsPerJob: z.number().int().min(1).max(4).default(1),
  imageInput: z.boolean().default(false),
  seeded: z.boolean().optional(),
  timeoutMs: z.number().int().positive().max(3_600_000).optional(),
  pollIntervalMs: z.number().int().positive().max(60_000).optional(),
  /** OpenAI-compatible only: ask for `b64_json` or `url`. */
  responseFormat: z.enum(['b64_json', 'url']).optional(),
  /** ComfyUI only: the API-format workflow with `{{prompt}}`, `{{seed}}`, … placeholders. */
  workflow: z.record(z.string(), z.unknown()).optional(),
};

/** A ComfyUI model is its workflow: one without is refused where the spec is read. */
export const needsWorkflow: [
  (m: { provider: string; workflow?: unknown }) => boolean,
  { message: string; path: string[] },
] = [
  (m) => m.provider !== 'comfyui' || m.workflow !== undefined,
  { message: 'a ComfyUI model needs its workflow', path: ['workflow'] },
];

/** One model at one provider, with where the provider is and its key. */
export const modelSpecSchema = z
  .object(modelSpecShape)
  .strict()
  .refine(...needsWorkflow);
export type ModelSpec = z.input<typeof modelSpecSchema>;

/** The provider and host a prompt goes to, in words: "Black Forest Labs (api.bfl.ai)". */
export function recipientOf(spec: Pick<ModelSpec, 'provider' | 'baseUrl'>): string {
  let host = spec.baseUrl;
  try {
    host = new URL(spec.baseUrl).host;
  } catch {
    /* shown as configured */
  }
  return `${PROVIDER_NAMES[spec.provider]} (${host})`;
}

/** The adapter for one model spec (checked against `modelSpecSchema` first). */
export function createProvider(input: ModelSpec, opts: { fetch?: typeof fetch } = {}): ImageProvider {
  const spec = modelSpecSchema.parse(input);
  const models = [
    {
      id: spec.model,
      displayName: spec.displayName,
      maxVariantsPerJob: spec.maxVariantsPerJob,
      imageInput: spec.imageInput,
      // OpenAI-compatible services take no seed.
      seeded: spec.seeded ?? spec.provider !== 'openai',
    },
  ];
  const base = {
    baseUrl: spec.baseUrl.replace(/\/+$/, ''),
    models,
    ...(spec.apiKey ? { apiKey: spec.apiKey } : {}),
    ...(spec.timeoutMs ? { timeoutMs: spec.timeoutMs } : {}),
    ...(spec.pollIntervalMs ? { pollIntervalMs: spec.pollIntervalMs } : {}),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  };
  switch (spec.provider) {
    case 'bfl':
      return new BflProvider(base);
    case 'openai':
      return new OpenAiProvider({ ...base, ...(spec.responseFormat ? { responseFormat: spec.responseFormat } : {}) });
    case 'replicate':
      return new ReplicateProvider(base);
    case 'fal':
      return new FalProvider(base);
    case 'comfyui':
      return new ComfyUiProvider({ ...base, workflows: { [spec.model]: spec.workflow ?? {} } });
    case 'a1111':
      return new A1111Provider(base);
  }
}
