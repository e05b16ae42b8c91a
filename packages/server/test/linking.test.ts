/**
 * Linked devices (C1, docs/devices.md), with real SDK clients, real MLS and a real server on SQLite
 * and PostgreSQL: a second device of an account is linked through a link code (the server relays
 * ciphertext only), is added to the account's chats, receives what contacts send, shows what its
 * sibling sent as sent by this account, is in contacts' new chats, appears in the signed device
 * list, and once unlinked is refused at its next request and left out of the groups. Bad input:
 * a code used twice, an expired code, a forged request, a full account, a certificate not under
 * the identity key, a forged or stale device list: each a catalogued error that changes nothing.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { deviceCertMessage, deviceListMessage, toB64 } from '@parley/protocol';
import { generateSigningKeyPair, generateLinkKeyPair, sign } from '@parley/crypto';
import {
  MemoryStore,
  ParleyClient,
  ParleyError,
  linkUri,
  parseLinkUri,
  type LocalMessage,
  type WebSocketCtor,
} from '@parley/sdk';
import { availableDrivers, newClient, startServer, until, type TestServer } from '@parley/testkit';
import { deviceToken } from '@parley/sdk/testing';
import { sweepExpiredCodes } from '../src/actions/accounts.ts';

const drivers = await availableDrivers();

/** A fresh, unregistered device. */
function freshDevice(): Promise<ParleyClient> {
  return ParleyClient.open({ store: new MemoryStore(), WebSocket: WebSocket as unknown as WebSocketCtor });
}

/** Link a fresh device to `existing`'s account and connect it. */
async function link(existing: ParleyClient, name = 'Laptop') {
  const fresh = await freshDevice();
  const pending = await existing.startLink();
  const [linked] = await Promise.all([
    pending.wait({ timeoutMs: 30_000 }),
    fresh.joinLink(pending.uri, { deviceName: name, timeoutMs: 30_000 }),
  ]);
  await fresh.connect();
  return { fresh, linked };
}

async function texts(client: ParleyClient, conversationId: string): Promise<LocalMessage[]> {
  return (await client.messages(conversationId)).filter((m) => !m.system);
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ParleyError) return e.code;
    throw e;
  }
  return 'no error';
}

async function httpCode(url: string, method: string, path: string, token: string | null, body?: unknown) {
  const res = await fetch(url + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await res.json()) as { error?: { code: string } };
  return { status: res.status, code: json.error?.code ?? 'ok', body: json };
}

