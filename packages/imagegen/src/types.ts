/**
 * The one interface every image provider implements (C9, docs/image-generation.md): a request
 * checked before any call, progress while the job runs, and images as bytes on the caller's side.
 * Runs in Node and browsers: no Node built-ins, no Node globals.
 */
import { ParleyError } from '@parley/protocol';
import { z } from 'zod';

/** The largest prompt any adapter passes on (characters). */
export const MAX_PROMPT_CHARS = 4000;
/** The most variants one request may ask for. */
export const MAX_VARIANTS = 4;

/** An image given to a model that edits or varies it ("edit from a sent image"). */
export interface InputImage {
  readonly bytes: Uint8Array;
  readonly mimeType: string;
}

const requestSchema = z
  .object({
    prompt: z.string(),
    model: z.string().min(1).max(200),
    width: z.number().int().min(64).max(4096).optional(),
    height: z.number().int().min(64).max(4096).optional(),
    aspectRatio: z
      .string()
      .regex(/^[1-9]\d?:[1-9]\d?$/)
      .optional(),
    variants: z.number().int().min(1).max(MAX_VARIANTS).default(1),
    seed: z.number().int().min(0).max(0xffffffff).optional(),
    inputImage: z
      .object({ bytes: z.custom<Uint8Array>((v) => v instanceof Uint8Array), mimeType: z.string().regex(/^image\//) })
      .optional(),
  })
  .refine((r) => (r.width === undefined) === (r.height === undefined), { message: 'give both width and height' })
  .refine((r) => !(r.width !== undefined && r.aspectRatio !== undefined), {
    message: 'give a size or an aspect ratio, not both',
  });

/** What the caller asks for. `variants` defaults to 1; with no size and no ratio the model's default applies. */
export type ImageRequest = z.input<typeof requestSchema>;

/** A request after `checkRequest`: variants filled in, the seed chosen, the size resolved. */
export interface CheckedRequest {
  readonly prompt: string;
  readonly model: string;
  readonly width: number;
  readonly height: number;
  readonly aspectRatio: string | undefined;
  readonly variants: number;
  readonly seed: number;
  readonly inputImage: InputImage | undefined;
}

/** One model an adapter offers, with what it can do. */
export interface ModelInfo {
  /** The provider's own model name, passed to it as is. */
  readonly id: string;
  readonly displayName: string;
  /** Most images one job returns; adapters run more jobs (seed, seed+1, …) up to `MAX_VARIANTS`. */
  readonly maxVariantsPerJob: number;
  /** Whether the model takes an input image (edit or vary). */
  readonly imageInput: boolean;
  /** Whether the model honours a seed (so the same seed gives the same image). */
  readonly seeded: boolean;
}

/** A progress report while a job runs. `fraction` is 0–1 when the provider says how far it is. */
export interface Progress {
  readonly stage: 'submitted' | 'queued' | 'running' | 'downloading';
  readonly fraction?: number;
  readonly queuePosition?: number;
}

/** Per call: the caller's cancel signal, a progress callback and an optional tighter deadline. */
export interface GenerateOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: Progress) => void;
  /** Milliseconds; the adapter's own timeout applies when this is longer or absent. */
  readonly timeoutMs?: number;
}

/** One generated image. `c2pa` is the provider's C2PA manifest store when the file carried one. */
export interface GeneratedImage {
  readonly bytes: Uint8Array;
  readonly mimeType: string;
  readonly width?: number;
  readonly height?: number;
  readonly seed?: number;
  readonly c2pa?: Uint8Array;
}

/** The answer to `generate`. `seed` is the one asked for (or chosen), absent when the model takes none. */
export interface GenerationResult {
  readonly images: GeneratedImage[];
  readonly provider: string;
  readonly model: string;
  readonly seed?: number;
}

/** An image provider: Flux, an OpenAI-compatible service, Replicate, fal, ComfyUI, AUTOMATIC1111 or the pattern renderer. */
export interface ImageProvider {
  /** Stable adapter id, e.g. `bfl`, `openai`, `pattern`. */
  readonly id: string;
  /** Shown next to every model of this provider: the pattern renderer says it is no AI. */
  readonly label: string;
  models(): readonly ModelInfo[];
  generate(request: ImageRequest, options?: GenerateOptions): Promise<GenerationResult>;
}

/** The default size of a model when the request names none. */
export const DEFAULT_SIZE = 1024;

/**
 * Checks a request against the schema and the model: `image_prompt_invalid`,
 * `image_request_invalid` or `image_model_unknown` before anything leaves the device.
 */
export function checkRequest(
  request: ImageRequest,
  models: readonly ModelInfo[],
): { req: CheckedRequest; model: ModelInfo } {
  const prompt = typeof request.prompt === 'string' ? request.prompt.trim() : '';
  if (prompt.length === 0 || prompt.length > MAX_PROMPT_CHARS)
    throw new ParleyError('image_prompt_invalid', { details: { length: prompt.length } });
  const parsed = requestSchema.safeParse(request);
  if (!parsed.success)
    throw new ParleyError('image_request_invalid', {
      details: parsed.error.issues.map((i) => ({ path: i.path.join('.'), problem: i.message })),
    });
  const r = parsed.data;
  const model = models.find((m) => m.id === r.model);
  if (!model) throw new ParleyError('image_model_unknown', { details: { model: r.model } });
  if (r.inputImage && !model.imageInput)
    throw new ParleyError('image_request_invalid', {
      details: [{ path: 'inputImage', problem: 'this model takes no input image' }],
    });
  const [width, height] =
    r.width !== undefined && r.height !== undefined
      ? [r.width, r.height]
      : r.aspectRatio
        ? sizeForRatio(r.aspectRatio)
        : [DEFAULT_SIZE, DEFAULT_SIZE];
  return {
    req: {
      prompt,
      model: r.model,
      width,
      height,
      aspectRatio: r.aspectRatio,
      variants: r.variants,
      seed: r.seed ?? randomSeed(),
      inputImage: r.inputImage,
    },
    model,
  };
}

/** About one megapixel in the given ratio, each side a multiple of 64 (what diffusion models take). */
export function sizeForRatio(ratio: string): [number, number] {
  const [a, b] = ratio.split(':').map(Number) as [number, number];
  const scale = Math.sqrt((DEFAULT_SIZE * DEFAULT_SIZE) / (a * b));
  const side = (n: number) => Math.min(4096, Math.max(64, Math.round((n * scale) / 64) * 64));
  return [side(a), side(b)];
}

function randomSeed(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0]!;
}
