/**
 * The hosted generation service (C9) against local fakes of the providers' documented shapes
 * (`@parley/imagegen/testing`): models listed per account with the pattern renderer always there,
 * a job's progress and images streamed to the caller, the per-account daily quota and the server's
 * budget (429 with `retryAfterMs`, nothing charged for failed jobs), the block-list checked before
 * any provider call, a provider refusal passed on as such, a garbage answer, running jobs capped,
 * a job past its timeout cancelled at the provider, and neither prompt nor image left in the data
 * folder. Counters run in-process and on Redis.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { fromB64, imagineLineSchema, type ImagineLine } from '@parley/protocol';
import { SAMPLE_PNG, json, png, scenarioOf, startFake, type Fake } from '@parley/imagegen/testing';
import { BACKENDS, REDIS_URL, deleteKeys, newClient, redisProblem, startServer, testPrefix } from '@parley/testkit';
import type { TestServer } from '@parley/testkit';
import { deviceToken } from '@parley/sdk/testing';

const KEY = 'sk-hosted';

/** An OpenAI-compatible fake: base64 images, refusals, garbage, a wait when the prompt says `slow`. */
function openAiFake(): Promise<Fake> {
  return startFake(async (hit, res: ServerResponse) => {
    if (hit.headers.authorization !== `Bearer ${KEY}`) return json(res, 401, { error: { message: 'bad key' } });
    const body = hit.body as { prompt: string; n: number };
    const scenario = scenarioOf(body.prompt);
    if (scenario === 'refuse')
      return json(res, 400, {
        error: {
          message: 'Rejected by the safety system.',
          type: 'invalid_request_error',
          code: 'content_policy_violation',
        },
      });
    if (scenario === 'garbage') return json(res, 200, { data: [{ b64_json: Buffer.from('nope').toString('base64') }] });
    if (body.prompt.includes('slow')) await new Promise((r) => setTimeout(r, 400));
    json(res, 200, {
      data: Array.from({ length: body.n }, () => ({ b64_json: Buffer.from(SAMPLE_PNG).toString('base64') })),
    });
  });
}

/** A Replicate fake whose predictions never finish (`stall`): the job must be cancelled there. */
function replicateFake(): Promise<Fake> {
  let n = 0;
  return startFake((hit, res, _url, base) => {
    const view = (id: string, status: string) => ({
      id,
      status,
      output: null,
      logs: '',
      urls: { get: `${base}/v1/predictions/${id}`, cancel: `${base}/v1/predictions/${id}/cancel` },
    });
    if (hit.method === 'POST' && hit.path === '/v1/predictions') return json(res, 201, view(`p${++n}`, 'starting'));
    const cancel = /^\/v1\/predictions\/([^/]+)\/cancel$/.exec(hit.path);
    if (cancel) return json(res, 200, view(cancel[1]!, 'canceled'));
    const get = /^\/v1\/predictions\/([^/]+)$/.exec(hit.path);
    if (get) return json(res, 200, view(get[1]!, 'processing'));
    if (hit.path.startsWith('/delivery/')) return png(res);
    json(res, 404, { detail: 'Not found.' });
  });
}

/** Every file under `dir`, read whole. */
function allBytes(dir: string): Buffer {
  const parts: Buffer[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) parts.push(allBytes(p));
    else parts.push(readFileSync(p));
  }
  return Buffer.concat(parts);
}

interface Answer {
  status: number;
  body: unknown;
  lines: ImagineLine[];
}

