/** KeyPackage inspection for the Delivery Service (C2, C13). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isParleyError, toB64 } from '@parley/protocol';
import { generateKeyPackages, inspectKeyPackage, keyPackageRef, parseKeyPackage } from '../src/index.ts';
import { badKeyPackages, testDeviceIdentity } from '../src/testing.ts';

test('inspectKeyPackage accepts real KeyPackages and reports their keys', async () => {
  const identity = testDeviceIdentity();
  const owner = { deviceId: identity.deviceId, signingKey: identity.signingKey.publicKey };
  const { publicKeyPackages, privateBundles } = await generateKeyPackages(identity, 3, { lastResort: false });
  assert.equal(publicKeyPackages.length, 3);
  const inits = new Set<string>();
  publicKeyPackages.forEach((bytes, i) => {
    const info = inspectKeyPackage(bytes, owner);
    assert.equal(info.credentialIdentity, identity.deviceId);
    assert.deepEqual(info.signatureKey, identity.signingKey.publicKey);
    assert.equal(info.initKey.length, 32);
    assert.notDeepEqual(info.initKey, info.encryptionKey);
    assert.equal(toB64(info.ref), privateBundles[i]!.ref);
    assert.deepEqual(keyPackageRef(parseKeyPackage(bytes).keyPackage), info.ref);
    assert.ok(info.notAfter > BigInt(Math.floor(Date.now() / 1000)));
    inits.add(toB64(info.initKey));
    // Without an expected owner, a well-formed device credential is enough.
    assert.equal(inspectKeyPackage(bytes).credentialIdentity, identity.deviceId);
  });
  assert.equal(inits.size, 3, 'init keys are fresh per KeyPackage');
  const last = await generateKeyPackages(identity, 1, { lastResort: true });
  assert.equal(last.privateBundles[0]!.lastResort, true);
});

test('inspectKeyPackage rejects every malformed KeyPackage with its code', async () => {
  const corpus = await badKeyPackages();
  inspectKeyPackage(corpus.valid, corpus.owner);
  assert.ok(corpus.cases.length >= 10);
  for (const c of corpus.cases) {
    assert.throws(
      () => inspectKeyPackage(c.bytes, corpus.owner),
      (e: unknown) => {
        assert.ok(isParleyError(e), `${c.name}: not a ParleyError: ${String(e)}`);
        assert.equal(e.code, c.expected, c.name);
        return true;
      },
      c.name,
    );
  }
  for (const code of [
    'keypackage_init_equals_encryption',
    'key_wrong_length',
    'signature_invalid',
    'keypackage_wrong_credential',
    'keypackage_malformed',
  ] as const) {
    assert.ok(
      corpus.cases.some((c) => c.expected === code),
      code,
    );
  }
});

test('a key error names the offending field', async () => {
  const corpus = await badKeyPackages();
  const short = corpus.cases.find((c) => c.name === '31-byte init key')!;
  assert.throws(
    () => inspectKeyPackage(short.bytes, corpus.owner),
    (e: unknown) => isParleyError(e, 'key_wrong_length') && (e.details as { field: string }).field === 'initKey',
  );
});
