/**
 * SFU benchmark (C6, C8): N participants in one room, each sending one Opus-like audio stream at
 * 50 packets/s (80-byte opaque payloads, the audio level in the RFC 6464 header), the SFU in its
 * own process (pinned to core 0 when `taskset` exists) and the participants (werift peer
 * connections over loopback UDP, SRTP both ways) in this one. Measures, per room size:
 *
 * - SFU CPU per forwarded packet and per forwarded stream (N·(N−1) streams of 50 packets/s), from
 *   the SFU process's own `process.cpuUsage()` over a steady window with one speaker;
 * - speaker-change latency: from the first loud packet a new speaker sends (the previous one going
 *   silent at the same moment) to the SFU's `onSpeakerChange` callback, wall clock across the two
 *   processes; and the detector's own share of it (`decidedAt − at`).
 *
 * `runSfuBench()` returns one result per room size for the main bench to print; run standalone,
 * `node --import tsx bench/src/sfu.ts [N ...] [--seconds=S] [--switches=K]` prints JSON lines.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SfuOffer } from '@parley/sfu';
import { SfuTestClient } from '@parley/sfu/testing';
import { LOUD, SILENT, median, round, sleep, wallMs } from './measure.ts';

export interface SfuBenchOptions {
  /** Room sizes to measure (default 4, 8 and 12). */
  participants?: number[];
  /** Length of the CPU window in seconds (default 10). */
  seconds?: number;
  /** Speaker hand-overs to time per room size (default 5). */
  switches?: number;
  /** Core for the SFU process (default 0); `null` leaves it unpinned. */
  sfuCore?: number | null;
}

export interface SfuBenchResult {
  scenario: 'sfu_audio_forwarding';
  participants: number;
  forwarded_streams: number;
  packets_per_s_per_stream: number;
  /** SFU process CPU over the window, in % of one core (all its threads). */
  sfu_cpu_pct: number;
  /** Share of the window the SFU's event loop was busy, in %: the forwarding thread's load. */
  sfu_event_loop_pct: number;
  cpu_us_per_forwarded_packet: number;
  /** % of one core per forwarded 50 packets/s stream. */
  cpu_pct_per_forwarded_stream: number;
  /** Packets subscribers received / packets publishers sent × (N−1). */
  delivered_ratio: number;
  /** Median and worst time from the new speaker's first loud packet to the SFU's callback. */
  speaker_change_ms: number;
  speaker_change_ms_max: number;
  /** Median share of that spent in the detector (first loud packet seen → decision). */
  detector_ms: number;
  speaker_changes_timed: number;
  /** This process's CPU in % of one core: near 100 means the load generator, not the SFU, limited. */
  load_generator_cpu_pct: number;
}

const PPS = 50;
const HOST = fileURLToPath(new URL('./sfu-host.ts', import.meta.url));

type HostMessage =
  | { op: 'ready' }
  | { op: 'offer'; id: string; offer: SfuOffer }
  | { op: 'error'; id: string; code: string }
  | { op: 'speaker'; speakerId: string | null; at: number; decidedAt: number; wallMs: number }
  | { op: 'usage'; cpuUs: number; eluActiveMs: number; stats: { forwardedPackets: number } };

/** The SFU child process and a typed view of its messages. */
class Host {
  readonly proc: ChildProcess;
  private readonly listeners = new Set<(m: HostMessage) => void>();

