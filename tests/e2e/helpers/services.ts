/**
 * PostgreSQL and Redis for the scale-out suites (C19): where they are, and whether they answer.
 * With PARLEY_REQUIRE_SERVICES=1 (CI) an unreachable service fails the suite instead of skipping it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startServerProcess, type ServerProcess } from './server-process.ts';

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
    const r = new Redis(REDIS_URL, {
      lazyConnect: true,
      connectTimeout: 2000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    await r.connect();
    r.disconnect();
    return false;
  } catch (e) {
    if (process.env.PARLEY_REQUIRE_SERVICES === '1') throw e;
    return `PostgreSQL or Redis not reachable: ${(e as Error).message}`;
  }
}

/** Two `parley serve` processes sharing a fresh PostgreSQL database, one Redis prefix and one data folder. */
export interface ProcessPair {
  a: ServerProcess;
  b: ServerProcess;
  /** The database's name, also the Redis key prefix (with a colon) and part of each node id. */
  dbName: string;
  /** Stop both processes (SIGKILL if still running), then drop the database, the Redis keys and the folder. */
  remove(): Promise<void>;
}

/**
 * Start two processes of one deployment (C19): a database made for them, their own Redis key
 * prefix so rate-limit buckets of earlier runs cannot leak in, and one data folder, so they share
 * the secret key as a real deployment's processes must. `env` adds settings for both.
 */
export async function startProcessPair(label: string, env: Record<string, string> = {}): Promise<ProcessPair> {
  const dbName = `parley_${label}_${Math.random().toString(36).slice(2, 10)}`;
  const dataDir = mkdtempSync(join(tmpdir(), `parley-${label}-`));
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  await admin.end();
  const shared = {
    PARLEY_DATABASE_URL: ADMIN_URL.replace(/\/[^/]*$/, `/${dbName}`),
    PARLEY_REDIS_URL: REDIS_URL,
    PARLEY_REDIS_PREFIX: `${dbName}:`,
    PARLEY_DATA_DIR: dataDir,
    ...env,
  };
  const a = await startServerProcess({ ...shared, PARLEY_NODE_ID: `a-${dbName}` });
  const b = await startServerProcess({ ...shared, PARLEY_NODE_ID: `b-${dbName}` });
  return {
    a,
    b,
    dbName,
    async remove() {
      await Promise.all([a.kill('SIGKILL'), b.kill('SIGKILL')]);
      const { Redis } = await import('ioredis');
      const r = new Redis(REDIS_URL);
      const keys = await r.keys(`${dbName}:*`);
      if (keys.length) await r.del(...keys);
      r.disconnect();
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${dbName} with (force)`);
      await c.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
