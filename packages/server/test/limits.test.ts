/**
 * Rate limits (C1, C12, C19): burst of exactly `limit`, denial with a usable retryAfterMs, smooth
 * refill, cost > 1, a budget shared by two limiter instances (two processes), reset, key cleanup and
 * input checks — each on the in-process limiter and on Redis. Timings are asserted loosely: the
 * tests check behaviour, bench/ checks speed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createMemoryRateLimiter,
  createRateLimiter,
  createRedisRateLimiter,
  type RateDecision,
  type RateLimiter,
  type RateRule,
} from '../src/limits/index.ts';
import { BACKENDS, keysUnder, pttl, setupBackend, sleep, type Backend, type BackendSetup } from '@parley/testkit';

function limiter(env: BackendSetup): RateLimiter {
  return env.track(createRateLimiter({ ...(env.redisUrl ? { redisUrl: env.redisUrl } : {}), prefix: env.prefix }));
}

/** A limiter on a fake clock (ms), for exact arithmetic; Redis then takes the time from us instead of TIME. */
function onClock(env: BackendSetup, clock: { t: number }): RateLimiter {
  const now = () => clock.t;
  return env.track(
    env.redisUrl
      ? createRedisRateLimiter({ url: env.redisUrl, prefix: env.prefix, now })
      : createMemoryRateLimiter({ now }),
  );
}

/** Two "processes": two Redis limiters with their own connections; in-process, one limiter. */
function twoLimiters(backend: Backend, env: BackendSetup): [RateLimiter, RateLimiter] {
  if (backend === 'redis') return [limiter(env), limiter(env)];
  const one = limiter(env);
  return [one, one];
}

