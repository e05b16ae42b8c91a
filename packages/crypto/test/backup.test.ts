/**
 * Backup file encryption (C16, docs/portability.md): Argon2id or recovery key, secretstream chunks,
 * and each way a file can be wrong refused with its own catalogued code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isParleyError, type ErrorCode } from '@parley/protocol';
import {
  BACKUP_MAGIC,
  formatRecoveryKey,
  generateRecoveryKey,
  normaliseRecoveryKey,
  openBackup,
  readBackupHeader,
  sealBackup,
} from '../src/index.ts';

/** Cheap Argon2id for tests (the file records whatever was used; defaults are in DEFAULT_BACKUP_KDF). */
const FAST = { opsLimit: 1, memLimitBytes: 8 * 1024 * 1024 };
const sample = (n: number) => new Uint8Array(n).map((_, i) => (i * 13 + 5) & 255);
const pass = { passphrase: 'correct horse battery staple' };

async function refused(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(p, (e) => isParleyError(e, code) || assert.fail(`expected ${code}, got ${String(e)}`));
}

test('a passphrase backup round-trips for empty, one-chunk and many-chunk plaintexts, and records its KDF', async () => {
  for (const size of [0, 10, 64 * 1024, 200 * 1024 + 3]) {
    const plain = sample(size);
    const file = await sealBackup(plain, pass, FAST);
    assert.deepEqual(file.subarray(0, 8), BACKUP_MAGIC);
    assert.deepEqual(readBackupHeader(file), {
      version: 1,
      kdf: 'argon2id',
      opsLimit: 1,
      memLimitBytes: 8 * 1024 * 1024,
    });
    assert.deepEqual(await openBackup(file, pass), plain);
  }
  // Two backups of the same data differ (fresh salt and stream header).
  const a = await sealBackup(sample(100), pass, FAST);
  const b = await sealBackup(sample(100), pass, FAST);
  assert.notDeepEqual(a, b);
});

test('a recovery key is 64 uniform digits, accepted with spaces, and opens its backup', async () => {
  const key = generateRecoveryKey();
  assert.match(key, /^\d{64}$/);
  assert.notEqual(key, generateRecoveryKey());
  const shown = formatRecoveryKey(key);
  assert.equal(shown.split(' ').length, 16);
  assert.equal(normaliseRecoveryKey(shown), key);
  assert.equal(normaliseRecoveryKey('12345'), null);
  const file = await sealBackup(sample(5000), { recoveryKey: key });
  assert.equal(readBackupHeader(file).kdf, 'recovery-key');
  assert.deepEqual(await openBackup(file, { recoveryKey: shown }), sample(5000));
  const other = generateRecoveryKey();
  await refused(openBackup(file, { recoveryKey: other }), 'backup_wrong_secret');
  await refused(openBackup(file, pass), 'backup_wrong_secret');
});

test('wrong passphrase, truncation, tampering, a wrong version and a non-backup are each refused with their code', async () => {
  const plain = sample(150 * 1024);
  const file = await sealBackup(plain, pass, FAST);
  await refused(openBackup(file, { passphrase: 'Correct horse battery staple' }), 'backup_wrong_secret');
  await refused(openBackup(file, { recoveryKey: generateRecoveryKey() }), 'backup_wrong_secret');
  // Cut anywhere: inside the header, inside a chunk, exactly at a chunk boundary (first chunk whole).
  const firstChunkEnd = 74 + 4 + 64 * 1024 + 17;
  for (const cut of [5, 60, 80, 1000, firstChunkEnd, file.length - 1])
    await refused(openBackup(file.subarray(0, cut), pass), cut < 8 ? 'backup_invalid' : 'backup_truncated');
  // One flipped bit in a chunk, in the recorded KDF cost, in the stream header.
  for (const at of [100, firstChunkEnd + 50, file.length - 3, 34]) {
    const bad = file.slice();
    bad[at]! ^= 1;
    await refused(openBackup(bad, pass), 'backup_tampered');
  }
  const costChanged = file.slice();
  costChanged[13]! ^= 1; // opslimit 1 → 0 is out of range before any work
  await refused(openBackup(costChanged, pass), 'backup_invalid');
  // Extra bytes after the final chunk.
  const longer = new Uint8Array(file.length + 3);
  longer.set(file);
  await refused(openBackup(longer, pass), 'backup_tampered');
  const v2 = file.slice();
  v2[8] = 2;
  await refused(openBackup(v2, pass), 'backup_version');
  await refused(openBackup(new TextEncoder().encode('PK\u0003\u0004 a zip file'), pass), 'backup_invalid');
  const hugeCost = file.slice();
  new DataView(hugeCost.buffer).setUint32(14, 0xffffffff, false);
  await refused(openBackup(hugeCost, pass), 'backup_invalid');
  await refused(sealBackup(plain, { passphrase: '' }, FAST), 'backup_invalid');
});
