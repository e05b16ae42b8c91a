/**
 * Liveness and readiness (C19). `/healthz` says the process answers and does no I/O, so a slow
 * database never gets a healthy process restarted. `/readyz` says whether this process can do its
 * work now: the database answers a trivial query and, when configured, Redis answers PING, each
 * within a short deadline, so a load balancer stops sending traffic to a process whose
 * dependencies are gone instead of letting its requests hang.
 */
import type { ServerContext } from '../context.ts';

/** How long each dependency may take to answer before the process counts as not ready. */
export const READY_CHECK_DEADLINE_MS = 2000;

/** The outcome of one check: `ok`, `failed` (it threw) or `timeout` (no answer within the deadline). */
export type CheckOutcome = 'ok' | 'failed' | 'timeout';

/** What `/readyz` reports: every check's outcome, and the names of those that did not pass. */
export interface Readiness {
  ready: boolean;
  checks: Record<string, CheckOutcome>;
  failed: string[];
}

/** Run `fn` with a deadline: its outcome, with the error (or timeout) passed to `onError`. */
export async function check(
  fn: () => Promise<unknown>,
  deadlineMs: number,
  onError: (err: unknown) => void,
): Promise<CheckOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), deadlineMs)));
  try {
    const outcome = await Promise.race([fn().then(() => 'ok' as const), timeout]);
    if (outcome === 'timeout') onError(new Error(`no answer within ${deadlineMs} ms`));
    return outcome;
  } catch (err) {
    onError(err);
    return 'failed';
  } finally {
    clearTimeout(timer);
  }
}

/** Check the database and (when configured) Redis at once. */
export async function readiness(ctx: ServerContext, deadlineMs = READY_CHECK_DEADLINE_MS): Promise<Readiness> {
  const checks: [string, () => Promise<unknown>][] = [['database', () => ctx.storage.ping()]];
  if (ctx.config.redisUrl) checks.push(['redis', () => ctx.bus.ping()]);
  const outcomes = await Promise.all(
    // The cause goes to the log, not to the answer: /readyz is reachable by anyone who reaches the port.
    checks.map(([name, fn]) =>
      check(fn, deadlineMs, (err) => ctx.log.warn({ err, check: name }, 'readiness check failed')),
    ),
  );
  const result: Readiness = { ready: true, checks: {}, failed: [] };
  checks.forEach(([name], i) => {
    const outcome = outcomes[i]!;
    result.checks[name] = outcome;
    if (outcome !== 'ok') {
      result.ready = false;
      result.failed.push(name);
    }
  });
  return result;
}
