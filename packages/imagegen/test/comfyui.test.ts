/**
 * ComfyUI against a local fake (C9): `POST /prompt` → `prompt_id`, `/queue` (pending, then
 * running), `/history/{id}` (`{}` until done, then outputs and `status`), `/view?filename=…`.
 * ComfyUI has no content policy: a failed run (`status_str: "error"`) is `image_provider_failed`.
 * A stopped job is deleted from the queue or interrupted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ComfyUiProvider, fillWorkflow } from '@parley/imagegen';
import { json, png, scenarioOf, startFake } from './fake.ts';
import { providerSuite } from './suite.ts';

const WORKFLOW = {
  '3': { class_type: 'KSampler', inputs: { seed: '{{seed}}', steps: 20, model: ['4', 0] } },
  '5': {
    class_type: 'EmptyLatentImage',
    inputs: { width: '{{width}}', height: '{{height}}', batch_size: '{{variants}}' },
  },
  '6': { class_type: 'CLIPTextEncode', inputs: { text: '{{prompt}}, highly detailed' } },
  '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'parley', images: ['8', 0] } },
};

test('ComfyUI workflows get the prompt, numbers as numbers, and keep everything else', () => {
  const filled = fillWorkflow(WORKFLOW, {
    prompt: 'a fox',
    seed: 9,
    width: 512,
    height: 768,
    variants: 2,
  }) as typeof WORKFLOW;
  assert.equal(filled['3'].inputs.seed, 9);
  assert.equal(filled['5'].inputs.batch_size, 2);
  assert.equal(filled['6'].inputs.text, 'a fox, highly detailed');
  assert.deepEqual(filled['3'].inputs.model, ['4', 0]);
  assert.equal(WORKFLOW['3'].inputs.seed, '{{seed}}', 'the template is not changed');
});

providerSuite({
  name: 'ComfyUI',
  model: 'sdxl-basic',
  refusalCode: 'image_provider_failed',
  expires: true,
  fraction: false,
  polled: true,
  cancelHit: (h) =>
    (h.method === 'POST' && h.path === '/interrupt') ||
    (h.method === 'POST' && h.path === '/queue' && Array.isArray((h.body as { delete?: unknown })?.delete)),
  make: (base) =>
    new ComfyUiProvider({
      baseUrl: base,
      pollIntervalMs: 5,
      models: [{ id: 'sdxl-basic', displayName: 'SDXL', maxVariantsPerJob: 4, imageInput: false, seeded: true }],
      workflows: { 'sdxl-basic': WORKFLOW },
    }),
  start: () => {
    const prompts = new Map<string, { scenario: string; polls: number; n: number }>();
    const limited = new Set<string>();
    let count = 0;
    return startFake((hit, res, url) => {
      if (hit.method === 'POST' && hit.path === '/prompt') {
        const wf = (hit.body as { prompt: typeof WORKFLOW }).prompt;
        const text = String(wf['6'].inputs.text);
        const scenario = scenarioOf(text);
        if (scenario === 'ratelimit-long') return json(res, 429, { error: 'busy' }, { 'retry-after': '3600' });
        if (scenario === 'ratelimit' && !limited.has(text)) {
          limited.add(text);
          return json(res, 429, { error: 'busy' }, { 'retry-after': '1' });
        }
        if (scenario === 'garbage') return json(res, 200, { number: 3, node_errors: {} });
        if (scenario === 'hang') return;
        const id = `00000000-0000-4000-8000-${String(++count).padStart(12, '0')}`;
        prompts.set(id, { scenario, polls: 0, n: Number(wf['5'].inputs.batch_size) });
        return json(res, 200, { prompt_id: id, number: count, node_errors: {} });
      }
      if (hit.method === 'GET' && hit.path === '/queue') {
        const live = [...prompts.entries()].filter(([, p]) => p.scenario === 'stall' || p.polls < 3);
        return json(res, 200, {
          queue_running: live.filter(([, p]) => p.polls >= 1).map(([id], i) => [i, id, {}, {}, ['9']]),
          queue_pending: live.filter(([, p]) => p.polls < 1).map(([id], i) => [i, id, {}, {}, ['9']]),
        });
      }
      if (hit.method === 'POST' && (hit.path === '/interrupt' || hit.path === '/queue')) return json(res, 200, {});
      const h = /^\/history\/(.+)$/.exec(hit.path);
      if (h) {
        const p = prompts.get(h[1]!);
        if (!p) return json(res, 200, {});
        p.polls++;
        if (p.scenario === 'poll-garbage') return json(res, 200, { [h[1]!]: { outputs: 'none' } });
        if (p.scenario === 'stall' || p.polls < 3) return json(res, 200, {});
        if (p.scenario === 'refuse')
          return json(res, 200, {
            [h[1]!]: {
              outputs: {},
              status: {
                status_str: 'error',
                completed: false,
                messages: [['execution_error', { exception_message: 'CUDA out of memory' }]],
              },
            },
          });
        const images = Array.from({ length: p.n }, (_, i) => ({
          filename: `${p.scenario === 'expire' ? 'gone' : 'parley'}_${i}.png`,
          subfolder: '',
          type: 'output',
        }));
        return json(res, 200, {
          [h[1]!]: {
            prompt: [],
            outputs: { '9': { images }, '7': { images: [{ filename: 'preview.png', subfolder: '', type: 'temp' }] } },
            status: { status_str: 'success', completed: true, messages: [] },
          },
        });
      }
      if (hit.path === '/view') {
        if (url.searchParams.get('filename')?.startsWith('parley_') && url.searchParams.get('type') === 'output')
          return png(res);
        res.writeHead(404);
        return res.end();
      }
      json(res, 404, {});
    });
  },
});
