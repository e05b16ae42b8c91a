/**
 * Server secrets at rest (C19; the keys of C12 discovery and usernames and C13 key transparency),
 * on SQLite and PostgreSQL: a copy of the database alone holds none of them; secrets an older
 * version stored in clear are encrypted at first start with their values kept; rotating the
 * key-encryption key (PARLEY_SECRET_KEY_PREVIOUS_FILE) keeps every value; a wrong or missing key
 * stops the start with one line and changes nothing.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { signingPublicKey } from '@parley/crypto';
import { buildServer, loadConfig, type Config, type ParleyServer } from '../src/index.ts';
import { createPostgresStorage, createSqliteStorage, type Storage } from '../src/storage/index.ts';
import { pgTestDatabase } from '../src/testing.ts';
import { availableDrivers, newClient, type Driver } from '@parley/testkit';

const drivers = await availableDrivers();

/** Every secret the server makes at start (discovery, usernames, key transparency, the Web Push VAPID key). */
const SECRET_NAMES = [
  'discovery-oprf-key',
  'discovery-seen-key',
  'kt-label-key',
  'kt-log-key',
  'push-vapid-p256',
  'username-key',
];

/** A deployment kept across server starts: its data folder and (on PostgreSQL) its database. */
async function deployment(driver: Driver) {
  const dir = mkdtempSync(join(tmpdir(), 'parley-secrets-'));
  const dataDir = join(dir, 'data');
  const db = driver === 'postgres' ? await pgTestDatabase() : null;
  const config = (over: Partial<Config> = {}) =>
    loadConfig({}, { port: 0, dataDir, logLevel: 'silent', ...(db ? { databaseUrl: db.url } : {}), ...over });
  return {
    dir,
    dataDir,
    build: (over: Partial<Config> = {}, storage?: Storage): Promise<ParleyServer> =>
      buildServer(config(over), storage ? { storage } : {}),
    /** A store on this deployment's database without a server around it. */
    openStorage: async (): Promise<Storage> => {
      const s = db
        ? await createPostgresStorage({ url: db.url })
        : await createSqliteStorage({ file: join(dataDir, 'parley.sqlite') });
      await s.migrate();
      return s;
    },
    /**
     * `server_secrets` as a copy of the database shows it: on SQLite the database files copied
     * elsewhere (without the key file) and opened there; on PostgreSQL the rows as a dump has them.
     */
    async copiedSecrets(): Promise<{ name: string; value: Buffer }[]> {
      if (!db) {
        const copy = mkdtempSync(join(tmpdir(), 'parley-copy-'));
        try {
          for (const f of readdirSync(dataDir).filter((n) => n.startsWith('parley.sqlite')))
            copyFileSync(join(dataDir, f), join(copy, f));
          const c = new Database(join(copy, 'parley.sqlite'));
          try {
            return c.prepare('select name, value from server_secrets order by name').all() as {
              name: string;
              value: Buffer;
            }[];
          } finally {
            c.close();
          }
        } finally {
          rmSync(copy, { recursive: true, force: true });
        }
      }
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        return (await c.query('select name, value from server_secrets order by name')).rows as {
          name: string;
          value: Buffer;
        }[];
      } finally {
        await c.end();
      }
    },
    /** Every byte a copy of the database holds: the SQLite files, or every secret row on PostgreSQL. */
    async databaseBytes(): Promise<Buffer> {
      if (!db)
        return Buffer.concat(
          readdirSync(dataDir)
            .filter((n) => n.startsWith('parley.sqlite'))
            .map((f) => readFileSync(join(dataDir, f))),
        );
      return Buffer.concat((await this.copiedSecrets()).map((r) => r.value));
    },
    async cleanup() {
      if (db) await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The in-memory value of every secret a running server uses. */
function inMemory(server: ParleyServer): Map<string, Buffer> {
  return new Map(SECRET_NAMES.map((n) => [n, Buffer.from(server.ctx.secrets.loaded(n) ?? new Uint8Array())]));
}

/** A fresh key-encryption key as a key file holds it. */
const newKey = () => `${randomBytes(32).toString('base64')}\n`;

for (const { driver, skip } of drivers) {
  describe(`server secrets at rest [${driver}]`, { skip }, () => {
    let d: Awaited<ReturnType<typeof deployment>>;
    before(async () => {
      d = await deployment(driver);
    });
    after(() => d.cleanup());
    /** Each test below starts from its own empty deployment. */
    const fresh = async (fn: (d: Awaited<ReturnType<typeof deployment>>) => Promise<void>) => {
      const own = await deployment(driver);
      try {
        await fn(own);
      } finally {
        await own.cleanup();
      }
    };

    it('a copy of the database holds no server secret, and the key file is 0600 outside it', async () => {
      const server = await d.build();
      try {
        const url = await server.listen(0);
        await (await newClient(url, undefined, { connect: false })).close();
        const rows = await d.copiedSecrets();
        assert.deepEqual(
          rows.map((r) => r.name),
          SECRET_NAMES,
        );
        // The key-transparency signing key, checked against what the server publishes.
        const logKey = Buffer.from(server.ctx.transparency.publicKeys().logKey);
        for (const r of rows) {
          let pub: Buffer | null = null;
          try {
            pub = Buffer.from(signingPublicKey(new Uint8Array(r.value)));
          } catch {
            // Not a 32-byte seed: certainly not the signing key.
          }
          assert.equal(pub !== null && pub.equals(logKey), false, `row ${r.name} is the key-transparency signing key`);
        }
        const bytes = await d.databaseBytes();
        for (const [name, value] of inMemory(server)) {
          assert.equal(value.length >= 32, true, `${name} is loaded`);
          assert.equal(bytes.includes(value), false, `${name} appears in the database`);
        }
        const keyFile = join(d.dataDir, 'secret.key');
        assert.ok(existsSync(keyFile), 'the key file was made at first start');
        assert.equal((statSync(keyFile).mode & 0o777).toString(8), '600');
      } finally {
        await server.close();
      }
    });

    it('encrypts secrets an older version stored in clear at first start, keeping their values', () =>
      fresh(async (d) => {
        // The table as an older version left it: every secret in clear.
        const storage = await d.openStorage();
        const clear = new Map<string, Uint8Array>();
        const { generateOprfKey } = await import('@parley/crypto');
        for (const name of SECRET_NAMES) {
          const value = name === 'discovery-oprf-key' ? generateOprfKey() : new Uint8Array(randomBytes(32));
          clear.set(name, value);
          await storage.secrets.getOrCreateSecret(name, () => ({ value, keyId: null }), Date.now());
        }
        try {
          const server = await d.build({}, storage);
          try {
            for (const [name, value] of clear)
              assert.deepEqual(
                Buffer.from(server.ctx.secrets.loaded(name)!),
                Buffer.from(value),
                `${name} kept its value`,
              );
            assert.deepEqual(
              Buffer.from(server.ctx.transparency.publicKeys().logKey),
              Buffer.from(signingPublicKey(clear.get('kt-log-key')!)),
              'the log still signs with its old key',
            );
          } finally {
            await server.close();
          }
          const rows = await storage.secrets.listSecrets();
          assert.equal(rows.length, SECRET_NAMES.length);
          const bytes = await d.databaseBytes();
          for (const r of rows) {
            assert.notEqual(r.keyId, null, `${r.name} is sealed`);
            assert.equal(
              bytes.includes(Buffer.from(clear.get(r.name)!)),
              false,
              `${r.name} no longer appears in clear`,
            );
          }
        } finally {
          await storage.close();
        }
      }));

    it('rotates the key with PARLEY_SECRET_KEY_PREVIOUS_FILE, keeping every value', () =>
      fresh(async (d) => {
        const first = await d.build();
        const before = inMemory(first);
        const logKey = Buffer.from(first.ctx.transparency.publicKeys().logKey);
        await first.close();
        // The operator's steps (docs/operations.md): keep the old key aside, make a new one, start with both.
        const oldKey = join(d.dir, 'old.key');
        const newKeyFile = join(d.dir, 'new.key');
        renameSync(join(d.dataDir, 'secret.key'), oldKey);
        writeFileSync(newKeyFile, newKey(), { mode: 0o600 });
        const copyBefore = await d.copiedSecrets();
        const rotating = await d.build({ secretKeyFile: newKeyFile, secretKeyPreviousFile: oldKey });
        try {
          assert.deepEqual(inMemory(rotating), before, 'every secret kept its value');
        } finally {
          await rotating.close();
        }
        const copyAfter = await d.copiedSecrets();
        for (const [i, r] of copyAfter.entries())
          assert.equal(r.value.equals(copyBefore[i]!.value), false, `${r.name} was re-encrypted`);
        // Then the new key alone is enough, and the old one alone no longer is.
        const after = await d.build({ secretKeyFile: newKeyFile });
        try {
          assert.deepEqual(inMemory(after), before);
          assert.deepEqual(Buffer.from(after.ctx.transparency.publicKeys().logKey), logKey);
        } finally {
          await after.close();
        }
        await assert.rejects(
          d.build({ secretKeyFile: oldKey }),
          (e: Error) =>
            /is encrypted under key [0-9a-f]{16}, but PARLEY_SECRET_KEY_FILE/.test(e.message) &&
            !e.message.includes('\n'),
        );
      }));

    it('refuses to start with a wrong key or without the key file, changing nothing', () =>
      fresh(async (d) => {
        await (await d.build()).close();
        const stored = await d.copiedSecrets();
        // A wrong key, given in the environment form.
        await assert.rejects(d.build({ secretKey: randomBytes(32).toString('base64') }), (e: Error) => {
          assert.match(
            e.message,
            /^server secret "[a-z-]+" is encrypted under key [0-9a-f]{16}, but PARLEY_SECRET_KEY holds key [0-9a-f]{16}: start with the key it was encrypted under/,
          );
          assert.equal(e.message.includes('\n'), false, 'one line');
          return true;
        });
        // A key that is not 32 bytes of base64.
        await assert.rejects(
          d.build({ secretKey: 'too-short' }),
          /PARLEY_SECRET_KEY must hold 32 random bytes in base64/,
        );
        // The key file lost (a database restored without it): no new key is made in its place.
        const keyFile = join(d.dataDir, 'secret.key');
        renameSync(keyFile, join(d.dir, 'kept.key'));
        await assert.rejects(
          d.build(),
          /PARLEY_SECRET_KEY_FILE \(.*secret\.key\) does not exist, but the database holds server secrets encrypted under key [0-9a-f]{16}: restore that key file/,
        );
        assert.equal(existsSync(keyFile), false, 'no key was made');
        assert.deepEqual(await d.copiedSecrets(), stored, 'the stored secrets are unchanged');
        // With the key back, the server starts with the same secrets.
        renameSync(join(d.dir, 'kept.key'), keyFile);
        await (await d.build()).close();
      }));
  });
}
