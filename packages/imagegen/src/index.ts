/**
 * @parley/imagegen (C9): image providers behind one interface, for the device (device-direct
 * mode) and the server's generation service alike; runs in Node and browsers. See
 * docs/image-generation.md.
 */
export * from './types.ts';
export { retryAfterMs, sameSite, DEFAULT_TIMEOUT_MS } from './job.ts';
export type { HttpProviderConfig } from './job.ts';
export { encodePng, isPng, pngSize, pngC2pa, pngChunks } from './png.ts';
export { PatternProvider, renderPattern, PATTERN_LABEL, PATTERN_MODEL } from './pattern.ts';
export type { AdapterConfig } from './providers/common.ts';
export { BflProvider } from './providers/bfl.ts';
export { OpenAiProvider } from './providers/openai.ts';
export type { OpenAiConfig } from './providers/openai.ts';
export { ReplicateProvider } from './providers/replicate.ts';
export { FalProvider } from './providers/fal.ts';
export { ComfyUiProvider, fill as fillWorkflow } from './providers/comfyui.ts';
export type { ComfyUiConfig } from './providers/comfyui.ts';
export { A1111Provider } from './providers/a1111.ts';
export {
  createProvider,
  recipientOf,
  modelSpecSchema,
  modelSpecShape,
  needsWorkflow,
  HTTP_PROVIDERS,
  PROVIDER_NAMES,
} from './factory.ts';
export type { ModelSpec, HttpProviderId } from './factory.ts';
