/**
 * `Groups` on one device removed from a group and added back (C2), with real MLS and no server
 * (joining and applying commits at the current epoch need none): the later Welcome replaces the
 * dead state, the device reads the group again, and a duplicate or older Welcome changes nothing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateSigningKeyPair } from '@parley/crypto';
import type { DeliverEvent } from '@parley/protocol';
import { Groups } from '../src/client/groups.ts';
import type { DeviceSession } from '../src/client/session.ts';
import type { DeviceRecord } from '../src/client/types.ts';
import { MemoryStore } from '../src/store/memory.ts';
import * as mls from '../src/mls.ts';

const CONV = 'AAAAAAAAAAAAAAAAAAAAAA';

function device(deviceId: string): DeviceRecord {
  return {
    serverUrl: 'http://127.0.0.1:1',
    phone: '+12025550100',
    accountId: `a_${deviceId}`,
    deviceId,
    token: 't',
    identity: generateSigningKeyPair(),
    signing: generateSigningKeyPair(),
  };
}

function event(kind: DeliverEvent['kind'], epoch: number): DeliverEvent {
  return {
    cursor: 1,
    messageId: 'm_AAAAAAAAAAAAAAAAAAAAAA',
    conversationId: CONV,
    kind,
    seq: 1,
    epoch,
    sender: { accountId: 'a_alice', deviceId: 'd_aliceAAAAAAAAAAAAAAAAA' },
    sentAt: 1,
  };
}

describe('a device removed and added back (Groups)', () => {
  it('joins again from the later Welcome, reads the group, and ignores duplicate or older Welcomes', async () => {
    const alice = device('d_aliceAAAAAAAAAAAAAAAAA');
    const bob = device('d_bobBBBBBBBBBBBBBBBBBBB');
    const store = new MemoryStore();
    const session: DeviceSession = {
      device: () => bob,
      get api(): never {
        throw new Error('no server in this test');
      },
    };
    const groups = new Groups(session, store, {
      request: () => Promise.reject(new Error('no server in this test')),
    });
    const kps = await mls.makeKeyPackages(bob, 2, false);
    await store.set('kp-secrets', kps.secrets);

    let aliceGroup = await mls.newGroup(alice, new Uint8Array(16));
    const add1 = await mls.add(alice, aliceGroup, [kps.oneTime[0]!]);
    aliceGroup = add1.next;
    assert.equal(await groups.join(CONV, add1.welcome, 1), true);
    assert.equal(await groups.isMember(CONV), true);

    // Alice removes Bob; his device learns it from the commit, and who sent it.
    const removal = await mls.remove(alice, aliceGroup, [bob.deviceId]);
    const removedAt = mls.epochOf(aliceGroup);
    aliceGroup = removal.next;
    if (removal.needsKeyUpdate) aliceGroup = (await mls.update(alice, aliceGroup)).next;
    assert.deepEqual(await groups.applyCommit(event('commit', removedAt), removal.commit), {
      removed: true,
      byThisCommit: true,
    });
    assert.equal(await groups.isMember(CONV), false);
    const whileOut = await mls.encrypt(alice, aliceGroup, new TextEncoder().encode('not for bob'));
    aliceGroup = whileOut.next;

    // Added back: the new Welcome replaces the dead state.
    const welcomeEpoch = mls.epochOf(aliceGroup) + 1;
    const add2 = await mls.add(alice, aliceGroup, [kps.oneTime[1]!]);
    aliceGroup = add2.next;
    assert.equal(await groups.join(CONV, add2.welcome, welcomeEpoch), true);
    assert.equal(await groups.isMember(CONV), true);
    assert.equal(mls.epochOf(await groups.state(CONV)), welcomeEpoch);
    const hello = await mls.encrypt(alice, aliceGroup, new TextEncoder().encode('welcome back'));
    aliceGroup = hello.next;
    const plain = await groups.decrypt(event('application', welcomeEpoch), hello.ciphertext);
    assert.equal(new TextDecoder().decode(plain), 'welcome back');

    // What was sent while he was out stays unreadable.
    await assert.rejects(groups.decrypt(event('application', welcomeEpoch - 1), whileOut.ciphertext));

    // The same Welcome again (its KeyPackage is used up) and the first one: nothing changes.
    const state = await groups.state(CONV);
    assert.equal(await groups.join(CONV, add2.welcome, welcomeEpoch), false);
    assert.equal(await groups.join(CONV, add1.welcome, 1), false);
    assert.deepEqual(await groups.state(CONV), state);
  });
});
