/**
 * Group-call frame keys and live reactions through the SDK against a real server (C6, C8): keys
 * travel as MLS messages, rotate when the participants change, and frames sealed under the old key
 * still open; reactions arrive with their target tile, and anything but one emoji is refused.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ParleyClient } from '@parley/sdk';
import { CLEAR_BYTES, parseSFrameHeader } from '@parley/crypto';
import { isParleyError } from '@parley/protocol';
import { callClient, startServer, until, type TestServer } from './calls-helpers.ts';

type Client = ParleyClient & { phone: string };

describe('group-call frame keys and reactions [sqlite]', () => {
  let t: TestServer;
  const clients: Client[] = [];
  let alice: Client;
  let bob: Client;
  let carol: Client;
  let group: string;

  before(async () => {
    t = await startServer('sqlite');
    for (let i = 0; i < 3; i++) clients.push(await callClient(t.url));
    [alice, bob, carol] = clients as [Client, Client, Client];
    group = await alice.createGroup('Voice chat', [bob.self.accountId, carol.self.accountId]);
    await until(
      () => bob.conversations().find((c) => c.id === group) && carol.conversations().find((c) => c.id === group),
      10_000,
      'members join',
    );
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await t?.close();
  });

  it('makes a key on join, rotates it when participants change, and old keys still open in-flight frames', async () => {
    const callId = 'groupcall-keys-1';
    const aliceDevice = alice.self.deviceId;
    const bobGotFirst = bob.calls.once('frame-key', (e) => e.callId === callId && e.from.deviceId === aliceDevice);
    const aliceKeys = await alice.calls.frameKeys(callId, { conversationId: group });
    const k1 = aliceKeys.current!;
    assert.equal(k1.key.length, 32);
    const sender = await aliceKeys.createSender(CLEAR_BYTES.opus);
    assert.equal((await bobGotFirst).keyId, k1.keyId);

    // Bob joins: he makes his own key, and alice gets it.
    const aliceGotBob = alice.calls.once(
      'frame-key',
      (e) => e.callId === callId && e.from.deviceId === bob.self.deviceId,
    );
    const bobKeys = await bob.calls.frameKeys(callId);
    assert.ok(bobKeys.current);
    assert.equal((await aliceGotBob).keyId, bobKeys.current.keyId);
    assert.deepEqual(
      (await alice.calls.frameKeys(callId)).lookup(bob.self.deviceId, bobKeys.current.keyId),
      bobKeys.current.key,
    );

    const receiver = await bobKeys.createReceiver(aliceDevice, CLEAR_BYTES.opus);
    assert.deepEqual(bobKeys.lookup(aliceDevice, k1.keyId), k1.key);
    const f1 = new Uint8Array(120).map((_, i) => (i * 3) & 255);
    const inFlight = await sender.encrypt(f1);

    // Carol joins the call: alice rotates, and her sender switches to the new key.
    const bobGotSecond = bob.calls.once(
      'frame-key',
      (e) => e.callId === callId && e.from.deviceId === aliceDevice && e.keyId !== k1.keyId,
    );
    assert.equal(await aliceKeys.setParticipants([bob.self.deviceId, carol.self.deviceId]), true);
    const k2 = aliceKeys.current!;
    assert.notEqual(k2.keyId, k1.keyId);
    assert.notDeepEqual(k2.key, k1.key);
    assert.equal((await bobGotSecond).keyId, k2.keyId);
    const f2 = new Uint8Array(120).map((_, i) => (i * 5) & 255);
    const fresh = await sender.encrypt(f2);
    assert.equal(parseSFrameHeader(inFlight.subarray(1)).keyId, k1.keyId);
    assert.equal(parseSFrameHeader(fresh.subarray(1)).keyId, k2.keyId);
    assert.deepEqual(await receiver.decrypt(inFlight), f1, 'a frame sealed before the rotation still opens');
    assert.deepEqual(await receiver.decrypt(fresh), f2);
    assert.deepEqual(bobKeys.keyIdsOf(aliceDevice), [k1.keyId, k2.keyId]);

    // Same participants again: no rotation.
    assert.equal(await aliceKeys.setParticipants([carol.self.deviceId, bob.self.deviceId]), false);
    assert.equal(aliceKeys.current!.keyId, k2.keyId);
    // A receiver bound to another device has no key for alice's frames.
    const wrong = await bobKeys.createReceiver(carol.self.deviceId, CLEAR_BYTES.opus);
    await assert.rejects(wrong.decrypt(fresh), (e: unknown) => isParleyError(e) && e.code === 'frame_key_unknown');
  });

  it('keeps only the last few keys per sender', async () => {
    const callId = 'groupcall-keys-2';
    const aliceKeys = await alice.calls.frameKeys(callId, { conversationId: group });
    const ids = [aliceKeys.current!.keyId];
    for (let i = 0; i < 5; i++) ids.push((await aliceKeys.rotate()).keyId);
    await until(
      () => carol.calls.frameKeys(callId).then((k) => k.keyIdsOf(alice.self.deviceId).includes(ids.at(-1)!)),
      10_000,
      'carol has the latest key',
    );
    const carolKeys = await carol.calls.frameKeys(callId);
    assert.deepEqual(carolKeys.keyIdsOf(alice.self.deviceId), ids.slice(-4), 'four kept (the default)');
  });

  it('delivers a live reaction with its target tile, and refuses anything but one emoji', async () => {
    const callId = 'groupcall-react-1';
    const target = { accountId: carol.self.accountId, deviceId: carol.self.deviceId };
    const atBob = bob.calls.once('reaction');
    const atCarol = carol.calls.once('reaction');
    await alice.calls.sendReaction(group, callId, '👏🏽', target, true);
    for (const e of [await atBob, await atCarol]) {
      assert.equal(e.emoji, '👏🏽');
      assert.deepEqual(e.target, target);
      assert.equal(e.auto, true);
      assert.equal(e.callId, callId);
      assert.deepEqual(e.from, { accountId: alice.self.accountId, deviceId: alice.self.deviceId });
    }
    const badRequest = (e: unknown) => isParleyError(e) && e.code === 'bad_request';
    for (const emoji of ['hi', '👏👏', '', 'a👏'])
      await assert.rejects(alice.calls.sendReaction(group, callId, emoji, target), badRequest, `"${emoji}"`);
    await assert.rejects(
      alice.calls.sendReaction(group, callId, '👍', { accountId: 'nobody', deviceId: carol.self.deviceId }),
      badRequest,
    );
    // Reactions are live only: nothing waits in any queue for them.
    await bob.idle();
    await until(
      async () => (await t.server.ctx.storage.conversations.countPendingDeliveries(bob.self.deviceId)) === 0,
      5_000,
      'bob queue empty',
    );
    // Only the group's system line ("… added you") is in the history.
    assert.equal(
      (await bob.messages(group)).filter((m) => !m.system).length,
      0,
      'reactions never become chat messages',
    );
  });
});
