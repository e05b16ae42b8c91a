/**
 * The server never holds plaintext (C2): after 1:1 and group messages whose text is a unique
 * canary (and a group name and description that are), every file under the data folder (SQLite database, its WAL, blobs) and every row of every
 * PostgreSQL table is searched for the canary, as raw bytes and as hex, and it is not there.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { availableDrivers, newClient, startServer, until, type TestServer } from '@parley/testkit';

const drivers = await availableDrivers();

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

for (const { driver, skip } of drivers) {
  describe(`no plaintext on the server [${driver}]`, { skip }, () => {
    let t: TestServer;
    before(async () => {
      t = await startServer(driver);
    });
    after(async () => t?.close());

    it('stores only ciphertext for direct and group messages', async () => {
      const canary = `CANARY-${Math.random().toString(36).slice(2)}-secret-words`;
      const groupName = `GROUPNAME-${Math.random().toString(36).slice(2)}`;
      const description = `GROUPDESCRIPTION-${Math.random().toString(36).slice(2)}`;
      const alice = await newClient(t.url);
      const bob = await newClient(t.url);
      const carol = await newClient(t.url);
      const direct = await alice.startDirect(bob.self.accountId);
      const group = await alice.createGroup(groupName, [bob.self.accountId, carol.self.accountId]);
      await alice.sendText(direct, `${canary} direct`);
      await alice.sendText(group, `${canary} group`);
      await alice.describe(group, description);
      await until(
        async () => (await bob.messages(group)).some((m) => m.text.startsWith(canary)),
        10_000,
        'bob got group message',
      );
      await until(
        async () => (await bob.messages(direct)).some((m) => m.text.startsWith(canary)),
        10_000,
        'bob got direct message',
      );
      // Keep the bob->alice replies queued too, so ciphertext sits in queues while we search.
      await bob.sendText(direct, `${canary} reply`);

      await until(
        () => bob.conversations().find((c) => c.id === group && c.description === description),
        10_000,
        'bob got the description',
      );
      const needles = [canary, groupName, description].flatMap((s) => [
        Buffer.from(s),
        Buffer.from(Buffer.from(s).toString('hex')),
      ]);
      for (const file of filesUnder(t.dataDir)) {
        const bytes = readFileSync(file);
        for (const n of needles) assert.equal(bytes.includes(n), false, `${file} contains ${n.toString()}`);
      }
      if (driver === 'postgres') {
        const db = new pg.Client({ connectionString: t.databaseUrl });
        await db.connect();
        try {
          const tables = (await db.query("select tablename from pg_tables where schemaname = 'public'")).rows as {
            tablename: string;
          }[];
          assert.ok(tables.length >= 5, 'schema present');
          let rows = 0;
          for (const { tablename } of tables) {
            const res = await db.query(`select t::text as row from "${tablename}" t`);
            for (const r of res.rows as { row: string }[]) {
              rows++;
              for (const n of [canary, groupName]) {
                assert.equal(r.row.includes(n), false, `${tablename} holds plaintext`);
                assert.equal(
                  r.row.includes(Buffer.from(n).toString('hex')),
                  false,
                  `${tablename} holds plaintext as hex`,
                );
              }
            }
          }
          assert.ok(rows > 10, 'rows were searched');
        } finally {
          await db.end();
        }
      }
      for (const c of [alice, bob, carol]) await c.close();
    });
  });
}
