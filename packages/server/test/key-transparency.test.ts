/**
 * Key transparency (C13) on SQLite and PostgreSQL: registrations append bindings under hidden
 * labels, heads are signed and append-only, proofs verify with the SDK's checks, bad input changes
 * nothing, a server that serves a key its log does not bind is caught by the SDK (and a key logged
 * behind its owner's back is caught by the owner), and a rewritten head or leaf is caught by the
 * auditor.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { ParleyError, fromB64, toB64, type KtHead } from '@parley/protocol';
import { generateSigningKeyPair, ktBindingHash, verifyKtHead, verifyKtInclusion, verifyKtLabel } from '@parley/crypto';
import { KtApi, MemoryStore, auditLog, decodeKtHead, type KeyTransparencyWarning } from '@parley/sdk';
import { buildServer, type ParleyServer } from '../src/index.ts';
import { availableDrivers, newClient, startServer, type TestServer } from './helpers/harness.ts';

const drivers = await availableDrivers();
const isCode = (code: string) => (e: unknown) => e instanceof ParleyError && e.code === code;

/** The server's own database handle, to play a malicious or compromised operator. */
const dbOf = (s: ParleyServer) => (s.ctx.storage as unknown as { db: Kysely<Record<string, Record<string, unknown>>> }).db;

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

