/**
 * `npm run bench` (C3, C19): Parley against a bare `ws` relay on this machine. The server runs on
 * core 0 (`taskset -c 0`), this load generator on core 1, over real WebSockets on loopback. Every
 * Parley message is stored and acknowledged exactly as in production (embedded default: SQLite,
 * or PostgreSQL when PARLEY_DATABASE_URL is set). Prints one JSON line per scenario.
 *
 * Scenarios: 1:1 messages at 200 and 2,000 connections at rising offered rates; 10,000 idle
 * connections (memory per connection); one message to a 1,000-device group (time until the last
 * device has it). The soft file limit is raised to the hard limit (20,000 here). Load loops are bounded in count and time and stop by themselves.
 * Then contact discovery, Web Push fan-out to 1,000 subscribed devices (`push.ts`), encrypted media, the SFU on its own (`sfu.ts`) and speaker changes as
 * SDK clients in a group call see them through a real server (`speaker-clients.ts`).
 */
import { spawnSync } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { encodeFrame, toB64 } from '@parley/protocol';
import { rawSocketOf } from '@parley/server/testing';
import { createDeviceIdentity, createGroup, encryptMessage, generateSigningKeyPair } from '@parley/crypto';
import { SimDevice, registerMany, type Registered } from './devices.ts';
import { discoveryScenarios } from './discovery.ts';
import { round, sleep } from './measure.ts';
import { mediaScenario } from './media.ts';
import { imagegenScenario } from './imagegen.ts';
import { ROOT, cpuSeconds, rssMb, startParley, startRelay, type Target } from './processes.ts';
import { runSfuBench } from './sfu.ts';
import { speakerChangeClients } from './speaker-clients.ts';
import { pushFanoutScenario } from './push.ts';
import { limiterScenario } from './limiter.ts';

// Re-run pinned to core 1 with enough file descriptors for 10,000 sockets on each side.
if (!process.env.PARLEY_BENCH_CHILD) {
  const r = spawnSync(
    'sh',
    ['-c', `ulimit -n $(ulimit -Hn) && exec taskset -c 1 "${process.execPath}" --import tsx bench/src/main.ts`],
    {
      cwd: ROOT,
      stdio: 'inherit',
      env: { ...process.env, PARLEY_BENCH_CHILD: '1' },
    },
  );
  process.exit(r.status ?? 1);
}

/** Client message ids must be unique per device across the whole run, or sends are de-duplicated. */
let clientSeq = 0;
const runTag = Math.random().toString(36).slice(2, 10);
const out = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + '\n');

function percentile(sorted: ArrayLike<number>, p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The size of a real MLS application message carrying a short text (measured, not guessed). */
async function realCiphertextSize(): Promise<number> {
  const id = createDeviceIdentity(`d_${toB64(crypto.getRandomValues(new Uint8Array(16)))}`, generateSigningKeyPair());
  const g = await createGroup(id, crypto.getRandomValues(new Uint8Array(16)));
  const text = JSON.stringify({
    v: 1,
    content: { type: 'text', text: 'See you at the station at 7? I will bring the tickets.' },
    sentAt: Date.now(),
  });
  return (await encryptMessage(g, new TextEncoder().encode(text))).ciphertext.length;
}

async function connectAll(t: Target, regs: Registered[], parallel = 50): Promise<SimDevice[]> {
  const devices = regs.map((r) => new SimDevice(r, t.kind));
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < devices.length) await devices[next++]!.connect(t.base);
    }),
  );
  return devices;
}

/** Relay devices need only distinct tokens. */
function relayRegs(n: number, offset: number): Registered[] {
  return Array.from({ length: n }, (_, i) => ({
    accountId: `a${offset + i}`,
    deviceId: `d${offset + i}`,
    token: `t${offset + i}`,
  }));
}

const conversationId = () => toB64(crypto.getRandomValues(new Uint8Array(16)));

