/**
 * Storage fixtures shared by the storage suites: a migrated store on either driver (a temp SQLite
 * file or a fresh PostgreSQL database) and an account with one device written straight into it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createPostgresStorage, createSqliteStorage, pgTestDatabase, type Storage } from '@parley/server/testing';
import type { Driver } from './harness.ts';

/** A random id with a kind prefix, as the server makes them. */
export const rid = (p: string) => `${p}_${randomBytes(16).toString('base64url')}`;

/** A migrated store on `driver`; `url` is the PostgreSQL database (for a second pool). */
export async function openStorage(
  driver: Driver,
): Promise<{ storage: Storage; url?: string; cleanup(): Promise<void> }> {
  if (driver === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'parley-store-'));
    const storage = await createSqliteStorage({ file: join(dir, 'parley.sqlite') });
    await storage.migrate();
    return {
      storage,
      cleanup: async () => {
        await storage.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const db = await pgTestDatabase();
  const storage = await createPostgresStorage({ url: db.url });
  await storage.migrate();
  return {
    storage,
    url: db.url,
    cleanup: async () => {
      await storage.close();
      await db.drop();
    },
  };
}

let phoneN = 0;
/** A phone number no other fixture in this process has used. */
export const newPhone = () => `+1202555${String(7000 + phoneN++)}`;

/** Register an account with one device directly in storage. */
export async function seedAccount(s: Storage, phone = newPhone()) {
  const key = () => new Uint8Array(randomBytes(32));
  const account = { id: rid('a'), phone, identityKey: key(), pinHash: null, discoverable: true, createdAt: Date.now() };
  const device = {
    id: rid('d'),
    accountId: account.id,
    name: 'dev',
    signingKey: key(),
    signingKeyCert: new Uint8Array(64),
    tokenHash: key(),
    createdAt: Date.now(),
    revokedAt: null,
  };
  await s.accounts.registerAccount({ account, device });
  return { account, device };
}
