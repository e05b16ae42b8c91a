import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DominantSpeakerDetector, type DominantSpeakerOptions, type SpeakerChange } from '../src/index.ts';

/** The hand-over bound docs/calls.md states: from the new speaker's first loud packet to the change. */
const HANDOVER_BOUND_MS = 1000;
/** A speaker after a silent stretch, and the first speaker of a call, are picked within this. */
const FIRST_SPEAKER_BOUND_MS = 400;

const LOUD = 9; // a tone at −9 dBov, what a browser reports for a half-scale sine
const SPEECH = 30;
const SILENT = 127;

type Script = (t: number) => Record<string, number | undefined>;

/**
 * Drives a detector on a fake clock: every `packetMs` each participant the script names sends one
 * packet with that level (undefined: no packet, as a muted or DTX sender). Packets arrive 3 ms
 * into each period so frame boundaries are never ambiguous.
 */
function simulate(script: Script, untilMs: number, opts: Partial<DominantSpeakerOptions> & { packetMs?: number } = {}) {
  let now = 0;
  const d = new DominantSpeakerDetector({ ...opts, now: () => now });
  const changes: SpeakerChange[] = [];
  d.onChange((c) => changes.push(c));
  const step = opts.packetMs ?? 20;
  for (let t = 0; t < untilMs; t += step) {
    now = t + 3;
    for (const [id, level] of Object.entries(script(t))) if (level !== undefined) d.observe(id, level, level < SILENT);
  }
  now = untilMs;
  d.advance();
  return { d, changes };
}

const speechLike = (t: number, start: number) => ((t - start) % 400 < 300 ? SPEECH : SILENT); // 300 ms voiced, 100 ms gap

test('a steady tone beats silent participants, once and for good', () => {
  const { d, changes } = simulate(() => ({ A: LOUD, B: SILENT, C: SILENT }), 5000);
  assert.equal(d.dominant, 'A');
  assert.equal(changes.length, 1, 'no flapping over 5 s');
  const [c] = changes;
  assert.equal(c!.speakerId, 'A');
  assert.equal(c!.previousSpeakerId, null);
  assert.equal(c!.at, 3, 'at = arrival of the first loud packet');
  assert.ok(c!.decidedAt - c!.at <= FIRST_SPEAKER_BOUND_MS, `picked after ${c!.decidedAt - c!.at} ms`);
  assert.ok(d.scores('A')!.long > d.scores('B')!.long);
});

test('a 150 ms cough or click from someone else changes nothing', () => {
  const cough = (t: number, from: number) => (t >= from && t < from + 150 ? 12 : SILENT);
  // While A talks, after A stopped, and after a long silence.
  for (const coughAt of [1500, 3200, 9000]) {
    const { d, changes } = simulate((t) => ({ A: t < 3000 ? LOUD : SILENT, B: cough(t, coughAt), C: SILENT }), 11_000);
    assert.deepEqual(
      changes.map((c) => c.speakerId),
      ['A'],
      `cough at ${coughAt} ms`,
    );
    assert.equal(d.dominant, 'A');
  }
  // Clicks: 20 ms bursts every 100 ms for two seconds (keyboard) while A pauses.
  const clicks = simulate(
    (t) => ({ A: t < 2000 ? speechLike(t, 0) : SILENT, B: t >= 2500 && t < 4500 && t % 100 === 0 ? LOUD : SILENT }),
    6000,
  );
  assert.deepEqual(
    clicks.changes.map((c) => c.speakerId),
    ['A'],
  );
  // The guard is "shorter than 300 ms of sustained sound": a 280 ms noise after silence still loses.
  const long = simulate((t) => ({ A: t < 1000 ? LOUD : SILENT, B: t >= 4000 && t < 4280 ? LOUD : SILENT }), 6000);
  assert.deepEqual(
    long.changes.map((c) => c.speakerId),
    ['A'],
  );
});

