/**
 * Data at rest (C1, C19), on SQLite and PostgreSQL: expired verification codes, and the numbers
 * they were sent to, are deleted by the sweeper on the server's clock (docs/privacy.md keeps them
 * 10 minutes); the data folder (0700), the local blob folder (0700) and the SQLite files (0600)
 * are private to the server's user whatever the umask, and an older, looser data folder is
 * tightened at start.
 */
import { describe, it, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServer, loadConfig } from '../src/index.ts';
import { pgTestDatabase } from '../src/testing.ts';
import { availableDrivers, newClient, nextPhone, startServer, until, type TestServer } from '@parley/testkit';

const drivers = await availableDrivers();

for (const { driver, skip } of drivers) {
  describe(`expired verification codes [${driver}]`, { skip }, () => {
    let t: TestServer;
    let skew = 0;
    before(async () => {
      // The sweep timer runs every second here, on the injected clock.
      t = await startServer(driver, { codeSweepSeconds: 1 }, { now: () => Date.now() + skew });
    });
    after(() => t.close());

    it('deletes a code and its number once the code has expired, and keeps a live one', async () => {
      const old = nextPhone();
      const fresh = nextPhone();
      /** Request a code; resolves to the session it is bound to. */
      const request = async (phone: string) => {
        const res = await fetch(`${t.url}/v1/registration/code`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ phone }),
        });
        assert.equal(res.status, 202);
        return ((await res.json()) as { sessionId: string }).sessionId;
      };
      const oldSession = await request(old);
      skew = 5 * 60_000;
      const freshSession = await request(fresh);
      const storage = t.server.ctx.storage;
      assert.equal(
        (await storage.accounts.getVerificationSession(oldSession))?.phone,
        old,
        'the first code is stored with its number',
      );
      // Ten minutes and a second after the first request: only the first code has expired.
      skew = 10 * 60_000 + 1000;
      await until(
        async () => (await storage.accounts.getVerificationSession(oldSession)) === null,
        5000,
        'the sweeper deleted the expired code',
      );
      assert.ok(await storage.accounts.getVerificationSession(freshSession), 'a code that has not expired stays');
    });
  });
}

/** Permission bits of a path. */
const mode = (p: string) => statSync(p).mode & 0o777;

for (const { driver, skip } of drivers) {
  describe(`file modes [${driver}]`, { skip }, () => {
    let tmp: string;
    /** Each test's own PostgreSQL database (its server secrets belong to that test's data folder). */
    let db: { url: string; drop(): Promise<void> } | null = null;
    let umask: number;
    before(() => {
      tmp = mkdtempSync(join(tmpdir(), 'parley-modes-'));
      // The usual umask, which leaves new files readable by everyone unless modes are set.
      umask = process.umask(0o022);
    });
    beforeEach(async () => {
      if (driver === 'postgres') db = await pgTestDatabase();
    });
    afterEach(async () => {
      await db?.drop();
      db = null;
    });
    after(() => {
      process.umask(umask);
      rmSync(tmp, { recursive: true, force: true });
    });

    const start = async (dataDir: string) => {
      const config = loadConfig({}, { port: 0, dataDir, logLevel: 'silent', ...(db ? { databaseUrl: db.url } : {}) });
      const server = await buildServer(config);
      const url = await server.listen(0);
      // A registration writes to the database, so the WAL exists on SQLite.
      await (await newClient(url, undefined, { connect: false })).close?.();
      return server;
    };

    const assertPrivate = (dataDir: string) => {
      assert.equal(mode(dataDir).toString(8), '700', 'the data folder');
      assert.equal(mode(join(dataDir, 'media')).toString(8), '700', 'the local blob folder');
      if (driver !== 'sqlite') return;
      for (const f of ['parley.sqlite', 'parley.sqlite-wal', 'parley.sqlite-shm']) {
        assert.ok(existsSync(join(dataDir, f)), `${f} exists while the server runs`);
        assert.equal(mode(join(dataDir, f)).toString(8), '600', f);
      }
    };

    it('creates the data folder 0700 and the SQLite files 0600', async () => {
      const dataDir = join(tmp, 'fresh', 'data');
      const server = await start(dataDir);
      try {
        assertPrivate(dataDir);
      } finally {
        await server.close();
      }
    });

    it('tightens a data folder and database files an older version left readable', async () => {
      const dataDir = join(tmp, 'old', 'data');
      await (await start(dataDir)).close();
      chmodSync(dataDir, 0o755);
      chmodSync(join(dataDir, 'media'), 0o755);
      if (driver === 'sqlite') chmodSync(join(dataDir, 'parley.sqlite'), 0o644);
      const server = await start(dataDir);
      try {
        assertPrivate(dataDir);
      } finally {
        await server.close();
      }
    });
  });
}
