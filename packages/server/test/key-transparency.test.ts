/**
 * Key transparency (C13) on SQLite and PostgreSQL: registrations append bindings under hidden
 * labels, heads are signed and append-only, proofs verify with the SDK's checks, bad input changes
 * nothing, a server that serves a key its log does not bind is caught by the SDK (and a key logged
 * behind its owner's back is caught by the owner), and a rewritten head or leaf is caught by the
 * auditor. Without trust on first use: a log under another key than the configured or pinned one,
 * a stale head and an account's version going back are each refused (tampered answers from a
 * lying server), and an honest but quiet log keeps serving fresh heads.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { KT_HEAD_REFRESH_MS, ParleyError, fromB64, ktProofResponse, toB64, type KtProof } from '@parley/protocol';
import {
  generateSigningKeyPair,
  ktBindingHash,
  signKtHead,
  verifyKtHead,
  verifyKtInclusion,
  verifyKtLabel,
} from '@parley/crypto';
import { KtApi, MemoryStore, auditLog, decodeKtHead, type KeyTransparencyWarning } from '@parley/sdk';
import { buildServer, type ParleyServer } from '../src/index.ts';
import { rawDatabaseOf } from '../src/testing.ts';
import { availableDrivers, newClient, startServer, type TestServer } from '@parley/testkit';

const drivers = await availableDrivers();
const isCode = (code: string) => (e: unknown) => e instanceof ParleyError && e.code === code;

/** The server's own database handle, to play a malicious or compromised operator. */
const dbOf = (s: ParleyServer) => rawDatabaseOf(s.ctx.storage);

/** Drop the append-only guards, as someone with owner rights on the database can. */
async function dropGuards(s: ParleyServer, table: 'kt_heads' | 'kt_leaves'): Promise<void> {
  const db = dbOf(s);
  if (s.ctx.storage.driver === 'postgres') {
    await sql`drop trigger ${sql.raw(`${table}_no_update`)} on ${sql.table(table)}`.execute(db);
  } else {
    await sql`drop trigger ${sql.raw(`${table}_no_update`)}`.execute(db);
    await sql`drop trigger ${sql.raw(`${table}_no_delete`)}`.execute(db);
  }
}

async function tokenOf(store: MemoryStore): Promise<string> {
  return (await store.get<{ token: string }>('device'))!.token;
}

/**
 * A client's HTTP as a lying server (or a man in the middle) would answer it: a path in `canned`
 * is answered with that JSON instead of the server's; `seen` keeps the last real answer per path.
 */
function lyingFetch() {
  const canned = new Map<string, unknown>();
  const seen = new Map<string, unknown>();
  const fetchImpl = async (input: string, init?: RequestInit): Promise<Response> => {
    const path = new URL(input).pathname;
    if (canned.has(path))
      return new Response(JSON.stringify(canned.get(path)), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      });
    const res = await fetch(input, init);
    if (res.ok) seen.set(path, await res.clone().json());
    return res;
  };
  return { fetch: fetchImpl, canned, seen };
}

/** A proof as a separate log under another key would show it: same tree, head signed by `privateKey`. */
function underOtherKey(proof: KtProof, key: { publicKey: Uint8Array; privateKey: Uint8Array }): KtProof {
  const h = decodeKtHead(proof.head);
  const signed = signKtHead(key.privateKey, { treeSize: h.treeSize, rootHash: h.rootHash, timestamp: h.timestamp });
  return { ...proof, logKey: toB64(key.publicKey), head: { ...proof.head, signature: toB64(signed.signature) } };
}

async function getJson(
  url: string,
  token?: string,
): Promise<{ status: number; body: Record<string, unknown> & { error?: { code: string } } }> {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error?: { code: string } } };
}

