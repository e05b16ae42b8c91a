/** Discovery OPRF (C12): RFC 9497 ristretto255-SHA512 vectors, and the blind/evaluate/finalize round trip. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  blindEvaluate,
  blindNumber,
  finalizeInput,
  blindWithScalar,
  deriveOprfKey,
  discoveryTag,
  evaluateNumber,
  finalizeNumber,
  generateOprfKey,
} from '../src/index.ts';

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// RFC 9497, appendix A.1.1 (OPRF mode, ristretto255-SHA512), first test vector.
const VECTOR = {
  seed: 'a3'.repeat(32),
  keyInfo: '74657374206b6579',
  skSm: '5ebcea5ee37023ccb9fc2d2019f9d7737be85591ae8652ffa9ef0f4d37063b0e',
  input: '00',
  blind: '64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706',
  blinded: '609a0ae68c15a3cf6903766461307e5c8bb2f95e7e6550e1ffa2dc99e412803c',
  evaluated: '7ec6578ae5120958eb2db1745758ff379e77cb64fe77b0b2d8cc917ea0869c7e',
  output:
    '527759c3d9366f277d8c6020418d96bb393ba2afb20ff90df23fb7708264e2f3ab9135e3bd69955851de4b1f9fe8a0973396719b7912ba9ee8aa7d0b5e24bcf6',
};

test('RFC 9497 vector: key derivation, blinding, evaluation and output match', () => {
  const sk = deriveOprfKey(hex(VECTOR.seed), hex(VECTOR.keyInfo));
  assert.equal(toHex(sk), VECTOR.skSm);
  const b = blindWithScalar(hex(VECTOR.input), hex(VECTOR.blind));
  assert.equal(toHex(b.blind), VECTOR.blind);
  assert.equal(toHex(b.blinded), VECTOR.blinded);
  const evaluated = blindEvaluate(sk, b.blinded);
  assert.equal(toHex(evaluated), VECTOR.evaluated);
  assert.equal(toHex(finalizeInput(hex(VECTOR.input), b.blind, evaluated)), VECTOR.output);
});

test('a number blinded, evaluated and finalised gives the same tag as the server computes directly', () => {
  const sk = generateOprfKey();
  for (const number of ['+14155550123', '+442071838750', '+4915123456789']) {
    const b = blindNumber(number);
    const out = finalizeNumber(number, b.blind, blindEvaluate(sk, b.blinded));
    assert.equal(out.length, 64);
    assert.deepEqual(discoveryTag(out), discoveryTag(evaluateNumber(sk, number)));
  }
});

test('blinding hides the number: two blindings of one number differ, tags of different numbers differ', () => {
  const a = blindNumber('+14155550123');
  const b = blindNumber('+14155550123');
  assert.notEqual(toHex(a.blinded), toHex(b.blinded));
  const sk = generateOprfKey();
  assert.notEqual(
    toHex(discoveryTag(evaluateNumber(sk, '+14155550123'))),
    toHex(discoveryTag(evaluateNumber(sk, '+14155550124'))),
  );
  // Another server key gives unrelated tags: a copied index is useless without the key.
  assert.notEqual(
    toHex(discoveryTag(evaluateNumber(sk, '+14155550123'))),
    toHex(discoveryTag(evaluateNumber(generateOprfKey(), '+14155550123'))),
  );
});

test('finalising a malformed server answer throws instead of producing an output', () => {
  const b = blindNumber('+14155550123');
  assert.throws(() => finalizeNumber('+14155550123', b.blind, new Uint8Array(32).fill(0xff)));
  assert.throws(() => finalizeNumber('+14155550123', b.blind, new Uint8Array(31)));
});
