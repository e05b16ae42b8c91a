/**
 * Preloaded into `parley serve` by the `speaker_change_clients` scenario
 * (`node --import tsx --import bench/src/speaker-probe.ts apps/cli/bin/parley.js serve`), because
 * the server's `call-speaker` event carries `at` (the first loud packet's arrival) but not when the
 * detector decided. It wraps every listener the server gives `Sfu.onSpeakerChange` and, after the
 * listener has run (the server has written its `call-speaker` pushes), prints one line on stdout:
 *
 *   {"parleyBenchSpeaker":{"roomId","speakerId","atWallMs","decidedWallMs","calledWallMs","pushedWallMs"}}
 *
 * `at` and `decidedAt` are the detector's own: the first loud packet's arrival and the end of the
 * 20 ms frame whose close named the speaker. The room's frame timer (or a packet arriving after
 * the frame's end) closes it, so the listener is called (`calledWallMs`) a little after `decidedAt`.
 * Wall-clock times are `performance.timeOrigin + performance.now()` in the server process (the
 * SFU's clock is `performance.now()` when the server passes none). It only observes: the listener
 * runs first and unchanged, the line is written on the next turn of the event loop.
 */
import { Sfu, type RoomSpeakerChange } from '@parley/sfu';

const wall = (perf: number) => performance.timeOrigin + perf;
const original = Sfu.prototype.onSpeakerChange;

Sfu.prototype.onSpeakerChange = function onSpeakerChange(
  this: Sfu,
  roomId: string,
  listener: (change: RoomSpeakerChange) => void,
): () => void {
  return original.call(this, roomId, (change: RoomSpeakerChange) => {
    const called = performance.now();
    listener(change);
    const pushed = performance.now();
    const line = {
      roomId,
      speakerId: change.speakerId,
      atWallMs: wall(change.at),
      decidedWallMs: wall(change.decidedAt),
      calledWallMs: wall(called),
      pushedWallMs: wall(pushed),
    };
    setImmediate(() => process.stdout.write(`${JSON.stringify({ parleyBenchSpeaker: line })}\n`));
  });
};
