/**
 * Image generation on the wire (C9, docs/image-generation.md): the provenance label a generated
 * image carries inside its end-to-end-encrypted attachment content, and the server's hosted
 * generation routes (the models it offers, a job whose progress and images stream back to the one
 * device that asked).
 */
import { z } from 'zod';

/** The provider id of the offline pattern renderer (no AI): its label never says "AI-generated". */
export const PATTERN_PROVIDER = 'pattern';
/** What the pattern renderer is called wherever it is listed or shown. */
export const PATTERN_TEXT = 'Pattern — offline, not AI';
/** Longest prompt the hosted route reads at all; the generation check allows 4,000 characters. */
export const IMAGINE_PROMPT_READ_CHARS = 16_384;

const providerId = z.string().regex(/^[a-z0-9-]{1,32}$/, 'lower-case letters, digits and -');

/**
 * Provenance of a generated image, inside the encrypted attachment content: which provider and
 * model made it, with which seed, and when. `c2pa` is true when the file itself carries the
 * provider's C2PA manifest (a PNG `caBX` chunk, kept with the bytes as sent). Receivers show
 * "AI-generated · <modelName>", or "Pattern — offline, not AI" for the pattern renderer.
 */
export const generatedLabelSchema = z
  .object({
    provider: providerId,
    model: z.string().min(1).max(200),
    modelName: z.string().min(1).max(100),
    seed: z.number().int().min(0).max(0xffffffff).optional(),
    createdAt: z.number().int().nonnegative(),
    c2pa: z.literal(true).optional(),
  })
  .strict();
export type GeneratedLabel = z.infer<typeof generatedLabelSchema>;

/** The one line every client shows with a generated image and in its info. */
export function generatedLabelText(label: Pick<GeneratedLabel, 'provider' | 'modelName'>): string {
  return label.provider === PATTERN_PROVIDER ? PATTERN_TEXT : `AI-generated · ${label.modelName}`;
}

/** Where a model runs, which says where the prompt goes. */
export const imageModelWhere = z.enum(['device', 'server', 'offline']);
export type ImageModelWhere = z.infer<typeof imageModelWhere>;

/** One model the server's generation service offers (`GET /v1/imagegen/models`). */
export const hostedModelSchema = z.object({
  /** The id to pass as `model`: the operator's name for it. */
  id: z.string().min(1).max(64),
  displayName: z.string().min(1).max(100),
  /** The adapter (`bfl`, `openai`, `replicate`, `fal`, `comfyui`, `a1111`, or `pattern`). */
  provider: providerId,
  /** Who receives the prompt: the provider's name, or "nobody" for the pattern renderer. */
  recipient: z.string().min(1).max(100),
  /** `offline` for the pattern renderer (no AI, nothing leaves the server), else `server`. */
  where: imageModelWhere,
  maxVariants: z.number().int().min(1).max(4),
  seeded: z.boolean(),
  imageInput: z.boolean(),
  /** Images one account may generate with this model per UTC day, and how many are left today. */
  dailyQuota: z.number().int().nonnegative(),
  leftToday: z.number().int().nonnegative(),
});
export type HostedModel = z.infer<typeof hostedModelSchema>;

/** The answer to `GET /v1/imagegen/models`. */
export const imageModelsResponse = z.object({
  models: z.array(hostedModelSchema),
  /** The operator requires the provenance label on every generated image sent from this server's accounts. */
  requireLabel: z.boolean(),
});
export type ImageModelsResponse = z.infer<typeof imageModelsResponse>;

/** `POST /v1/imagegen/jobs`: one generation for the calling device. */
export const imagineBody = z
  .object({
    model: z.string().min(1).max(64),
    prompt: z.string().max(IMAGINE_PROMPT_READ_CHARS),
    width: z.number().int().optional(),
    height: z.number().int().optional(),
    aspectRatio: z.string().max(8).optional(),
    variants: z.number().int().optional(),
    seed: z.number().int().optional(),
  })
  .strict();
export type ImagineBody = z.infer<typeof imagineBody>;

const b64Text = z.string().regex(/^[A-Za-z0-9_-]*$/, 'must be unpadded base64url');

/** One image of a hosted job's result (bytes as unpadded base64url). */
export const imagineImageSchema = z.object({
  data: b64Text,
  mimeType: z.enum(['image/png', 'image/jpeg', 'image/webp']),
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
  seed: z.number().int().nonnegative().optional(),
  c2pa: z.boolean().optional(),
});

/**
 * One line of the job's answer (`application/x-ndjson`): progress lines while it runs, then
 * exactly one `result` or `error` line. Checks that fail before the job starts answer as an
 * ordinary error response instead (quota, budget, block-list, unknown model, bad request).
 */
export const imagineLineSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('progress'),
    stage: z.enum(['submitted', 'queued', 'running', 'downloading']),
    fraction: z.number().min(0).max(1).optional(),
    queuePosition: z.number().int().nonnegative().optional(),
  }),
  z.object({
    type: z.literal('result'),
    provider: providerId,
    model: z.string().min(1).max(200),
    modelName: z.string().min(1).max(100),
    seed: z.number().int().nonnegative().optional(),
    createdAt: z.number().int(),
    images: z.array(imagineImageSchema).min(1).max(4),
  }),
  z.object({
    type: z.literal('error'),
    error: z.object({
      code: z.string(),
      message: z.string(),
      retryAfterMs: z.number().int().nonnegative().optional(),
      details: z.unknown().optional(),
    }),
  }),
]);
export type ImagineLine = z.infer<typeof imagineLineSchema>;
