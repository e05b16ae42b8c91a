/**
 * Encrypted backup and restore (C16) with real clients against a real server, on SQLite and
 * PostgreSQL: Bob backs up, registers his number again on a fresh device (a new identity key, his
 * old device revoked), and restores. A wrong passphrase, a truncated or tampered file and another
 * account's backup are refused with nothing written. The restored history is readable, searchable
 * and its photo downloadable; the chats wait inactive until Alice adds Bob back, and then messages
 * flow both ways in the 1:1 chat and the group.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import {
  MemoryStore,
  generateRecoveryKey,
  isParleyError,
  readBackupHeader,
  type ParleyClient,
  type WebSocketCtor,
} from '@parley/sdk';
import { registerTestClient, until } from '@parley/sdk/testing';
import { availableDrivers, startServer, type TestServer } from '@parley/testkit';

const drivers = await availableDrivers();
const WS = WebSocket as unknown as WebSocketCtor;
/** Cheap Argon2id for the test; the file records it and restore reads it from there. */
const FAST = { opsLimit: 1, memLimitBytes: 8 * 1024 * 1024 };
const pass = { passphrase: 'a long walk to the lighthouse' };

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => isParleyError(e) && e.code === code, `expected ${code}`);
}

/** Every entry of a store, for before/after comparison. */
async function snapshot(store: MemoryStore): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const k of (await store.keys('')).sort()) out[k] = await store.get(k);
  return out;
}

