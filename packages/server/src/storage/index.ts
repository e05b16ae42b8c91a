/** Storage entry (C19): the interface and the driver chosen by configuration. */
import { join } from 'node:path';
import type { Storage } from './types.ts';
import { createSqliteStorage } from './sqlite.ts';
import { createPostgresStorage } from './postgres.ts';

export * from './types.ts';
export { createSqliteStorage, createPostgresStorage };

/** PostgreSQL when `databaseUrl` is a postgres URL, else SQLite at `<dataDir>/parley.sqlite`. */
export async function createStorage(opts: {
  databaseUrl?: string;
  dataDir: string;
  onIdleError?: (err: Error) => void;
}): Promise<Storage> {
  if (opts.databaseUrl && /^postgres(ql)?:\/\//.test(opts.databaseUrl))
    return createPostgresStorage({
      url: opts.databaseUrl,
      ...(opts.onIdleError ? { onIdleError: opts.onIdleError } : {}),
    });
  return createSqliteStorage({ file: join(opts.dataDir, 'parley.sqlite') });
}