/** Make a Parley conversation from `owner` with `members` (opaque commit/Welcome of realistic size). */
async function makeConversation(owner: SimDevice, members: SimDevice[], kind: 'direct' | 'group'): Promise<string> {
  const id = conversationId();
  const c = await owner.request('createConversation', { conversationId: id, kind });
  if (c.status !== 201 && c.status !== 200) throw new Error(`createConversation ${JSON.stringify(c.body)}`);
  const commit = crypto.getRandomValues(new Uint8Array(1200));
  const welcome = new Uint8Array(Math.min(65536 * 3, 1500 + members.length * 180));
  const payload = new Uint8Array(commit.length + welcome.length);
  payload.set(commit);
  payload.set(welcome, commit.length);
  const r = await owner.request(
    'commit',
    {
      conversationId: id,
      clientMessageId: `setup${Date.now()}${Math.random().toString(36).slice(2, 8)}`,
      epoch: 0,
      adds: members.map((m) => ({ accountId: m.reg.accountId, deviceId: m.reg.deviceId })),
      removes: [],
      welcomeLength: welcome.length,
    },
    payload,
  );
  if (r.status !== 200) throw new Error(`commit ${JSON.stringify(r.body)}`);
  return id;
}

/**
 * Slow readers beside the 2,000-connection load (C3, C19): the same 1:1 step is run without and
 * then with `count` extra devices that stop reading their socket but keep answering the server
 * with pongs, each sent `PARLEY_BENCH_SLOW_BYTES` (2 MiB) of messages it never reads. The rows
 * give the others' latency both ways and the server's memory before and after the slow readers
 * were fed, so a reader that does not read costs the others nothing and the server a bounded amount.
 */
async function slowReaderSteps(
  t: Target,
  pairs: [SimDevice, SimDevice, string][],
  regs: Registered[],
  count: number,
  seconds: number,
  size: number,
  prefix: number,
) {
  const rate = Number(process.env.PARLEY_BENCH_SLOW_RATE ?? 10_000);
  const bytes = Number(process.env.PARLEY_BENCH_SLOW_BYTES ?? 2 * 1024 * 1024);
  const chunk = 64 * 1024;
  const rows: Record<string, unknown>[] = [];
  const step = async (label: string, extra: Record<string, unknown>) => {
    const cpu0 = cpuSeconds(t.proc.pid!);
    const r = await oneToOneStep(t, pairs, rate, seconds, size);
    const cpuUs = ((cpuSeconds(t.proc.pid!) - cpu0) * 1e6) / Math.max(1, r.delivered);
    rows.push({
      scenario: label,
      target: t.label,
      connections: regs.length,
      ...r,
      server_rss_mb: round(rssMb(t.proc.pid!)),
      server_cpu_us_per_msg: Math.round(cpuUs),
      ...extra,
    });
  };
  await step('slow_readers_baseline', { slow_readers: 0 });

  const slowRegs = await registerMany(t.base, count, prefix);
  const slow = await connectAll(t, slowRegs);
  const feeders = pairs.slice(0, count).map(([a]) => a);
  const convs = await Promise.all(slow.map((d, i) => makeConversation(feeders[i]!, [d], 'direct')));
  for (const d of slow) rawSocketOf(d.ws)?.pause();
  // An attacker's client: it proves it is alive without reading anything.
  const pongs = setInterval(() => {
    for (const d of slow) if (d.ws.readyState === d.ws.OPEN) d.ws.pong();
  }, 5000);
  try {
    const rssBefore = rssMb(t.proc.pid!);
    const payload = Buffer.alloc(chunk);
    await Promise.all(
      feeders.map(async (f, i) => {
        for (let sent = 0, n = 0; sent < bytes; sent += chunk, n++) {
          const r = await f.request(
            'send',
            { conversationId: convs[i]!, clientMessageId: `bench-slow-${i}-${n}-${Date.now()}` },
            payload,
          );
          if (r.status !== 200) throw new Error(`slow-reader feed: ${JSON.stringify(r.body)}`);
        }
      }),
    );
    await sleep(1000);
    const rssFed = rssMb(t.proc.pid!);
    await step('slow_readers', {
      slow_readers: count,
      slow_reader_fed_bytes: bytes,
      server_rss_before_feed_mb: round(rssBefore),
      server_rss_after_feed_mb: round(rssFed),
    });
  } finally {
    clearInterval(pongs);
    for (const d of slow) d.close();
  }
  return rows;
}

