/**
 * The KeyPackage directory over HTTP (C2, C13), on SQLite and PostgreSQL: every malformed
 * KeyPackage of the corpus is refused with its own code and nothing is stored; a good one is
 * stored, cannot be uploaded again (key reuse), and is claimed before the last-resort one.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { deviceCertMessage, identityProofMessage, toB64 } from '@parley/protocol';
import { createDeviceIdentity, generateKeyPackages, generateSigningKeyPair, sign } from '@parley/crypto';
import { badKeyPackages } from '@parley/crypto/testing';
import { availableDrivers, nextPhone, outboxCode, startServer, type TestServer } from './helpers/harness.ts';

const drivers = await availableDrivers();

for (const { driver, skip } of drivers) {
  describe(`KeyPackage directory [${driver}]`, { skip }, () => {
    let t: TestServer;
    before(async () => {
      t = await startServer(driver);
    });
    after(async () => t?.close());

    async function device() {
      const phone = nextPhone();
      await fetch(`${t.url}/v1/registration/code`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phone }) });
      const code = await outboxCode(t.url, phone);
      const identity = generateSigningKeyPair();
      const signing = generateSigningKeyPair();
      const identityKey = toB64(identity.publicKey);
      const signingKey = toB64(signing.publicKey);
      const res = await fetch(`${t.url}/v1/registration/verify`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ phone, code, identityKey, identityProof: toB64(sign(identity.privateKey, identityProofMessage(phone, code, identityKey))), device: { name: 'kp', signingKey, signingKeyCert: toB64(sign(identity.privateKey, deviceCertMessage(signingKey))) } }),
      });
      const body = (await res.json()) as { accountId: string; deviceId: string; token: string };
      const call = async (method: string, path: string, payload?: unknown) => {
        const r = await fetch(t.url + path, { method, headers: { authorization: `Bearer ${body.token}`, ...(payload ? { 'content-type': 'application/json' } : {}) }, ...(payload ? { body: JSON.stringify(payload) } : {}) });
        return { status: r.status, body: (await r.json()) as Record<string, unknown> & { error?: { code: string; details?: { index?: unknown } } } };
      };
      return { ...body, mls: createDeviceIdentity(body.deviceId, signing), call };
    }

    it('refuses each malformed KeyPackage with its code and stores nothing', async () => {
      const d = await device();
      const corpus = await badKeyPackages(d.mls);
      assert.ok(corpus.cases.length >= 10);
      for (const c of corpus.cases) {
        const r = await d.call('POST', '/v1/keypackages', { keyPackages: [toB64(corpus.valid), toB64(c.bytes)] });
        assert.equal(r.body.error?.code, c.expected, c.name);
        assert.equal(r.body.error?.details?.index, 1, `${c.name}: the offending index is named`);
      }
      const last = await d.call('POST', '/v1/keypackages', { keyPackages: [], lastResort: toB64(corpus.cases[0]!.bytes) });
      assert.equal(last.body.error?.code, corpus.cases[0]!.expected);
      assert.deepEqual((await d.call('GET', '/v1/keypackages')).body, { available: 0, lastResort: false });
    });

    it('stores good KeyPackages once, refuses reuse, and claims one-time before last resort', async () => {
      const d = await device();
      const other = await device();
      const kps = await generateKeyPackages(d.mls, 2);
      const last = await generateKeyPackages(d.mls, 1, { lastResort: true });
      const up = await d.call('POST', '/v1/keypackages', { keyPackages: kps.publicKeyPackages.map(toB64), lastResort: toB64(last.publicKeyPackages[0]!) });
      assert.equal(up.status, 200);
      assert.deepEqual(up.body, { stored: 3, available: 2 });
      const again = await d.call('POST', '/v1/keypackages', { keyPackages: [toB64(kps.publicKeyPackages[0]!)] });
      assert.equal(again.body.error?.code, 'key_reused');
      const twice = await d.call('POST', '/v1/keypackages', { keyPackages: [toB64(last.publicKeyPackages[0]!), toB64(last.publicKeyPackages[0]!)] });
      assert.ok(['key_reused'].includes(twice.body.error?.code ?? ''), JSON.stringify(twice.body));
      // Another device cannot upload this device's KeyPackage (credential and key belong to d).
      const foreign = await generateKeyPackages(d.mls, 1);
      assert.equal((await other.call('POST', '/v1/keypackages', { keyPackages: [toB64(foreign.publicKeyPackages[0]!)] })).body.error?.code, 'keypackage_wrong_credential');

      const claims: boolean[] = [];
      for (let i = 0; i < 4; i++) {
        const c = await other.call('POST', '/v1/keypackages/claim', { accountIds: [d.accountId] });
        const list = c.body.keyPackages as { deviceId: string; lastResort: boolean }[];
        assert.equal(list.length, 1);
        assert.equal(list[0]!.deviceId, d.deviceId);
        claims.push(list[0]!.lastResort);
      }
      assert.deepEqual(claims, [false, false, true, true]);
    });
  });
}
