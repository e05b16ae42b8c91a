/** MLS group flow through the public wrapper (C2): devices as members, Welcome joins, removals. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isParleyError } from '@parley/protocol';
import {
  addMembers,
  createGroup,
  decryptMessage,
  deserializeGroup,
  encryptMessage,
  findWelcomeBundle,
  generateKeyPackages,
  groupEpoch,
  groupId,
  groupIsActive,
  groupMembers,
  inspectCommitEpoch,
  inspectMlsMessage,
  joinFromWelcome,
  processCommit,
  removeMembers,
  serializeGroup,
  updateKeys,
  type MlsGroup,
} from '../src/index.ts';
import { badKeyPackages, testDeviceIdentity } from '../src/testing.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function send(from: MlsGroup, text: string) {
  return encryptMessage(from, enc(text));
}

test('three devices: create, add by KeyPackage, Welcome join, messages both ways, remove', async () => {
  const alice = testDeviceIdentity();
  const bob = testDeviceIdentity();
  const carol = testDeviceIdentity();
  const bobKps = await generateKeyPackages(bob, 2);
  const carolKps = await generateKeyPackages(carol, 1, { lastResort: true });
  const id = globalThis.crypto.getRandomValues(new Uint8Array(16));

  let a = await createGroup(alice, id);
  assert.equal(groupEpoch(a), 0);
  assert.deepEqual(groupMembers(a), [alice.deviceId]);
  assert.deepEqual(groupId(a), id);

  const before = serializeGroup(a);
  const added = await addMembers(a, [bobKps.publicKeyPackages[1]!, carolKps.publicKeyPackages[0]!]);
  // The input state is untouched: the caller adopts `next` only once the server accepts.
  assert.deepEqual(serializeGroup(a), before);
  assert.equal(groupEpoch(a), 0);
  assert.equal(groupEpoch(added.next), 1);
  assert.deepEqual(added.added, [bob.deviceId, carol.deviceId]);

  // What the server can see.
  const info = inspectMlsMessage(added.commit);
  assert.equal(info.wireformat, 'public_message');
  assert.equal(info.contentType, 'commit');
  assert.equal(info.epoch, 0);
  assert.equal(info.senderLeafIndex, 0);
  assert.deepEqual(info.addedDeviceIds, [bob.deviceId, carol.deviceId]);
  assert.deepEqual(inspectCommitEpoch(added.commit), { groupId: id, epoch: 0 });
  const welcomeInfo = inspectMlsMessage(added.welcome);
  assert.equal(welcomeInfo.wireformat, 'welcome');
  assert.equal(welcomeInfo.welcomeKeyPackageRefs!.length, 2);
  a = added.next;

  assert.equal(findWelcomeBundle(added.welcome, bobKps.privateBundles), bobKps.privateBundles[1]);
  let b = await joinFromWelcome(bob, added.welcome, bobKps.privateBundles);
  let c = await joinFromWelcome(carol, added.welcome, carolKps.privateBundles);
  for (const g of [a, b, c]) {
    assert.equal(groupEpoch(g), 1);
    assert.deepEqual(groupMembers(g), [alice.deviceId, bob.deviceId, carol.deviceId]);
  }
  // Carol's KeyPackage secret in Bob's hands joins Carol's leaf, which does not carry Bob's id.
  await assert.rejects(joinFromWelcome(bob, added.welcome, carolKps.privateBundles), (e: unknown) =>
    isParleyError(e, 'bad_request'),
  );
  await assert.rejects(joinFromWelcome(bob, added.welcome, []), (e: unknown) => isParleyError(e, 'bad_request'));

  // Alice → everyone, Bob → Alice, Carol → Alice and Bob.
  const m1 = await send(a, 'hello from alice');
  a = m1.next;
  assert.equal(inspectMlsMessage(m1.ciphertext).contentType, 'application');
  const r1b = await decryptMessage(b, m1.ciphertext);
  b = r1b.next;
  assert.equal(dec(r1b.plaintext), 'hello from alice');
  assert.equal(r1b.senderDeviceId, alice.deviceId);
  const r1c = await decryptMessage(c, m1.ciphertext);
  c = r1c.next;
  assert.equal(r1c.senderDeviceId, alice.deviceId);

  const m2 = await send(b, 'hi alice, bob here');
  b = m2.next;
  const r2 = await decryptMessage(a, m2.ciphertext);
  a = r2.next;
  assert.equal(dec(r2.plaintext), 'hi alice, bob here');
  assert.equal(r2.senderDeviceId, bob.deviceId);

  const m3 = await send(c, 'carol');
  c = m3.next;
  const r3a = await decryptMessage(a, m3.ciphertext);
  a = r3a.next;
  assert.equal(r3a.senderDeviceId, carol.deviceId);
  const r3b = await decryptMessage(b, m3.ciphertext);
  b = r3b.next;
  assert.equal(dec(r3b.plaintext), 'carol');

  // Tampering is detected.
  const m4 = await send(a, 'tamper me');
  a = m4.next;
  const bad = m4.ciphertext.slice();
  bad[bad.length - 5] = bad[bad.length - 5]! ^ 0x01;
  await assert.rejects(decryptMessage(b, bad), (e: unknown) => isParleyError(e));

  // Persistence round-trip keeps working state.
  a = deserializeGroup(serializeGroup(a));
  b = deserializeGroup(serializeGroup(b));

  // Bob removes Carol; Alice and Carol process the commit.
  const carolBeforeRemoval = c;
  const removed = await removeMembers(b, [carol.deviceId]);
  b = removed.next;
  assert.equal(inspectMlsMessage(removed.commit).removedLeafIndices!.length, 1);
  // RFC 9420 §12.4: any Remove needs an UpdatePath (patches/ts-mls+2.0.0-rc.10.patch restores that).
  assert.equal(removed.needsKeyUpdate, false, 'a single removal carries an UpdatePath');
  const pa = await processCommit(a, removed.commit);
  a = pa.next;
  assert.deepEqual(pa.removed, [carol.deviceId]);
  assert.deepEqual(pa.added, []);
  assert.equal(pa.selfRemoved, false);
  const pc = await processCommit(c, removed.commit);
  assert.equal(pc.selfRemoved, true);
  assert.deepEqual(pc.removed, [carol.deviceId]);
  c = pc.next;
  assert.equal(groupIsActive(c), false);
  if (removed.needsKeyUpdate) {
    const upd = await updateKeys(b);
    b = upd.next;
    a = (await processCommit(a, upd.commit)).next;
    await assert.rejects(processCommit(c, upd.commit), (e: unknown) => isParleyError(e, 'not_member'));
  }
  assert.deepEqual(groupMembers(a), [alice.deviceId, bob.deviceId]);
  assert.equal(groupEpoch(a), groupEpoch(b));

  // New messages: the remaining members read them, Carol cannot (neither her removed state nor her old one).
  const m5 = await send(a, 'carol is gone');
  a = m5.next;
  const r5 = await decryptMessage(b, m5.ciphertext);
  assert.equal(dec(r5.plaintext), 'carol is gone');
  await assert.rejects(decryptMessage(c, m5.ciphertext), (e: unknown) => isParleyError(e, 'not_member'));
  await assert.rejects(decryptMessage(carolBeforeRemoval, m5.ciphertext), (e: unknown) =>
    isParleyError(e, 'stale_epoch'),
  );
  await assert.rejects(encryptMessage(c, enc('still here?')), (e: unknown) => isParleyError(e, 'not_member'));
});

test('a stale commit (built on an old epoch) cannot be applied by others', async () => {
  const [alice, bob, carol] = [testDeviceIdentity(), testDeviceIdentity(), testDeviceIdentity()];
  const bobKp = await generateKeyPackages(bob, 1);
  const carolKp = await generateKeyPackages(carol, 2);
  let a = await createGroup(alice, globalThis.crypto.getRandomValues(new Uint8Array(16)));
  const add = await addMembers(a, [bobKp.publicKeyPackages[0]!]);
  a = add.next;
  let b = await joinFromWelcome(bob, add.welcome, bobKp.privateBundles);

  // Both commit on epoch 1; the server takes Bob's, Alice's becomes stale.
  const bobCommit = await updateKeys(b);
  const aliceCommit = await addMembers(a, [carolKp.publicKeyPackages[0]!]);
  assert.equal(inspectCommitEpoch(bobCommit.commit).epoch, 1);
  assert.equal(inspectCommitEpoch(aliceCommit.commit).epoch, 1);
  b = bobCommit.next;
  a = (await processCommit(a, bobCommit.commit)).next;
  assert.equal(groupEpoch(a), 2);
  await assert.rejects(processCommit(b, aliceCommit.commit), (e: unknown) => isParleyError(e, 'stale_epoch'));
  // Replaying an already applied commit is stale too.
  await assert.rejects(processCommit(a, bobCommit.commit), (e: unknown) => isParleyError(e, 'stale_epoch'));

  // Alice rebuilds on the new epoch and it applies.
  const retry = await addMembers(a, [carolKp.publicKeyPackages[1]!]);
  a = retry.next;
  const pb = await processCommit(b, retry.commit);
  assert.deepEqual(pb.added, [carol.deviceId]);
  assert.equal(groupEpoch(pb.next), groupEpoch(a));
});

test('addMembers and removeMembers refuse bad input', async () => {
  const alice = testDeviceIdentity();
  const bob = testDeviceIdentity();
  const bobKp = await generateKeyPackages(bob, 2);
  let a = await createGroup(alice, globalThis.crypto.getRandomValues(new Uint8Array(16)));
  const corpus = await badKeyPackages();
  for (const c of corpus.cases.filter((x) => x.expected !== 'keypackage_wrong_credential')) {
    await assert.rejects(addMembers(a, [c.bytes]), (e: unknown) => isParleyError(e, c.expected), c.name);
  }
  await assert.rejects(addMembers(a, [bobKp.publicKeyPackages[0]!, bobKp.publicKeyPackages[1]!]), (e: unknown) =>
    isParleyError(e, 'member_conflict'),
  );
  a = (await addMembers(a, [bobKp.publicKeyPackages[0]!])).next;
  await assert.rejects(addMembers(a, [bobKp.publicKeyPackages[1]!]), (e: unknown) =>
    isParleyError(e, 'member_conflict'),
  );
  await assert.rejects(removeMembers(a, [testDeviceIdentity().deviceId]), (e: unknown) =>
    isParleyError(e, 'member_conflict'),
  );
  await assert.rejects(processCommit(a, new Uint8Array([1, 2, 3])), (e: unknown) => isParleyError(e, 'bad_request'));
  assert.throws(
    () => deserializeGroup(new Uint8Array([0, 1, 9, 9])),
    (e: unknown) => isParleyError(e, 'bad_request'),
  );
});

test('processCommit refuses a commit adding a KeyPackage with a mixed-order key (ts-mls alone accepts it)', async () => {
  const { createCommit, encode, mlsMessageEncoder, defaultProposalTypes } = await import('ts-mls');
  const { mlsContext } = await import('../src/mls-context.ts');
  const { decodeKeyPackageMessage } = await import('../src/mls-identity.ts');
  const { patchKeyPackage, badKeyCorpus } = await import('../src/testing.ts');
  const [alice, bob, mallory] = [testDeviceIdentity(), testDeviceIdentity(), testDeviceIdentity()];
  const bobKp = await generateKeyPackages(bob, 1);
  let a = await createGroup(alice, globalThis.crypto.getRandomValues(new Uint8Array(16)));
  const add = await addMembers(a, [bobKp.publicKeyPackages[0]!]);
  a = add.next;
  const b = await joinFromWelcome(bob, add.welcome, bobKp.privateBundles);
  const good = (await generateKeyPackages(mallory, 1)).publicKeyPackages[0]!;
  // A mixed-order init key still works for HPKE (X25519 clamps away the torsion part), so ts-mls
  // happily encrypts a Welcome to it; our checks must stop it on the receiving side.
  const mixed = badKeyCorpus().find((k) => k.name === 'x25519 mixed order (key + order-8 point)')!.bytes;
  const sameKeys = patchKeyPackage(good, mallory.signingKey.privateKey, { initKey: mixed });
  // A committer running plain ts-mls (not our addMembers) gets this through.
  const raw = await createCommit({
    context: await mlsContext(),
    state: a.state,
    wireAsPublicMessage: true,
    ratchetTreeExtension: true,
    extraProposals: [
      { proposalType: defaultProposalTypes.add, add: { keyPackage: decodeKeyPackageMessage(sameKeys) } },
    ],
  });
  await assert.rejects(processCommit(b, encode(mlsMessageEncoder, raw.commit)), (e: unknown) =>
    isParleyError(e, 'key_mixed_order'),
  );
});