for (const { driver, skip } of drivers) {
  describe(`backup and restore [${driver}]`, { skip }, () => {
    let t: TestServer;
    const clients: ParleyClient[] = [];
    let alice: ParleyClient & { phone: string };
    let bob: ParleyClient & { phone: string };
    let carol: ParleyClient & { phone: string };
    let direct: string;
    let group: string;
    const photo = new Uint8Array(20_000).map((_, i) => (i * 31) % 251);

    before(async () => {
      t = await startServer(driver);
      alice = await registerTestClient(t.url, { WebSocket: WS });
      bob = await registerTestClient(t.url, { WebSocket: WS });
      carol = await registerTestClient(t.url, { WebSocket: WS });
      clients.push(alice, bob, carol);
      direct = await alice.startDirect(bob.self.accountId);
      const hello = await alice.sendText(direct, 'Meet at the lighthouse at noon');
      await until(async () => (await bob.messages(direct)).some((m) => m.id === hello.id), 10_000, 'bob has hello');
      await bob.sendText(direct, 'I will bring the map');
      await alice.sendMedia(direct, { bytes: photo, mimeType: 'image/png', kind: 'image', fileName: 'map.png' });
      group = await alice.createGroup('Lighthouse keepers', [bob.self.accountId, carol.self.accountId]);
      await carol.setProfile({ name: 'Carol' });
      const g = await alice.sendText(group, 'Keepers, the lamp needs oil');
      await until(async () => (await bob.messages(direct)).some((m) => m.attachment), 10_000, 'bob has the photo');
      await until(async () => (await bob.messages(group)).some((m) => m.id === g.id), 10_000, 'bob has the group');
      await bob.pin(direct, true);
    });
    after(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await t?.close();
    });

    it(
      'restores the history on a re-registered device, refuses bad files, and rejoins by being added back',
      { timeout: 120_000 },
      async () => {
        const made = await bob.createBackup(pass, FAST);
        assert.equal(made.conversations, 2);
        assert.ok(made.messages >= 4, `messages counted: ${made.messages}`);
        assert.equal(readBackupHeader(made.bytes).kdf, 'argon2id');
        const recoveryKey = generateRecoveryKey();
        const byKey = await bob.createBackup({ recoveryKey });
        assert.equal(readBackupHeader(byKey.bytes).kdf, 'recovery-key');
        const carols = await carol.createBackup(pass, FAST);
        // Nothing secret of the device is in it: the plaintext is checked by restoring below, and the
        // file has no readable trace of the texts.
        assert.ok(!Buffer.from(made.bytes).includes('lighthouse'));

        // Bob's phone is lost: his number registers again on a fresh device.
        const oldBob = bob;
        await oldBob.close();
        const store = new MemoryStore();
        bob = await registerTestClient(t.url, { WebSocket: WS, phone: oldBob.phone, store });
        clients.push(bob);
        assert.equal(bob.self.accountId, oldBob.self.accountId, 'the same number keeps its account');
        assert.notEqual(bob.self.deviceId, oldBob.self.deviceId);

        // Refused files write nothing.
        const before = await snapshot(store);
        await rejectsWith(
          bob.restoreBackup(made.bytes, { passphrase: 'a long walk to the lighthouse!' }),
          'backup_wrong_secret',
        );
        await rejectsWith(bob.restoreBackup(made.bytes.subarray(0, made.bytes.length - 10), pass), 'backup_truncated');
        const tampered = made.bytes.slice();
        tampered[120]! ^= 0x40;
        await rejectsWith(bob.restoreBackup(tampered, pass), 'backup_tampered');
        const newer = made.bytes.slice();
        newer[8] = 9;
        await rejectsWith(bob.restoreBackup(newer, pass), 'backup_version');
        await rejectsWith(bob.restoreBackup(carols.bytes, pass), 'backup_wrong_account');
        await rejectsWith(
          bob.restoreBackup(byKey.bytes, { recoveryKey: generateRecoveryKey() }),
          'backup_wrong_secret',
        );
        assert.deepEqual(await snapshot(store), before, 'nothing written by a refused restore');
        assert.equal(bob.history.conversations().length, 0);

        // The right recovery key restores; restoring the passphrase file too adds nothing twice.
        const restored = await bob.restoreBackup(byKey.bytes, { recoveryKey });
        assert.equal(restored.conversations, 2);
        assert.deepEqual(restored.awaitingRejoin.sort(), [direct, group].sort());
        const again = await bob.restoreBackup(made.bytes, pass);
        assert.equal(again.messages, 0, 'a second restore adds no duplicates');
        for (const k of await store.keys('')) {
          assert.ok(!k.startsWith('group:'), `no MLS state restored: ${k}`);
          assert.ok(k !== 'kp-secrets' || (await store.get('device')), 'KeyPackage secrets are the new device’s own');
        }

        const texts = (await bob.messages(direct)).map((m) => m.text);
        assert.deepEqual(texts.slice(0, 2), ['Meet at the lighthouse at noon', 'I will bring the map']);
        const hits = await bob.search('lamp');
        assert.deepEqual(
          hits.map((h) => h.conversationId),
          [group],
        );
        const att = (await bob.messages(direct)).find((m) => m.attachment)!.attachment!;
        assert.deepEqual(await bob.downloadMedia(att), photo, 'the photo downloads with its restored key');
        const conv = bob.history.conversation(direct)!;
        assert.equal(conv.active, false);
        assert.equal(conv.awaitingRejoin, true);
        assert.ok(conv.pinnedAt, 'placement restored');
        await rejectsWith(bob.sendText(direct, 'am I back?'), 'not_member');
        assert.ok(!(await bob.messages(direct)).some((m) => m.text === 'am I back?'), 'no failed message recorded');
        // No second chat with Alice beside the restored one.
        await rejectsWith(bob.startDirect(alice.self.accountId), 'not_member');

        // Alice adds Bob's account back to both chats: his new device joins with its history in place.
        await alice.addMembers(direct, [bob.self.accountId]);
        await alice.addMembers(group, [bob.self.accountId]);
        await until(
          () => bob.history.conversation(direct)?.active && bob.history.conversation(group)?.active,
          20_000,
          'rejoined',
        );
        assert.equal(bob.history.conversation(direct)?.awaitingRejoin, undefined);
        assert.ok(bob.history.conversation(direct)?.pinnedAt, 'still pinned after rejoining');

        const a1 = await alice.sendText(direct, 'Welcome back, Bob');
        await until(async () => (await bob.messages(direct)).some((m) => m.id === a1.id), 10_000, 'bob reads alice');
        const b1 = await bob.sendText(direct, 'Good to be back');
        await until(async () => (await alice.messages(direct)).some((m) => m.id === b1.id), 10_000, 'alice reads bob');
        const b2 = await bob.sendText(group, 'Oil is on its way');
        await until(async () => (await carol.messages(group)).some((m) => m.id === b2.id), 10_000, 'carol reads bob');
        await until(async () => (await alice.messages(group)).some((m) => m.id === b2.id), 10_000, 'alice reads bob');
        const c1 = await carol.sendText(group, 'Thanks Bob');
        await until(async () => (await bob.messages(group)).some((m) => m.id === c1.id), 10_000, 'bob reads carol');
        const history = (await bob.messages(direct)).map((m) => m.text);
        assert.equal(history[0], 'Meet at the lighthouse at noon', 'old history kept ahead of the new messages');
        assert.ok(history.includes('Welcome back, Bob') && history.includes('Good to be back'));
      },
    );
  });
}
