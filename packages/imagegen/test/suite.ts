/**
 * The cases every provider adapter is held to (C9), each against that provider's local fake:
 * success with several polls and progress, refusal, 429 then success, 429 past the deadline,
 * a garbage answer, no answer at all (deadline), an expired result address, and cancel.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ParleyError } from '@parley/protocol';
import { pngSize } from '@parley/imagegen';
import type { ImageProvider, Progress } from '@parley/imagegen';
import type { Fake, Hit } from './fake.ts';

export interface SuiteSpec {
  readonly name: string;
  readonly model: string;
  readonly start: () => Promise<Fake>;
  readonly make: (base: string) => ImageProvider;
  /** The code a refusal maps to (providers without a content policy fail the job instead). */
  readonly refusalCode: string;
  /** Whether the provider's documented API lets a job be cancelled, and the request that does it. */
  readonly cancelHit?: (h: Hit) => boolean;
  /** Whether the provider has result addresses that can expire. */
  readonly expires: boolean;
  /** Whether the provider's job is polled, so a garbage poll answer can come mid-job. */
  readonly polled?: boolean;
  /** Whether the provider reports a fraction while the job runs (else only stages). */
  readonly fraction: boolean;
}

/** Runs the shared cases for one adapter. */
export function providerSuite(spec: SuiteSpec): void {
  describe(`${spec.name} adapter against its local fake`, () => {
    let fake: Fake;
    let provider: ImageProvider;
    before(async () => {
      fake = await spec.start();
      provider = spec.make(fake.base);
    });
    after(() => fake.close());

    const code = async (p: Promise<unknown>): Promise<ParleyError> => {
      try {
        await p;
      } catch (e) {
        assert.ok(e instanceof ParleyError, `a ParleyError, not ${String(e)}`);
        return e;
      }
      assert.fail('expected a catalogued error');
    };

    it('generates variants across several polls and reports progress', async () => {
      const seen: Progress[] = [];
      const r = await provider.generate(
        { prompt: 'a lighthouse at dusk', model: spec.model, variants: 2, seed: 41, width: 512, height: 384 },
        { onProgress: (p) => seen.push(p) },
      );
      assert.equal(r.provider, provider.id);
      assert.equal(r.model, spec.model);
      assert.equal(r.images.length, 2);
      for (const img of r.images) {
        assert.equal(img.mimeType, 'image/png');
        assert.deepEqual(pngSize(img.bytes), { width: 16, height: 12 });
      }
      assert.ok(
        seen.some((p) => p.stage === 'running' || p.stage === 'queued'),
        'progress while the job ran',
      );
      if (spec.fraction)
        assert.ok(
          seen.some((p) => typeof p.fraction === 'number'),
          'a fraction was reported',
        );
    });

    it('maps a content-policy refusal', async () => {
      const e = await code(provider.generate({ prompt: 'refuse this', model: spec.model }));
      assert.equal(e.code, spec.refusalCode);
    });

    it('retries a 429 after its Retry-After and succeeds', async () => {
      const before = fake.hits.length;
      const r = await provider.generate({ prompt: 'ratelimit once', model: spec.model });
      assert.equal(r.images.length, 1);
      const submits = fake.hits.slice(before).filter((h) => h.method === 'POST' && !(spec.cancelHit?.(h) ?? false));
      assert.ok(submits.length >= 2, 'the submit was sent again after the 429');
    });

    it('gives image_provider_rate_limited with retryAfterMs when the wait passes the deadline', async () => {
      const e = await code(provider.generate({ prompt: 'ratelimit-long', model: spec.model }, { timeoutMs: 20_000 }));
      assert.equal(e.code, 'image_provider_rate_limited');
      assert.equal(e.retryAfterMs(), 3_600_000);
      assert.equal(e.isRateLimited(), true);
    });

    it('maps a garbage answer to image_provider_bad_answer', async () => {
      const e = await code(provider.generate({ prompt: 'garbage please', model: spec.model }));
      assert.equal(e.code, 'image_provider_bad_answer');
    });

    it('ends a provider that never answers at the deadline', async () => {
      const e = await code(provider.generate({ prompt: 'hang forever', model: spec.model }, { timeoutMs: 300 }));
      assert.equal(e.code, 'image_provider_timeout');
      assert.equal(e.isRetryable(), true);
    });

    if (spec.expires)
      it('maps an expired result address to image_result_expired', async () => {
        const e = await code(provider.generate({ prompt: 'expire the result', model: spec.model }));
        assert.equal(e.code, 'image_result_expired');
      });

    it('cancels when the caller aborts' + (spec.cancelHit ? ', at the provider too' : ''), async () => {
      const ac = new AbortController();
      const before = fake.hits.length;
      const e = await code(
        provider.generate(
          { prompt: 'stall until cancelled', model: spec.model },
          { signal: ac.signal, onProgress: () => setTimeout(() => ac.abort(), 30) },
        ),
      );
      assert.equal(e.code, 'image_generation_canceled');
      if (spec.cancelHit)
        assert.ok(fake.hits.slice(before).some(spec.cancelHit), 'the job was cancelled at the provider');
    });

    if (spec.cancelHit && spec.polled)
      it('cancels at the provider when a poll answers garbage mid-job', async () => {
        const before = fake.hits.length;
        const e = await code(provider.generate({ prompt: 'poll-garbage', model: spec.model }));
        assert.equal(e.code, 'image_provider_bad_answer');
        assert.ok(fake.hits.slice(before).some(spec.cancelHit!), 'the job was cancelled at the provider');
      });

    if (spec.cancelHit)
      it('cancels at the provider when the deadline passes mid-job', async () => {
        const before = fake.hits.length;
        const e = await code(
          provider.generate({ prompt: 'stall past the deadline', model: spec.model }, { timeoutMs: 300 }),
        );
        assert.equal(e.code, 'image_provider_timeout');
        assert.ok(fake.hits.slice(before).some(spec.cancelHit!), 'the job was cancelled at the provider');
      });
  });
}
