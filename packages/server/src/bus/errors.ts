/**
 * Error reporting for bus, presence and limiter implementations (C19): a subscriber that throws or
 * a Redis connection that drops must be visible, yet never crash the node that hit it.
 */

/** Where connection and handler errors go; `where` names the source. */
export type ErrorSink = (err: unknown, where: string) => void;

/** Default sink: a process warning (shows in logs, never crashes the node). */
export const warnSink: ErrorSink = (err, where) => {
  const e = err instanceof Error ? err : new Error(String(err));
  process.emitWarning(`${where}: ${e.message}`, { code: 'PARLEY_BUS' });
};
