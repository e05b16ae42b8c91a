/**
 * Test harness (C19): a real Parley server (in-process `buildServer` listening on a free port) on SQLite
 * or on a fresh PostgreSQL database, plus SDK clients registered through the dev outbox.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { buildServer, loadConfig, type BuildOptions, type ParleyServer, type Config } from '@parley/server';
import { pgTestDatabase } from '@parley/server/testing';
import { MemoryStore, type ParleyClient, type WebSocketCtor } from '@parley/sdk';
import { registerTestClient, until, type TestClientOptions } from '@parley/sdk/testing';

export type Driver = 'sqlite' | 'postgres';

/** Drivers to run a suite on; PostgreSQL is skipped (loudly) only when not required and unreachable. */
export const DRIVERS: Driver[] = ['sqlite', 'postgres'];

/** A running server and what is needed to clean it up. */
export interface TestServer {
  server: ParleyServer;
  url: string;
  dataDir: string;
  databaseUrl?: string;
  close(): Promise<void>;
}

/**
 * Start a server on a driver; `overrides` adds config (e.g. rate limits), `build` injects a clock or
 * stores. It listens on the loopback default (no PARLEY_HOST), so the dev outbox answers this
 * process without a token.
 */
export async function startServer(
  driver: Driver,
  overrides: Partial<Config> = {},
  build: BuildOptions = {},
): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-test-'));
  let db: { url: string; drop(): Promise<void> } | null = null;
  if (driver === 'postgres') db = await pgTestDatabase();
  const config = loadConfig(
    {},
    { port: 0, dataDir, logLevel: 'silent', ...(db ? { databaseUrl: db.url } : {}), ...overrides },
  );
  const server = await buildServer(config, build);
  const url = await server.listen(0);
  return {
    server,
    url,
    dataDir,
    ...(db ? { databaseUrl: db.url } : {}),
    async close() {
      await server.close();
      if (db) await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * What the database holds, to search for plaintext that must not be there: on SQLite every byte of
 * the database files (WAL included); on PostgreSQL every column of the rows `pgQuery` selects.
 */
export async function storedBytes(t: TestServer, pgQuery: string): Promise<Buffer> {
  if (!t.databaseUrl)
    return Buffer.concat(
      readdirSync(t.dataDir)
        .filter((f) => f.startsWith('parley.sqlite'))
        .map((f) => readFileSync(join(t.dataDir, f))),
    );
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: t.databaseUrl });
  await c.connect();
  try {
    const rows = (await c.query(pgQuery)).rows as Record<string, Buffer | string | null>[];
    return Buffer.concat(
      rows.flatMap((row) =>
        Object.values(row)
          .filter((v) => v !== null)
          .map((v) => (Buffer.isBuffer(v) ? v : Buffer.from(String(v)))),
      ),
    );
  } finally {
    await c.end();
  }
}

/** The latest verification code the dev outbox holds for a number. */
export async function outboxCode(url: string, phone: string): Promise<string> {
  const res = await fetch(`${url}/dev/outbox?to=${encodeURIComponent(phone)}`);
  const body = (await res.json()) as { messages: { code: string }[] };
  const last = body.messages.at(-1);
  if (!last) throw new Error(`no code for ${phone}`);
  return last.code;
}

let phoneCounter = 100;
/** A fresh valid test number (+1 202 555 01xx range, then beyond). */
export function nextPhone(): string {
  return `+1202555${String(phoneCounter++).padStart(4, '0')}`;
}

/**
 * Register a new SDK client (memory store unless given) through the dev outbox, and connect it
 * unless `connect: false`; `fetch` replaces the client's HTTP (e.g. to record what it sends).
 */
export function newClient(
  url: string,
  phone = nextPhone(),
  opts: { connect?: boolean; store?: MemoryStore } & Pick<
    TestClientOptions,
    'fetch' | 'ktLogKey' | 'ktMaxHeadAgeMs'
  > = {},
): Promise<ParleyClient & { phone: string }> {
  return registerTestClient(url, {
    phone,
    WebSocket: WebSocket as unknown as WebSocketCtor,
    ...(opts.store ? { store: opts.store } : {}),
    ...(opts.connect === false ? { connect: false } : {}),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
    ...(opts.ktLogKey !== undefined ? { ktLogKey: opts.ktLogKey } : {}),
    ...(opts.ktMaxHeadAgeMs !== undefined ? { ktMaxHeadAgeMs: opts.ktMaxHeadAgeMs } : {}),
  });
}

/** Poll until `check` returns a truthy value (or throw after `ms`). */
export { until };

/** True when PostgreSQL answers; with PARLEY_REQUIRE_SERVICES=1 an unreachable server is an error. */
export async function postgresAvailable(): Promise<boolean> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({
    connectionString: process.env.PARLEY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    connectionTimeoutMillis: 2000,
  });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch (e) {
    if (process.env.PARLEY_REQUIRE_SERVICES === '1')
      throw new Error(`PostgreSQL is required (PARLEY_REQUIRE_SERVICES=1) but not reachable: ${(e as Error).message}`);
    console.warn(`PostgreSQL not reachable, its variants are skipped: ${(e as Error).message}`);
    return false;
  }
}

/** Drivers whose services are reachable here (SQLite always). */
export async function availableDrivers(): Promise<{ driver: Driver; skip: string | false }[]> {
  const pgOk = await postgresAvailable();
  return [
    { driver: 'sqlite', skip: false },
    { driver: 'postgres', skip: pgOk ? false : 'PostgreSQL not reachable' },
  ];
}
