/**
 * Hosted image generation (C9): what the server adds over the provider's own time, with a local
 * OpenAI-compatible provider that answers after a fixed delay (sequential jobs, p50 and p95 of the
 * difference), and 100 jobs at once (server CPU per job, the server's memory peak while they run).
 */
import WebSocket from 'ws';
import { SAMPLE_PNG, json, startFake } from '@parley/imagegen/testing';
import { deviceToken, registerTestClient } from '@parley/sdk/testing';
import type { WebSocketCtor } from '@parley/sdk';
import { round } from './measure.ts';
import { cpuSeconds, rssMb, startParley } from './processes.ts';

/** The provider's own time per job, in ms. */
const PROVIDER_MS = 200;

/** Run the scenario on a fresh server at `port`; one JSON line per measurement through `out`. */
export async function imagegenScenario(
  port: number,
  out: (o: Record<string, unknown>) => void,
  opts: { sequential?: number; concurrent?: number } = {},
): Promise<void> {
  const sequential = opts.sequential ?? 20;
  const concurrent = opts.concurrent ?? 100;
  const fake = await startFake(async (hit, res) => {
    await new Promise((r) => setTimeout(r, PROVIDER_MS));
    json(res, 200, {
      data: Array.from({ length: (hit.body as { n: number }).n }, () => ({
        b64_json: Buffer.from(SAMPLE_PNG).toString('base64'),
      })),
    });
  });
  const model = {
    id: 'bench',
    provider: 'openai',
    baseUrl: fake.base,
    model: 'bench-model',
    displayName: 'Bench',
    maxVariantsPerJob: 4,
    dailyQuota: 1_000_000,
    costPerImage: 0,
  };
  const p = await startParley(port, undefined, {
    PARLEY_IMAGEGEN_MODELS: JSON.stringify([model]),
    PARLEY_IMAGEGEN_JOBS_PER_USER: String(concurrent),
  });
  try {
    const client = await registerTestClient(p.base, {
      phone: '+13035558900',
      deviceName: 'bench',
      keyPackageTarget: 1,
      connect: false,
      WebSocket: WebSocket as unknown as WebSocketCtor,
    });
    const headers = { authorization: `Bearer ${deviceToken(client)}`, 'content-type': 'application/json' };
    const job = async () => {
      const r = await fetch(`${p.base}/v1/imagegen/jobs`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: 'bench', prompt: 'bench', width: 64, height: 64 }),
        signal: AbortSignal.timeout(60_000),
      });
      const text = await r.text();
      if (!text.includes('"type":"result"')) throw new Error(`job failed: ${text.slice(0, 200)}`);
    };
    await job(); // warm-up
    const added: number[] = [];
    for (let i = 0; i < sequential; i++) {
      const t0 = performance.now();
      await job();
      added.push(performance.now() - t0 - PROVIDER_MS);
    }
    added.sort((a, b) => a - b);
    out({
      scenario: 'imagegen hosted latency',
      target: p.label,
      providerMs: PROVIDER_MS,
      jobs: sequential,
      addedMsP50: round(added[Math.floor(sequential / 2)]!),
      addedMsP95: round(added[Math.min(sequential - 1, Math.floor(sequential * 0.95))]!),
    });

    const pid = p.proc.pid!;
    let peak = rssMb(pid);
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 20);
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    await Promise.all(Array.from({ length: concurrent }, job));
    const wallMs = performance.now() - t0;
    clearInterval(sampler);
    out({
      scenario: 'imagegen hosted concurrent',
      target: p.label,
      jobs: concurrent,
      wallMs: round(wallMs),
      serverCpuMsPerJob: round(((cpuSeconds(pid) - cpu0) * 1000) / concurrent),
      serverRssPeakMb: round(peak),
    });
    await client.close();
  } finally {
    await p.stop();
    await fake.close();
  }
}
