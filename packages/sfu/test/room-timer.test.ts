/**
 * The room's frame timer (C8): the dominant-speaker detector closes a frame when the next packet
 * arrives after its end, so without a timer a decision waits for that packet (up to a packet
 * interval, or forever when nobody sends again). The room calls `advance()` at each frame's end,
 * only while it has participants. node:test's mock clock and timers: exact times, no waiting.
 */
import { beforeEach, afterEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { DominantSpeakerDetector, type SpeakerChange } from '../src/index.ts';
import { Room, type RoomTimers } from '../src/room.ts';
import type { PeerSettings } from '../src/participant.ts';
import type { SfuStats } from '../src/types.ts';

const LOUD = 9;

// Every test runs on the mock clock from 0; the detector's own clock is `Date.now`, mocked too.
beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 }));
afterEach(() => mock.timers.reset());

/**
 * The room's timers on node:test's mock clock, counted: every timer made, which are still pending,
 * and whether each was unref'd (the mock's handles do not record `unref`, so the wrapper does).
 */
class CountingTimers implements RoomTimers {
  /** Armed and not yet fired or cleared, with when each is due. */
  readonly pending = new Map<ReturnType<typeof setTimeout>, { at: number; unrefd: boolean }>();
  readonly made: Array<{ at: number; unrefd: boolean }> = [];

  setTimeout(fn: () => void, ms: number): ReturnType<typeof setTimeout> {
    const record = { at: Date.now() + ms, unrefd: false };
    const handle = setTimeout(() => {
      this.pending.delete(handle);
      fn();
    }, ms);
    const unref = handle.unref.bind(handle);
    handle.unref = () => ((record.unrefd = true), unref());
    this.pending.set(handle, record);
    this.made.push(record);
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as ReturnType<typeof setTimeout>);
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  }

  /**
   * Move the mock clock to `t` one millisecond at a time: on Node 20 a single `tick(n)` fires every
   * due timer with the clock already at the end and leaves timers armed during the tick for the
   * next one, so stepping is what makes each timer fire at its own instant.
   */
  runUntil(t: number): void {
    while (Date.now() < t) mock.timers.tick(1);
  }
}

const settings: PeerSettings = {
  iceServers: [],
  iceTransportPolicy: 'all',
  iceAdditionalHostAddresses: ['127.0.0.1'],
  icePortRange: undefined,
  iceUseIpv6: false,
  connectTimeoutMs: 30_000,
  negotiationTimeoutMs: 30_000,
};

function room(timers: CountingTimers) {
  const stats: SfuStats = {
    rooms: 0,
    participants: 0,
    receivedPackets: 0,
    forwardedPackets: 0,
    keyframeRequests: 0,
    droppedPackets: 0,
  };
  const changes: Array<SpeakerChange & { emittedAt: number }> = [];
  const r = new Room(
    'room_timer',
    settings,
    {},
    () => Date.now(),
    {
      offer: () => undefined,
      speaker: (_id, change) => changes.push({ ...change, emittedAt: Date.now() }),
      failed: () => undefined,
    },
    stats,
    timers,
  );
  return { r, changes };
}

/**
 * The reference: a detector alone, frame clock started at 0, A loud every 20 ms from 3 ms on. It
 * decides only when a packet arrives, so `emittedAt` is the packet after the deciding frame's end.
 */
function reference(): { decidedAt: number; emittedAt: number } {
  let now = 0;
  const d = new DominantSpeakerDetector({ now: () => now });
  d.advance(0);
  let found: { decidedAt: number; emittedAt: number } | undefined;
  d.onChange((c) => (found ??= { decidedAt: c.decidedAt, emittedAt: now }));
  for (let t = 3; !found && t < 5000; t += 20) {
    now = t;
    d.observe('A', LOUD);
  }
  return found!;
}

test('the room decides on the frame boundary, with no packet after it', () => {
  const ref = reference();
  assert.ok(ref.emittedAt > ref.decidedAt, 'packet-driven only: the decision waits for the next packet');

  const timers = new CountingTimers();
  const { r, changes } = room(timers);
  try {
    r.add('A');
    r.add('B');
    // A talks until just before the deciding frame ends, then nobody sends anything at all.
    for (let t = 3; t < ref.decidedAt; t += 20) {
      timers.runUntil(t);
      r.detector.observe('A', LOUD, true, t);
    }
    assert.equal(changes.length, 0, 'not decided before the frame boundary');
    timers.runUntil(ref.decidedAt + 200);
    assert.equal(changes.length, 1, 'decided by the timer');
    const [c] = changes;
    assert.equal(c!.speakerId, 'A');
    assert.equal(c!.at, 3, 'dated from the first loud packet');
    assert.equal(c!.decidedAt, ref.decidedAt, 'same decision as packet-driven detection');
    assert.equal(c!.emittedAt, ref.decidedAt, 'emitted at the frame boundary itself, not at a later packet');
  } finally {
    r.close();
  }
});

test("the frame timer runs only while the room has participants, unref'd, and stops when the room closes", () => {
  const timers = new CountingTimers();
  const { r } = room(timers);
  try {
    assert.equal(timers.pending.size, 0, 'no participants, no timer');
    r.add('A');
    assert.equal(r.frameTimerRunning, true);
    assert.equal(timers.pending.size, 1);
    r.add('B');
    assert.equal(timers.pending.size, 1, 'one timer per room');
    timers.runUntil(1000);
    assert.equal(timers.pending.size, 1, 're-armed every frame');
    // On the fake clock the count is exact: one timer when A came (B's arrival adds none), then one
    // re-arm at each of the 50 frame ends in (0, 1000]; no busy ticking, no frame skipped.
    assert.equal(timers.made.length, 1 + 50, `one tick per 20 ms frame (${timers.made.length} timers in 1 s)`);
    assert.ok(
      timers.made.every((h) => h.unrefd),
      "every timer is unref'd",
    );
    for (const h of timers.pending.values()) assert.equal(h.at % 20, 0, 'armed for the frame end');

    r.remove('A');
    assert.equal(timers.pending.size, 1, 'B is still there');
    r.remove('B');
    assert.equal(r.frameTimerRunning, false);
    assert.equal(timers.pending.size, 0, 'the last participant left: timer cleared');
    const made = timers.made.length;
    timers.runUntil(2000);
    assert.equal(timers.made.length, made, 'nothing ticks in an empty room');

    r.add('C');
    assert.equal(timers.pending.size, 1, 'a participant again (a rejoin): timer again');
    r.close();
    assert.equal(timers.pending.size, 0, 'closing the room stops it');
    assert.equal(r.frameTimerRunning, false);
  } finally {
    r.close();
  }
});
