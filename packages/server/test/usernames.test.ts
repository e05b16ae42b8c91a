/**
 * Usernames (C12) on SQLite and PostgreSQL: exact-match lookup of `name.NN`, stored only as a keyed
 * hash, taken names refused without change, renames and clearing, the daily lookup limit, and a
 * chat started by username in which neither side's number reaches the other.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ParleyError, toB64 } from '@parley/protocol';
import { usernameHash } from '@parley/crypto';
import { availableDrivers, newClient, startServer, storedBytes, until, type TestServer } from '@parley/testkit';
import { deviceToken } from '@parley/sdk/testing';

const drivers = await availableDrivers();
const isCode = (code: string) => (e: unknown) => e instanceof ParleyError && e.code === code;

for (const { driver, skip } of drivers) {
  describe(`usernames on ${driver}`, { skip }, () => {
    let t: TestServer;
    before(async () => {
      t = await startServer(driver, { usernameLookupsPerDay: 8 });
    });
    after(async () => t?.close());

    it('sets, finds by exact match only, refuses a taken name, renames and clears', async () => {
      const alice = await newClient(t.url, undefined, { connect: false });
      const bob = await newClient(t.url, undefined, { connect: false });
      assert.equal(await alice.setUsername('@Alice_Q.42'), 'alice_q.42');
      assert.equal(await bob.lookupUsername('alice_q.42'), alice.self.accountId);
      assert.equal(await bob.lookupUsername('ALICE_Q.42'), alice.self.accountId, 'case does not matter');
      await assert.rejects(bob.lookupUsername('alice_q.43'), isCode('account_not_found'));
      await assert.rejects(bob.lookupUsername('alice_q'), isCode('username_invalid'), 'a prefix is not a username');
      // Bob cannot take it; his own state is unchanged.
      await assert.rejects(bob.setUsername('alice_q.42'), isCode('username_taken'));
      assert.equal(
        (
          (await (
            await fetch(`${t.url}/v1/accounts/me/username`, {
              headers: { authorization: `Bearer ${deviceToken(bob)}` },
            })
          ).json()) as { hasUsername: boolean }
        ).hasUsername,
        false,
      );
      // Stored only as a keyed hash: neither the name nor its plain hash is in the database.
      const bytes = await storedBytes(t, 'SELECT hash, account_id FROM usernames');
      assert.ok(bytes.includes(Buffer.from(alice.self.accountId)), 'the dump holds the usernames table');
      assert.ok(!bytes.includes(Buffer.from('alice_q.42')), 'no plaintext username');
      assert.ok(!bytes.includes(Buffer.from(usernameHash('alice_q.42'))), 'no unkeyed hash');
      // Rename frees the old name; clearing removes the account from lookups.
      await alice.setUsername('alice_q.77');
      await assert.rejects(bob.lookupUsername('alice_q.42'), isCode('account_not_found'));
      assert.equal(await bob.setUsername('alice_q.42'), 'alice_q.42');
      await alice.setUsername(null);
      await assert.rejects(bob.lookupUsername('alice_q.77'), isCode('account_not_found'));
      await Promise.all([alice.close(), bob.close()]);
    });

    it('limits lookups per account per day (guessing is bounded)', async () => {
      const c = await newClient(t.url, undefined, { connect: false });
      let limited: ParleyError | null = null;
      const outcomes: string[] = [];
      for (let i = 0; i < 10; i++) {
        try {
          await c.lookupUsername(`guess.${10 + i}`);
          outcomes.push('found');
        } catch (e) {
          assert.ok(e instanceof ParleyError, String(e));
          if (e.isRateLimited()) limited ??= e;
          outcomes.push(e.code);
        }
      }
      // The limit is 8 a day (set for this suite): the ninth guess and every one after it are refused.
      assert.deepEqual(outcomes, [...Array<string>(8).fill('account_not_found'), 'rate_limited', 'rate_limited']);
      assert.ok((limited!.retryAfterMs() ?? 0) > 0);
      await c.close();
    });

    it('refuses malformed hashes and changes nothing', async () => {
      const c = await newClient(t.url, undefined, { connect: false });
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${deviceToken(c)}` };
      for (const body of [
        { usernameHash: 'short' },
        { usernameHash: toB64(new Uint8Array(33)) },
        { usernameHash: 5 },
        {},
      ]) {
        const r = await fetch(`${t.url}/v1/accounts/me/username`, {
          method: 'PUT',
          headers,
          body: JSON.stringify(body),
        });
        assert.equal(r.status, 400);
        assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'bad_request');
      }
      assert.equal(await t.server.ctx.storage.discovery.hasUsername(c.self.accountId), false);
      await c.close();
    });

    it('starts a chat by username without either side learning the other number', async () => {
      const responses: string[] = [];
      const recording = async (input: string, init?: RequestInit) => {
        const r = await fetch(input, init);
        responses.push(await r.clone().text());
        return r;
      };
      const alice = await newClient(t.url);
      await alice.setUsername('quiet_alice.2026');
      const bob = await newClient(t.url, undefined, { fetch: recording });
      responses.length = 0;
      const conv = await bob.startDirect(await bob.lookupUsername('quiet_alice.2026'));
      await bob.sendText(conv, 'found you by username');
      const got = await until(async () => (await alice.messages(conv)).find((m) => m.text === 'found you by username'));
      assert.equal(got.from, bob.self.accountId);
      assert.equal(await bob.phoneOf(alice.self.accountId), undefined);
      assert.equal(await alice.phoneOf(bob.self.accountId), undefined);
      assert.ok(responses.length >= 2, 'the lookup and the chat went through the recording fetch');
      for (const r of responses)
        assert.ok(!r.includes(alice.phone.slice(1)), "no response to Bob carries Alice's number");
      await Promise.all([alice.close(), bob.close()]);
    });
  });
}
