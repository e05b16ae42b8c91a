/**
 * PostgreSQL and Redis for the scale-out suites (C19): where they are, and whether they answer.
 * With PARLEY_REQUIRE_SERVICES=1 (CI) an unreachable service fails the suite instead of skipping it.
 */
import pg from 'pg';

/** Admin connection used to create and drop per-test databases. */
export const ADMIN_URL = process.env.PARLEY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** The Redis the suites share (each under its own key prefix). */
export const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** False when PostgreSQL and Redis both answer; otherwise the reason to skip (or a throw, in CI). */
export async function servicesUp(): Promise<string | false> {
  try {
    const c = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
    await c.connect();
    await c.end();
    const { Redis } = await import('ioredis');
    const r = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await r.connect();
    r.disconnect();
    return false;
  } catch (e) {
    if (process.env.PARLEY_REQUIRE_SERVICES === '1') throw e;
    return `PostgreSQL or Redis not reachable: ${(e as Error).message}`;
  }
}