for (const backend of BACKENDS) {
  describe(`rate limiter [${backend}]`, () => {
    it('allows exactly `limit` in a burst, then denies with a sensible retryAfterMs', async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const l = limiter(env);
      const rule = { limit: 5, windowMs: 60_000 }; // slow refill: the burst cannot be topped up mid-test
      const remaining: number[] = [];
      for (let i = 0; i < 5; i++) {
        const d = await l.consume('burst', rule);
        assert.equal(d.allowed, true, `call ${i + 1}`);
        assert.equal(d.retryAfterMs, 0);
        remaining.push(d.remaining);
      }
      assert.deepEqual(remaining, [4, 3, 2, 1, 0]);
      const denied = await l.consume('burst', rule);
      assert.equal(denied.allowed, false);
      assert.equal(denied.remaining, 0);
      // One token comes back every windowMs/limit = 12 s; a little of that has passed.
      assert.ok(denied.retryAfterMs >= 1 && denied.retryAfterMs <= 12_000, `retryAfterMs ${denied.retryAfterMs}`);
      assert.ok(denied.retryAfterMs > 11_000, `retryAfterMs ${denied.retryAfterMs} is about one token's time`);
      const again = await l.consume('burst', rule);
      assert.equal(again.allowed, false, 'a denied call took nothing, and nothing refilled yet');
      assert.ok(again.retryAfterMs <= denied.retryAfterMs);
      assert.equal((await l.consume('another key', rule)).remaining, 4, 'keys are independent');
    });

    it('refills smoothly over time', async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const l = limiter(env);
      const rule = { limit: 4, windowMs: 200 }; // a token every 50 ms
      for (let i = 0; i < 4; i++) assert.equal((await l.consume('r', rule)).allowed, true);
      const denied = await l.consume('r', rule);
      assert.equal(denied.allowed, false);
      assert.ok(denied.retryAfterMs >= 1 && denied.retryAfterMs <= 50, `retryAfterMs ${denied.retryAfterMs}`);
      await sleep(denied.retryAfterMs + 5);
      assert.equal((await l.consume('r', rule)).allowed, true, 'one token back after retryAfterMs');
      await sleep(250); // more than a window: full again, never more than full
      assert.deepEqual(await l.consume('r', rule), { allowed: true, remaining: 3, retryAfterMs: 0 });
      for (let i = 0; i < 3; i++) assert.equal((await l.consume('r', rule)).allowed, true, 'the burst is back');
    });

    it('takes `cost` tokens at once; a denied cost takes nothing', async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const l = limiter(env);
      const rule = { limit: 10, windowMs: 60_000 }; // a token every 6 s
      const d1 = await l.consume('c', rule, 7);
      assert.deepEqual(d1, { allowed: true, remaining: 3, retryAfterMs: 0 });
      const d2 = await l.consume('c', rule, 5);
      assert.equal(d2.allowed, false);
      assert.equal(d2.remaining, 3);
      // Two more tokens are needed: about 12 s.
      assert.ok(d2.retryAfterMs > 11_000 && d2.retryAfterMs <= 12_000, `retryAfterMs ${d2.retryAfterMs}`);
      assert.deepEqual(
        await l.consume('c', rule, 3),
        { allowed: true, remaining: 0, retryAfterMs: 0 },
        'the denied call took nothing',
      );
      const probe = await l.consume('c', rule, 0);
      assert.equal(probe.allowed, true, 'cost 0 only looks');
      assert.equal(probe.remaining, 0);
      const tooBig = await l.consume('fresh', rule, 11);
      assert.equal(tooBig.allowed, false, 'a cost above limit never passes');
      assert.ok(tooBig.retryAfterMs >= 1);
      assert.equal((await l.consume('fresh', rule, 10)).allowed, true, 'and it took nothing');
    });

    it('shares one budget between two limiter instances', async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const [l1, l2] = twoLimiters(backend, env);
      const rule = { limit: 6, windowMs: 60_000 };
      const calls = Array.from({ length: 12 }, (_, i) => (i % 2 ? l1 : l2).consume('shared', rule));
      const results = await Promise.all(calls);
      assert.equal(results.filter((r) => r.allowed).length, 6);
      assert.deepEqual(
        results
          .filter((r) => r.allowed)
          .map((r) => r.remaining)
          .sort(),
        [0, 1, 2, 3, 4, 5],
        'each token handed out once',
      );
      const d = await l2.consume('shared', rule);
      assert.equal(d.allowed, false);
      await l1.reset('shared');
      assert.equal((await l2.consume('shared', rule)).remaining, 5, 'a reset on one is seen by the other');
    });

    it('resets a key to a full bucket', async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const l = limiter(env);
      const rule = { limit: 3, windowMs: 60_000 };
      for (let i = 0; i < 3; i++) await l.consume('x', rule);
      await l.consume('y', rule);
      assert.equal((await l.consume('x', rule)).allowed, false);
      await l.reset('x');
      assert.deepEqual(await l.consume('x', rule), { allowed: true, remaining: 2, retryAfterMs: 0 });
      assert.equal((await l.consume('y', rule)).remaining, 1, 'other keys untouched');
      await l.reset('never-used'); // harmless
    });

    it('forgets a bucket once it has refilled', async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const l = limiter(env);
      const rule = { limit: 2, windowMs: 200 };
      await l.consume('idle', rule);
      await l.consume('idle', rule);
      if (backend === 'redis') {
        const left = await pttl(`${env.prefix}rl:idle`);
        assert.ok(left > 0 && left <= 200, `key expires when the bucket is full (pttl ${left})`);
      }
      await sleep(260);
      if (backend === 'redis') assert.deepEqual(await keysUnder(env.prefix), [], 'no key left behind');
      assert.equal((await l.consume('idle', rule)).remaining, 1, 'full again');
    });

    it('rejects rules and costs it cannot honour exactly', async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const l = limiter(env);
      const bad: [RateRule, number][] = [
        [{ limit: 0, windowMs: 1000 }, 1],
        [{ limit: 1.5, windowMs: 1000 }, 1],
        [{ limit: 5, windowMs: 0 }, 1],
        [{ limit: 5, windowMs: 10.5 }, 1],
        [{ limit: 5, windowMs: 1000 }, -1],
        [{ limit: 5, windowMs: 1000 }, 0.5],
        [{ limit: 2 ** 30, windowMs: 2 ** 30 }, 1],
      ];
      for (const [rule, cost] of bad)
        await assert.rejects(l.consume('k', rule, cost), RangeError, JSON.stringify({ rule, cost }));
    });

    it('gives the worked decisions of the GCRA table (the Lua and gcraStep agree case by case)', async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const clock = { t: 0 };
      const l = onClock(env, clock);
      const base = 1_700_000_000_000;
      // Each row: key, time since base, rule, cost, and the decision worked out by hand from the
      // arithmetic in gcra.ts (capacity = windowMs × limit ticks; one token = windowMs ticks).
      // Windows are long so Redis's real-time PX expiry cannot fire during the test.
      const t3 = { limit: 3, windowMs: 100_000 };
      const t2 = { limit: 2, windowMs: 100_000 };
      const t5 = { limit: 5, windowMs: 500_000 };
      const table: [string, number, RateRule, number, RateDecision][] = [
        // A full burst, then one more: a token is 33,333.3 ms, so 33,334 ms to wait (rounded up).
        ['frac', 0, t3, 3, { allowed: true, remaining: 0, retryAfterMs: 0 }],
        ['frac', 0, t3, 1, { allowed: false, remaining: 0, retryAfterMs: 33_334 }],
        // At that instant it passes and leaves a sub-millisecond remainder (TAT 133,333 ms + 1 tick).
        ['frac', 33_334, t3, 1, { allowed: true, remaining: 0, retryAfterMs: 0 }],
        // The same key under a limit of 2: the remainder is rescaled up (1 tick of 3 → 1 of 2), debt
        // 199,999 of 200,000 ticks, so one token needs 99,999 more ticks: 50,000 ms.
        ['frac', 33_334, t2, 1, { allowed: false, remaining: 0, retryAfterMs: 50_000 }],
        ['frac', 83_334, t2, 1, { allowed: true, remaining: 0, retryAfterMs: 0 }],
        // Zero-cost probes pass and take nothing, even on an empty bucket.
        ['probe', 0, t5, 0, { allowed: true, remaining: 5, retryAfterMs: 0 }],
        ['probe', 0, t5, 5, { allowed: true, remaining: 0, retryAfterMs: 0 }],
        ['probe', 0, t5, 0, { allowed: true, remaining: 0, retryAfterMs: 0 }],
        // More than a whole bucket never passes: the answer is the time until the bucket is full.
        ['over', 0, t2, 3, { allowed: false, remaining: 2, retryAfterMs: 1 }],
        ['over', 0, t2, 2, { allowed: true, remaining: 0, retryAfterMs: 0 }],
        ['over', 0, t2, 3, { allowed: false, remaining: 0, retryAfterMs: 100_000 }],
        // Half a window later one token is back; a cost of 2 is refused and takes nothing.
        ['over', 50_000, t2, 2, { allowed: false, remaining: 1, retryAfterMs: 50_000 }],
        ['over', 50_000, t2, 1, { allowed: true, remaining: 0, retryAfterMs: 0 }],
      ];
      const got: string[] = [];
      const want: string[] = [];
      for (const [key, at, rule, cost, expected] of table) {
        clock.t = base + at;
        const label = `${key} +${at} ms ${rule.limit}/${rule.windowMs} cost ${cost}`;
        got.push(`${label}: ${JSON.stringify(await l.consume(key, rule, cost))}`);
        want.push(`${label}: ${JSON.stringify(expected)}`);
      }
      assert.deepEqual(got, want);
    });

    it('stays exact when the refill interval is fractional (fake clock)', async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const clock = { t: 1_700_000_000_000 };
      const l = onClock(env, clock);
      const rule = { limit: 3, windowMs: 1000 }; // a token every 333⅓ ms
      const at = async (dt: number, cost: number) => {
        clock.t = 1_700_000_000_000 + dt;
        return l.consume('frac', rule, cost);
      };
      for (let i = 0; i < 3; i++) assert.equal((await at(0, 1)).allowed, true);
      assert.deepEqual(await at(0, 1), { allowed: false, remaining: 0, retryAfterMs: 334 });
      assert.deepEqual(await at(333, 1), { allowed: false, remaining: 0, retryAfterMs: 1 }, '⅓ ms short');
      assert.deepEqual(await at(334, 1), { allowed: true, remaining: 0, retryAfterMs: 0 });
      // 666 ms later 1.998 tokens have come back, plus the 0.002 left at t=334: exactly 2, no drift.
      assert.deepEqual(await at(1000, 3), { allowed: false, remaining: 2, retryAfterMs: 334 });
      assert.deepEqual(await at(1001, 2), { allowed: true, remaining: 0, retryAfterMs: 0 });
      // A long idle time refills to the burst, not beyond.
      assert.deepEqual(await at(60_000, 1), { allowed: true, remaining: 2, retryAfterMs: 0 });
    });
  });
}

