/**
 * How long the SDK waits before trying again (C3): the WebSocket's reconnects and media transfers'
 * retries share one exponential backoff, each with its own first delay and cap. Only the waits
 * live here; what counts as retryable stays with each caller, because a reconnect is driven by
 * socket events and a transfer re-reads the server's offset between tries.
 */

/** An exponential backoff: `firstMs`, doubling per attempt, at most `maxMs`. */
export interface Backoff {
  firstMs: number;
  maxMs: number;
  /**
   * Wait a random 50-100 % of the delay, so clients that lost the same server do not all come back
   * in the same instant.
   */
  jitter: boolean;
}

/** Reconnecting the WebSocket: 250 ms, 500 ms, … up to 10 s, with jitter. */
export const RECONNECT_BACKOFF: Backoff = { firstMs: 250, maxMs: 10_000, jitter: true };

/** Retrying a media chunk or download: 100 ms, 200 ms, … up to 5 s (a 429 waits its Retry-After instead). */
export const TRANSFER_BACKOFF: Backoff = { firstMs: 100, maxMs: 5_000, jitter: false };

/** The wait before retry number `attempt` (0 for the first retry), in ms. */
export function backoffDelay(b: Backoff, attempt: number, random: () => number = Math.random): number {
  const ms = Math.min(b.maxMs, b.firstMs * 2 ** Math.max(0, attempt));
  return b.jitter ? ms * (0.5 + random() / 2) : ms;
}
