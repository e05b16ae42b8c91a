/** Media encryption (C4): AES-256-GCM per file, SHA-256 of the ciphertext checked before decrypting. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { isParleyError } from '@parley/protocol';
import { decryptMedia, encryptMedia, mediaDigest, waveformPeaks } from '../src/index.ts';

const sample = (n: number) => new Uint8Array(n).map((_, i) => (i * 7 + 3) & 255);

test('encrypt then decrypt returns the original bytes, for empty, small and multi-MiB files', async () => {
  for (const size of [0, 1, 1000, 3 * 1024 * 1024 + 5]) {
    const plain = sample(size);
    const enc = await encryptMedia(plain);
    assert.equal(enc.size, size + 16, 'ciphertext is plaintext plus the 16-byte tag');
    assert.equal(enc.ciphertext.length, enc.size);
    assert.equal(enc.key.length, 32);
    assert.equal(enc.nonce.length, 12);
    assert.deepEqual(await decryptMedia(enc.ciphertext, enc), plain);
  }
});

test('the digest is SHA-256 of the ciphertext, not of the plaintext', async () => {
  const plain = sample(4096);
  const enc = await encryptMedia(plain);
  const expected = createHash('sha256').update(enc.ciphertext).digest();
  assert.deepEqual(Buffer.from(enc.digest), expected);
  assert.deepEqual(Buffer.from(await mediaDigest(enc.ciphertext)), expected);
  assert.notDeepEqual(Buffer.from(enc.digest), createHash('sha256').update(plain).digest());
});

test('every file gets a fresh key and nonce, so the same file never encrypts the same way twice', async () => {
  const plain = sample(2048);
  const runs = await Promise.all(Array.from({ length: 8 }, () => encryptMedia(plain)));
  const distinct = (f: (e: (typeof runs)[number]) => Uint8Array) =>
    new Set(runs.map((r) => Buffer.from(f(r)).toString('hex'))).size;
  assert.equal(
    distinct((r) => r.key),
    runs.length,
  );
  assert.equal(
    distinct((r) => r.nonce),
    runs.length,
  );
  assert.equal(
    distinct((r) => r.ciphertext),
    runs.length,
  );
  assert.equal(
    distinct((r) => r.digest),
    runs.length,
  );
  // The ciphertext does not contain the plaintext.
  for (const r of runs) assert.equal(Buffer.from(r.ciphertext).includes(Buffer.from(plain.subarray(100, 132))), false);
});

test('a tampered, truncated or extended ciphertext is refused with blob_digest_mismatch before decrypting', async () => {
  const enc = await encryptMedia(sample(5000));
  const flipped = enc.ciphertext.slice();
  flipped[1234] = flipped[1234]! ^ 1;
  const cases: [string, Uint8Array, boolean][] = [
    ['one flipped bit', flipped, false],
    ['truncated', enc.ciphertext.subarray(0, enc.size - 1), false],
    ['extended', new Uint8Array([...enc.ciphertext, 0]), false],
    ['truncated, no size given', enc.ciphertext.subarray(0, enc.size - 1), true],
  ];
  for (const [what, bytes, omitSize] of cases) {
    const secrets = omitSize ? { key: enc.key, nonce: enc.nonce, digest: enc.digest } : enc;
    await assert.rejects(decryptMedia(bytes, secrets), (e: unknown) => isParleyError(e, 'blob_digest_mismatch'), what);
  }
  const wrongDigest = enc.digest.slice();
  wrongDigest[0] = wrongDigest[0]! ^ 0x80;
  await assert.rejects(decryptMedia(enc.ciphertext, { ...enc, digest: wrongDigest }), (e: unknown) =>
    isParleyError(e, 'blob_digest_mismatch'),
  );
});

test('the right bytes with the wrong key or nonce give media_undecryptable', async () => {
  const enc = await encryptMedia(sample(300));
  const other = await encryptMedia(sample(300));
  await assert.rejects(decryptMedia(enc.ciphertext, { ...enc, key: other.key }), (e: unknown) =>
    isParleyError(e, 'media_undecryptable'),
  );
  await assert.rejects(decryptMedia(enc.ciphertext, { ...enc, nonce: other.nonce }), (e: unknown) =>
    isParleyError(e, 'media_undecryptable'),
  );
  await assert.rejects(decryptMedia(enc.ciphertext, { ...enc, key: enc.key.subarray(0, 16) }), (e: unknown) =>
    isParleyError(e, 'media_undecryptable'),
  );
});

test('waveform peaks: requested length, 0..255, silence is flat, loudest slice reaches 255', () => {
  const rate = 8000;
  // One second: quiet first half, loud second half.
  const pcm = new Float32Array(rate).map((_, i) => Math.sin(i / 5) * (i < rate / 2 ? 0.1 : 0.8));
  const peaks = waveformPeaks(pcm, { peaks: 32 });
  assert.equal(peaks.length, 32);
  assert.equal(Math.max(...peaks), 255);
  assert.ok(
    peaks.slice(0, 16).every((p) => p < 60),
    `quiet half stays low: ${peaks.slice(0, 16)}`,
  );
  assert.ok(
    peaks.slice(16).every((p) => p > 200),
    'loud half is high',
  );
  const raw = waveformPeaks(pcm, { peaks: 32, normalize: false });
  assert.ok(Math.abs(raw[31]! - Math.round(0.8 * 255)) <= 2, `full scale kept: ${raw[31]}`);
  assert.deepEqual([...waveformPeaks(new Float32Array(1000), { peaks: 10 })], new Array(10).fill(0));
  assert.deepEqual([...waveformPeaks([], { peaks: 4 })], [0, 0, 0, 0]);
});

test('waveform peaks accept 16-bit PCM and fewer samples than peaks', () => {
  const int16 = Int16Array.from([0, 16384, -32768, 8192]);
  const raw = waveformPeaks(int16, { peaks: 4, normalize: false });
  assert.deepEqual([...raw], [0, 128, 255, 64]);
  const stretched = waveformPeaks(Int16Array.from([32767, 0]), { peaks: 4, normalize: false });
  assert.deepEqual([...stretched], [255, 255, 0, 0]);
  assert.throws(() => waveformPeaks(int16, { peaks: 0 }), RangeError);
  assert.throws(() => waveformPeaks(int16, { peaks: 257 }), RangeError);
});
