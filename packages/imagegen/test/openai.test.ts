/**
 * OpenAI-compatible `/v1/images/generations` against a local fake (C9): `data[].b64_json`, or
 * `url` when the prompt asks for an expiring result; a refusal is 400 with
 * `error.code: content_policy_violation`. There is no job to cancel: aborting drops the request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParleyError } from '@parley/protocol';
import { OpenAiProvider } from '@parley/imagegen';
import { SAMPLE_PNG, json, png, scenarioOf, startFake } from './fake.ts';
import { providerSuite } from './suite.ts';

const KEY = 'sk-test';
const models = [
  { id: 'image-model-1', displayName: 'Image model 1', maxVariantsPerJob: 4, imageInput: false, seeded: false },
];

const start = () => {
  const limited = new Set<string>();
  return startFake((hit, res, _url, base) => {
    if (hit.path.startsWith('/v1/') && hit.headers.authorization !== `Bearer ${KEY}`)
      return json(res, 401, {
        error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' },
      });
    if (hit.method === 'POST' && hit.path === '/v1/images/generations') {
      const body = hit.body as { prompt: string; n: number };
      const scenario = scenarioOf(body.prompt);
      if (scenario === 'ratelimit-long')
        return json(
          res,
          429,
          { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } },
          { 'retry-after': '3600' },
        );
      if (scenario === 'ratelimit' && !limited.has(body.prompt)) {
        limited.add(body.prompt);
        return json(res, 429, { error: { message: 'Rate limit reached', type: 'requests' } }, { 'retry-after': '1' });
      }
      if (scenario === 'refuse')
        return json(res, 400, {
          error: {
            message: 'Your request was rejected by the safety system.',
            type: 'invalid_request_error',
            code: 'content_policy_violation',
          },
        });
      if (scenario === 'garbage')
        return json(res, 200, {
          created: 1,
          data: [{ b64_json: Buffer.from('not an image at all').toString('base64') }],
        });
      if (scenario === 'hang' || scenario === 'stall') return;
      const item = () =>
        scenario === 'expire'
          ? { url: `${base}/expired/img.png` }
          : { b64_json: Buffer.from(SAMPLE_PNG).toString('base64') };
      return json(res, 200, { created: 1, data: Array.from({ length: body.n }, item) });
    }
    if (hit.path.startsWith('/files/')) return png(res);
    if (hit.path.startsWith('/expired/')) return json(res, 404, { error: 'BlobNotFound' });
    json(res, 404, { error: { message: 'Unknown route' } });
  });
};

providerSuite({
  name: 'OpenAI-compatible',
  model: 'image-model-1',
  refusalCode: 'image_provider_refused',
  expires: true,
  fraction: false,
  start,
  make: (base) => new OpenAiProvider({ baseUrl: base, apiKey: KEY, models }),
});

test('OpenAI-compatible: a url answer is downloaded; a wrong key and an answer past the cap are catalogued', async () => {
  const fake = await startFake((hit, res, _url, base) => {
    if (hit.path === '/v1/images/generations') {
      if (hit.headers.authorization !== `Bearer ${KEY}`) return json(res, 401, { error: { code: 'invalid_api_key' } });
      assert.equal((hit.body as { response_format?: string }).response_format, 'url');
      return json(res, 200, { created: 1, data: [{ url: `${base}/files/a.png` }] });
    }
    return png(res);
  });
  try {
    const ok = await new OpenAiProvider({ baseUrl: fake.base, apiKey: KEY, models, responseFormat: 'url' }).generate({
      prompt: 'a red kite',
      model: 'image-model-1',
    });
    assert.deepEqual(ok.images[0]!.bytes, SAMPLE_PNG);
    assert.equal(ok.seed, undefined, 'a model that takes no seed reports none');
    const wrongKey = new OpenAiProvider({ baseUrl: fake.base, apiKey: 'sk-wrong', models, responseFormat: 'url' });
    await assert.rejects(
      wrongKey.generate({ prompt: 'x', model: 'image-model-1' }),
      (e: ParleyError) => e.code === 'image_provider_key_rejected',
    );
    const capped = new OpenAiProvider({
      baseUrl: fake.base,
      apiKey: KEY,
      models,
      responseFormat: 'url',
      maxImageBytes: 100,
    });
    await assert.rejects(
      capped.generate({ prompt: 'x', model: 'image-model-1' }),
      (e: ParleyError) => e.code === 'image_result_too_large',
    );
  } finally {
    await fake.close();
  }
});