for (const backend of BACKENDS)
  describe(`hosted image generation [${backend}]`, async () => {
    const problem = backend === 'redis' ? await redisProblem() : null;
    const skip = problem && process.env.PARLEY_REQUIRE_SERVICES !== '1' ? `Redis unavailable: ${problem}` : false;
    let t: TestServer;
    let openai: Fake;
    let replicate: Fake;
    let token: string;
    let other: string;
    let third: string;
    let accountId: string;
    const prefix = testPrefix();

    before(async () => {
      if (skip) return;
      openai = await openAiFake();
      replicate = await replicateFake();
      t = await startServer('sqlite', {
        ...(backend === 'redis' ? { redisUrl: REDIS_URL, redisPrefix: prefix } : {}),
        imagegenModels: [
          {
            id: 'studio',
            provider: 'openai',
            baseUrl: openai.base,
            apiKey: KEY,
            model: 'image-model-1',
            displayName: 'Studio Image',
            maxVariantsPerJob: 4,
            imageInput: false,
            dailyQuota: 5,
            costPerImage: 0.04,
          },
          {
            id: 'slowpoke',
            provider: 'replicate',
            baseUrl: replicate.base,
            apiKey: 'r8_x',
            model: 'owner/never',
            displayName: 'Never Finishes',
            maxVariantsPerJob: 1,
            imageInput: false,
            pollIntervalMs: 20,
            dailyQuota: 3,
            costPerImage: 0,
          },
          {
            id: 'private',
            provider: 'openai',
            baseUrl: openai.base,
            apiKey: KEY,
            model: 'image-model-1',
            displayName: 'Staff only',
            maxVariantsPerJob: 4,
            imageInput: false,
            dailyQuota: 5,
            costPerImage: 0,
            accounts: ['a_nobodyAAAAAAAAAAAAAAAAA'],
          },
        ],
        imagegenBlocklist: ['forbidden fruit', 'Crème'],
        imagegenBudgetPerDay: 0.4,
        imagegenJobsPerUser: 1,
        imagegenTimeoutSeconds: 1,
      });
      const a = await newClient(t.url, undefined, { connect: false });
      token = deviceToken(a);
      accountId = a.self.accountId;
      other = deviceToken(await newClient(t.url, undefined, { connect: false }));
      third = deviceToken(await newClient(t.url, undefined, { connect: false }));
    });
    after(async () => {
      if (skip) return;
      await t?.close();
      await openai?.close();
      await replicate?.close();
      if (backend === 'redis') await deleteKeys(prefix);
    });

    const job = async (body: unknown, as = token): Promise<Answer> => {
      const r = await fetch(`${t.url}/v1/imagegen/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${as}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(20_000),
      });
      const text = await r.text();
      if (!r.ok) return { status: r.status, body: JSON.parse(text), lines: [] };
      assert.match(r.headers.get('content-type') ?? '', /application\/x-ndjson/);
      const lines = text
        .split('\n')
        .filter(Boolean)
        .map((l) => imagineLineSchema.parse(JSON.parse(l)));
      return { status: r.status, body: null, lines };
    };
    const models = async (as = token) => {
      const r = await fetch(`${t.url}/v1/imagegen/models`, { headers: { authorization: `Bearer ${as}` } });
      assert.equal(r.status, 200);
      return (await r.json()) as {
        models: { id: string; where: string; displayName: string; leftToday: number; recipient: string }[];
        requireLabel: boolean;
      };
    };
    const errorCode = (a: Answer) => (a.body as { error: { code: string; retryAfterMs?: number } }).error;
    const last = (a: Answer) => a.lines.at(-1)!;
    const left = async (id: string) => (await models()).models.find((m) => m.id === id)!.leftToday;
    const hits = (f: Fake) => f.hits.filter((h) => h.path.startsWith('/v1/')).length;

    it(
      'lists the configured models this account may use, the pattern renderer last, with quotas and who gets the prompt',
      { skip },
      async () => {
        const m = await models();
        assert.deepEqual(
          m.models.map((x) => [x.id, x.where]),
          [
            ['studio', 'server'],
            ['slowpoke', 'server'],
            ['pattern', 'offline'],
          ],
        );
        assert.equal(m.models.at(-1)!.displayName, 'Pattern — offline, not AI');
        assert.match(m.models[0]!.recipient, /OpenAI-compatible/);
        assert.equal(m.models[0]!.leftToday, 5);
        assert.equal(m.requireLabel, true);
      },
    );

    it(
      'runs a hosted job: progress, then the images with provider, model and seed, and charges the quota',
      { skip },
      async () => {
        const a = await job({ model: 'studio', prompt: 'a lighthouse at dusk', variants: 2, width: 256, height: 256 });
        assert.equal(a.status, 200);
        const result = last(a);
        assert.equal(result.type, 'result', JSON.stringify(result));
        if (result.type !== 'result') return;
        assert.equal(result.provider, 'openai');
        assert.equal(result.modelName, 'Studio Image');
        assert.equal(result.images.length, 2);
        assert.deepEqual(fromB64(result.images[0]!.data), SAMPLE_PNG);
        assert.ok(a.lines.slice(0, -1).every((l) => l.type === 'progress'));
        assert.equal(await left('studio'), 3);
        // Nothing of the prompt or the image stays on the server.
        const stored = allBytes(t.dataDir);
        assert.equal(stored.includes(Buffer.from('a lighthouse at dusk')), false, 'prompt in the data folder');
        assert.equal(stored.includes(Buffer.from(SAMPLE_PNG)), false, 'image in the data folder');
        assert.equal(stored.includes(Buffer.from(result.images[0]!.data)), false, 'image (base64) in the data folder');
      },
    );

    it(
      'passes a refusal on as image_provider_refused and a garbage answer as image_provider_bad_answer, charging nothing',
      { skip },
      async () => {
        const before = await left('studio');
        const refused = await job({ model: 'studio', prompt: 'please refuse this' });
        assert.equal(last(refused).type, 'error');
        assert.equal((last(refused) as { error: { code: string } }).error.code, 'image_provider_refused');
        const garbage = await job({ model: 'studio', prompt: 'garbage please' });
        assert.equal((last(garbage) as { error: { code: string } }).error.code, 'image_provider_bad_answer');
        assert.equal(await left('studio'), before);
      },
    );

    it(
      'refuses blocked prompts, bad requests, unknown and not-allowed models before any provider call',
      { skip },
      async () => {
        const calls = hits(openai);
        const cases: [unknown, string, number][] = [
          [{ model: 'studio', prompt: 'the FORBIDDEN   fruit tree' }, 'image_prompt_blocked', 422],
          [{ model: 'studio', prompt: 'creme brulee' }, 'image_prompt_blocked', 422],
          [{ model: 'studio', prompt: '' }, 'image_prompt_invalid', 400],
          [{ model: 'studio', prompt: '   ' }, 'image_prompt_invalid', 400],
          [{ model: 'studio', prompt: 'x'.repeat(4001) }, 'image_prompt_invalid', 400],
          [{ model: 'studio', prompt: 'ok', variants: 5 }, 'image_request_invalid', 400],
          [{ model: 'studio', prompt: 'ok', width: 10, height: 10 }, 'image_request_invalid', 400],
          [{ model: 'nope', prompt: 'ok' }, 'image_model_unknown', 404],
          [{ model: 'constructor', prompt: 'ok' }, 'image_model_unknown', 404],
          [{ model: 'private', prompt: 'ok' }, 'image_model_not_allowed', 403],
          [{ model: 'studio', prompt: 'x'.repeat(20_000) }, 'bad_request', 400],
        ];
        const quota = await left('studio');
        for (const [body, code, status] of cases) {
          const a = await job(body);
          assert.equal(a.status, status, JSON.stringify(body).slice(0, 80));
          assert.equal(errorCode(a).code, code, JSON.stringify(body).slice(0, 80));
        }
        // A whole-word list: "forbiddenfruit" and "crèmerie" are not blocked.
        const fine = await job({ model: 'pattern', prompt: 'crèmerie at noon', width: 64, height: 64 });
        assert.equal(last(fine).type, 'result');
        assert.equal(hits(openai), calls, 'a provider was called');
        assert.equal(await left('studio'), quota, 'a refused job was charged');
        assert.equal(
          (await models()).models.some((m) => m.id === 'private'),
          false,
        );
      },
    );

    it('answers image_quota_spent with retryAfterMs to the next UTC day once the quota is used', { skip }, async () => {
      const fresh = other;
      for (let i = 0; i < 5; i++)
        assert.equal(last(await job({ model: 'studio', prompt: `cat ${i}` }, fresh)).type, 'result');
      const spent = await job({ model: 'studio', prompt: 'one more cat' }, fresh);
      assert.equal(spent.status, 429);
      const e = errorCode(spent);
      assert.equal(e.code, 'image_quota_spent');
      const toMidnight = 86_400_000 - (Date.now() % 86_400_000);
      assert.ok(e.retryAfterMs! > 0 && e.retryAfterMs! <= toMidnight + 1000, String(e.retryAfterMs));
    });

    it("answers image_budget_spent once the server's daily budget is spent", { skip }, async () => {
      // 0.40 a day at 0.04 an image: 2 + 5 images were charged above, 3 more fit, the fourth does not.
      const a = await job({ model: 'studio', prompt: 'budget', variants: 3 });
      assert.equal(last(a).type, 'result');
      // Another account with its whole quota left is refused on the budget alone.
      const b = await job({ model: 'studio', prompt: 'budget again', variants: 1 }, third);
      assert.equal(b.status, 429);
      assert.equal(errorCode(b).code, 'image_budget_spent');
      assert.ok(errorCode(b).retryAfterMs! > 0);
      // The pattern renderer costs nothing and still works.
      assert.equal(last(await job({ model: 'pattern', prompt: 'budget', width: 64, height: 64 })).type, 'result');
    });

    it(
      'caps running jobs per account, and cancels a job past its timeout at the provider',
      { skip, timeout: 30_000 },
      async () => {
        const running = job({ model: 'slowpoke', prompt: 'never ending story' });
        // Wait until the provider has the job, then a second one for the same account is refused.
        for (let i = 0; i < 200 && !replicate.hits.some((h) => h.path === '/v1/predictions'); i++)
          await new Promise((r) => setTimeout(r, 10));
        const busy = await job({ model: 'pattern', prompt: 'meanwhile', width: 64, height: 64 });
        assert.equal(busy.status, 429);
        assert.equal(errorCode(busy).code, 'image_jobs_busy');
        const a = await running;
        assert.equal((last(a) as { error: { code: string } }).error.code, 'image_provider_timeout');
        assert.ok(
          replicate.hits.some((h) => h.method === 'POST' && /\/cancel$/.test(h.path)),
          'no cancel at the provider',
        );
        assert.equal(await left('slowpoke'), 3, 'a timed-out job was charged');
        // The slot is free again.
        assert.equal(last(await job({ model: 'pattern', prompt: 'after', width: 64, height: 64 })).type, 'result');
        void accountId;
      },
    );
  });
