/**
 * Speaker change as clients see it (C8), end to end: a real `parley serve` (embedded default,
 * pinned to core 0, the SFU inside it), N SDK clients in this process (`ParleyClient` with `ws` and
 * werift's RTCPeerConnection), one group conversation of all of them and one group call.
 *
 * Every participant publishes a 50 packets/s Opus-like stream (80 opaque bytes per packet) with the
 * RFC 6464 audio level in its RTP header: silent (−127 dBov) unless it is the loud one (−9 dBov).
 * B talks first, until every client names B. Then, K times, the floor changes hands at a known
 * moment: A loud and B silent, then back, alternately. For each hand-over and each client other
 * than the new speaker, the time from the new speaker's first loud packet (its send call here) to
 * that client's `GroupCall` emitting `speaker` with the new speaker (the SDK's `call.speaker`) is one
 * sample, on this process's monotonic clock.
 *
 * Where that time goes. The `call-speaker` event carries `at`, the server's wall-clock time of the
 * first loud packet's arrival at the SFU, but not the moment the detector decided, so the server is
 * started with `bench/src/speaker-probe.ts` preloaded, which reports each decision on stdout: the
 * detector's `at` and `decidedAt`, when the SFU called the server's listener, and when the
 * listener had written its pushes. Then, per hand-over (wall clock across the two processes):
 * - `uplink_ms` = the event's `at` − the first loud packet's send here (client → SFU);
 * - `detector_ms` = decidedAt − at, the designed ~0.8 s hand-over (`decidedAt` is the end of the
 *   20 ms frame that decided);
 * - `decision_wait_ms` = listener called − decidedAt: how late after the frame's end the room's
 *   frame timer (or a packet arriving after it) closed the deciding frame;
 * - `transport_ms` = client told − listener called: the server's relay, the WebSocket hop and the
 *   SDK, per client (`server_push_ms`, listener called → its last push written, is inside it).
 * Without the probe's line the split is null. Senders' 20 ms clocks are spread evenly over the
 * 20 ms and kept there, as independent devices' would be, rather than all ticking in the same
 * millisecond (which would make `decision_wait_ms` up to a whole packet interval).
 *
 * Run standalone: `node --import tsx bench/src/speaker-clients.ts [--participants=N] [--switches=K]`
 * (the generator is then not pinned to a core); `npm run bench` runs it pinned to core 1.
 */
