/**
 * Rate limiter on the hot path (C12, docs/decisions/0004): CPU per `consume` of Parley's GCRA
 * limiter against `rate-limiter-flexible` (the maintained library with memory and Redis backends),
 * through each one's public API, on the same keys, rule and call pattern.
 *
 * Two call patterns, since an allowed call writes the bucket and a denied one (in Parley) does not:
 * `allowed` spreads the calls over 100,000 keys (each is touched a few times, all pass), `denied`
 * puts them on 50 keys (all but the first few per window are refused).
 *
 * - in-process: one caller, calls back to back; the figure is this process's
 *   user + system CPU per call (`process.cpuUsage`), not wall time, so other load on the machine
 *   does not enter it;
 * - Redis: `concurrency` callers at once against a private `redis-server` started here (so no
 *   other client's commands enter its CPU); the figures are this process's CPU per call (client
 *   side: encoding, parsing, the library's own work) and the Redis server's CPU per call (from
 *   /proc: the script or commands each call runs), and their sum.
 *
 * The two sides run alternately, `rounds` times each, and every round is reported, so a reader sees
 * the spread. Run alone with `PARLEY_BENCH_ONLY=limiter npm run bench`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { createMemoryRateLimiter, createRedisRateLimiter, type RateRule } from '@parley/server/testing';
import { round, sleep } from './measure.ts';
import { cpuSeconds } from './processes.ts';

/** Sizes of the limiter scenario. */
export interface LimiterBenchOptions {
  /** Calls per in-process round. */
  memoryCalls: number;
  /** Calls per Redis round. */
  redisCalls: number;
  /** Redis callers in flight at once. */
  concurrency: number;
  /** Rounds per side (alternating). */
  rounds: number;
  /** Port of the private redis-server. */
  redisPort: number;
}

/** One consume through some limiter's public API: true when allowed. */
type Consume = (key: string) => Promise<boolean>;

/** A side under test: how to make its consume, and how to release it afterwards. */
interface Side {
  name: 'parley-gcra' | 'rate-limiter-flexible';
  open(): Promise<{ consume: Consume; close(): Promise<void> }>;
}

// A per-op budget of the kind the server checks on every request: 20 per second, refilled smoothly
// by the GCRA and per fixed window by the library. Each row gives the share of calls allowed.
const RULE: RateRule = { limit: 20, windowMs: 1000 };

/** The call patterns: how many distinct keys the calls cycle through. */
const PATTERNS = [
  { pattern: 'allowed', keys: 100_000 },
  { pattern: 'denied', keys: 50 },
] as const;

/** `calls` consumes, `concurrency` at a time, over `keys` keys: this process's CPU µs per call. */
async function drive(consume: Consume, calls: number, keys: number, concurrency: number) {
  let next = 0;
  let allowed = 0;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const worker = async () => {
    while (next < calls) {
      const i = next++;
      if (await consume(`k${i % keys}`)) allowed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const cpu = process.cpuUsage(cpu0);
  return {
    clientCpuUs: (cpu.user + cpu.system) / calls,
    wallUs: ((performance.now() - wall0) * 1000) / calls,
    allowedShare: allowed / calls,
  };
}

/** The library's consume as a boolean: it rejects with a `RateLimiterRes` when the call is over the limit. */
function libraryConsume(limiter: RateLimiterMemory | RateLimiterRedis): Consume {
  return (key) =>
    limiter.consume(key).then(
      () => true,
      (e: unknown) => {
        if (e instanceof RateLimiterRes) return false;
        throw e;
      },
    );
}

/** Start a redis-server of its own on `port` (no persistence) and wait until it answers. */
async function startRedis(port: number) {
  const proc = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  for (let i = 0; ; i++) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch {
      if (i > 50) throw new Error(`redis-server on port ${port} did not answer`);
      await sleep(100);
    }
  }
  return {
    url,
    probe,
    cpuSeconds: () => cpuSeconds(proc.pid!),
    async stop() {
      probe.disconnect();
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

/** Run the limiter comparison; one JSON row per side, backend and round goes to `out`. */
export async function limiterScenario(out: (row: Record<string, unknown>) => void, opts: LimiterBenchOptions) {
  const memorySides: Side[] = [
    {
      name: 'parley-gcra',
      async open() {
        const l = createMemoryRateLimiter();
        return { consume: async (key) => (await l.consume(key, RULE)).allowed, close: () => l.close() };
      },
    },
    {
      name: 'rate-limiter-flexible',
      async open() {
        const l = new RateLimiterMemory({ points: RULE.limit, duration: RULE.windowMs / 1000 });
        return { consume: libraryConsume(l), close: async () => undefined };
      },
    },
  ];
  for (const { pattern, keys } of PATTERNS)
    for (let round_ = 1; round_ <= opts.rounds; round_++)
      for (const side of memorySides) {
        const s = await side.open();
        // A short warm-up on other keys, so both sides are measured compiled.
        await drive((k) => s.consume(`warm-${k}`), Math.min(20_000, opts.memoryCalls), keys, 1);
        const r = await drive(s.consume, opts.memoryCalls, keys, 1);
        await s.close();
        out({
          scenario: 'rate_limiter',
          backend: 'memory',
          pattern,
          limiter: side.name,
          round: round_,
          calls: opts.memoryCalls,
          cpu_us_per_call: round(r.clientCpuUs, 2),
          wall_us_per_call: round(r.wallUs, 2),
          allowed_share: round(r.allowedShare, 2),
        });
      }

  // The in-process rows stand on their own; without a redis-server here the Redis rows say so.
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    out({ scenario: 'rate_limiter', backend: 'redis', skipped: 'redis-server is not installed' });
    return;
  }
  const redis = await startRedis(opts.redisPort);
  try {
    const redisSides: Side[] = [
      {
        name: 'parley-gcra',
        async open() {
          const l = createRedisRateLimiter({ url: redis.url, prefix: 'bench-gcra:' });
          return { consume: async (key) => (await l.consume(key, RULE)).allowed, close: () => l.close() };
        },
      },
      {
        name: 'rate-limiter-flexible',
        async open() {
          const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
          const l = new RateLimiterRedis({
            storeClient: client,
            keyPrefix: 'bench-rlf',
            points: RULE.limit,
            duration: RULE.windowMs / 1000,
          });
          return { consume: libraryConsume(l), close: async () => void client.disconnect() };
        },
      },
    ];
    for (const { pattern, keys } of PATTERNS)
      for (let round_ = 1; round_ <= opts.rounds; round_++)
        for (const side of redisSides) {
          const s = await side.open();
          await drive((k) => s.consume(`warm-${k}`), Math.min(5_000, opts.redisCalls), keys, opts.concurrency);
          const server0 = redis.cpuSeconds();
          const r = await drive(s.consume, opts.redisCalls, keys, opts.concurrency);
          const serverUs = ((redis.cpuSeconds() - server0) * 1e6) / opts.redisCalls;
          await s.close();
          await redis.probe.flushall();
          out({
            scenario: 'rate_limiter',
            backend: 'redis',
            pattern,
            limiter: side.name,
            round: round_,
            calls: opts.redisCalls,
            concurrency: opts.concurrency,
            client_cpu_us_per_call: round(r.clientCpuUs, 2),
            redis_cpu_us_per_call: round(serverUs, 2),
            cpu_us_per_call: round(r.clientCpuUs + serverUs, 2),
            wall_us_per_call: round(r.wallUs, 2),
            allowed_share: round(r.allowedShare, 2),
          });
        }
  } finally {
    await redis.stop();
  }
}
