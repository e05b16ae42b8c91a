/**
 * Replicate against a local fake (C9): `POST /v1/predictions` with `Prefer: wait`, then `urls.get`
 * through starting / processing (logs with a progress bar) to succeeded or failed; `urls.cancel`
 * when the caller or the deadline stops the job.
 */
import { ReplicateProvider } from '@parley/imagegen';
import { json, png, scenarioOf, startFake } from './fake.ts';
import { providerSuite } from './suite.ts';

const KEY = 'r8_test';

providerSuite({
  name: 'Replicate',
  model: 'owner/flux-schnell',
  refusalCode: 'image_provider_refused',
  expires: true,
  fraction: true,
  polled: true,
  cancelHit: (h) => h.method === 'POST' && /^\/v1\/predictions\/[^/]+\/cancel$/.test(h.path),
  make: (base) =>
    new ReplicateProvider({
      baseUrl: base,
      apiKey: KEY,
      pollIntervalMs: 5,
      models: [
        { id: 'owner/flux-schnell', displayName: 'Flux Schnell', maxVariantsPerJob: 4, imageInput: true, seeded: true },
      ],
    }),
  start: () => {
    const preds = new Map<string, { scenario: string; polls: number; n: number; canceled: boolean }>();
    const limited = new Set<string>();
    let count = 0;
    const view = (id: string, base: string) => {
      const p = preds.get(id)!;
      const urls = { get: `${base}/v1/predictions/${id}`, cancel: `${base}/v1/predictions/${id}/cancel` };
      if (p.canceled) return { id, status: 'canceled', output: null, error: null, logs: '', urls };
      if (p.scenario === 'poll-garbage' && p.polls > 0) return { id, status: 'thinking', urls };
      if (p.scenario === 'refuse')
        return {
          id,
          status: 'failed',
          output: null,
          error: 'NSFW content detected. Try running it again, or try a different prompt.',
          urls,
        };
      if (p.scenario === 'stall' || p.polls < 2)
        return {
          id,
          status: p.polls === 0 ? 'starting' : 'processing',
          output: null,
          logs: `step\n 40%|####      | 4/10`,
          urls,
        };
      const where = p.scenario === 'expire' ? 'expired' : 'delivery';
      const output = Array.from({ length: p.n }, (_, i) => `${base}/${where}/${id}-${i}.png`);
      return { id, status: 'succeeded', output, error: null, logs: '100%|##########| 10/10', urls };
    };
    return startFake((hit, res, _url, base) => {
      if (hit.headers.authorization !== `Bearer ${KEY}` && hit.path.startsWith('/v1/'))
        return json(res, 401, {
          title: 'Unauthenticated',
          detail: 'You did not pass a valid authentication token',
          status: 401,
        });
      if (hit.method === 'POST' && hit.path === '/v1/predictions') {
        const body = hit.body as { version: string; input: { prompt: string; num_outputs: number } };
        if (!/^\d+s$/.test(String(hit.headers['cancel-after'])) || !/^wait=\d+$/.test(String(hit.headers.prefer)))
          return json(res, 422, { detail: 'expected Cancel-After and Prefer: wait', status: 422 });
        const scenario = scenarioOf(body.input.prompt);
        if (scenario === 'ratelimit-long')
          return json(res, 429, { detail: 'Request was throttled.', status: 429 }, { 'retry-after': '3600' });
        if (scenario === 'ratelimit' && !limited.has(body.input.prompt)) {
          limited.add(body.input.prompt);
          return json(res, 429, { detail: 'Request was throttled.', status: 429 }, { 'retry-after': '1' });
        }
        if (scenario === 'garbage') return json(res, 201, { id: 42, state: 'weird' });
        if (scenario === 'hang') return;
        const id = `p${++count}`;
        preds.set(id, { scenario, polls: 0, n: body.input.num_outputs, canceled: false });
        return json(res, 201, view(id, base));
      }
      const cancel = /^\/v1\/predictions\/([^/]+)\/cancel$/.exec(hit.path);
      if (cancel && preds.has(cancel[1]!)) {
        preds.get(cancel[1]!)!.canceled = true;
        return json(res, 200, view(cancel[1]!, base));
      }
      const get = /^\/v1\/predictions\/([^/]+)$/.exec(hit.path);
      if (get && preds.has(get[1]!)) {
        preds.get(get[1]!)!.polls++;
        return json(res, 200, view(get[1]!, base));
      }
      if (hit.path.startsWith('/delivery/')) return png(res);
      if (hit.path.startsWith('/expired/')) return json(res, 404, { detail: 'Not found.' });
      json(res, 404, { detail: 'Not found.' });
    });
  },
});
