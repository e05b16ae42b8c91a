/**
 * The SDK's one backoff (`src/backoff.ts`), shared by WebSocket reconnects and media transfer
 * retries: delays double from the first, stop at the cap, and with jitter fall in 50-100 % of it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RECONNECT_BACKOFF, TRANSFER_BACKOFF, backoffDelay } from '../src/backoff.ts';

test('media transfers wait 100 ms, doubling, at most 5 s', () => {
  const delays = Array.from({ length: 9 }, (_, n) => backoffDelay(TRANSFER_BACKOFF, n));
  assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  assert.equal(backoffDelay(TRANSFER_BACKOFF, 5000), 5000, 'a very late attempt is still capped, not Infinity');
});

test('reconnects wait 250 ms, doubling, at most 10 s, each a random 50-100 % of that', () => {
  assert.deepEqual(
    [0, 1, 2, 6].map((n) => backoffDelay(RECONNECT_BACKOFF, n, () => 0)),
    [125, 250, 500, 5000],
  );
  assert.equal(
    backoffDelay(RECONNECT_BACKOFF, 20, () => 0.999999),
    10_000 * (0.5 + 0.999999 / 2),
  );
  for (let n = 0; n < 100; n++) {
    const d = backoffDelay(RECONNECT_BACKOFF, n);
    const full = Math.min(10_000, 250 * 2 ** n);
    assert.ok(d >= full / 2 && d <= full, `attempt ${n}: ${d} ms`);
  }
});