/** Drive 1:1 traffic between pairs at `rate` messages/s for `seconds`; returns delivery stats. */
async function oneToOneStep(
  t: Target,
  pairs: [SimDevice, SimDevice, string][],
  rate: number,
  seconds: number,
  size: number,
) {
  const total = Math.round(rate * seconds);
  // Sized up front: arrays grown push by push would reallocate into the old generation, and the
  // generator's own GC pauses are timed as latency.
  const latencies = new Float64Array(total);
  const ackLat = new Float64Array(total);
  let delivered = 0;
  let acked = 0;
  for (const [, b] of pairs)
    b.onDeliver = (payload, now) => {
      if (delivered < total) latencies[delivered] = now - payload.readDoubleLE(0);
      delivered++;
    };
  for (const [a] of pairs)
    a.onFastAck = (ms) => {
      if (acked < total) ackLat[acked++] = ms;
    };
  const start = performance.now();
  let sent = 0;
  let seq = 0;
  const body = Buffer.alloc(size);
  crypto.getRandomValues(body.subarray(8));
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000));
      while (sent < due) {
        const [a, b, conv] = pairs[seq++ % pairs.length]!;
        const now = performance.now();
        body.writeDoubleLE(now, 0);
        const id = a.takeId();
        const header =
          t.kind === 'parley'
            ? {
                id,
                op: 'send',
                body: {
                  conversationId: conv,
                  clientMessageId: `${Date.now().toString(36).padStart(9, '0')}-${runTag}-${++clientSeq}`,
                },
              }
            : { id, op: 'send', to: b.reg.token };
        a.sendFast(encodeFrame(header, body) as Uint8Array, id, now);
        sent++;
      }
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  const sendEnd = performance.now();
  // Let the tail arrive (bounded).
  const drainUntil = performance.now() + 5_000;
  while (delivered < sent && performance.now() < drainUntil) await sleep(10);
  const elapsed = (Math.max(sendEnd, performance.now() - 0) - start) / 1000;
  const lat = latencies.subarray(0, Math.min(delivered, total)).sort();
  const ackSorted = ackLat.subarray(0, acked).sort();
  return {
    offered_per_s: Math.round(sent / ((sendEnd - start) / 1000)),
    delivered_per_s: Math.round(delivered / elapsed),
    delivered,
    sent,
    p50_ms: round(percentile(lat, 50), 2),
    p99_ms: round(percentile(lat, 99), 2),
    ack_p99_ms: round(percentile(ackSorted, 99), 2),
  };
}

async function pairUp(t: Target, devices: SimDevice[]): Promise<[SimDevice, SimDevice, string][]> {
  const pairs: [SimDevice, SimDevice, string][] = [];
  for (let i = 0; i + 1 < devices.length; i += 2) {
    const a = devices[i]!;
    const b = devices[i + 1]!;
    pairs.push([a, b, t.kind === 'parley' ? await makeConversation(a, [b], 'direct') : '']);
  }
  return pairs;
}