import { pathToFileURL, fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { MediaStreamTrack, RTCPeerConnection, RtpHeader, RtpPacket } from 'werift';
import type {
  DeviceRef,
  GroupCall,
  GroupRemoteTrack,
  ParleyClient,
  PeerConnectionCtor,
  WebSocketCtor,
} from '@parley/sdk';
import { registerTestClient, until } from '@parley/sdk/testing';
import { PAYLOAD_TYPES, encodeAudioLevel } from '@parley/sfu';
import { LOUD, SILENT, median, round, sleep, wallMs } from './measure.ts';
import { cpuSeconds, startParley, type Target } from './processes.ts';

export interface SpeakerClientsOptions {
  /** Clients in the call (default 4, at least 2). */
  participants?: number;
  /** Timed hand-overs (default 3). */
  switches?: number;
  /** Port of the server (default 18705). */
  port?: number;
}

export interface SpeakerClientsResult {
  scenario: 'speaker_change_clients';
  target: string;
  participants: number;
  switches: number;
  /** Median and worst time from the new speaker's first loud packet to a client's `speaker` event. */
  p50_ms: number;
  max_ms: number;
  /** Median of the SFU detector's part (first loud packet's arrival → deciding frame's end), per hand-over. */
  detector_ms: number | null;
  /** Median of deciding frame's end → the SFU calling the server's listener (next packet's arrival). */
  decision_wait_ms: number | null;
  /** Median and worst of client told − listener called: what the server and the WebSocket hop add. */
  transport_p50_ms: number | null;
  transport_max_ms: number | null;
  /** Median of listener called → the server's last `call-speaker` push written (inside transport_ms). */
  server_push_p50_ms: number | null;
  /** Median of first loud packet sent here → its arrival at the SFU (the event's `at`). */
  uplink_p50_ms: number | null;
  /** (hand-over, client) pairs told within 10 s, of `switches × (participants − 1)`. */
  clients_told: number;
  clients_expected: number;
  /** CPU over the hand-over phase in % of one core: the server process, and this process. */
  server_cpu_pct: number;
  load_generator_cpu_pct: number;
}

const PACKET_MS = 20;
const PROBE = fileURLToPath(new URL('./speaker-probe.ts', import.meta.url));
const roundOrNull = (x: number) => (Number.isFinite(x) ? round(x) : null);

/**
 * The microphone of a Node participant, after `FakeMicrophone` in the SDK's call tests: RTP
 * packets written into a werift track that the call's sender forwards, here with the RFC 6464
 * audio level under the id the call's answer gave it (werift keeps the packet's own extensions).
 */
class LevelMicrophone {
  readonly track = new MediaStreamTrack({ kind: 'audio' });
  private seq = Math.floor(Math.random() * 0x10000);
  private ts = Math.floor(Math.random() * 0x1_0000_0000);
  private levelId: number | undefined;

  /** Sends one 20 ms packet; false until the call is connected with the audio-level extension. */
  send(call: GroupCall, level: number): boolean {
    if (call.state === 'connected') this.levelId ??= call.audioLevelExtensionId;
    if (this.levelId === undefined) return false;
    const header = new RtpHeader({
      payloadType: PAYLOAD_TYPES.opus,
      sequenceNumber: this.seq,
      timestamp: this.ts,
      extensions: [{ id: this.levelId, payload: Buffer.from(encodeAudioLevel(level, level < SILENT)) }],
    });
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + 960) >>> 0;
    this.track.writeRtp(new RtpPacket(header, Buffer.from(crypto.getRandomValues(new Uint8Array(80)))));
    return true;
  }
}

/** A `call-speaker` event as the socket received it (before the SDK parsed it). */
interface WireSpeaker {
  deviceId: string | null;
  at: number;
  receivedWallMs: number;
}

interface Participant {
  client: ParleyClient;
  self: DeviceRef;
  mic: LevelMicrophone;
  wire: WireSpeaker[];
  call?: GroupCall;
  /** Packets received from each other participant, by device id. */
  received: Map<string, number>;
  errors: number;
}

/** One participant: registered from the dev outbox, connected, with werift calls and a tapped socket. */
async function participant(base: string, phone: string): Promise<Participant> {
  const wire: WireSpeaker[] = [];
  // `ws` with one extra listener: it sees each `call-speaker` frame (with its `at`) as it arrives.
  class TappedWebSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      this.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary || !data.includes('"call-speaker"')) return;
        const { event, body } = JSON.parse(data.toString('utf8')) as {
          event?: string;
          body?: { deviceId: string | null; at: number };
        };
        if (event === 'call-speaker' && body)
          wire.push({ deviceId: body.deviceId, at: body.at, receivedWallMs: wallMs() });
      });
    }
  }
  // werift as it is: the SDK's group call marks transceivers `usedForSender` before each offer and
  // adds the MID and audio-level header extensions to the configuration (`calls.audioLevel`).
  const client = await registerTestClient(base, {
    phone,
    deviceName: 'bench',
    WebSocket: TappedWebSocket as unknown as WebSocketCtor,
    keyPackageTarget: 4,
    calls: {
      RTCPeerConnection: RTCPeerConnection as unknown as PeerConnectionCtor,
      peerConnectionConfig: { iceAdditionalHostAddresses: ['127.0.0.1'], iceUseIpv6: false },
      gatherTimeoutMs: 1500,
    },
  });
  const p: Participant = {
    client,
    self: { accountId: client.self.accountId, deviceId: client.self.deviceId },
    mic: new LevelMicrophone(),
    wire,
    received: new Map(),
    errors: 0,
  };
  client.on('error', ({ error, context }) => {
    if (p.errors++ < 3) console.error(`speaker_change_clients: client error (${context}):`, error);
  });
  return p;
}

