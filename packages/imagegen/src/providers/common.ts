/**
 * What the HTTP adapters share besides the job (C9): their configuration, and running several
 * jobs when a model makes fewer images per job than the request asks for.
 */
import type { HttpProviderConfig } from '../job.ts';
import type { CheckedRequest, GeneratedImage, ModelInfo } from '../types.ts';

/** An adapter's configuration: where the provider is, its key, and the models offered from it. */
export interface AdapterConfig extends HttpProviderConfig {
  readonly models: readonly ModelInfo[];
}

/**
 * Runs `one` for seed, seed+1, … until `req.variants` images are in: a model that makes one image
 * per job still gives distinct, reproducible variants.
 */
export async function collectVariants(
  req: CheckedRequest,
  model: ModelInfo,
  one: (seed: number, count: number) => Promise<GeneratedImage[]>,
): Promise<GeneratedImage[]> {
  const images: GeneratedImage[] = [];
  let seed = req.seed;
  while (images.length < req.variants) {
    const count = Math.min(model.maxVariantsPerJob, req.variants - images.length);
    const got = await one(seed, count);
    images.push(...got.slice(0, req.variants - images.length));
    seed = (seed + Math.max(1, got.length)) >>> 0;
  }
  return images;
}

/** JSON request headers with an optional authorisation header. */
export function jsonHeaders(auth?: Record<string, string>): Record<string, string> {
  return { 'content-type': 'application/json', accept: 'application/json', ...auth };
}