// The two implementations must agree decision for decision, so one fake clock drives both through
// the same pseudo-random workload (rules with fractional refill intervals, costs 0…limit+1, idle gaps).
describe('in-process and Redis limiters agree', () => {
  it('gives identical decisions for the same calls at the same times', async (t) => {
    const env = await setupBackend(t, 'redis');
    if (!env) return;
    const clock = { t: 1_700_000_000_000 };
    const now = () => clock.t;
    const mem = env.track(createMemoryRateLimiter({ now }));
    const red = env.track(createRedisRateLimiter({ url: env.redisUrl!, prefix: env.prefix, now }));
    // Redis still expires keys in real time (PX), so every rule refills one token no faster than
    // every ~10 s: no key can expire during the run, while the fake clock jumps freely.
    const rules: RateRule[] = [
      { limit: 3, windowMs: 30_000 },
      { limit: 7, windowMs: 70_001 },
      { limit: 6, windowMs: 59_999 },
      { limit: 1000, windowMs: 10_000_007 },
      { limit: 13, windowMs: 3_600_000 },
    ];
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31; // small LCG: reproducible, no dependency
      return seed % n;
    };
    const mismatches: string[] = [];
    const seen = { allowed: 0, denied: 0 };
    for (let i = 0; i < 600; i++) {
      const r = rand(rules.length);
      const rule = rules[r]!;
      const key = `k${r}-${rand(2)}`;
      const cost = rand(4) === 0 ? rand(rule.limit + 2) : 1;
      clock.t += [0, 1, rand(50), rand(Math.ceil(rule.windowMs / rule.limit) + 1), rand(rule.windowMs)][rand(5)]!;
      if (rand(100) === 0) await Promise.all([mem.reset(key), red.reset(key)]);
      const [a, b]: [RateDecision, RateDecision] = await Promise.all([
        mem.consume(key, rule, cost),
        red.consume(key, rule, cost),
      ]);
      seen[a.allowed ? 'allowed' : 'denied']++;
      if (JSON.stringify(a) !== JSON.stringify(b))
        mismatches.push(`#${i} ${key} cost ${cost}: memory ${JSON.stringify(a)} redis ${JSON.stringify(b)}`);
    }
    assert.deepEqual(mismatches.slice(0, 5), []);
    assert.ok(seen.allowed > 100 && seen.denied > 100, `the workload exercises both outcomes ${JSON.stringify(seen)}`);
  });
});