for (const { driver, skip } of drivers) {
  describe(`key transparency on ${driver}`, { skip }, () => {
    let t: TestServer;
    before(async () => {
      t = await startServer(driver);
    });
    after(async () => t?.close());

    it('logs every registration under a hidden label, with signed heads and verifying proofs', async () => {
      const aliceStore = new MemoryStore();
      const alice = await newClient(t.url, undefined, { connect: false, store: aliceStore });
      const bob = await newClient(t.url, undefined, { connect: false });
      const carol = await newClient(t.url, undefined, { connect: false });
      const storage = t.server.ctx.storage;
      assert.equal(await storage.keyTransparency.ktLeafCount(), 3);

      const api = new KtApi(t.url);
      const { head, logKey, labelKey } = await api.head();
      assert.equal(head.treeSize, 3);
      assert.ok(verifyKtHead(fromB64(logKey), decodeKtHead(head)));
      const { heads, next } = await api.heads(0);
      assert.deepEqual(
        heads.map((h) => h.treeSize),
        [0, 1, 2, 3],
        'the empty head, then one per registration',
      );
      assert.equal(next, null);
      for (const h of heads) assert.ok(verifyKtHead(fromB64(logKey), decodeKtHead(h)), `head ${h.treeSize} signed`);

      // The raw proof checks out with nothing but the crypto functions.
      const proof = await getJson(`${t.url}/v1/kt/proof/${bob.self.accountId}`, await tokenOf(aliceStore));
      assert.equal(proof.status, 200);
      // Parsed with the protocol's own response schema: the answer must have the documented shape.
      const p = ktProofResponse.parse(proof.body);
      assert.ok(verifyKtLabel(fromB64(labelKey), bob.self.accountId, fromB64(p.label), fromB64(p.labelProof)));
      assert.equal(
        verifyKtLabel(fromB64(labelKey), carol.self.accountId, fromB64(p.label), fromB64(p.labelProof)),
        false,
      );
      const leafHash = ktBindingHash({
        label: fromB64(p.label),
        identityKey: fromB64(p.leaf.identityKey),
        version: p.leaf.version,
        time: p.leaf.time,
      });
      assert.ok(
        verifyKtInclusion(leafHash, p.leaf.index, p.head.treeSize, p.inclusion.map(fromB64), fromB64(p.head.rootHash)),
      );
      assert.equal(p.leaf.version, 1);
      assert.equal(p.leaf.identityKey, (await alice.api.getAccount(bob.self.accountId)).identityKey);

      // And through the SDK (which also pins the keys and remembers the head).
      const check = await alice.verifyKeyTransparency(bob.self.accountId);
      assert.deepEqual({ version: check.version, treeSize: check.treeSize }, { version: 1, treeSize: 3 });
      assert.equal((await alice.verifyKeyTransparency()).version, 1, 'own binding');

      // Labels reveal nothing of the account ids: not in the leaves, not in any public answer.
      const leaves = await storage.keyTransparency.listKtLeaves(0, 100);
      const ids = [alice, bob, carol].map((c) => c.self.accountId);
      for (const leaf of leaves) {
        for (const id of ids) {
          assert.ok(!Buffer.from(leaf.label).includes(Buffer.from(id)));
          assert.notDeepEqual(Buffer.from(leaf.label), createHash('sha256').update(id).digest());
        }
      }
      assert.equal(new Set(leaves.map((l) => toB64(l.label))).size, 3);
      const publicText = JSON.stringify([await api.head(), await api.heads(0), await api.consistency(1, 3)]);
      for (const id of ids) assert.ok(!publicText.includes(id));
    });

    it('refuses bad input with catalogued errors and changes nothing', async () => {
      const store = new MemoryStore();
      const alice = await newClient(t.url, undefined, { connect: false, store });
      const token = await tokenOf(store);
      const storage = t.server.ctx.storage;
      const before = {
        leaves: await storage.keyTransparency.ktLeafCount(),
        heads: (await storage.keyTransparency.listKtHeads(0, 1000)).length,
      };
      const size = (await storage.keyTransparency.latestKtHead())!.treeSize;
      const cases: [string, number, string, string?][] = [
        [`/v1/kt/consistency?from=3&to=2`, 400, 'kt_tree_size_invalid'],
        [`/v1/kt/consistency?from=1&to=${size + 1}`, 400, 'kt_tree_size_invalid'],
        [`/v1/kt/consistency?from=x&to=2`, 400, 'bad_request'],
        [`/v1/kt/consistency?from=1`, 400, 'bad_request'],
        [`/v1/kt/consistency?from=-1&to=2`, 400, 'bad_request'],
        [`/v1/kt/heads?from=1.5`, 400, 'bad_request'],
        [`/v1/kt/heads?from=0&extra=1`, 400, 'bad_request'],
        [`/v1/kt/proof/a_AAAAAAAAAAAAAAAAAAAAAA`, 404, 'account_not_found', token],
        [`/v1/kt/proof/not-an-id`, 400, 'bad_request', token],
        [`/v1/kt/proof/${alice.self.accountId}`, 401, 'unauthenticated'],
      ];
      for (const [path, status, code, auth] of cases) {
        const r = await getJson(t.url + path, auth);
        assert.equal(r.status, status, path);
        assert.equal(r.body.error?.code, code, path);
      }
      assert.deepEqual(
        {
          leaves: await storage.keyTransparency.ktLeafCount(),
          heads: (await storage.keyTransparency.listKtHeads(0, 1000)).length,
        },
        before,
      );
      // The database itself refuses to rewrite the log.
      await assert.rejects(
        dbOf(t.server).updateTable('kt_heads').set({ timestamp: 1 }).where('tree_size', '=', 1).execute(),
        /append-only/,
      );
      await assert.rejects(dbOf(t.server).deleteFrom('kt_leaves').where('idx', '=', 0).execute(), /append-only/);
    });

    it('retries a binding that failed at registration, so the key becomes usable without a restart', async () => {
      const alice = await newClient(t.url);
      const storage = t.server.ctx.storage;
      const append = storage.keyTransparency.appendKtLeaf.bind(storage.keyTransparency);
      let failures = 1;
      storage.keyTransparency.appendKtLeaf = async (leaf) => {
        if (failures-- > 0) throw new Error('log unavailable');
        return append(leaf);
      };
      try {
        const dave = await newClient(t.url, undefined, { connect: false });
        // Not logged yet: the SDK fails closed with the retryable code, and warns about nothing.
        const warnings: KeyTransparencyWarning[] = [];
        alice.on('key-transparency-warning', (w) => warnings.push(w));
        await assert.rejects(alice.verifyKeyTransparency(dave.self.accountId), isCode('kt_not_logged'));
        assert.deepEqual(warnings, []);
        // The background repair logs it within seconds (watched in storage: proofs are rate-limited); the
        // deadline is generous because a loaded 2-core machine can stretch those seconds.
        const deadline = Date.now() + 30_000;
        while (
          (await storage.keyTransparency.listUnloggedAccounts(10)).some((m) => m.accountId === dave.self.accountId)
        ) {
          assert.ok(Date.now() < deadline, 'the repair logged the binding in time');
          await new Promise((r) => setTimeout(r, 100));
        }
        await t.server.ctx.transparency.publishHead();
        assert.equal((await alice.verifyKeyTransparency(dave.self.accountId)).version, 1);
        await dave.close();
      } finally {
        storage.keyTransparency.appendKtLeaf = append;
        await alice.close();
      }
    });

    it('limits proofs per requester and target', async () => {
      const store = new MemoryStore();
      await newClient(t.url, undefined, { connect: false, store });
      const target = await newClient(t.url, undefined, { connect: false });
      const other = await newClient(t.url, undefined, { connect: false });
      const token = await tokenOf(store);
      for (let i = 0; i < 6; i++)
        assert.equal((await getJson(`${t.url}/v1/kt/proof/${target.self.accountId}`, token)).status, 200);
      const over = await getJson(`${t.url}/v1/kt/proof/${target.self.accountId}`, token);
      assert.equal(over.status, 429);
      assert.equal(over.body.error?.code, 'rate_limited');
      assert.equal(
        (await getJson(`${t.url}/v1/kt/proof/${other.self.accountId}`, token)).status,
        200,
        'another target is not affected',
      );
    });

    it('appends a new version on re-registration with a new key; the SDK refuses a key the log does not bind', async () => {
      const alice = await newClient(t.url);
      const bob = await newClient(t.url, undefined, { connect: false });
      const storage = t.server.ctx.storage;
      const before = await storage.keyTransparency.ktLeafCount();
      // Bob re-registers on a new device with a new identity key: version 2 of his label.
      const bob2 = await newClient(t.url, bob.phone);
      assert.equal(bob2.self.accountId, bob.self.accountId);
      assert.equal(await storage.keyTransparency.ktLeafCount(), before + 1);
      const check = await alice.verifyKeyTransparency(bob.self.accountId);
      assert.equal(check.version, 2);
      const direct = await alice.startDirect(bob.self.accountId);
      assert.ok(direct);

      // A lying server swaps Carol's identity key without logging it.
      const carol = await newClient(t.url);
      const warnings: KeyTransparencyWarning[] = [];
      alice.on('key-transparency-warning', (w) => warnings.push(w));
      const fake = generateSigningKeyPair().publicKey;
      await dbOf(t.server)
        .updateTable('accounts')
        .set({ identity_key: fake })
        .where('id', '=', carol.self.accountId)
        .execute();
      await assert.rejects(alice.startDirect(carol.self.accountId), isCode('kt_key_mismatch'));
      assert.deepEqual(
        warnings.map((w) => [w.accountId, w.code]),
        [[carol.self.accountId, 'kt_key_mismatch']],
      );
      assert.ok(
        !alice.conversations().some((c) => c.peer === carol.self.accountId && c.active),
        'no chat with the swapped key',
      );

      // It then logs the swapped key too: Alice's check passes, but Carol sees a key that is not hers.
      await t.server.ctx.transparency.bind(carol.self.accountId, fake);
      assert.equal((await alice.verifyKeyTransparency(carol.self.accountId)).version, 2);
      const carolWarnings: KeyTransparencyWarning[] = [];
      carol.on('key-transparency-warning', (w) => carolWarnings.push(w));
      await assert.rejects(carol.verifyKeyTransparency(), isCode('kt_key_mismatch'));
      assert.equal(carolWarnings[0]?.code, 'kt_key_mismatch');
      await Promise.all([alice.close(), bob2.close(), carol.close()]);
    });

    it('the auditor accepts the log, then detects a rewritten head', async () => {
      const api = new KtApi(t.url);
      const seen: number[] = [];
      const ok = await auditLog(api, (h) => seen.push(h.treeSize));
      const size = (await t.server.ctx.storage.keyTransparency.latestKtHead())!.treeSize;
      assert.deepEqual({ heads: ok.heads, treeSize: ok.treeSize }, { heads: size + 1, treeSize: size });
      assert.deepEqual(
        seen,
        Array.from({ length: size + 1 }, (_, i) => i),
      );

      // Someone with owner rights rewrites the root of head 2.
      await dropGuards(t.server, 'kt_heads');
      const rewritten = createHash('sha256').update('rewritten').digest();
      await dbOf(t.server)
        .updateTable('kt_heads')
        .set({ root_hash: new Uint8Array(rewritten) })
        .where('tree_size', '=', 2)
        .execute();
      await assert.rejects(
        auditLog(api),
        (e: unknown) => isCode('kt_inconsistent_head')(e) && /size 2\b/.test((e as Error).message),
      );
    });
  });

  describe(`key transparency auditor on ${driver}: a rewritten leaf`, { skip }, () => {
    let t: TestServer;
    let restarted: ParleyServer | null = null;
    before(async () => {
      t = await startServer(driver);
    });
    after(async () => {
      await restarted?.close();
      await t?.close();
    });

    it('is detected by the consistency proofs a restarted server computes from it', async () => {
      const clients = [];
      for (let i = 0; i < 6; i++) clients.push(await newClient(t.url, undefined, { connect: false }));
      assert.equal((await auditLog(new KtApi(t.url))).treeSize, 6);
      // Alice's device verifies a binding and so remembers the head of size 6.
      const alice = clients[0]!;
      assert.equal((await alice.verifyKeyTransparency(clients[5]!.self.accountId)).treeSize, 6);
      const config = t.server.ctx.config;
      await t.server.close();
      // Offline, someone rewrites when leaf 1 was logged (its key stays, so nothing is re-logged).
      restarted = await buildServer(config);
      await dropGuards(restarted, 'kt_leaves');
      await dbOf(restarted).updateTable('kt_leaves').set({ created_at: 1 }).where('idx', '=', 1).execute();
      await restarted.close();
      restarted = await buildServer(config);
      const url = await restarted.listen(Number(new URL(t.url).port));
      assert.equal(await restarted.ctx.storage.keyTransparency.ktLeafCount(), 6, 'nothing re-logged');
      await assert.rejects(auditLog(new KtApi(url)), isCode('kt_inconsistent_head'));
      // The next head is honestly signed over the rewritten tree: Alice's device sees it does not
      // extend the head it saw before, warns and refuses the key.
      const dave = await newClient(url, undefined, { connect: false });
      const warnings: KeyTransparencyWarning[] = [];
      alice.on('key-transparency-warning', (w) => warnings.push(w));
      await assert.rejects(alice.verifyKeyTransparency(dave.self.accountId), isCode('kt_inconsistent_head'));
      assert.deepEqual(
        warnings.map((w) => w.code),
        ['kt_inconsistent_head'],
      );
    });
  });
  describe(`key transparency without trust on first use on ${driver}`, { skip }, () => {
    let t: TestServer;
    /** The server's clock runs this far from the real one (a server freezing its log). */
    let skew = 0;
    before(async () => {
      t = await startServer(driver, {}, { now: () => Date.now() + skew });
    });
    after(async () => t?.close());

    it('refuses a log signed with another key than the configured one, or than the one pinned on first use', async () => {
      const bob = await newClient(t.url, undefined, { connect: false });
      const { logKey } = await new KtApi(t.url).head();
      const proofPath = `/v1/kt/proof/${bob.self.accountId}`;
      const impostor = generateSigningKeyPair();

      // Configured with the real key: the very first answer, a log under another key, is refused.
      const lie = lyingFetch();
      const alice = await newClient(t.url, undefined, { connect: false, fetch: lie.fetch, ktLogKey: logKey });
      await alice.verifyKeyTransparency(bob.self.accountId);
      lie.canned.set(proofPath, underOtherKey(lie.seen.get(proofPath) as KtProof, impostor));
      const otherAlice = await newClient(t.url, undefined, { connect: false, fetch: lie.fetch, ktLogKey: logKey });
      const warnings: KeyTransparencyWarning[] = [];
      otherAlice.on('key-transparency-warning', (w) => warnings.push(w));
      await assert.rejects(otherAlice.verifyKeyTransparency(bob.self.accountId), isCode('kt_log_key_mismatch'));
      assert.deepEqual(
        warnings.map((w) => [w.accountId, w.code]),
        [[bob.self.accountId, 'kt_log_key_mismatch']],
      );
      lie.canned.clear();
      assert.equal((await otherAlice.verifyKeyTransparency(bob.self.accountId)).version, 1, 'the honest log passes');

      // Configured with a key the server does not have: the honest log is refused too.
      const wrong = await newClient(t.url, undefined, {
        connect: false,
        ktLogKey: toB64(generateSigningKeyPair().publicKey),
      });
      await assert.rejects(wrong.verifyKeyTransparency(bob.self.accountId), isCode('kt_log_key_mismatch'));

      // Not configured: the first key seen is pinned, and a log under another key is refused after.
      const carol = await newClient(t.url, undefined, { connect: false, fetch: lie.fetch });
      await carol.verifyKeyTransparency(bob.self.accountId);
      lie.canned.set(proofPath, underOtherKey(lie.seen.get(proofPath) as KtProof, impostor));
      await assert.rejects(carol.verifyKeyTransparency(bob.self.accountId), isCode('kt_log_key_mismatch'));
      await Promise.all([alice.close(), otherAlice.close(), wrong.close(), carol.close(), bob.close()]);
    });

    it('refuses a head older than the maximum age, and an honest quiet log re-signs its head', async () => {
      const alice = await newClient(t.url, undefined, { connect: false });
      const bob = await newClient(t.url, undefined, { connect: false });
      const carol = await newClient(t.url, undefined, { connect: false });
      assert.equal((await alice.verifyKeyTransparency(bob.self.accountId)).version, 1);
      // The server's clock is set a day and an hour back and it logs a binding: its newest head is
      // signed at that time, and it serves that head as the newest.
      skew = -25 * 60 * 60_000;
      try {
        await t.server.ctx.transparency.bind(carol.self.accountId, generateSigningKeyPair().publicKey);
        const warnings: KeyTransparencyWarning[] = [];
        alice.on('key-transparency-warning', (w) => warnings.push(w));
        await assert.rejects(alice.verifyKeyTransparency(bob.self.accountId), isCode('kt_head_stale'));
        assert.deepEqual(
          warnings.map((w) => w.code),
          ['kt_head_stale'],
        );
        await assert.rejects(auditLog(new KtApi(t.url)), isCode('kt_head_stale'));
        // A device that allows more age accepts it.
        const patient = await newClient(t.url, undefined, { connect: false, ktMaxHeadAgeMs: 48 * 60 * 60_000 });
        assert.equal((await patient.verifyKeyTransparency(bob.self.accountId)).version, 1);
        await patient.close();
      } finally {
        skew = 0;
      }
      // Back on time, nothing new was logged, yet the served head is signed again at the current time.
      const { head, logKey } = await new KtApi(t.url).head();
      assert.ok(Date.now() - head.timestamp < KT_HEAD_REFRESH_MS, 'the served head was re-signed');
      assert.ok(verifyKtHead(fromB64(logKey), decodeKtHead(head)));
      assert.equal(
        head.treeSize,
        (await t.server.ctx.storage.keyTransparency.latestKtHead())!.treeSize,
        'same tree, nothing stored',
      );
      assert.equal((await alice.verifyKeyTransparency(bob.self.accountId)).version, 1);
      const audit = await auditLog(new KtApi(t.url));
      assert.equal(audit.head.timestamp, head.timestamp);
      await Promise.all([alice.close(), bob.close(), carol.close()]);
    });

    it('refuses a proof of an older version of an account than the device verified before', async () => {
      const lie = lyingFetch();
      const alice = await newClient(t.url, undefined, { connect: false, fetch: lie.fetch });
      const bob = await newClient(t.url, undefined, { connect: false });
      const accountPath = `/v1/accounts/${bob.self.accountId}`;
      const proofPath = `/v1/kt/proof/${bob.self.accountId}`;
      assert.equal((await alice.verifyKeyTransparency(bob.self.accountId)).version, 1);
      const old = { account: lie.seen.get(accountPath), proof: lie.seen.get(proofPath) };
      // Bob re-registers on a new phone with a new key: version 2.
      const bob2 = await newClient(t.url, bob.phone, { connect: false });
      assert.equal((await alice.verifyKeyTransparency(bob.self.accountId)).version, 2);
      // The server goes back to serving Bob's first key with its (genuine, still included) leaf.
      lie.canned.set(accountPath, old.account);
      lie.canned.set(proofPath, old.proof);
      const warnings: KeyTransparencyWarning[] = [];
      alice.on('key-transparency-warning', (w) => warnings.push(w));
      await assert.rejects(alice.verifyKeyTransparency(bob.self.accountId), isCode('kt_version_rollback'));
      assert.deepEqual(
        warnings.map((w) => [w.accountId, w.code]),
        [[bob.self.accountId, 'kt_version_rollback']],
      );
      await assert.rejects(alice.startDirect(bob.self.accountId), isCode('kt_version_rollback'));
      assert.ok(
        !alice.conversations().some((c) => c.peer === bob.self.accountId && c.active),
        'no chat with the old key',
      );
      await Promise.all([alice.close(), bob.close(), bob2.close()]);
    });
  });
}
