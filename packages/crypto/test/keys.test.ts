/** Public-key validation (C13) and Ed25519 identity helpers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isParleyError } from '@parley/protocol';
import {
  validateEd25519PublicKey,
  validateX25519PublicKey,
  generateSigningKeyPair,
  sign,
  verifySignature,
} from '../src/index.ts';
import { badKeyCorpus, goodKeys } from '../src/testing.ts';

const validate = (kind: 'x25519' | 'ed25519', bytes: Uint8Array) =>
  kind === 'x25519' ? validateX25519PublicKey(bytes) : validateEd25519PublicKey(bytes);

test('every bad-key corpus entry is rejected with its exact code', () => {
  const corpus = badKeyCorpus();
  assert.ok(corpus.length >= 40, `corpus has ${corpus.length} entries`);
  for (const entry of corpus) {
    assert.throws(
      () => validate(entry.kind, entry.bytes),
      (e: unknown) => {
        assert.ok(isParleyError(e), `${entry.name}: not a ParleyError`);
        assert.equal(e.code, entry.expected, entry.name);
        return true;
      },
      entry.name,
    );
  }
});

test('corpus covers all 8 Ed25519 torsion points and the X25519 small-order u values', () => {
  const corpus = badKeyCorpus();
  assert.equal(corpus.filter((c) => c.name.startsWith('ed25519 torsion point')).length, 8);
  assert.equal(corpus.filter((c) => c.kind === 'x25519' && c.expected === 'key_small_order').length, 4);
  for (const code of [
    'key_wrong_length',
    'key_non_canonical',
    'key_all_zero',
    'key_small_order',
    'key_mixed_order',
    'key_invalid_point',
  ] as const) {
    for (const kind of ['x25519', 'ed25519'] as const) {
      assert.ok(
        corpus.some((c) => c.kind === kind && c.expected === code),
        `${kind} ${code}`,
      );
    }
  }
});

test('fresh real keys are accepted', () => {
  for (const k of goodKeys(50)) validate(k.kind, k.bytes);
});

test('sign and strict verify', () => {
  const kp = generateSigningKeyPair();
  const msg = new TextEncoder().encode('parley');
  const sig = sign(kp.privateKey, msg);
  assert.equal(sig.length, 64);
  assert.equal(verifySignature(kp.publicKey, msg, sig), true);
  assert.equal(verifySignature(kp.publicKey, new TextEncoder().encode('parlez'), sig), false);
  assert.equal(verifySignature(generateSigningKeyPair().publicKey, msg, sig), false);
  assert.equal(verifySignature(kp.publicKey, msg, sig.slice(0, 63)), false);
  assert.equal(verifySignature(kp.publicKey.slice(0, 31), msg, sig), false);
  // S + L is the same signature under lax rules; strict verification must refuse it.
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
  let t = s + L;
  const malleable = sig.slice();
  for (let i = 32; i < 64; i++) {
    malleable[i] = Number(t & 0xffn);
    t >>= 8n;
  }
  assert.equal(verifySignature(kp.publicKey, msg, malleable), false);
});
