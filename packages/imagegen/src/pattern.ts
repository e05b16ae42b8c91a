/**
 * The offline default (C9): a pattern renderer, never a model. With no provider configured the
 * imagine flow still works and can be tested end to end; the same prompt and seed always give the
 * same PNG bytes, another seed another picture. Its label says what it is: "Pattern — offline, not AI".
 */
import { encodePng } from './png.ts';
import { checkRequest } from './types.ts';
import type { GenerateOptions, GenerationResult, ImageProvider, ImageRequest, ModelInfo } from './types.ts';
import { ParleyError } from '@parley/protocol';

/** What every client shows for the pattern renderer's images and in the model picker. */
export const PATTERN_LABEL = 'Pattern — offline, not AI';
/** Its one model id. */
export const PATTERN_MODEL = 'pattern';
/** Longest side the renderer draws: patterns gain nothing from more pixels, phones save memory. */
const MAX_SIDE = 1024;

const MODEL: ModelInfo = {
  id: PATTERN_MODEL,
  displayName: PATTERN_LABEL,
  maxVariantsPerJob: 4,
  imageInput: false,
  seeded: true,
};

/** The pattern renderer as an `ImageProvider` (id `pattern`). */
export class PatternProvider implements ImageProvider {
  readonly id = 'pattern';
  readonly label = PATTERN_LABEL;

  models() {
    return [MODEL];
  }

  async generate(request: ImageRequest, options: GenerateOptions = {}): Promise<GenerationResult> {
    const { req } = checkRequest(request, [MODEL]);
    const scale = Math.min(1, MAX_SIDE / Math.max(req.width, req.height));
    const width = Math.max(1, Math.round(req.width * scale));
    const height = Math.max(1, Math.round(req.height * scale));
    const images = [];
    for (let i = 0; i < req.variants; i++) {
      if (options.signal?.aborted) throw new ParleyError('image_generation_canceled');
      options.onProgress?.({ stage: 'running', fraction: i / req.variants });
      const seed = (req.seed + i) >>> 0;
      images.push({ ...renderPattern(req.prompt, seed, width, height), seed });
      // Yield between variants so a caller's cancel and the page stay responsive.
      await new Promise((r) => setTimeout(r, 0));
    }
    return { images, provider: this.id, model: PATTERN_MODEL, seed: req.seed };
  }
}

/** Renders one pattern PNG from prompt and seed: interfering waves in a palette drawn from both. */
export function renderPattern(
  prompt: string,
  seed: number,
  width: number,
  height: number,
): { bytes: Uint8Array; mimeType: 'image/png'; width: number; height: number } {
  const rand = mulberry32(fnv1a(prompt) ^ seed);
  const palette = [0, 1, 2].map(() => [rand() * 255, rand() * 255, rand() * 255] as const);
  const waves = [0, 1, 2, 3].map(() => ({
    fx: (rand() * 6 + 1) / width,
    fy: (rand() * 6 + 1) / height,
    phase: rand() * Math.PI * 2,
    cx: rand() * width,
    cy: rand() * height,
    radial: rand() < 0.5,
  }));
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v = 0;
      for (const w of waves) {
        const arg = w.radial
          ? Math.hypot(x - w.cx, y - w.cy) * (w.fx + w.fy) * Math.PI
          : (x * w.fx + y * w.fy) * Math.PI * 2;
        v += Math.sin(arg + w.phase);
      }
      const t = (v / waves.length + 1) / 2; // 0..1
      const [a, b] = t < 0.5 ? [palette[0]!, palette[1]!] : [palette[1]!, palette[2]!];
      const f = t < 0.5 ? t * 2 : t * 2 - 1;
      const o = (y * width + x) * 3;
      rgb[o] = a[0] + (b[0] - a[0]) * f;
      rgb[o + 1] = a[1] + (b[1] - a[1]) * f;
      rgb[o + 2] = a[2] + (b[2] - a[2]) * f;
    }
  }
  // The label travels in the file too, so a copy saved elsewhere still says what it is.
  const bytes = encodePng(width, height, rgb, {
    Software: 'Parley pattern renderer',
    Description: 'Pattern - offline, not AI',
  });
  return { bytes, mimeType: 'image/png', width, height };
}

/** FNV-1a over the prompt's UTF-8 bytes. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/** A small, well-known seeded generator: the same seed gives the same sequence on every engine. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
