/**
 * A hosted image job whose device hangs up mid-way (C9): the device's HTTP request is closed while
 * the provider (a local fake of Replicate's documented predictions API) still runs the job. The
 * server must cancel the prediction at the provider (`POST urls.cancel`), charge nothing (the
 * account's quota for the day is what it was) and free the account's running-job slot. The job's
 * own deadline is far away, so only the hang-up can have caused the cancel. Counters run
 * in-process and on Redis.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { imagineLineSchema } from '@parley/protocol';
import { json, startFake, type Fake } from '@parley/imagegen/testing';
import { BACKENDS, REDIS_URL, deleteKeys, newClient, redisProblem, startServer, testPrefix } from '@parley/testkit';
import type { TestServer } from '@parley/testkit';
import { deviceToken } from '@parley/sdk/testing';

/** Poll until `check` holds (the server reacts to the hang-up asynchronously). */
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1500; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out: ${what}`);
}

/** A Replicate fake whose predictions stay `processing` until cancelled. */
function replicateFake(): Promise<Fake> {
  let n = 0;
  return startFake((hit, res, _url, base) => {
    const view = (id: string, status: string) => ({
      id,
      status,
      output: null,
      logs: '12%|#',
      urls: { get: `${base}/v1/predictions/${id}`, cancel: `${base}/v1/predictions/${id}/cancel` },
    });
    if (hit.method === 'POST' && hit.path === '/v1/predictions') return json(res, 201, view(`p${++n}`, 'processing'));
    const cancel = /^\/v1\/predictions\/([^/]+)\/cancel$/.exec(hit.path);
    if (cancel) return json(res, 200, view(cancel[1]!, 'canceled'));
    const get = /^\/v1\/predictions\/([^/]+)$/.exec(hit.path);
    if (get) return json(res, 200, view(get[1]!, 'processing'));
    json(res, 404, { detail: 'Not found.' });
  });
}

for (const backend of BACKENDS)
  describe(`hosted image job, device hangs up [${backend}]`, async () => {
    const problem = backend === 'redis' ? await redisProblem() : null;
    const skip = problem && process.env.PARLEY_REQUIRE_SERVICES !== '1' ? `Redis unavailable: ${problem}` : false;
    let t: TestServer;
    let replicate: Fake;
    let token: string;
    const prefix = testPrefix();

    before(async () => {
      if (skip) return;
      replicate = await replicateFake();
      t = await startServer('sqlite', {
        ...(backend === 'redis' ? { redisUrl: REDIS_URL, redisPrefix: prefix } : {}),
        imagegenModels: [
          {
            id: 'slow',
            provider: 'replicate',
            baseUrl: replicate.base,
            apiKey: 'r8_hangup',
            model: 'owner/slow',
            displayName: 'Slow Model',
            maxVariantsPerJob: 1,
            imageInput: false,
            pollIntervalMs: 20,
            dailyQuota: 4,
            costPerImage: 0.1,
          },
        ],
        imagegenBudgetPerDay: 1,
        imagegenJobsPerUser: 1,
        imagegenTimeoutSeconds: 600,
      });
      token = deviceToken(await newClient(t.url, undefined, { connect: false }));
    });
    after(async () => {
      if (skip) return;
      await t?.close();
      await replicate?.close();
      if (backend === 'redis') await deleteKeys(prefix);
    });

    const leftToday = async () => {
      const r = await fetch(`${t.url}/v1/imagegen/models`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await r.json()) as { models: { id: string; leftToday: number }[] };
      return body.models.find((m) => m.id === 'slow')!.leftToday;
    };
    const cancels = () => replicate.hits.filter((h) => h.method === 'POST' && /\/cancel$/.test(h.path)).length;

    it('cancels at the provider, charges nothing and frees the slot', { skip, timeout: 60_000 }, async () => {
      assert.equal(await leftToday(), 4);
      const device = new AbortController();
      const r = await fetch(`${t.url}/v1/imagegen/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'slow', prompt: 'a very long exposure', variants: 2 }),
        signal: device.signal,
      });
      assert.equal(r.status, 200);
      // Read until the job runs at the provider (a progress line with its fraction), then hang up.
      const reader = r.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      while (!/"stage":"running"/.test(text)) {
        const { value, done } = await reader.read();
        assert.equal(done, false, `the stream ended before the job ran: ${text}`);
        text += decoder.decode(value, { stream: true });
      }
      for (const line of text.split('\n').filter(Boolean)) imagineLineSchema.parse(JSON.parse(line));
      assert.equal(cancels(), 0, 'cancelled before the hang-up');
      // Counters take the quota and the budget before the call: both are held while it runs.
      assert.equal(await leftToday(), 2);
      device.abort();

      await until(() => cancels() === 1, 'the cancel at the provider');
      await until(async () => (await leftToday()) === 4, 'the quota given back');
      // The running-job slot is free again: another job runs to its result.
      const again = await fetch(`${t.url}/v1/imagegen/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'pattern', prompt: 'after the hang-up', width: 64, height: 64 }),
        signal: AbortSignal.timeout(20_000),
      });
      assert.equal(again.status, 200, await again.clone().text());
      const last = (await again.text()).trim().split('\n').at(-1)!;
      assert.equal(imagineLineSchema.parse(JSON.parse(last)).type, 'result');
      // The budget was given back too: the full day's four images (0.4 of 1) still fit.
      const full = new AbortController();
      const four = await fetch(`${t.url}/v1/imagegen/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'slow', prompt: 'all four', variants: 4 }),
        signal: full.signal,
      });
      assert.equal(four.status, 200);
      full.abort();
      await until(() => cancels() >= 2, 'the second cancel');
      await until(async () => (await leftToday()) === 4, 'the quota given back again');
    });
  });
