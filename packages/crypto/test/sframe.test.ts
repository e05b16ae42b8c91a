/**
 * Call frame encryption (C6): SFrame-shaped AES-128-GCM sealing of encoded frames, checked against
 * the RFC 9605 Appendix C vectors, plus round trips, tampering, wrong keys, key rotation, counter
 * uniqueness and malformed headers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isParleyError } from '@parley/protocol';
import {
  CLEAR_BYTES,
  SFrameReceiver,
  SFrameSender,
  decryptFrame,
  deriveSFrameKey,
  encodeSFrameHeader,
  encryptFrame,
  inspectSealedFrame,
  parseSFrameHeader,
} from '../src/index.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const key32 = (seed: number) => new Uint8Array(32).map((_, i) => (i * 31 + seed) & 255);
const frame = (n: number, seed = 1) => new Uint8Array(n).map((_, i) => (i * 13 + seed) & 255);

function rejects(code: string) {
  return (e: unknown) => isParleyError(e) && e.code === code;
}

test('headers encode as in RFC 9605 Appendix C.1 and parse back', () => {
  const vectors: [number, number, string][] = [
    [0, 0, '00'],
    [0, 7, '07'],
    [7, 0, '70'],
    [0, 0x100, '090100'],
    [0xff, 0, '80ff'],
    [0x100, 0x100, '9901000100'],
    [0x123, 0x4567, '9901234567'],
    [0xffffffff, 2 ** 53 - 1, 'beffffffff1fffffffffffff'],
  ];
  for (const [kid, ctr, header] of vectors) {
    assert.equal(hex(encodeSFrameHeader(kid, ctr)), header, `kid ${kid} ctr ${ctr}`);
    assert.deepEqual(parseSFrameHeader(unhex(header)), { keyId: kid, counter: ctr, length: header.length / 2 });
  }
});

test('key, salt and sealed frame match the RFC 9605 Appendix C.3 vector for AES_128_GCM_SHA256_128', async () => {
  const key = await deriveSFrameKey(0x123, unhex('000102030405060708090a0b0c0d0e0f'));
  assert.equal(hex(key.salt), '75234edefe07819026751816');
  const metadata = unhex('4945544620534672616d65205747');
  const pt = unhex('64726166742d696574662d736672616d652d656e63');
  // The RFC authenticates `metadata` after the header; Parley's clear prefix is that metadata.
  const input = new Uint8Array([...metadata, ...pt]);
  const sealed = await encryptFrame(key, 0x4567, input, metadata.length);
  assert.equal(hex(sealed.subarray(0, metadata.length)), hex(metadata));
  assert.equal(
    hex(sealed.subarray(metadata.length)),
    '9901234567b7412c2513a1b66dbb48841bbaf17f598751176ad847681a69c6d0b091c07018ce4adb34eb',
  );
  const opened = await decryptFrame((id) => (id === 0x123 ? key : undefined), sealed, metadata.length);
  assert.equal(hex(opened.frame), hex(input));
  assert.equal(opened.counter, 0x4567);
});

test('round trip for audio and video frames keeps the codec prefix in clear', async () => {
  const sender = new SFrameSender(CLEAR_BYTES.vp8);
  const receiver = new SFrameReceiver(CLEAR_BYTES.vp8);
  await sender.setKey(5, key32(1));
  await receiver.addKey(5, key32(1));
  const keyFrame = frame(1200);
  keyFrame[0] = 0x10; // P bit 0: key frame, 10 clear bytes
  const delta = frame(300, 7);
  delta[0] = 0x31; // P bit 1: delta frame, 3 clear bytes
  for (const [f, clear] of [
    [keyFrame, 10],
    [delta, 3],
  ] as const) {
    const sealed = await sender.encrypt(f);
    assert.equal(hex(sealed.subarray(0, clear)), hex(f.subarray(0, clear)), 'payload header stays readable');
    assert.notEqual(
      hex(sealed.subarray(clear + 2, clear + 12)),
      hex(f.subarray(clear, clear + 10)),
      'the rest is encrypted',
    );
    assert.equal(inspectSealedFrame(sealed, CLEAR_BYTES.vp8).clearBytes, clear);
    assert.deepEqual(await receiver.decrypt(sealed), f);
  }
  const opus = new SFrameSender(CLEAR_BYTES.opus);
  await opus.setKey(1, key32(2));
  const sealedOpus = await opus.encrypt(frame(80));
  assert.equal(sealedOpus[0], frame(80)[0]);
  assert.deepEqual((await decryptFrame(async () => deriveSFrameKey(1, key32(2)), sealedOpus, 1)).frame, frame(80));
  // An empty frame seals to header + tag and opens to empty; a frame shorter than its codec
  // header cannot be split the same way on both sides and is refused.
  const plain = new SFrameSender();
  await plain.setKey(5, key32(1));
  assert.deepEqual(
    (await decryptFrame(() => deriveSFrameKey(5, key32(1)), await plain.encrypt(new Uint8Array(0)))).frame,
    new Uint8Array(0),
  );
  await assert.rejects(sender.encrypt(new Uint8Array([0x31, 1])), rejects('frame_invalid'));
});

test('any changed byte (prefix, header, ciphertext or tag) fails authentication', async () => {
  const sender = new SFrameSender(CLEAR_BYTES.opus);
  const receiver = new SFrameReceiver(CLEAR_BYTES.opus);
  await sender.setKey(3, key32(9));
  await receiver.addKey(3, key32(9));
  const sealed = await sender.encrypt(frame(64));
  const headerAt = 1;
  for (const at of [0, sealed.length - 1, 10, sealed.length - 17]) {
    const bad = sealed.slice();
    bad[at]! ^= 0x01;
    await assert.rejects(receiver.decrypt(bad), rejects('frame_auth_failed'), `byte ${at}`);
  }
  // Changing the counter in the header (the low bits of its first byte: key id 3, counter 0 → 1)
  // changes the nonce: the key is still found, and the tag fails.
  const badCtr = sealed.slice();
  badCtr[headerAt]! ^= 0x01;
  assert.deepEqual(parseSFrameHeader(badCtr.subarray(headerAt)), { keyId: 3, counter: 1, length: 1 });
  await assert.rejects(receiver.decrypt(badCtr), rejects('frame_auth_failed'));
  await assert.rejects(receiver.decrypt(sealed.subarray(0, sealed.length - 1)), rejects('frame_auth_failed'));
});

test('a wrong key under the right id fails; an unknown id is reported as such', async () => {
  const sender = new SFrameSender();
  await sender.setKey(1, key32(1));
  const sealed = await sender.encrypt(frame(100));
  const wrong = new SFrameReceiver();
  await wrong.addKey(1, key32(2));
  await assert.rejects(wrong.decrypt(sealed), rejects('frame_auth_failed'));
  const other = new SFrameReceiver();
  await other.addKey(2, key32(1));
  await assert.rejects(other.decrypt(sealed), rejects('frame_key_unknown'));
  await assert.rejects(new SFrameSender().encrypt(frame(10)), rejects('frame_key_unknown'));
});

test('counters never repeat, also across key changes, and old keys keep opening in-flight frames', async () => {
  const sender = new SFrameSender();
  const receiver = new SFrameReceiver(0, 2);
  await sender.setKey(1, key32(1));
  await receiver.addKey(1, key32(1));
  const seen = new Set<number>();
  const sealed: Uint8Array[] = [];
  for (let i = 0; i < 500; i++) {
    const s = await sender.encrypt(frame(20, i));
    const { counter } = parseSFrameHeader(s);
    assert.ok(!seen.has(counter), `counter ${counter} used twice`);
    seen.add(counter);
    sealed.push(s);
    if (i === 250) {
      await sender.setKey(2, key32(2));
      await receiver.addKey(2, key32(2));
    }
  }
  assert.equal(seen.size, 500);
  // Frames sealed under key 1 before the change still open after it.
  assert.deepEqual(await receiver.decrypt(sealed[10]!), frame(20, 10));
  assert.deepEqual(await receiver.decrypt(sealed[400]!), frame(20, 400));
  assert.equal(parseSFrameHeader(sealed[400]!).keyId, 2);
  // Only the last `keep` (2) keys are kept.
  await receiver.addKey(3, key32(3));
  assert.deepEqual(receiver.keyIds, [2, 3]);
  await assert.rejects(receiver.decrypt(sealed[10]!), rejects('frame_key_unknown'));
});

test('malformed headers and frames are refused with frame_invalid', async () => {
  for (const bad of ['', '80', '9901', 'b0ffff', '08', '0f01020304050607', 'f7ffffffffffffffff00']) {
    assert.throws(() => parseSFrameHeader(unhex(bad)), rejects('frame_invalid'), `header ${bad || '(empty)'}`);
  }
  // Counter larger than 2^53 - 1.
  assert.throws(() => parseSFrameHeader(unhex('0f' + 'ff'.repeat(8))), rejects('frame_invalid'));
  const key = await deriveSFrameKey(0, key32(0));
  await assert.rejects(
    decryptFrame(() => key, unhex('00' + '11'.repeat(15))),
    rejects('frame_invalid'),
    'shorter than a tag',
  );
  await assert.rejects(
    decryptFrame(() => key, new Uint8Array(0)),
    rejects('frame_invalid'),
  );
  assert.throws(() => encodeSFrameHeader(-1, 0), rejects('bad_request'));
  assert.throws(() => encodeSFrameHeader(0, 1.5), rejects('bad_request'));
  await assert.rejects(deriveSFrameKey(0, new Uint8Array(8)), rejects('bad_request'));
});