  constructor(core: number | null) {
    const node = [process.execPath, '--import', 'tsx', HOST];
    const pinned = core !== null && spawnSync('taskset', ['-V']).status === 0;
    this.proc = spawn(pinned ? 'taskset' : node[0]!, pinned ? ['-c', String(core), ...node] : node.slice(1), {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.proc.on('message', (m) => {
      for (const l of this.listeners) l(m as HostMessage);
    });
  }

  on(listener: (m: HostMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  send(m: unknown): void {
    this.proc.send(m as never);
  }

  next<T extends HostMessage['op']>(
    op: T,
    match: (m: Extract<HostMessage, { op: T }>) => boolean = () => true,
    timeoutMs = 20_000,
  ): Promise<Extract<HostMessage, { op: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`SFU host: no ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on((m) => {
        if (m.op === op && match(m as Extract<HostMessage, { op: T }>)) {
          clearTimeout(timer);
          off();
          resolve(m as Extract<HostMessage, { op: T }>);
        }
      });
    });
  }

  async usage(): Promise<{ cpuUs: number; busyMs: number; forwarded: number }> {
    const reply = this.next('usage');
    this.send({ op: 'usage' });
    const u = await reply;
    return { cpuUs: u.cpuUs, busyMs: u.eluActiveMs, forwarded: u.stats.forwardedPackets };
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.disconnect();
    await Promise.race([exited, sleep(3000).then(() => this.proc.kill('SIGKILL'))]);
  }
}

/** Measures one room size. */
export async function benchRoom(
  n: number,
  opts: { seconds?: number; switches?: number; sfuCore?: number | null } = {},
): Promise<SfuBenchResult> {
  const seconds = opts.seconds ?? 10;
  const host = new Host(opts.sfuCore === undefined ? 0 : opts.sfuCore);
  const clients: SfuTestClient[] = [];
  const stops: Array<() => void> = [];
  try {
    await host.next('ready');
    const ids = Array.from({ length: n }, (_, i) => `p${i}`);
    const byId = new Map<string, SfuTestClient>();
    let loud = ids[0]!;
    let switchSentAt: number | undefined;
    const offDispatch = host.on((m) => {
      // Renegotiation offers (later joiners) are answered as a browser would.
      if (m.op !== 'offer') return;
      const c = byId.get(m.id);
      if (c && m.offer.revision > 1)
        void c.answer(m.offer).then((answer) => host.send({ op: 'answer', id: m.id, answer }));
    });
    for (const id of ids) {
      const c = new SfuTestClient(id, { keepPackets: false });
      clients.push(c);
      byId.set(id, c);
      const offer = host.next('offer', (m) => m.id === id && m.offer.revision === 1);
      host.send({ op: 'join', id });
      host.send({ op: 'answer', id, answer: await c.answer((await offer).offer) });
      await c.waitConnected(20_000);
      stops.push(
        c.startAudio({
          level: () => (loud === id ? LOUD : SILENT),
          onSent: (level) => {
            if (level === LOUD && switchSentAt === undefined) switchSentAt = wallMs();
          },
        }),
      );
    }
    // Forwarding fully live: everyone hears everyone.
    for (const c of clients)
      await c.waitFor(() => ids.every((o) => o === c.id || (c.receivedCount.get(o) ?? 0) > 10), 30_000, 'all streams');
    await sleep(2000);

    // Steady window: CPU per forwarded packet.
    const sentBefore = clients.reduce((s, c) => s + c.sentCount, 0);
    const recvBefore = clients.reduce((s, c) => s + [...c.receivedCount.values()].reduce((a, b) => a + b, 0), 0);
    const selfBefore = process.cpuUsage();
    const u0 = await host.usage();
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const u1 = await host.usage();
    const elapsedUs = (performance.now() - t0) * 1000;
    const self = process.cpuUsage(selfBefore);
    const sent = clients.reduce((s, c) => s + c.sentCount, 0) - sentBefore;
    const recv = clients.reduce((s, c) => s + [...c.receivedCount.values()].reduce((a, b) => a + b, 0), 0) - recvBefore;
    const cpuUs = u1.cpuUs - u0.cpuUs;
    const forwarded = u1.forwarded - u0.forwarded;

    // Speaker hand-overs: the loud participant goes silent as the next one starts.
    const latencies: number[] = [];
    const detector: number[] = [];
    for (let k = 0; k < (opts.switches ?? 5); k++) {
      const next = ids[(k + 1) % n]!;
      const change = host.next('speaker', (m) => m.speakerId === next, 10_000);
      switchSentAt = undefined;
      loud = next;
      const c = await change.catch(() => undefined);
      if (c && switchSentAt !== undefined) {
        latencies.push(c.wallMs - switchSentAt);
        detector.push(c.decidedAt - c.at);
      }
      await sleep(1500); // let the new speaker fill the long window before the next hand-over
    }
    offDispatch();
    const streams = n * (n - 1);
    const sfuCpuPct = (cpuUs / elapsedUs) * 100;
    return {
      scenario: 'sfu_audio_forwarding',
      participants: n,
      forwarded_streams: streams,
      packets_per_s_per_stream: PPS,
      sfu_cpu_pct: round(sfuCpuPct),
      sfu_event_loop_pct: round((((u1.busyMs - u0.busyMs) * 1000) / elapsedUs) * 100),
      cpu_us_per_forwarded_packet: round(cpuUs / Math.max(1, forwarded)),
      cpu_pct_per_forwarded_stream: round(sfuCpuPct / streams, 3),
      delivered_ratio: round(recv / Math.max(1, sent * (n - 1)), 3),
      speaker_change_ms: round(median(latencies)),
      speaker_change_ms_max: round(Math.max(...latencies)),
      detector_ms: round(median(detector)),
      speaker_changes_timed: latencies.length,
      load_generator_cpu_pct: round(((self.user + self.system) / elapsedUs) * 100),
    };
  } finally {
    for (const stop of stops) stop();
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await host.stop();
  }
}

/** Runs every room size in turn (a fresh SFU process each) and returns one result per size. */
export async function runSfuBench(opts: SfuBenchOptions = {}): Promise<SfuBenchResult[]> {
  const results: SfuBenchResult[] = [];
  for (const n of opts.participants ?? [4, 8, 12]) results.push(await benchRoom(n, opts));
  return results;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const sizes = args.filter((a) => /^\d+$/.test(a)).map(Number);
  const seconds = Number(flag('seconds') ?? 10);
  const switches = Number(flag('switches') ?? 5);
  for (const n of sizes.length ? sizes : [4, 8, 12]) {
    process.stdout.write(JSON.stringify(await benchRoom(n, { seconds, switches })) + '\n');
  }
  process.exit(0);
}
