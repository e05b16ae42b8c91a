/**
 * Deadlines for every network call (C15): how long the SDK waits for a connection and for each
 * answer before it gives up with the catalogued, retryable `timeout` error. Runs in Node and
 * browsers alike (plain timers and `AbortController`, nothing from `node:`).
 */
import { ParleyError } from '@parley/protocol';

/** How long to wait, in milliseconds; `Infinity` (or 0) means no deadline. */
export interface Timeouts {
  /** One HTTP request (until its whole answer is read) or one WebSocket request (until its answer). */
  requestMs: number;
  /** Opening the WebSocket until the server has answered `hello`; also what `connect()` waits. */
  connectMs: number;
  /**
   * How often a connected socket sends the application-level `ping`: WebSocket pings are the
   * server's to send, and a browser page never sees them, so only an answer proves the socket alive.
   */
  heartbeatMs: number;
  /** A `ping` not answered within this long marks the socket dead: it is dropped and reconnected. */
  heartbeatTimeoutMs: number;
}

/**
 * The defaults: 30 s per request, 10 s to connect, a heartbeat every 15 s that must be answered
 * within 10 s (docs/protocol.md, "Deadlines").
 */
export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = {
  requestMs: 30_000,
  connectMs: 10_000,
  heartbeatMs: 15_000,
  heartbeatTimeoutMs: 10_000,
};

/** Fill in the defaults for what the caller left out. */
export function resolveTimeouts(t: Partial<Timeouts> = {}): Timeouts {
  return {
    requestMs: t.requestMs ?? DEFAULT_TIMEOUTS.requestMs,
    connectMs: t.connectMs ?? DEFAULT_TIMEOUTS.connectMs,
    heartbeatMs: t.heartbeatMs ?? DEFAULT_TIMEOUTS.heartbeatMs,
    heartbeatTimeoutMs: t.heartbeatTimeoutMs ?? DEFAULT_TIMEOUTS.heartbeatTimeoutMs,
  };
}

/** True when `ms` is a real deadline (finite and positive). */
export function hasDeadline(ms: number | undefined): ms is number {
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0;
}

/** A duration for messages: "2 s", "0.5 s". */
export function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** The `timeout` error for something that did not finish within `ms`. */
export function timeoutError(what: string, ms: number): ParleyError {
  return new ParleyError('timeout', { message: `${what} within ${seconds(ms)}; the request can be retried.` });
}

/**
 * Run `work` with a deadline: after `ms` the signal it was given is aborted (so a `fetch` stops
 * and frees its connection) and the result is a `timeout` error naming `what`, even when `work`
 * ignores the signal. Without a deadline `work` runs unbounded and gets no signal.
 */
export function withDeadline<T>(
  ms: number | undefined,
  what: string,
  work: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  if (!hasDeadline(ms)) return work(undefined);
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const e = timeoutError(what, ms);
      // Reject first: the race must settle with the timeout, not with the abort it causes.
      reject(e);
      controller.abort(e);
    }, ms);
  });
  return Promise.race([work(controller.signal), expired]).finally(() => clearTimeout(timer));
}
