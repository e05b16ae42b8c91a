/**
 * Insider access (C14) for the command line: `parley admin create|list|revoke|verify-audit` work
 * on the database directly (the same PARLEY_DATABASE_URL / PARLEY_DATA_DIR as `parley serve`),
 * so the first operator can be created before any admin exists.
 */
import { loadConfig } from '../config/index.ts';
import { createStorage } from '../storage/index.ts';
import type { Storage } from '../storage/types.ts';
import { verifyChain } from './audit.ts';
import { CLI_ACTOR, adminView, createAdmin, revokeAdmin } from './service.ts';

export { verifyChain, entryHash, canonicalEntry, GENESIS_HASH } from './audit.ts';
export { createAdmin, revokeAdmin, adminTokenHash } from './service.ts';
export type { AdminRow, AuditRow, AdminStore } from '../storage/admin.ts';

/** Open the configured database (migrated), run `fn`, close it. */
export async function withStorage<T>(
  env: Record<string, string | undefined>,
  fn: (storage: Storage) => Promise<T>,
): Promise<T> {
  const config = loadConfig(env);
  const storage = await createStorage({
    dataDir: config.dataDir,
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
  });
  try {
    await storage.migrate();
    return await fn(storage);
  } finally {
    await storage.close();
  }
}

/** The staff commands, each on an open storage. */
export const adminCommands = {
  create: (storage: Storage, name: string, role: string) => createAdmin(storage, { name, role }),
  list: async (storage: Storage) => (await storage.admin.listAdmins()).map(adminView),
  revoke: (storage: Storage, name: string) =>
    revokeAdmin(storage, name, { admin: CLI_ACTOR, role: 'operator', reason: null }),
  verifyAudit: (storage: Storage) => verifyChain(storage.admin),
};
