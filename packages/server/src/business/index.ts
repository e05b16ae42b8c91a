/**
 * Business accounts for the command line (C10): `parley business create|list|token create|token
 * revoke` work on the database directly, like `parley admin`, with the same PARLEY_DATABASE_URL /
 * PARLEY_DATA_DIR and server-secrets key as `parley serve`.
 */
import pino from 'pino';
import { loadConfig } from '../config/index.ts';
import { createStorage } from '../storage/index.ts';
import { ServerSecrets } from '../services/server-secrets.ts';
import { BusinessAccounts } from './service.ts';

export { BusinessAccounts, BusinessCommandError, validBusinessPhone, businessTokenHash } from './service.ts';

/** Open the configured database (migrated) and server secrets, run `fn`, close. */
export async function withBusinessAccounts<T>(
  env: Record<string, string | undefined>,
  fn: (accounts: BusinessAccounts) => Promise<T>,
): Promise<T> {
  const config = loadConfig(env);
  const storage = await createStorage({
    dataDir: config.dataDir,
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
  });
  try {
    await storage.migrate();
    // Warnings (a key file made or readable by others) go to stderr: stdout carries the answer.
    const log = pino({ level: 'warn' }, pino.destination(2));
    const secrets = new ServerSecrets(storage, config, log, Date.now);
    await secrets.start();
    return await fn(new BusinessAccounts(storage, secrets, Date.now));
  } finally {
    await storage.close();
  }
}