/** Counts what the SFU forwards to `p` from each other participant. */
function countForwarded(p: Participant, call: GroupCall): void {
  const listen = (t: GroupRemoteTrack) => {
    if (t.kind !== 'audio') return;
    (t.track as MediaStreamTrack).onReceiveRtp.subscribe(() =>
      p.received.set(t.participantId, (p.received.get(t.participantId) ?? 0) + 1),
    );
  };
  call.remoteTracks.forEach(listen);
  call.on('track', listen);
}

interface ProbeLine {
  speakerId: string | null;
  atWallMs: number;
  decidedWallMs: number;
  calledWallMs: number;
  pushedWallMs: number;
}

/** Collects the probe's lines from the server's stdout. */
function readProbe(server: Target): ProbeLine[] {
  const lines: ProbeLine[] = [];
  let rest = '';
  server.proc.stdout!.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString('utf8')).split('\n');
    rest = parts.pop()!;
    for (const l of parts) {
      if (!l.startsWith('{"parleyBenchSpeaker"')) continue;
      lines.push((JSON.parse(l) as { parleyBenchSpeaker: ProbeLine }).parleyBenchSpeaker);
    }
  });
  return lines;
}

export async function speakerChangeClients(opts: SpeakerClientsOptions = {}): Promise<SpeakerClientsResult> {
  const n = Math.max(2, opts.participants ?? 4);
  const switches = opts.switches ?? 3;
  const server = await startParley(
    opts.port ?? 18705,
    undefined,
    {},
    `--import tsx --import "${pathToFileURL(PROBE).href}"`,
  );
  const probe = readProbe(server);
  const people: Participant[] = [];
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  try {
    for (let i = 0; i < n; i++)
      people.push(await participant(server.base, `+1202${String(3000000 + i).padStart(7, '0')}`));
    const [a, b] = [people[0]!, people[1]!];

    // One group of everyone, made by A; the others have it once they processed the Welcome.
    const conversationId = await a.client.createGroup(
      'speaker bench',
      people.slice(1).map((p) => p.self.accountId),
    );
    await until(
      () => people.every((p) => p.client.conversations().some((c) => c.id === conversationId && c.active)),
      30_000,
      'every member to have the group',
    );

    // Everyone joins A's call, publishing its microphone.
    for (const p of people) {
      const callId = people[0]!.call?.callId;
      p.call = await p.client.calls.joinGroup(conversationId, { tracks: [p.mic.track], ...(callId ? { callId } : {}) });
      countForwarded(p, p.call);
    }
    let loud: Participant | null = null;
    let firstLoudAt: number | undefined; // monotonic (this process)
    let firstLoudWall: number | undefined;
    // Each sender keeps its own phase, i/n of the 20 ms: slots are fixed in time, so a late tick
    // (this loop busy) does not shift the later ones, as `setInterval` would, into one burst.
    const start = performance.now() + 50;
    for (const [i, p] of people.entries()) {
      const phase = start + (i * PACKET_MS) / n;
      let slot = 0;
      const tick = () => {
        if (stopped) return;
        const level = loud === p ? LOUD : SILENT;
        const t = performance.now();
        if (p.mic.send(p.call!, level) && level === LOUD && firstLoudAt === undefined) {
          firstLoudAt = t;
          firstLoudWall = performance.timeOrigin + t;
        }
        slot = Math.max(slot + 1, Math.floor((t - phase) / PACKET_MS) + 1); // slots missed are skipped
        timers[i] = setTimeout(tick, phase + slot * PACKET_MS - performance.now());
      };
      timers[i] = setTimeout(tick, phase - performance.now());
    }
    await until(
      () => people.every((p) => p.call!.state === 'connected' && p.call!.participants.length === n),
      30_000,
      'every client connected with all participants',
    );
    await until(
      () => people.every((p) => people.every((o) => o === p || (p.received.get(o.self.deviceId) ?? 0) > 10)),
      30_000,
      'every client to receive every other participant (is the audio-level extension negotiated?)',
    );

    // Who hears a hand-over: when each client's GroupCall named the expected speaker.
    let expected: Participant | null = null;
    let told = new Map<Participant, number>();
    for (const p of people) {
      p.call!.on('speaker', (s) => {
        if (expected && p !== expected && s?.deviceId === expected.self.deviceId && !told.has(p))
          told.set(p, performance.now());
      });
    }
    const handOver = async (to: Participant): Promise<Map<Participant, number>> => {
      expected = to;
      told = new Map();
      firstLoudAt = undefined;
      firstLoudWall = undefined;
      loud = to;
      const others = people.filter((p) => p !== to);
      await until(
        () => others.every((p) => told.has(p)),
        10_000,
        `every client told ${people.indexOf(to) === 0 ? 'A' : 'B'} speaks`,
      ).catch(() => undefined);
      const result = told;
      expected = null;
      return result;
    };

    // B takes the floor first (not timed), and keeps it long enough to fill the detector's 1 s window.
    await handOver(b);
    if (!people.every((p) => p === b || p.call!.speaker?.deviceId === b.self.deviceId))
      throw new Error('speaker_change_clients: B was never named speaker (audio levels not reaching the SFU?)');
    await sleep(1500);

    const totals: number[] = [];
    const transport: number[] = [];
    const detector: number[] = [];
    const waits: number[] = [];
    const pushes: number[] = [];
    const uplink: number[] = [];
    let toldCount = 0;
    const cpu0 = cpuSeconds(server.proc.pid!);
    const self0 = process.cpuUsage();
    const t0 = performance.now();
    for (let k = 0; k < switches; k++) {
      const to = k % 2 === 0 ? a : b;
      const since = wallMs();
      const got = await handOver(to);
      const sentAt = firstLoudAt;
      const sentWall = firstLoudWall;
      await sleep(300); // the probe's line follows the pushes by one event-loop turn
      const decision = probe.find((l) => l.speakerId === to.self.deviceId && l.decidedWallMs >= since);
      const event = people
        .find((p) => p !== to)!
        .wire.find((w) => w.deviceId === to.self.deviceId && w.receivedWallMs >= since);
      if (sentAt === undefined || sentWall === undefined) continue;
      toldCount += got.size;
      for (const [, at] of got) {
        totals.push(at - sentAt);
        if (decision) transport.push(performance.timeOrigin + at - decision.calledWallMs);
      }
      if (decision) {
        detector.push(decision.decidedWallMs - decision.atWallMs);
        waits.push(decision.calledWallMs - decision.decidedWallMs);
        pushes.push(decision.pushedWallMs - decision.calledWallMs);
      }
      if (event) uplink.push(event.at - sentWall);
      await sleep(1500); // let the new speaker fill the long window before the next hand-over
    }
    const elapsedS = (performance.now() - t0) / 1000;
    const self = process.cpuUsage(self0);
    return {
      scenario: 'speaker_change_clients',
      target: server.label,
      participants: n,
      switches,
      p50_ms: round(median(totals)),
      max_ms: round(Math.max(...totals)),
      detector_ms: roundOrNull(median(detector)),
      decision_wait_ms: roundOrNull(median(waits)),
      transport_p50_ms: roundOrNull(median(transport)),
      transport_max_ms: transport.length ? round(Math.max(...transport)) : null,
      server_push_p50_ms: roundOrNull(median(pushes)),
      uplink_p50_ms: roundOrNull(median(uplink)),
      clients_told: toldCount,
      clients_expected: switches * (n - 1),
      server_cpu_pct: round(((cpuSeconds(server.proc.pid!) - cpu0) / elapsedS) * 100),
      load_generator_cpu_pct: round(((self.user + self.system) / 1e6 / elapsedS) * 100),
    };
  } finally {
    stopped = true;
    for (const t of timers) clearTimeout(t);
    for (const p of people) {
      if (p.call) await p.client.calls.groups.leave(p.call).catch(() => undefined);
      await Promise.race([p.client.close(), sleep(3000)]).catch(() => undefined);
    }
    await server.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const flag = (name: string) => process.argv.find((x) => x.startsWith(`--${name}=`))?.split('=')[1];
  const row = await speakerChangeClients({
    participants: Number(flag('participants') ?? 4),
    switches: Number(flag('switches') ?? 3),
  });
  process.stdout.write(JSON.stringify(row) + '\n');
  process.exit(0);
}
