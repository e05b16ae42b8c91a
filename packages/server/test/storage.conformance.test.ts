/**
 * The storage contract (C19), one suite run unchanged on SQLite and PostgreSQL: registration and
 * re-registration, key-reuse refusal without partial writes, KeyPackage claim order, conversation
 * creation, commits (epoch check, idempotent retry, membership, Welcome routing), appends (gap-free
 * seq, idempotency, mixed batches), queues (order, cursor, ack ownership, acks in one turn), plus
 * concurrent writers on PostgreSQL.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createPostgresStorage, type NewMessage, type Storage } from '../src/storage/index.ts';
import { availableDrivers } from './helpers/harness.ts';
import { newPhone, openStorage as open, rid, seedAccount as account } from './helpers/storage.ts';

const drivers = await availableDrivers();
const key = () => new Uint8Array(randomBytes(32));

function msg(conversationId: string, from: { account: { id: string }; device: { id: string } }, recipients: string[], clientMessageId = rid('c'), kind: NewMessage['kind'] = 'application', epoch = 0): NewMessage {
  return { id: rid('m'), conversationId, kind, epoch, senderAccount: from.account.id, senderDevice: from.device.id, clientMessageId, payload: new Uint8Array(randomBytes(40)), sentAt: Date.now(), recipients };
}

for (const { driver, skip } of drivers) {
  describe(`storage conformance [${driver}]`, { skip }, () => {
    let s: Storage;
    let env: Awaited<ReturnType<typeof open>>;
    before(async () => {
      env = await open(driver);
      s = env.storage;
    });
    after(async () => env?.cleanup());

    it('migrates idempotently', async () => {
      await s.migrate();
      await s.migrate();
    });

    it('answers a ping (readiness)', async () => {
      await s.ping();
    });

    it('registers, re-registers (revoking old devices) and finds devices by token', async () => {
      const { account: a, device: d } = await account(s);
      assert.equal((await s.accounts.getAccountByPhone(a.phone))?.id, a.id);
      assert.equal((await s.accounts.getDeviceByTokenHash(d.tokenHash))?.id, d.id);
      const d2 = { ...d, id: rid('d'), signingKey: key(), tokenHash: key() };
      const res = await s.accounts.registerAccount({ account: { ...a, id: rid('a'), identityKey: key() }, device: d2 });
      assert.equal(res.newAccount, false);
      assert.equal(res.account.id, a.id, 'the account id survives re-registration');
      assert.notDeepEqual((await s.accounts.getAccount(a.id))!.identityKey, a.identityKey);
      assert.deepEqual((await s.accounts.listDevices(a.id)).map((x) => x.id), [d2.id]);
      assert.notEqual((await s.accounts.getDevice(d.id))!.revokedAt, null);
      await s.accounts.setAccountPin(a.id, 'scrypt$x$y');
      assert.equal((await s.accounts.getAccount(a.id))!.pinHash, 'scrypt$x$y');
    });

    it('revokes listed or all devices of an account: they leave their conversations, each id is returned once, and reads as inactive', async () => {
      const { account: a, device: d1 } = await account(s);
      const d2 = { ...d1, id: rid('d'), signingKey: key(), tokenHash: key(), createdAt: d1.createdAt + 1 };
      await s.accounts.addDevice(d2);
      const other = await account(s);
      const conv = randomBytes(16).toString('base64url');
      await s.conversations.createConversation({ id: conv, kind: 'direct', epoch: 0, createdAt: Date.now(), createdBy: a.id }, d1.id);
      assert.equal(await s.conversations.isDeviceInConversation(conv, d1.id), true);
      // Foreign and unknown ids are ignored; nothing of the other account changes.
      assert.deepEqual(await s.accounts.revokeDevices(a.id, [other.device.id, rid('d')], 1000), []);
      assert.deepEqual((await s.accounts.listDevices(other.account.id)).map((x) => x.id), [other.device.id]);
      assert.deepEqual(await s.accounts.revokeDevices(a.id, [], 1000), []);
      assert.deepEqual(await s.accounts.inactiveDevices([d1.id, d2.id, other.device.id]), []);
      assert.deepEqual(await s.accounts.revokeDevices(a.id, [d1.id], 1000), [d1.id]);
      const unknown = rid('d');
      assert.deepEqual(await s.accounts.inactiveDevices([other.device.id, unknown, d2.id, d1.id]), [unknown, d1.id], 'revoked or unknown, in the order asked');
      assert.equal((await s.accounts.getDevice(d1.id))!.revokedAt, 1000);
      assert.equal(await s.conversations.isDeviceInConversation(conv, d1.id), false, 'the revoked device left the conversation');
      assert.deepEqual((await s.accounts.listDevices(a.id)).map((x) => x.id), [d2.id]);
      assert.deepEqual(await s.accounts.revokeDevices(a.id, [d1.id], 2000), [], 'already revoked');
      assert.equal((await s.accounts.getDevice(d1.id))!.revokedAt, 1000, 'the first revocation time stays');
      assert.deepEqual(await s.accounts.revokeDevices(a.id, null, 3000), [d2.id]);
      assert.deepEqual(await s.accounts.listDevices(a.id), []);
      // Re-registration reports the devices it revoked.
      const d3 = { ...d1, id: rid('d'), signingKey: key(), tokenHash: key() };
      const res = await s.accounts.registerAccount({ account: { ...a, identityKey: key() }, device: d3 });
      assert.deepEqual(res.revokedDeviceIds, []);
      const d4 = { ...d1, id: rid('d'), signingKey: key(), tokenHash: key() };
      assert.deepEqual((await s.accounts.registerAccount({ account: { ...a, identityKey: key() }, device: d4 })).revokedDeviceIds, [d3.id]);
    });

    it('refuses any reused key, atomically', async () => {
      const { account: a, device: d } = await account(s);
      const phone = newPhone();
      await assert.rejects(
        s.accounts.registerAccount({ account: { id: rid('a'), phone, identityKey: a.identityKey, pinHash: null, discoverable: true, createdAt: 1 }, device: { ...d, id: rid('d'), signingKey: key(), tokenHash: key() } }),
        (e: Error & { code?: string }) => e.code === 'key_reused',
      );
      assert.equal(await s.accounts.getAccountByPhone(phone), null, 'nothing stored');
      const kp = { data: new Uint8Array([1]), initKey: key(), encryptionKey: key() };
      await s.accounts.addKeyPackages(d.id, a.id, [kp], null);
      const reuse = { data: new Uint8Array([2]), initKey: key(), encryptionKey: kp.encryptionKey };
      await assert.rejects(s.accounts.addKeyPackages(d.id, a.id, [{ data: new Uint8Array([3]), initKey: key(), encryptionKey: key() }, reuse], null), (e: Error & { code?: string }) => e.code === 'key_reused');
      assert.equal((await s.accounts.countKeyPackages(d.id)).available, 1, 'the batch with a reused key stored nothing');
      assert.equal(await s.accounts.anyPublicKeyUsed([kp.initKey]), true);
      assert.equal(await s.accounts.anyPublicKeyUsed([key()]), false);
    });

    it('claims one-time KeyPackages first, then keeps returning the last-resort one', async () => {
      const { account: a, device: d } = await account(s);
      const mk = (b: number) => ({ data: new Uint8Array([b]), initKey: key(), encryptionKey: key() });
      const one = async (id: string) => (await s.accounts.claimKeyPackages([id])).keyPackages![0]!;
      await s.accounts.addKeyPackages(d.id, a.id, [mk(1), mk(2)], mk(9));
      assert.deepEqual(await s.accounts.countKeyPackages(d.id), { available: 2, lastResort: true });
      assert.deepEqual([(await one(d.id)).data[0], (await one(d.id)).data[0]], [1, 2]);
      for (let i = 0; i < 2; i++) assert.deepEqual(await one(d.id), { deviceId: d.id, data: new Uint8Array([9]), lastResort: true });
      await s.accounts.addKeyPackages(d.id, a.id, [], mk(8));
      assert.equal((await one(d.id)).data[0], 8, 'a new last-resort KeyPackage replaces the old one');
    });

    it('claims KeyPackages for several devices all or nothing', async () => {
      const mk = (b: number) => ({ data: new Uint8Array([b]), initKey: key(), encryptionKey: key() });
      const x = await account(s);
      const y = await account(s);
      const z = await account(s);
      await s.accounts.addKeyPackages(x.device.id, x.account.id, [mk(1), mk(2)], null);
      await s.accounts.addKeyPackages(y.device.id, y.account.id, [], mk(3));
      // z has none at all: the claim fails on it and x keeps both of its KeyPackages.
      assert.deepEqual(await s.accounts.claimKeyPackages([x.device.id, y.device.id, z.device.id]), { exhausted: z.device.id });
      assert.deepEqual(await s.accounts.countKeyPackages(x.device.id), { available: 2, lastResort: false });
      const ok = await s.accounts.claimKeyPackages([x.device.id, y.device.id]);
      assert.deepEqual(ok.keyPackages?.map((k) => [k.deviceId, k.data[0], k.lastResort]), [[x.device.id, 1, false], [y.device.id, 3, true]]);
      assert.deepEqual(await s.accounts.countKeyPackages(x.device.id), { available: 1, lastResort: false });
      assert.deepEqual(await s.accounts.claimKeyPackages([]), { keyPackages: [] });
    });

    it('runs a conversation: commits in epoch order, welcomes, membership, appends and queues', async () => {
      const alice = await account(s);
      const bob = await account(s);
      const carol = await account(s);
      const conv = randomBytes(16).toString('base64url');
      await s.conversations.createConversation({ id: conv, kind: 'group', epoch: 0, createdAt: Date.now(), createdBy: alice.account.id }, alice.device.id);
      await assert.rejects(s.conversations.createConversation({ id: conv, kind: 'group', epoch: 0, createdAt: 1, createdBy: bob.account.id }, bob.device.id), (e: Error & { code?: string }) => e.code === 'conversation_exists');
      assert.deepEqual((await s.conversations.listMembers(conv)).map((m) => m.role), ['admin']);

      const commit = msg(conv, alice, [], 'commit-1', 'commit', 0);
      const welcome = msg(conv, alice, [bob.device.id, carol.device.id], 'commit-1.w', 'welcome', 0);
      const adds = [{ accountId: bob.account.id, deviceId: bob.device.id }, { accountId: carol.account.id, deviceId: carol.device.id }];
      const r1 = await s.conversations.applyCommit({ conversationId: conv, expectedEpoch: 0, commit, welcome, adds, removes: [] });
      assert.equal(r1.epoch, 1);
      assert.deepEqual(r1.welcome!.deliveries.map((x) => x.deviceId).sort(), [bob.device.id, carol.device.id].sort());
      const again = await s.conversations.applyCommit({ conversationId: conv, expectedEpoch: 0, commit: { ...commit, id: rid('m') }, welcome: null, adds, removes: [] });
      assert.equal(again.commit.duplicate, true, 'a retried commit is idempotent');
      await assert.rejects(s.conversations.applyCommit({ conversationId: conv, expectedEpoch: 0, commit: msg(conv, bob, [], 'late', 'commit'), welcome: null, adds: [], removes: [] }), (e: Error & { code?: string }) => e.code === 'stale_epoch');
      await assert.rejects(s.conversations.applyCommit({ conversationId: conv, expectedEpoch: 1, commit: msg(conv, bob, [], 'dup-add', 'commit', 1), welcome: null, adds: [adds[0]!], removes: [] }), (e: Error & { code?: string }) => e.code === 'member_conflict');
      assert.equal((await s.conversations.getConversation(conv))!.epoch, 1);
      assert.equal(await s.conversations.isDeviceInConversation(conv, bob.device.id), true);
      assert.deepEqual((await s.conversations.listConversationsForDevice(carol.device.id)).map((c) => c.id), [conv]);

      // Appends: gap-free seq in batch order, idempotent per sender device + client id.
      const batch = [msg(conv, alice, [bob.device.id, carol.device.id], 'x1'), msg(conv, bob, [alice.device.id, carol.device.id], 'x2'), msg(conv, alice, [bob.device.id, carol.device.id], 'x1')];
      const queuedBefore = await s.conversations.countAllPendingDeliveries();
      const res = await s.conversations.appendMessages(batch);
      assert.deepEqual(res.map((r) => r.duplicate), [false, false, true]);
      assert.equal(await s.conversations.countAllPendingDeliveries(), queuedBefore + 4, 'two new messages for two devices each (metrics queue depth)');
      assert.equal(res[2]!.message.id, res[0]!.message.id);
      assert.deepEqual(res.slice(0, 2).map((r) => r.message.seq), [r1.welcome!.message.seq + 1, r1.welcome!.message.seq + 2]);
      assert.equal(res[2]!.deliveries.length, 0);

      // Queues: carol has the welcome, then x1, x2 in order; acks only touch her own entries.
      const pending = await s.conversations.pendingDeliveries(carol.device.id, 0, 10);
      assert.deepEqual(pending.map((p) => p.message.clientMessageId), ['commit-1.w', 'x1', 'x2']);
      assert.deepEqual(pending.map((p) => p.cursor), [...pending.map((p) => p.cursor)].sort((x, y) => x - y));
      assert.deepEqual((await s.conversations.pendingDeliveries(carol.device.id, pending[0]!.cursor, 10)).map((p) => p.message.clientMessageId), ['x1', 'x2']);
      assert.equal(await s.conversations.ackDeliveries(bob.device.id, [pending[1]!.cursor]), 0, 'not bob\'s entry');
      assert.equal(await s.conversations.ackDeliveries(carol.device.id, [pending[0]!.cursor, pending[1]!.cursor]), 2);
      assert.equal(await s.conversations.countPendingDeliveries(carol.device.id), 1);
      assert.equal(await s.conversations.countAllPendingDeliveries(), queuedBefore + 2, 'carol acknowledged the welcome and x1');

      // Remove carol: she gets the commit that removed her, then nothing more; her membership ends.
      const rm = await s.conversations.applyCommit({ conversationId: conv, expectedEpoch: 1, commit: msg(conv, alice, [bob.device.id, carol.device.id], 'commit-2', 'commit', 1), welcome: null, adds: [], removes: [carol.device.id] });
      assert.equal(rm.epoch, 2);
      assert.ok(rm.commit.deliveries.some((x) => x.deviceId === carol.device.id));
      assert.deepEqual((await s.conversations.listMembers(conv)).map((m) => m.accountId).sort(), [alice.account.id, bob.account.id].sort());
      assert.deepEqual((await s.conversations.listCommits(conv, 0)).map((c) => c.epoch), [0, 1]);
      await s.conversations.setRole(conv, bob.account.id, 'admin');
      assert.equal((await s.conversations.listMembers(conv)).find((m) => m.accountId === bob.account.id)!.role, 'admin');
      assert.deepEqual(await s.conversations.removeAccountFromConversation(conv, bob.account.id), [bob.device.id]);
      assert.deepEqual((await s.conversations.listConversationDevices(conv)).map((x) => x.deviceId), [alice.device.id]);
    });

    it('appends a mixed batch as one: two conversations, repeats, queue order; a missing conversation stores nothing', async () => {
      const alice = await account(s);
      const bob = await account(s);
      const toBob = [bob.device.id];
      const [a, b] = [randomBytes(16).toString('base64url'), randomBytes(16).toString('base64url')];
      for (const conv of [a, b]) {
        await s.conversations.createConversation({ id: conv, kind: 'group', epoch: 0, createdAt: 1, createdBy: alice.account.id }, alice.device.id);
        await s.conversations.applyCommit({ conversationId: conv, expectedEpoch: 0, commit: msg(conv, alice, [], `${conv}.c`, 'commit'), welcome: msg(conv, alice, toBob, `${conv}.w`, 'welcome'), adds: [{ accountId: bob.account.id, deviceId: bob.device.id }], removes: [] });
      }
      const [first] = await s.conversations.appendMessages([msg(a, alice, toBob, 'a1')]);

      const res = await s.conversations.appendMessages([msg(a, alice, toBob, 'x'), msg(b, alice, toBob, 'y'), msg(a, alice, toBob, 'x'), msg(a, alice, toBob, 'a1'), msg(b, alice, toBob, 'z')]);
      assert.deepEqual(res.map((r) => r.duplicate), [false, false, true, true, false]);
      assert.equal(res[2]!.message.id, res[0]!.message.id, 'a repeat inside the batch answers with the first');
      assert.equal(res[3]!.message.id, first!.message.id, 'a repeat of a stored message answers with it');
      assert.equal(res[0]!.message.seq, first!.message.seq + 1);
      assert.equal(res[4]!.message.seq, res[1]!.message.seq + 1, 'gap-free per conversation across the batch');
      assert.deepEqual(res.map((r) => r.deliveries.length), [1, 1, 0, 0, 1]);
      const cursors = [res[0], res[1], res[4]].map((r) => r!.deliveries[0]!.cursor);
      assert.deepEqual(cursors, [...cursors].sort((x, y) => x - y), 'queue entries follow batch order');
      assert.deepEqual((await s.conversations.pendingDeliveries(bob.device.id, first!.deliveries[0]!.cursor, 10)).map((p) => p.message.clientMessageId), ['x', 'y', 'z']);

      await assert.rejects(s.conversations.appendMessages([msg(a, alice, toBob, 'w'), msg(randomBytes(16).toString('base64url'), alice, toBob, 'v')]), (e: Error & { code?: string }) => e.code === 'not_found');
      const [w] = await s.conversations.appendMessages([msg(a, alice, toBob, 'w')]);
      assert.equal(w!.duplicate, false, 'the failed batch stored nothing');
      assert.equal(w!.message.seq, res[0]!.message.seq + 1, 'and took no seq');

      // Acknowledgements in one turn: each cursor counts once, for its own device only.
      const [cx, cy] = cursors;
      assert.deepEqual(await Promise.all([s.conversations.ackDeliveries(bob.device.id, [cx!]), s.conversations.ackDeliveries(bob.device.id, [cx!, cy!]), s.conversations.ackDeliveries(alice.device.id, [cursors[2]!])]), [1, 1, 0]);
      assert.deepEqual((await s.conversations.pendingDeliveries(bob.device.id, first!.deliveries[0]!.cursor, 10)).map((p) => p.message.clientMessageId), ['z', 'w']);
    });

    it('keeps one verification session per code request, each with its own attempts', async () => {
      const phone = '+12025557999';
      await s.accounts.putVerificationSession({ id: 'r_owner', phone, codeHash: 'h', expiresAt: 50, attempts: 0, createdAt: 1 });
      await s.accounts.putVerificationSession({ id: 'r_other', phone, codeHash: 'h2', expiresAt: 5, attempts: 0, createdAt: 2 });
      assert.equal(await s.accounts.incrementVerificationAttempts('r_other'), 1);
      assert.equal(await s.accounts.incrementVerificationAttempts('r_other'), 2);
      assert.equal(await s.accounts.incrementVerificationAttempts('r_missing'), 0);
      // A second request for the number replaced nothing, and its attempts are its own.
      assert.deepEqual(await s.accounts.getVerificationSession('r_owner'), { id: 'r_owner', phone, codeHash: 'h', expiresAt: 50, attempts: 0, createdAt: 1 });
      assert.equal((await s.accounts.getVerificationSession('r_other'))!.attempts, 2);
      await assert.rejects(s.accounts.putVerificationSession({ id: 'r_owner', phone, codeHash: 'h3', expiresAt: 60, attempts: 0, createdAt: 3 }), 'a session id is never reused');
      assert.equal(await s.accounts.deleteExpiredVerificationSessions(10), 1);
      assert.equal(await s.accounts.getVerificationSession('r_other'), null);
      await s.accounts.deleteVerificationSession('r_owner');
      assert.equal(await s.accounts.getVerificationSession('r_owner'), null);
    });

    if (driver === 'postgres') {
      it('stays gap-free and single-winner with two concurrent writers', async () => {
        const other = await createPostgresStorage({ url: env.url! });
        try {
          const alice = await account(s);
          const bob = await account(s);
          const conv = randomBytes(16).toString('base64url');
          await s.conversations.createConversation({ id: conv, kind: 'direct', epoch: 0, createdAt: 1, createdBy: alice.account.id }, alice.device.id);
          await s.conversations.applyCommit({ conversationId: conv, expectedEpoch: 0, commit: msg(conv, alice, [], 'c0', 'commit'), welcome: msg(conv, alice, [bob.device.id], 'c0.w', 'welcome'), adds: [{ accountId: bob.account.id, deviceId: bob.device.id }], removes: [] });
          const writes = Array.from({ length: 40 }, (_, i) => (i % 2 ? s : other).conversations.appendMessages([msg(conv, i % 2 ? alice : bob, [], `p${i}`), msg(conv, i % 2 ? alice : bob, [], `q${i}`)]));
          const seqs = (await Promise.all(writes)).flat().map((r) => r.message.seq).sort((x, y) => x - y);
          assert.deepEqual(seqs, Array.from({ length: 80 }, (_, i) => seqs[0]! + i), 'gap-free and unique');
          const race = await Promise.allSettled([
            s.conversations.applyCommit({ conversationId: conv, expectedEpoch: 1, commit: msg(conv, alice, [], 'ra', 'commit', 1), welcome: null, adds: [], removes: [] }),
            other.applyCommit({ conversationId: conv, expectedEpoch: 1, commit: msg(conv, bob, [], 'rb', 'commit', 1), welcome: null, adds: [], removes: [] }),
          ]);
          assert.equal(race.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one commit per epoch');
          assert.equal((race.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason.code, 'stale_epoch');
        } finally {
          await other.close();
        }
      });
    }
  });
}