async function getJson(url: string, token?: string): Promise<{ status: number; body: Record<string, unknown> & { error?: { code: string } } }> {
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
      assert.equal(await storage.ktLeafCount(), 3);

      const api = new KtApi(t.url);
      const { head, logKey, labelKey } = await api.head();
      assert.equal(head.treeSize, 3);
      assert.ok(verifyKtHead(fromB64(logKey), decodeKtHead(head)));
      const { heads, next } = await api.heads(0);
      assert.deepEqual(heads.map((h) => h.treeSize), [0, 1, 2, 3], 'the empty head, then one per registration');
      assert.equal(next, null);
      for (const h of heads) assert.ok(verifyKtHead(fromB64(logKey), decodeKtHead(h)), `head ${h.treeSize} signed`);

      // The raw proof checks out with nothing but the crypto functions.
      const proof = await getJson(`${t.url}/v1/kt/proof/${bob.self.accountId}`, await tokenOf(aliceStore));
      assert.equal(proof.status, 200);
      const p = proof.body as unknown as { label: string; labelProof: string; leaf: { index: number; identityKey: string; version: number; time: number }; inclusion: string[]; head: KtHead };
      assert.ok(verifyKtLabel(fromB64(labelKey), bob.self.accountId, fromB64(p.label), fromB64(p.labelProof)));
      assert.equal(verifyKtLabel(fromB64(labelKey), carol.self.accountId, fromB64(p.label), fromB64(p.labelProof)), false);
      const leafHash = ktBindingHash({ label: fromB64(p.label), identityKey: fromB64(p.leaf.identityKey), version: p.leaf.version, time: p.leaf.time });
      assert.ok(verifyKtInclusion(leafHash, p.leaf.index, p.head.treeSize, p.inclusion.map(fromB64), fromB64(p.head.rootHash)));
      assert.equal(p.leaf.version, 1);
      assert.equal(p.leaf.identityKey, (await alice.api.getAccount(bob.self.accountId)).identityKey);

      // And through the SDK (which also pins the keys and remembers the head).
      const check = await alice.verifyKeyTransparency(bob.self.accountId);
      assert.deepEqual({ version: check.version, treeSize: check.treeSize }, { version: 1, treeSize: 3 });
      assert.equal((await alice.verifyKeyTransparency()).version, 1, 'own binding');

      // Labels reveal nothing of the account ids: not in the leaves, not in any public answer.
      const leaves = await storage.listKtLeaves(0, 100);
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
      const before = { leaves: await storage.ktLeafCount(), heads: (await storage.listKtHeads(0, 1000)).length };
      const size = (await storage.latestKtHead())!.treeSize;
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
      assert.deepEqual({ leaves: await storage.ktLeafCount(), heads: (await storage.listKtHeads(0, 1000)).length }, before);
      // The database itself refuses to rewrite the log.
      await assert.rejects(dbOf(t.server).updateTable('kt_heads').set({ timestamp: 1 }).where('tree_size', '=', 1).execute(), /append-only/);
      await assert.rejects(dbOf(t.server).deleteFrom('kt_leaves').where('idx', '=', 0).execute(), /append-only/);
    });

    it('retries a binding that failed at registration, so the key becomes usable without a restart', async () => {
      const alice = await newClient(t.url);
      const storage = t.server.ctx.storage;
      const append = storage.appendKtLeaf.bind(storage);
      let failures = 1;
      storage.appendKtLeaf = async (leaf) => {
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
        // The background repair logs it within seconds (watched in storage: proofs are rate-limited).
        const deadline = Date.now() + 10_000;
        while ((await storage.listUnloggedAccounts(10)).some((m) => m.accountId === dave.self.accountId)) {
          assert.ok(Date.now() < deadline, 'the repair logged the binding in time');
          await new Promise((r) => setTimeout(r, 100));
        }
        await t.server.ctx.transparency.publishHead();
        assert.equal((await alice.verifyKeyTransparency(dave.self.accountId)).version, 1);
        await dave.close();
      } finally {
        storage.appendKtLeaf = append;
        await alice.close();
      }
    });

    it('limits proofs per requester and target', async () => {
      const store = new MemoryStore();
      await newClient(t.url, undefined, { connect: false, store });
      const target = await newClient(t.url, undefined, { connect: false });
      const other = await newClient(t.url, undefined, { connect: false });
      const token = await tokenOf(store);
      for (let i = 0; i < 6; i++) assert.equal((await getJson(`${t.url}/v1/kt/proof/${target.self.accountId}`, token)).status, 200);
      const over = await getJson(`${t.url}/v1/kt/proof/${target.self.accountId}`, token);
      assert.equal(over.status, 429);
      assert.equal(over.body.error?.code, 'rate_limited');
      assert.equal((await getJson(`${t.url}/v1/kt/proof/${other.self.accountId}`, token)).status, 200, 'another target is not affected');
    });

    it('appends a new version on re-registration with a new key; the SDK refuses a key the log does not bind', async () => {
      const alice = await newClient(t.url);
      const bob = await newClient(t.url, undefined, { connect: false });
      const storage = t.server.ctx.storage;
      const before = await storage.ktLeafCount();
      // Bob re-registers on a new device with a new identity key: version 2 of his label.
      const bob2 = await newClient(t.url, bob.phone);
      assert.equal(bob2.self.accountId, bob.self.accountId);
      assert.equal(await storage.ktLeafCount(), before + 1);
      const check = await alice.verifyKeyTransparency(bob.self.accountId);
      assert.equal(check.version, 2);
      const direct = await alice.startDirect(bob.self.accountId);
      assert.ok(direct);

      // A lying server swaps Carol's identity key without logging it.
      const carol = await newClient(t.url);
      const warnings: KeyTransparencyWarning[] = [];
      alice.on('key-transparency-warning', (w) => warnings.push(w));
      const fake = generateSigningKeyPair().publicKey;
      await dbOf(t.server).updateTable('accounts').set({ identity_key: fake }).where('id', '=', carol.self.accountId).execute();
      await assert.rejects(alice.startDirect(carol.self.accountId), isCode('kt_key_mismatch'));
      assert.deepEqual(warnings.map((w) => [w.accountId, w.code]), [[carol.self.accountId, 'kt_key_mismatch']]);
      assert.ok(!alice.conversations().some((c) => c.peer === carol.self.accountId && c.active), 'no chat with the swapped key');

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
      const size = (await t.server.ctx.storage.latestKtHead())!.treeSize;
      assert.deepEqual({ heads: ok.heads, treeSize: ok.treeSize }, { heads: size + 1, treeSize: size });
      assert.deepEqual(seen, Array.from({ length: size + 1 }, (_, i) => i));

      // Someone with owner rights rewrites the root of head 2.
      await dropGuards(t.server, 'kt_heads');
      const rewritten = createHash('sha256').update('rewritten').digest();
      await dbOf(t.server).updateTable('kt_heads').set({ root_hash: new Uint8Array(rewritten) }).where('tree_size', '=', 2).execute();
      await assert.rejects(auditLog(api), (e: unknown) => isCode('kt_inconsistent_head')(e) && /size 2\b/.test((e as Error).message));
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
      assert.equal(await restarted.ctx.storage.ktLeafCount(), 6, 'nothing re-logged');
      await assert.rejects(auditLog(new KtApi(url)), isCode('kt_inconsistent_head'));
      // The next head is honestly signed over the rewritten tree: Alice's device sees it does not
      // extend the head it saw before, warns and refuses the key.
      const dave = await newClient(url, undefined, { connect: false });
      const warnings: KeyTransparencyWarning[] = [];
      alice.on('key-transparency-warning', (w) => warnings.push(w));
      await assert.rejects(alice.verifyKeyTransparency(dave.self.accountId), isCode('kt_inconsistent_head'));
      assert.deepEqual(warnings.map((w) => w.code), ['kt_inconsistent_head']);
    });
  });
}
