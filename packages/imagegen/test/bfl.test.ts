/**
 * Black Forest Labs Flux against a local fake of its documented shape (C9): submit with `x-key`,
 * poll `polling_url` (Pending with progress → Ready / Request Moderated / Content Moderated),
 * download the signed `result.sample` at once. The API has no cancel, so none is asserted.
 */
import { BflProvider } from '@parley/imagegen';
import { json, png, scenarioOf, startFake } from './fake.ts';
import { providerSuite } from './suite.ts';

const KEY = 'bfl-test-key';

providerSuite({
  name: 'Black Forest Labs',
  model: 'flux-pro-1.1',
  refusalCode: 'image_provider_refused',
  expires: true,
  fraction: true,
  make: (base) =>
    new BflProvider({
      baseUrl: base,
      apiKey: KEY,
      pollIntervalMs: 5,
      models: [
        { id: 'flux-pro-1.1', displayName: 'FLUX1.1 [pro]', maxVariantsPerJob: 1, imageInput: false, seeded: true },
      ],
    }),
  start: () => {
    const jobs = new Map<string, { scenario: string; polls: number }>();
    const limited = new Set<string>();
    let n = 0;
    return startFake((hit, res, url, base) => {
      if (hit.headers['x-key'] !== KEY && hit.path.startsWith('/v1/'))
        return json(res, 403, { detail: 'Not authenticated' });
      if (hit.method === 'POST' && hit.path === '/v1/flux-pro-1.1') {
        const prompt = (hit.body as { prompt?: string }).prompt;
        const scenario = scenarioOf(prompt);
        if (scenario === 'ratelimit-long')
          return json(res, 429, { detail: 'Too many requests' }, { 'retry-after': '3600' });
        if (scenario === 'ratelimit' && !limited.has(String(prompt))) {
          limited.add(String(prompt));
          return json(res, 429, { detail: 'Too many requests' }, { 'retry-after': '1' });
        }
        if (scenario === 'garbage') {
          res.writeHead(200, { 'content-type': 'text/html' });
          return res.end('<html>upstream says hello</html>');
        }
        if (scenario === 'hang') return;
        const id = `task-${++n}`;
        jobs.set(id, { scenario, polls: 0 });
        return json(res, 200, { id, polling_url: `${base}/v1/get_result?id=${id}` });
      }
      if (hit.method === 'GET' && hit.path === '/v1/get_result') {
        const id = url.searchParams.get('id') ?? '';
        const job = jobs.get(id);
        if (!job) return json(res, 200, { id, status: 'Task not found' });
        job.polls++;
        if (job.scenario === 'refuse')
          return json(res, 200, { id, status: 'Content Moderated', details: { reason: 'moderated' } });
        if (job.scenario === 'stall' || job.polls < 3)
          return json(res, 200, { id, status: 'Pending', progress: job.polls * 0.3 });
        const where = job.scenario === 'expire' ? 'expired' : 'delivery';
        return json(res, 200, {
          id,
          status: 'Ready',
          result: { sample: `${base}/${where}/${id}.png?se=signed`, seed: 1 },
        });
      }
      if (hit.path.startsWith('/delivery/')) return png(res);
      if (hit.path.startsWith('/expired/')) {
        res.writeHead(403, { 'content-type': 'application/xml' });
        return res.end(
          '<Error><Code>AuthenticationFailed</Code><Message>Signed expiry time has passed</Message></Error>',
        );
      }
      json(res, 404, { detail: 'Not Found' });
    });
  },
});
