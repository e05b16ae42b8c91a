/**
 * AUTOMATIC1111 / stable-diffusion.cpp against a local fake (C9): `POST /sdapi/v1/txt2img` holds
 * the connection and answers base64 `images[]` with seeds in `info`; `/sdapi/v1/progress` reports
 * how far it is; `POST /sdapi/v1/interrupt` stops it. These servers have no content policy and no
 * result addresses: a failed run is a 500 (`image_provider_unavailable`), and base64 that is not
 * an image is `image_provider_bad_answer`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParleyError } from '@parley/protocol';
import { A1111Provider } from '@parley/imagegen';
import { SAMPLE_PNG, json, scenarioOf, startFake } from './fake.ts';
import type { Fake } from './fake.ts';
import { providerSuite } from './suite.ts';

const models = [
  { id: 'sd_xl_base_1.0', displayName: 'SDXL base', maxVariantsPerJob: 4, imageInput: true, seeded: true },
];

function start(): Promise<Fake> {
  const limited = new Set<string>();
  let progress = 0;
  const waiting = new Set<() => void>();
  return startFake((hit, res) => {
    if (hit.method === 'POST' && (hit.path === '/sdapi/v1/txt2img' || hit.path === '/sdapi/v1/img2img')) {
      const body = hit.body as { prompt: string; batch_size: number; seed: number };
      const scenario = scenarioOf(body.prompt);
      if (scenario === 'ratelimit-long') return json(res, 429, { detail: 'busy' }, { 'retry-after': '3600' });
      if (scenario === 'ratelimit' && !limited.has(body.prompt)) {
        limited.add(body.prompt);
        return json(res, 429, { detail: 'busy' }, { 'retry-after': '1' });
      }
      if (scenario === 'refuse')
        return json(res, 500, { error: 'RuntimeError', detail: '', body: '', errors: 'CUDA out of memory' });
      if (scenario === 'garbage')
        return json(res, 200, {
          images: [Buffer.from('plain text, no image').toString('base64')],
          parameters: {},
          info: '{}',
        });
      if (scenario === 'hang') return;
      const seeds = Array.from({ length: body.batch_size }, (_, i) => body.seed + i);
      const answer = () => {
        const b64 = Buffer.from(SAMPLE_PNG).toString('base64');
        // Several images come with a grid first, as the web UI does by default.
        const images = body.batch_size > 1 ? [b64, ...seeds.map(() => b64)] : [b64];
        json(res, 200, { images, parameters: body, info: JSON.stringify({ seed: body.seed, all_seeds: seeds }) });
      };
      if (scenario === 'stall') {
        waiting.add(() => res.destroy());
        return;
      }
      // Finish once the client has seen progress, so the test does not depend on speed.
      progress = 0.1;
      const tick = () => {
        if (progress >= 1) return answer();
        setTimeout(tick, 5);
      };
      tick();
      return;
    }
    if (hit.method === 'GET' && hit.path === '/sdapi/v1/progress') {
      const now = progress;
      if (progress > 0 && progress < 1) progress = Math.min(1, progress + 0.45);
      return json(res, 200, { progress: now, eta_relative: 1, state: { job_count: 1 }, current_image: null });
    }
    if (hit.method === 'POST' && hit.path === '/sdapi/v1/interrupt') {
      for (const w of waiting) w();
      waiting.clear();
      return json(res, 200, {});
    }
    json(res, 404, { detail: 'Not Found' });
  });
}

providerSuite({
  name: 'AUTOMATIC1111',
  model: 'sd_xl_base_1.0',
  refusalCode: 'image_provider_unavailable',
  expires: false,
  fraction: true,
  cancelHit: (h) => h.method === 'POST' && h.path === '/sdapi/v1/interrupt',
  start,
  make: (base) => new A1111Provider({ baseUrl: base, pollIntervalMs: 5, models }),
});

test('AUTOMATIC1111: seeds come from info, the grid is dropped, an input image goes to img2img', async () => {
  const fake = await start();
  try {
    const p = new A1111Provider({ baseUrl: fake.base, pollIntervalMs: 5, models });
    const r = await p.generate({ prompt: 'a boat', model: 'sd_xl_base_1.0', variants: 3, seed: 100 });
    assert.deepEqual(
      r.images.map((i) => i.seed),
      [100, 101, 102],
    );
    const edit = await p.generate({
      prompt: 'the boat at night',
      model: 'sd_xl_base_1.0',
      inputImage: { bytes: SAMPLE_PNG, mimeType: 'image/png' },
    });
    assert.equal(edit.images.length, 1);
    const sent = fake.hits.find((h) => h.path === '/sdapi/v1/img2img')?.body as { init_images: string[] };
    assert.deepEqual(Buffer.from(sent.init_images[0]!, 'base64'), Buffer.from(SAMPLE_PNG));
    await assert.rejects(
      p.generate({ prompt: 'x', model: 'not-offered' }),
      (e: ParleyError) => e.code === 'image_model_unknown',
    );
  } finally {
    await fake.close();
  }
});