test(`hand-over: when B starts talking continuously, B takes over within ${HANDOVER_BOUND_MS} ms`, () => {
  for (const [name, script] of [
    ['steady', (t: number) => ({ A: t < 3000 ? LOUD : SILENT, B: t >= 3000 ? LOUD : SILENT, C: SILENT })],
    [
      'speech-like',
      (t: number) => ({
        A: t < 3000 ? speechLike(t, 0) : SILENT,
        B: t >= 3000 ? speechLike(t, 3000) : SILENT,
        C: SILENT,
      }),
    ],
  ] as const) {
    const { d, changes } = simulate(script, 6000);
    assert.deepEqual(
      changes.map((c) => c.speakerId),
      ['A', 'B'],
      name,
    );
    const toB = changes[1]!;
    assert.equal(toB.previousSpeakerId, 'A');
    assert.equal(toB.at, 3003, `${name}: at = B's first loud packet`);
    const latency = toB.decidedAt - toB.at;
    assert.ok(latency <= HANDOVER_BOUND_MS, `${name}: took ${latency} ms`);
    assert.ok(latency >= 300, `${name}: not faster than a word can be heard (${latency} ms)`);
    assert.equal(d.dominant, 'B');
  }
  // After a silent stretch the next speaker is picked quickly.
  const { changes } = simulate((t) => ({ A: t < 1000 ? LOUD : SILENT, B: t >= 4000 ? LOUD : SILENT }), 6000);
  const toB = changes[1]!;
  assert.equal(toB.speakerId, 'B');
  assert.ok(toB.decidedAt - toB.at <= FIRST_SPEAKER_BOUND_MS, `took ${toB.decidedAt - toB.at} ms`);
});

test('silence keeps the last speaker, whether silent packets or no packets arrive', () => {
  const withPackets = simulate((t) => ({ A: t < 2000 ? LOUD : SILENT, B: SILENT }), 15_000);
  assert.equal(withPackets.d.dominant, 'A');
  assert.equal(withPackets.changes.length, 1);
  const noPackets = simulate((t) => ({ A: t < 2000 ? LOUD : undefined, B: t < 2000 ? SILENT : undefined }), 15_000);
  assert.equal(noPackets.d.dominant, 'A');
  assert.equal(noPackets.changes.length, 1);
  // Both talking at once: the current speaker keeps the floor until it stops.
  const overlap = simulate((t) => ({ A: LOUD, B: t >= 2000 ? LOUD : SILENT }), 6000);
  assert.deepEqual(
    overlap.changes.map((c) => c.speakerId),
    ['A'],
  );
});

test('40 ms packets count as continuous sound; the voice flag can be required', () => {
  const slow = simulate(() => ({ A: SPEECH, B: SILENT }), 3000, { packetMs: 40 });
  assert.equal(slow.d.dominant, 'A');
  let now = 0;
  const d = new DominantSpeakerDetector({ now: () => now, requireVoiceFlag: true });
  for (; now < 3000; now += 20) {
    d.observe('A', LOUD, false); // loud but flagged as not voice (music, noise)
    d.observe('B', SPEECH, true);
  }
  assert.equal(d.dominant, 'B');
});

test('the dominant speaker leaving is reported, and someone else can take over', () => {
  let now = 0;
  const d = new DominantSpeakerDetector({ now: () => now });
  const changes: SpeakerChange[] = [];
  d.onChange((c) => changes.push(c));
  for (; now < 2000; now += 20) d.observe('A', LOUD);
  d.remove('A');
  assert.equal(d.dominant, null);
  assert.deepEqual(changes.at(-1), { speakerId: null, previousSpeakerId: 'A', at: 2000, decidedAt: 2000 });
  for (; now < 4000; now += 20) d.observe('B', SPEECH);
  assert.equal(d.dominant, 'B');
  assert.deepEqual(d.participants, ['B']);
});

test('garbage levels and throwing listeners do not disturb detection', () => {
  let now = 0;
  const d = new DominantSpeakerDetector({ now: () => now });
  d.onChange(() => {
    throw new Error('listener bug');
  });
  const seen: string[] = [];
  d.onChange((c) => seen.push(String(c.speakerId)));
  for (; now < 2000; now += 20) {
    d.observe('A', NaN);
    d.observe('A', Infinity);
    d.observe('B', -50); // clamped to 0 dBov
  }
  assert.deepEqual(seen, ['B']);
  assert.throws(() => new DominantSpeakerDetector({ mediumActive: 99 }), RangeError);
});
