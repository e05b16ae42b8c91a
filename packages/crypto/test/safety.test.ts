/** Safety numbers and QR payloads (C2). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSigningKeyPair, safetyNumber, safetyNumberQrPayload, verifySafetyNumberQr } from '../src/index.ts';

const alice = { accountId: 'a_AAAAAAAAAAAAAAAAAAAAAA', identityKey: generateSigningKeyPair().publicKey };
const bob = { accountId: 'a_BBBBBBBBBBBBBBBBBBBBBB', identityKey: generateSigningKeyPair().publicKey };

test('safety number is 12 groups of 5 digits and the same on both sides', () => {
  const n = safetyNumber(alice, bob);
  assert.match(n, /^\d{5}( \d{5}){11}$/);
  assert.equal(n.replaceAll(' ', '').length, 60);
  assert.equal(safetyNumber(bob, alice), n);
  assert.equal(safetyNumber(alice, bob), n, 'deterministic');
});

test('safety number changes when a key or account id changes', () => {
  const n = safetyNumber(alice, bob);
  const bobNewKey = { ...bob, identityKey: generateSigningKeyPair().publicKey };
  assert.notEqual(safetyNumber(alice, bobNewKey), n);
  assert.notEqual(safetyNumber(alice, { ...bob, accountId: 'a_CCCCCCCCCCCCCCCCCCCCCC' }), n);
  // Each half belongs to one party: only one half changes when one key changes.
  const halves = (s: string) => [s.slice(0, 35), s.slice(36)];
  const shared = halves(n).filter((h) => halves(safetyNumber(alice, bobNewKey)).includes(h));
  assert.equal(shared.length, 1);
});

test('QR payload is symmetric and verifies only for the same parties', () => {
  const qr = safetyNumberQrPayload(alice, bob);
  assert.equal(safetyNumberQrPayload(bob, alice), qr);
  assert.ok(qr.startsWith('parley-sn1:'));
  assert.equal(verifySafetyNumberQr(qr, bob, alice), true);
  const mallory = { ...bob, identityKey: generateSigningKeyPair().publicKey };
  assert.equal(verifySafetyNumberQr(qr, alice, mallory), false);
  assert.equal(verifySafetyNumberQr('garbage', alice, bob), false);
  assert.equal(verifySafetyNumberQr('parley-sn1:!!', alice, bob), false);
});