for (const { driver, skip } of drivers) {
  describe(`linked devices (${driver})`, { skip }, () => {
    let t: TestServer;
    /** Added to the server's clock, to let link codes expire. */
    let skew = 0;
    const open: ParleyClient[] = [];
    before(async () => {
      t = await startServer(driver, { maxLinkedDevices: 2 }, { now: () => Date.now() + skew });
    });
    after(async () => {
      for (const c of open) await c.close().catch(() => undefined);
      await t.close();
    });

    it('links a device that gets the chats, messages both ways, contacts see it; unlinked it is refused', async () => {
      const alice = await newClient(t.url);
      const bob = await newClient(t.url);
      open.push(alice, bob);
      const direct = await alice.startDirect(bob.self.accountId);
      await alice.sendText(direct, 'before the link');
      await until(async () => (await texts(bob, direct)).length === 1, 10_000, 'bob has the first message');
      const earlier = await alice.createGroup('Before the link', [bob.self.accountId]);

      const { fresh: laptop, linked } = await link(alice);
      open.push(laptop);
      assert.equal(laptop.self.accountId, alice.self.accountId);
      assert.equal(laptop.self.deviceId, linked.deviceId);
      assert.notEqual(laptop.self.deviceId, alice.self.deviceId);
      assert.equal(linked.conversations, 2);
      await until(() => laptop.history.conversation(direct)?.active, 10_000, 'the laptop is in the direct chat');
      // A group from before the link: the laptop is in it and learns its name.
      await until(
        () => laptop.history.conversation(earlier)?.name === 'Before the link',
        10_000,
        'the laptop has the earlier group, named',
      );

      // A contact's message reaches both devices of the account.
      await bob.sendText(direct, 'to both of you');
      for (const device of [alice, laptop])
        await until(
          async () => (await texts(device, direct)).some((m) => m.text === 'to both of you' && !m.outgoing),
          10_000,
          'the message on each device',
        );

      // What the laptop sends reaches the contact, and shows on the phone as sent by this account.
      await laptop.sendText(direct, 'from the laptop');
      const onBob = await until(
        async () => (await texts(bob, direct)).find((m) => m.text === 'from the laptop'),
        10_000,
        'bob gets the laptop message',
      );
      assert.equal(onBob.from, alice.self.accountId);
      const onPhone = await until(
        async () => (await texts(alice, direct)).find((m) => m.text === 'from the laptop'),
        10_000,
        'the phone shows the laptop message',
      );
      assert.equal(onPhone.outgoing, true);
      assert.equal(onPhone.fromDevice, laptop.self.deviceId);

      // The account's devices, and the signed list contacts verify.
      const devices = await laptop.devices();
      assert.deepEqual(devices.map((d) => d.deviceId).sort(), [alice.self.deviceId, laptop.self.deviceId].sort());
      assert.equal(devices.find((d) => d.current)?.deviceId, laptop.self.deviceId);
      assert.equal(devices.find((d) => d.deviceId === laptop.self.deviceId)?.name, 'Laptop');
      const list = await bob.deviceListOf(alice.self.accountId);
      assert.ok(list);
      assert.deepEqual(list.devices.map((d) => d.deviceId).sort(), devices.map((d) => d.deviceId).sort());
      assert.deepEqual(list.unlisted, []);

      // A contact's new group holds every device of the account.
      const group = await bob.createGroup('Trip', [alice.self.accountId]);
      for (const device of [alice, laptop])
        await until(() => device.history.conversation(group)?.active, 10_000, 'each device joins the new group');
      await bob.sendText(group, 'group hello');
      await until(
        async () => (await texts(laptop, group)).some((m) => m.text === 'group hello'),
        10_000,
        'laptop reads the group',
      );

      // Unlink from the phone: the laptop's next request is refused, it is out of the groups, and
      // contacts see a new device list version.
      const changes: number[] = [];
      bob.on('devices-changed', (e) => changes.push(e.current));
      const revoked: string[] = [];
      laptop.on('revoked', (e) => revoked.push(e.reason));
      const unlinked = await alice.unlinkDevice(laptop.self.deviceId);
      assert.equal(unlinked.conversations, 3);
      assert.equal(await codeOf(laptop.api.me()), 'unauthenticated');
      // Its open socket is closed for good, and the client says so (a UI then wipes the device).
      await until(() => revoked.length > 0, 10_000, 'the laptop learns it was revoked');
      const after = await bob.deviceListOf(alice.self.accountId);
      assert.deepEqual(
        after?.devices.map((d) => d.deviceId),
        [alice.self.deviceId],
      );
      assert.deepEqual(changes, [after?.version]);
      const info = await bob.api.getConversation(group);
      assert.deepEqual(info.members.find((m) => m.accountId === alice.self.accountId)?.devices, [alice.self.deviceId]);
      await bob.sendText(group, 'after the unlink');
      await until(
        async () => (await texts(alice, group)).some((m) => m.text === 'after the unlink'),
        10_000,
        'phone still reads',
      );
      assert.equal(
        (await texts(laptop, group)).some((m) => m.text === 'after the unlink'),
        false,
      );
      assert.equal(await codeOf(alice.unlinkDevice(laptop.self.deviceId)), 'device_not_found');
    });

    it('refuses a code used twice, an expired code, a forged request, a full account and a foreign certificate', async () => {
      const alice = await newClient(t.url);
      open.push(alice);
      const token = deviceToken(alice);
      const countDevices = async () => (await alice.devices()).length;

      // Used twice: the second device gets link_used, and only the first is linked.
      const pending = await alice.startLink();
      const first = await freshDevice();
      const second = await freshDevice();
      const waiting = pending.wait({ timeoutMs: 30_000 });
      const joined = first.joinLink(pending.uri, { timeoutMs: 30_000 });
      await until(async () => (await alice.api.linkStatus(pending.linkId)).state !== 'open', 10_000, 'first answered');
      assert.equal(await codeOf(second.joinLink(pending.uri, { timeoutMs: 5_000 })), 'link_used');
      await Promise.all([waiting, joined]);
      assert.equal(second.registered, false);
      assert.equal(await countDevices(), 2);
      open.push(first);

      // Expired: past 10 minutes the code is refused.
      const stale = await alice.startLink();
      skew = 11 * 60_000;
      assert.equal(await codeOf((await freshDevice()).joinLink(stale.uri, { timeoutMs: 5_000 })), 'link_expired');
      assert.equal(await codeOf(alice.api.linkStatus(stale.linkId)), 'link_expired');
      // The sweep deletes it (and any other session past its 10 minutes).
      assert.ok((await sweepExpiredCodes(t.server.ctx)).links >= 1);
      assert.equal(await t.server.ctx.storage.accounts.getLinkSession(stale.linkId), null);
      skew = 0;

      // Forged: a request sealed without the code's secret is refused by the existing device, the
      // code is cancelled, and nothing is linked.
      const real = await alice.startLink();
      const code = parseLinkUri(real.uri);
      const forgedUri = linkUri({ ...code, secret: new Uint8Array(randomBytes(32)) });
      const forger = await freshDevice();
      const forgerJoin = forger.joinLink(forgedUri, { timeoutMs: 10_000 });
      assert.equal(await codeOf(real.wait({ timeoutMs: 10_000 })), 'link_message_invalid');
      assert.equal(await codeOf(forgerJoin), 'link_expired');
      assert.equal(forger.registered, false);
      assert.equal(await countDevices(), 2);

      // A certificate not under the account's identity key: refused, no device made.
      const manual = await alice.api.linkStart();
      const joinBody = {
        linkId: manual.linkId,
        ephemeralKey: toB64(generateLinkKeyPair().publicKey),
        request: toB64(randomBytes(64)),
        tokenHash: toB64(createHash('sha256').update('a-token-of-the-new-device-0123456789').digest()),
      };
      assert.equal(
        (
          await httpCode(t.url, 'POST', `/v1/devices/links/${manual.linkId}/approve`, token, {
            device: {
              name: 'x',
              signingKey: toB64(generateSigningKeyPair().publicKey),
              signingKeyCert: toB64(randomBytes(64)),
            },
            reply: toB64(randomBytes(64)),
          })
        ).code,
        'link_not_joined',
      );
      assert.equal((await httpCode(t.url, 'POST', `/v1/links/${manual.linkId}/join`, null, joinBody)).code, 'ok');
      assert.equal(
        (await httpCode(t.url, 'POST', `/v1/links/${manual.linkId}/join`, null, joinBody)).code,
        'link_used',
      );
      const signing = generateSigningKeyPair();
      const stranger = generateSigningKeyPair();
      const signingKey = toB64(signing.publicKey);
      const foreign = await httpCode(t.url, 'POST', `/v1/devices/links/${manual.linkId}/approve`, token, {
        device: {
          name: 'x',
          signingKey,
          signingKeyCert: toB64(sign(stranger.privateKey, deviceCertMessage(signingKey))),
        },
        reply: toB64(randomBytes(64)),
      });
      assert.deepEqual([foreign.status, foreign.code], [400, 'signature_invalid']);
      assert.equal(await countDevices(), 2);
      // The wrong token cannot fetch the reply.
      assert.equal(
        (
          await httpCode(t.url, 'POST', `/v1/links/${manual.linkId}/reply`, null, {
            token: 'not-the-token-of-the-new-device',
          })
        ).code,
        'unauthenticated',
      );

      // A full account (first device plus maxLinkedDevices = 2): the third link is refused.
      const { fresh: tablet } = await link(alice, 'Tablet');
      open.push(tablet);
      assert.equal(await countDevices(), 3);
      assert.equal(await codeOf(alice.startLink()), 'device_limit');
      // …also at approval, for a code opened before the account filled up.
      await tablet.unlinkDevice(first.self.deviceId);
      assert.equal(await countDevices(), 2);
      const late = await alice.startLink();
      const { fresh: watch } = await link(tablet, 'Watch');
      open.push(watch);
      const blocked = await freshDevice();
      const blockedJoin = blocked.joinLink(late.uri, { timeoutMs: 10_000 });
      assert.equal(await codeOf(late.wait({ timeoutMs: 10_000 })), 'device_limit');
      assert.equal(await codeOf(blockedJoin), 'link_expired');
      assert.equal(blocked.registered, false);
      assert.equal(await countDevices(), 3);
      // Another device's link session looks like none.
      assert.equal(await codeOf(tablet.api.linkStatus(late.linkId)), 'link_expired');
    });

    it('refuses a device list not signed by the identity key, or not newer than the stored one', async () => {
      const alice = await newClient(t.url);
      open.push(alice);
      const token = deviceToken(alice);
      const version = await alice.publishDeviceList();
      const devices = (await alice.api.getAccount(alice.self.accountId)).devices.map((d) => ({
        deviceId: d.deviceId,
        signingKey: d.signingKey,
      }));
      const list = { version: version + 1, issuedAt: Date.now(), devices };
      const forged = sign(generateSigningKeyPair().privateKey, deviceListMessage(alice.self.accountId, list));
      const bad = await httpCode(t.url, 'PUT', '/v1/accounts/me/device-list', token, {
        ...list,
        signature: toB64(forged),
      });
      assert.deepEqual([bad.status, bad.code], [400, 'device_list_invalid']);
      // The stored list itself, sent again: validly signed, but not newer.
      const current = (await alice.api.getAccount(alice.self.accountId)).deviceList;
      assert.ok(current);
      const stale = await httpCode(t.url, 'PUT', '/v1/accounts/me/device-list', token, current);
      assert.deepEqual([stale.status, stale.code], [400, 'device_list_invalid']);
      const stored = await alice.api.getAccount(alice.self.accountId);
      assert.equal(stored.deviceList?.version, version);
      assert.equal(await codeOf(alice.deviceListOf(alice.self.accountId)), 'no error');
    });
  });
}
