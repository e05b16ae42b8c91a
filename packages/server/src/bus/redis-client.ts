/**
 * Redis connections for the scale-out implementations (C19): bus, presence and rate limiter open
 * their connections here so they fail, report and close the same way.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { warnSink, type ErrorSink } from './errors.ts';

export type { ErrorSink } from './errors.ts';

/** Open a connection to `url`; `name` labels its errors. ioredis reconnects (and resubscribes) on its own. */
export function openRedis(
  url: string,
  name: string,
  onError: ErrorSink = warnSink,
  opts: { subscriber?: boolean } = {},
): Redis {
  // A subscriber connection skips the ready check: a SUBSCRIBE issued between "connected" and
  // "ready" puts the connection in subscriber mode, the check's INFO is then refused, and the
  // subscription is silently lost (reproduced with ioredis 5). Pub/sub does not need the dataset
  // loaded anyway, which is all the check waits for.
  const r = new Redis(url, {
    connectionName: name,
    ...(opts.subscriber ? { enableReadyCheck: false } : {}),
  } satisfies RedisOptions);
  // Without a listener ioredis prints every reconnect failure itself; route them to our sink instead.
  r.on('error', (err: unknown) => onError(err, name));
  return r;
}

/** Close gracefully when connected (pending replies arrive first), at once otherwise (quit would wait for a reconnect). */
export async function closeRedis(r: Redis): Promise<void> {
  if (r.status === 'ready') {
    try {
      await r.quit();
      return;
    } catch {
      // fall through to a hard disconnect
    }
  }
  r.disconnect();
}
