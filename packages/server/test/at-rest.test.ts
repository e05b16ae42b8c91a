/**
 * Data at rest (C1, C19), on SQLite and PostgreSQL: expired verification codes, and the numbers
 * they were sent to, are deleted by the sweeper on the server's clock (docs/privacy.md keeps them
 * 10 minutes); the data folder and the SQLite files are private to the server's user.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { availableDrivers, nextPhone, startServer, until, type TestServer } from './helpers/harness.ts';

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
      const request = (phone: string) => fetch(`${t.url}/v1/registration/code`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phone }) });
      assert.equal((await request(old)).status, 202);
      skew = 5 * 60_000;
      assert.equal((await request(fresh)).status, 202);
      const storage = t.server.ctx.storage;
      assert.ok(await storage.getVerificationCode(old), 'the first code is stored');
      // Ten minutes and a second after the first request: only the first code has expired.
      skew = 10 * 60_000 + 1000;
      await until(async () => (await storage.getVerificationCode(old)) === null, 5000, 'the sweeper deleted the expired code');
      assert.ok(await storage.getVerificationCode(fresh), 'a code that has not expired stays');
    });
  });
}
