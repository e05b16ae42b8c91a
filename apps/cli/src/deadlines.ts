/**
 * Deadlines of the `parley` command (C3, C15): scripts never hang. `--connect-timeout` bounds
 * opening the live connection, `--timeout` the whole command (and each request in it); past
 * either the command fails with the catalogued `timeout` error. `receive` keeps its own
 * `--timeout` (how long to listen), see `receiveDeadlines`.
 */
import { ParleyError } from '@parley/sdk';
import { UsageError, type ParsedArgs } from './args.ts';

/** Default of `--timeout`: the whole command, in seconds. */
export const DEFAULT_TIMEOUT_S = 60;
/** Default of `--connect-timeout`, in seconds. */
export const DEFAULT_CONNECT_TIMEOUT_S = 10;
/** Each request's deadline when the command has none (`--timeout 0`), as in the SDK. */
const DEFAULT_REQUEST_MS = 30_000;

/** What the command waits for, in ms; `overallMs` 0 means no overall deadline. */
export interface Deadlines {
  overallMs: number;
  connectMs: number;
  requestMs: number;
}

/** A non-negative number of seconds from `--name`, or `fallback`; anything else is a usage error. */
export function secondsFlag(args: ParsedArgs, name: string, fallback: number): number {
  const raw = args.flags.get(name);
  if (raw === undefined) return fallback;
  const s = typeof raw === 'string' ? Number(raw) : NaN;
  if (!Number.isFinite(s) || s < 0) throw new UsageError(`--${name} must be a number of seconds`);
  return s;
}

/** The deadlines of a command other than `receive`, from `--timeout` and `--connect-timeout`. */
export function commandDeadlines(args: ParsedArgs): Deadlines {
  const overallMs = secondsFlag(args, 'timeout', DEFAULT_TIMEOUT_S) * 1000;
  const connectS = secondsFlag(args, 'connect-timeout', DEFAULT_CONNECT_TIMEOUT_S);
  // `--connect-timeout 0` turns that deadline off; the overall one still holds.
  return {
    overallMs,
    connectMs: connectS > 0 ? connectS * 1000 : Infinity,
    requestMs: overallMs > 0 ? overallMs : DEFAULT_REQUEST_MS,
  };
}

/**
 * The deadlines of `receive`, whose `--timeout` says how long to listen, not how long the command
 * may take: connecting is bounded by `--connect-timeout` and each request by the SDK's 30 s.
 */
export function receiveDeadlines(args: ParsedArgs): Deadlines {
  const connectS = secondsFlag(args, 'connect-timeout', DEFAULT_CONNECT_TIMEOUT_S);
  return { overallMs: 0, connectMs: connectS > 0 ? connectS * 1000 : Infinity, requestMs: DEFAULT_REQUEST_MS };
}

/** `work`, or the `timeout` error naming `command` when it has not finished within `ms` (0: no deadline). */
export function withinDeadline<T>(command: string, ms: number, work: Promise<T>): Promise<T> {
  if (!(ms > 0)) return work;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ParleyError('timeout', {
            message: `parley ${command} did not finish within ${ms / 1000} s (--timeout); it can be retried.`,
          }),
        ),
      ms,
    );
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/** `--timeout` for `receive`: seconds to listen (default 5 of quiet, with `--follow` 0: for ever). */
export function listenSeconds(args: ParsedArgs, follow: boolean): number {
  return secondsFlag(args, 'timeout', follow ? 0 : 5);
}
