/**
 * fal against a local fake of its queue (C9): submit → `status_url` (IN_QUEUE with
 * `queue_position`, IN_PROGRESS, COMPLETED) → `response_url` with `images[]` and
 * `has_nsfw_concepts`; `PUT cancel_url` when the caller or the deadline stops the job.
 */
import { FalProvider } from '@parley/imagegen';
import { json, png, scenarioOf, startFake } from './fake.ts';
import { providerSuite } from './suite.ts';

const KEY = 'fal-test-key';
const APP = 'fal-ai/flux/dev';

providerSuite({
  name: 'fal',
  model: APP,
  refusalCode: 'image_provider_refused',
  expires: true,
  fraction: false,
  polled: true,
  cancelHit: (h) => h.method === 'PUT' && h.path.endsWith('/cancel'),
  make: (base) =>
    new FalProvider({
      baseUrl: base,
      apiKey: KEY,
      pollIntervalMs: 5,
      models: [{ id: APP, displayName: 'FLUX.1 [dev]', maxVariantsPerJob: 4, imageInput: false, seeded: true }],
    }),
  start: () => {
    const reqs = new Map<string, { scenario: string; polls: number; n: number; seed: number }>();
    const limited = new Set<string>();
    let count = 0;
    const root = '/fal-ai/flux';
    return startFake((hit, res, url, base) => {
      if (!/^\/(files|expired)\//.test(hit.path) && hit.headers.authorization !== `Key ${KEY}`)
        return json(res, 401, { detail: 'Unauthorized' });
      if (hit.method === 'POST' && hit.path === `/${APP}`) {
        const body = hit.body as { prompt: string; num_images: number; seed: number };
        const scenario = scenarioOf(body.prompt);
        if (scenario === 'ratelimit-long')
          return json(res, 429, { detail: 'Too many requests' }, { 'retry-after': '3600' });
        if (scenario === 'ratelimit' && !limited.has(body.prompt)) {
          limited.add(body.prompt);
          return json(res, 429, { detail: 'Too many requests' }, { 'retry-after': '1' });
        }
        if (scenario === 'garbage') return json(res, 200, ['not', 'a', 'queue', 'answer']);
        if (scenario === 'hang') return;
        const id = `req-${++count}`;
        reqs.set(id, { scenario, polls: 0, n: body.num_images, seed: body.seed });
        const at = `${base}${root}/requests/${id}`;
        return json(res, 200, {
          request_id: id,
          response_url: at,
          status_url: `${at}/status`,
          cancel_url: `${at}/cancel`,
        });
      }
      const m = new RegExp(`^${root}/requests/([^/]+)(/status|/cancel)?$`).exec(hit.path);
      const r = m ? reqs.get(m[1]!) : undefined;
      if (m && r) {
        const at = `${base}${root}/requests/${m[1]}`;
        if (m[2] === '/cancel') return json(res, 202, { status: 'CANCELLATION_REQUESTED' });
        if (m[2] === '/status') {
          if (url.searchParams.get('logs') !== '1') return json(res, 400, { detail: 'expected logs=1' });
          r.polls++;
          if (r.scenario === 'poll-garbage') return json(res, 200, { status: 'WEIRD' });
          if (r.scenario === 'stall' || r.polls === 1)
            return json(res, 202, { status: 'IN_QUEUE', queue_position: 2, response_url: at });
          if (r.polls === 2)
            return json(res, 202, { status: 'IN_PROGRESS', logs: [{ message: 'step 3/10' }], response_url: at });
          return json(res, 200, { status: 'COMPLETED', logs: [], response_url: at });
        }
        if (r.scenario === 'refuse')
          return json(res, 200, {
            images: [{ url: `${base}/files/black.png`, width: 16, height: 12 }],
            seed: r.seed,
            has_nsfw_concepts: [true],
          });
        const where = r.scenario === 'expire' ? 'expired' : 'files';
        const images = Array.from({ length: r.n }, (_, i) => ({
          url: `${base}/${where}/${m[1]}-${i}.png`,
          width: 16,
          height: 12,
          content_type: 'image/png',
        }));
        return json(res, 200, { images, seed: r.seed, has_nsfw_concepts: images.map(() => false), prompt: 'x' });
      }
      if (hit.path.startsWith('/files/')) return png(res);
      if (hit.path.startsWith('/expired/')) return json(res, 403, { detail: 'Access denied' });
      json(res, 404, { detail: 'Not found' });
    });
  },
});