async function main(): Promise<void> {
  const size = await realCiphertextSize();
  const databaseUrl = process.env.PARLEY_DATABASE_URL || undefined;
  const rates = (process.env.PARLEY_BENCH_RATES ?? '2000,5000,10000,15000,20000').split(',').map(Number);
  const stepSeconds = Number(process.env.PARLEY_BENCH_STEP_SECONDS ?? 3);
  const idleCount = Number(process.env.PARLEY_BENCH_IDLE ?? 10000);
  const slowReaders = Number(process.env.PARLEY_BENCH_SLOW_READERS ?? 50);
  out({
    scenario: 'setup',
    ciphertext_bytes: size,
    rates,
    step_seconds: stepSeconds,
    idle_connections: idleCount,
    server_core: 0,
    generator_core: 1,
  });

  const results: Record<string, Record<string, unknown>[]> = {};
  const targets: (() => Promise<Target>)[] = [() => startParley(18700), () => startRelay(18701)];
  if (databaseUrl) targets.splice(1, 0, () => startParley(18702, databaseUrl));
  // PARLEY_BENCH_ONLY=parley skips the relay (for profiling runs), =relay runs only the relay (to
  // calibrate a machine); =discovery, =media, =imagegen, =push, =limiter or =sfu runs
  // only those scenarios (=sfu: the SFU alone, then speaker_change_clients through a real server).
  const only = process.env.PARLEY_BENCH_ONLY;
  if (only === 'parley') targets.splice(-1, 1);
  if (only === 'relay') targets.splice(0, targets.length - 1);
  if (['discovery', 'media', 'imagegen', 'sfu', 'push', 'limiter'].includes(only ?? '')) targets.length = 0;

  for (const startTarget of targets) {
    const t = await startTarget();
    const rows: Record<string, unknown>[] = (results[t.label] = []);
    try {
      // --- 1:1 at 200 and 2,000 connections, rising offered rates.
      const regs =
        t.kind === 'parley' ? await registerMany(t.base, 2000, targets.indexOf(startTarget) * 3) : relayRegs(2000, 0);
      for (const connections of (process.env.PARLEY_BENCH_CONNECTIONS ?? '200,2000')
        .split(',')
        .filter((x) => x !== 'none')
        .map(Number)) {
        const devices = await connectAll(t, regs.slice(0, connections));
        const pairs = await pairUp(t, devices);
        await sleep(500);
        for (const rate of rates) {
          const cpu0 = cpuSeconds(t.proc.pid!);
          // The generator's own CPU share: its pauses show up in the latencies it measures.
          const self0 = process.cpuUsage();
          const wall0 = performance.now();
          const loop = monitorEventLoopDelay({ resolution: 5 });
          loop.enable();
          const r = await oneToOneStep(t, pairs, rate, stepSeconds, size);
          loop.disable();
          const cpuUs = ((cpuSeconds(t.proc.pid!) - cpu0) * 1e6) / Math.max(1, r.delivered);
          const self = process.cpuUsage(self0);
          const loadGeneratorCpuPct = round(((self.user + self.system) / ((performance.now() - wall0) * 1000)) * 100);
          const row = {
            scenario: `1to1_${connections}`,
            target: t.label,
            connections,
            ...r,
            server_rss_mb: round(rssMb(t.proc.pid!)),
            server_cpu_us_per_msg: Math.round(cpuUs),
            load_generator_cpu_pct: loadGeneratorCpuPct,
            load_generator_delay_p99_ms: round(loop.percentile(99) / 1e6),
            load_generator_delay_max_ms: round(loop.max / 1e6),
          };
          rows.push(row);
          out(row);
          if (r.delivered_per_s < 0.8 * r.offered_per_s) break; // saturated: higher rates say nothing new
        }
        if (t.kind === 'parley' && connections === 2000 && slowReaders > 0) {
          for (const row of await slowReaderSteps(
            t,
            pairs,
            regs,
            slowReaders,
            stepSeconds,
            size,
            targets.indexOf(startTarget) * 3 + 2,
          )) {
            rows.push(row);
            out(row);
          }
        }
        for (const d of devices) d.close();
        await sleep(500);
      }

      // --- 10,000 idle connections: memory per connection.
      const idleRegs =
        t.kind === 'parley'
          ? [...regs, ...(await registerMany(t.base, idleCount - regs.length, targets.indexOf(startTarget) * 3 + 1))]
          : relayRegs(idleCount, 0);
      // A fresh process on the same data, so the heap left by the load steps does not blur the delta.
      await t.restart();
      await sleep(2000);
      const before = rssMb(t.proc.pid!);
      const idle = await connectAll(t, idleRegs.slice(0, idleCount));
      await sleep(2000);
      const after = rssMb(t.proc.pid!);
      const idleRow = {
        scenario: 'idle',
        target: t.label,
        connections: idle.length,
        offered_per_s: 0,
        delivered_per_s: 0,
        p50_ms: null,
        p99_ms: null,
        server_rss_mb: round(after),
        rss_before_mb: round(before),
        kb_per_connection: round(((after - before) * 1024) / idle.length, 2),
      };
      rows.push(idleRow);
      out(idleRow);

      // --- One message to a 1,000-device group: time until the last device has it.
      if (t.kind === 'parley') {
        const members = idle.slice(0, 1000);
        const conv = await makeConversation(members[0]!, members.slice(1), 'group');
        await sleep(1000);
        const times: number[] = [];
        for (let run = 0; run < 5; run++) {
          let got = 0;
          let last = 0;
          for (const m of members.slice(1))
            m.onDeliver = (_p, now) => {
              got++;
              last = now;
            };
          const body = Buffer.alloc(size);
          const t0 = performance.now();
          const id = members[0]!.takeId();
          members[0]!.sendFast(
            encodeFrame(
              { id, op: 'send', body: { conversationId: conv, clientMessageId: `bench-group-${run}-${id}` } },
              body,
            ) as Uint8Array,
            id,
            performance.now(),
          );
          const until = performance.now() + 10_000;
          while (got < members.length - 1 && performance.now() < until) await sleep(2);
          times.push(got === members.length - 1 ? last - t0 : NaN);
          await sleep(300);
        }
        const sorted = [...times].sort((a, b) => a - b);
        const row = {
          scenario: 'group_fanout_1000',
          target: t.label,
          connections: idle.length,
          devices: members.length,
          offered_per_s: null,
          delivered_per_s: null,
          p50_ms: round(percentile(sorted, 50), 2),
          p99_ms: round(sorted.at(-1)!, 2),
          last_device_ms: times.map((x) => round(x, 1)),
          server_rss_mb: round(rssMb(t.proc.pid!)),
        };
        rows.push(row);
        out(row);
      }
      for (const d of idle) d.close();
    } finally {
      await t.stop();
    }
  }

  // --- Contact discovery (C12) on a fresh server with allowances large enough for the load.
  if (!only || only === 'discovery') {
    const d = await startParley(18703, undefined, {
      PARLEY_DISCOVERY_FIRST_DAY: '1000000',
      PARLEY_DISCOVERY_FIRST_WEEK: '1000000',
      PARLEY_DISCOVERY_EVALUATIONS_PER_DAY: '10000000',
      PARLEY_DISCOVERY_PER_IP: '10000000',
    });
    try {
      await discoveryScenarios(d.base, d.label, () => cpuSeconds(d.proc.pid!), out);
    } finally {
      await d.stop();
    }
  }

  // --- Web Push (C18): one message to a group whose every device is subscribed and away.
  if (!only || only === 'push')
    await pushFanoutScenario(out, Number(process.env.PARLEY_BENCH_PUSH_DEVICES ?? 1000), size);

  // --- Encrypted media (C4): upload and download against a plain file copy.
  if (!only || only === 'media') {
    const m = await startParley(18704);
    try {
      await mediaScenario(m.base, m.label, out, Number(process.env.PARLEY_BENCH_MEDIA_MB ?? 64));
    } finally {
      await m.stop();
    }
  }

  // --- Hosted image generation (C9): the server's added latency, and 100 jobs at once.
  if (!only || only === 'imagegen')
    await imagegenScenario(18706, out, {
      sequential: Number(process.env.PARLEY_BENCH_IMAGEGEN_JOBS ?? 20),
      concurrent: Number(process.env.PARLEY_BENCH_IMAGEGEN_CONCURRENT ?? 100),
    });

  // --- SFU (C6, C8): CPU per forwarded audio stream, and speaker-change latency, at the SFU's
  // callback and then at the clients.
  if (!only || only === 'sfu') {
    for (const row of await runSfuBench({ seconds: Number(process.env.PARLEY_BENCH_SFU_SECONDS ?? 6), switches: 3 }))
      out(row as unknown as Record<string, unknown>);
    // The same hand-over as the clients see it: a real server, SDK clients, the `call-speaker` event.
    const speaker = await speakerChangeClients({
      port: 18705,
      participants: Number(process.env.PARLEY_BENCH_SPEAKER_CLIENTS ?? 4),
      switches: Number(process.env.PARLEY_BENCH_SPEAKER_SWITCHES ?? 3),
    });
    out(speaker as unknown as Record<string, unknown>);
  }

  // --- Rate limiter (C12): CPU per check, Parley's GCRA against rate-limiter-flexible (decision 0004).
  if (!only || only === 'limiter')
    await limiterScenario(out, {
      memoryCalls: Number(process.env.PARLEY_BENCH_LIMITER_CALLS ?? 300_000),
      redisCalls: Number(process.env.PARLEY_BENCH_LIMITER_REDIS_CALLS ?? 40_000),
      concurrency: 64,
      rounds: 3,
      redisPort: 18707,
    });

  // --- Ratios to the bare relay.
  const relay = results['ws-relay'] ?? [];
  for (const label of Object.keys(results).filter((l) => l !== 'ws-relay')) {
    for (const row of results[label]!) {
      const base = relay.find(
        (r) =>
          r.scenario === row.scenario &&
          (row.scenario === 'idle' || r.offered_per_s !== undefined) &&
          Math.abs(Number(r.offered_per_s) - Number(row.offered_per_s)) <= Number(row.offered_per_s) * 0.1,
      );
      if (!base) continue;
      out({
        scenario: `ratio_${row.scenario}`,
        target: label,
        connections: row.connections,
        offered_per_s: row.offered_per_s,
        delivered_ratio:
          row.scenario === 'idle' ? null : round(Number(row.delivered_per_s) / Number(base.delivered_per_s), 2),
        p99_ratio: row.scenario === 'idle' ? null : round(Number(row.p99_ms) / Number(base.p99_ms), 2),
        memory_per_connection_ratio:
          row.scenario === 'idle' ? round(Number(row.kb_per_connection) / Number(base.kb_per_connection), 2) : null,
      });
    }
  }
  process.exit(0);
}

void main().catch((e) => {
  console.error(e);
  process.exit(1);
});
