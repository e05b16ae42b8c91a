/**
 * Backup file encryption (C16, docs/portability.md): a passphrase (Argon2id) or a 64-digit
 * recovery key becomes a 256-bit key, and the plaintext goes through libsodium's
 * XChaCha20-Poly1305 secretstream in 64 KiB chunks. The header (magic, version, KDF and its
 * parameters, salt, stream header, key check) is authenticated as every chunk's associated data, so
 * changing any byte of it, reordering, dropping or cutting chunks is detected; only the last chunk
 * carries the stream's FINAL tag, so a file cut at a chunk boundary is detected too.
 *
 * libsodium is loaded on first use (dynamic import): clients that never back up do not load it.
 */
import { ParleyError } from '@parley/protocol';

/** "PRLYBAK" and a zero byte: what every backup file starts with. */
export const BACKUP_MAGIC = new Uint8Array([0x50, 0x52, 0x4c, 0x59, 0x42, 0x41, 0x4b, 0x00]);
/** The one format version this code writes and reads. */
export const BACKUP_VERSION = 1;
/** Plaintext bytes per chunk. */
const CHUNK = 64 * 1024;
/** Header: magic 8, version 1, kdf 1, opslimit 4, memlimit 4, salt 16, stream header 24, key check 16. */
const HEADER_LENGTH = 8 + 1 + 1 + 4 + 4 + 16 + 24 + 16;
const KDF_ARGON2ID = 1;
const KDF_RECOVERY = 2;

/** Argon2id cost: libsodium's "moderate" operations with 64 MiB, a few seconds on a phone. */
export const DEFAULT_BACKUP_KDF = { opsLimit: 3, memLimitBytes: 64 * 1024 * 1024 } as const;
/**
 * Bounds a file's parameters must respect before any work: a forged header cannot make a device
 * spend gigabytes or minutes (and the floor keeps anyone from writing a cheaply guessable file).
 */
const KDF_BOUNDS = { minOps: 1, maxOps: 10, minMem: 8 * 1024, maxMem: 1024 * 1024 * 1024 };

/** What opens a backup: the passphrase chosen at backup time, or the recovery key shown then. */
export type BackupSecret = { passphrase: string } | { recoveryKey: string };

/** Argon2id cost of a new passphrase backup. */
export interface BackupKdfParams {
  opsLimit: number;
  memLimitBytes: number;
}

type Sodium = (typeof import('libsodium-wrappers-sumo'))['default'];
let sodiumReady: Promise<Sodium> | undefined;
async function sodium(): Promise<Sodium> {
  sodiumReady ??= import('libsodium-wrappers-sumo').then(async (m) => {
    await m.default.ready;
    return m.default;
  });
  return sodiumReady;
}

/**
 * A new recovery key: 64 decimal digits (about 212 bits), from the system's random source by
 * rejection sampling so every digit is uniform. Shown once; the device keeps no copy.
 */
export function generateRecoveryKey(): string {
  let out = '';
  const buf = new Uint8Array(96);
  while (out.length < 64) {
    crypto.getRandomValues(buf);
    for (const b of buf) if (b < 250 && out.length < 64) out += String(b % 10);
  }
  return out;
}

/** The 64 digits of a recovery key as typed (spaces and dashes allowed), or null when it is not one. */
export function normaliseRecoveryKey(input: string): string | null {
  const digits = input.replace(/[\s-]/g, '');
  return /^\d{64}$/.test(digits) ? digits : null;
}

/** A recovery key in 16 groups of 4 digits, easier to copy by hand. */
export function formatRecoveryKey(key: string): string {
  return (key.match(/.{1,4}/g) ?? []).join(' ');
}

function u32(view: DataView, at: number): number {
  return view.getUint32(at, false);
}

async function deriveKey(
  s: Sodium,
  kdf: number,
  secret: BackupSecret,
  salt: Uint8Array,
  ops: number,
  mem: number,
): Promise<Uint8Array> {
  if (kdf === KDF_ARGON2ID) {
    if (!('passphrase' in secret) || !secret.passphrase)
      throw new ParleyError('backup_wrong_secret', { message: 'This backup is opened with a passphrase.' });
    return s.crypto_pwhash(
      32,
      new TextEncoder().encode(secret.passphrase),
      salt,
      ops,
      mem,
      s.crypto_pwhash_ALG_ARGON2ID13,
    );
  }
  if (!('recoveryKey' in secret))
    throw new ParleyError('backup_wrong_secret', { message: 'This backup is opened with its 64-digit recovery key.' });
  const digits = normaliseRecoveryKey(secret.recoveryKey);
  if (!digits) throw new ParleyError('backup_wrong_secret', { message: 'A recovery key is 64 digits.' });
  // 212 bits of entropy need no stretching: a keyed hash binds the key to this file's salt.
  return s.crypto_generichash(32, new TextEncoder().encode(digits), salt);
}

/** A value that tells a wrong secret from a damaged file without revealing the key. */
function keyCheck(s: Sodium, key: Uint8Array): Uint8Array {
  return s.crypto_generichash(16, new TextEncoder().encode('parley-backup-key-check'), key);
}

/**
 * Encrypt a backup's plaintext. With a passphrase the key comes from Argon2id with `kdf` (defaults
 * to {@link DEFAULT_BACKUP_KDF}); with a recovery key (see {@link generateRecoveryKey}) from a keyed
 * hash. Returns the whole file.
 */
export async function sealBackup(
  plaintext: Uint8Array,
  secret: BackupSecret,
  kdf: BackupKdfParams = DEFAULT_BACKUP_KDF,
): Promise<Uint8Array> {
  const s = await sodium();
  const isPass = 'passphrase' in secret;
  if (isPass && !secret.passphrase) throw new ParleyError('backup_invalid', { message: 'The passphrase is empty.' });
  if (
    isPass &&
    (kdf.opsLimit < KDF_BOUNDS.minOps ||
      kdf.opsLimit > KDF_BOUNDS.maxOps ||
      kdf.memLimitBytes < KDF_BOUNDS.minMem ||
      kdf.memLimitBytes > KDF_BOUNDS.maxMem)
  )
    throw new ParleyError('backup_invalid', { message: 'Argon2id parameters out of range.' });
  const ops = isPass ? kdf.opsLimit : 0;
  const mem = isPass ? kdf.memLimitBytes : 0;
  const salt = s.randombytes_buf(16);
  const key = await deriveKey(s, isPass ? KDF_ARGON2ID : KDF_RECOVERY, secret, salt, ops, mem);
  const { state, header: streamHeader } = s.crypto_secretstream_xchacha20poly1305_init_push(key);

  const header = new Uint8Array(HEADER_LENGTH);
  const view = new DataView(header.buffer);
  header.set(BACKUP_MAGIC, 0);
  header[8] = BACKUP_VERSION;
  header[9] = isPass ? KDF_ARGON2ID : KDF_RECOVERY;
  view.setUint32(10, ops, false);
  view.setUint32(14, mem, false);
  header.set(salt, 18);
  header.set(streamHeader, 34);
  header.set(keyCheck(s, key), 58);

  const parts: Uint8Array[] = [header];
  let total = header.length;
  let offset = 0;
  do {
    const end = Math.min(offset + CHUNK, plaintext.length);
    const last = end === plaintext.length;
    const tag = last
      ? s.crypto_secretstream_xchacha20poly1305_TAG_FINAL
      : s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    const c = s.crypto_secretstream_xchacha20poly1305_push(state, plaintext.subarray(offset, end), header, tag);
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, c.length, false);
    parts.push(len, c);
    total += 4 + c.length;
    offset = end;
  } while (offset < plaintext.length);

  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** What the header of a backup file says, read without any secret. */
export interface BackupHeaderInfo {
  version: number;
  kdf: 'argon2id' | 'recovery-key';
  opsLimit: number;
  memLimitBytes: number;
}

/** Read and check a backup file's header (`backup_invalid`, `backup_version`, `backup_truncated`). */
export function readBackupHeader(file: Uint8Array): BackupHeaderInfo {
  if (file.length < BACKUP_MAGIC.length || BACKUP_MAGIC.some((b, i) => file[i] !== b))
    throw new ParleyError('backup_invalid', { message: 'The file does not start like a Parley backup.' });
  if (file.length < 9) throw new ParleyError('backup_truncated');
  if (file[8] !== BACKUP_VERSION)
    throw new ParleyError('backup_version', { details: { version: file[8], supported: [BACKUP_VERSION] } });
  if (file.length < HEADER_LENGTH) throw new ParleyError('backup_truncated');
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const kdf = file[9];
  const ops = u32(view, 10);
  const mem = u32(view, 14);
  if (kdf === KDF_ARGON2ID) {
    if (ops < KDF_BOUNDS.minOps || ops > KDF_BOUNDS.maxOps || mem < KDF_BOUNDS.minMem || mem > KDF_BOUNDS.maxMem)
      throw new ParleyError('backup_invalid', { message: 'Argon2id parameters out of range.', details: { ops, mem } });
    return { version: BACKUP_VERSION, kdf: 'argon2id', opsLimit: ops, memLimitBytes: mem };
  }
  if (kdf === KDF_RECOVERY) return { version: BACKUP_VERSION, kdf: 'recovery-key', opsLimit: 0, memLimitBytes: 0 };
  throw new ParleyError('backup_invalid', { message: 'Unknown key derivation.', details: { kdf } });
}

/**
 * Decrypt a whole backup file, or throw: `backup_invalid` / `backup_version` (header),
 * `backup_wrong_secret` (the key check fails), `backup_tampered` (a chunk fails authentication or
 * data follows the last chunk), `backup_truncated` (the file ends before the last chunk).
 */
export async function openBackup(file: Uint8Array, secret: BackupSecret): Promise<Uint8Array> {
  const info = readBackupHeader(file);
  const s = await sodium();
  const header = file.subarray(0, HEADER_LENGTH);
  const key = await deriveKey(
    s,
    info.kdf === 'argon2id' ? KDF_ARGON2ID : KDF_RECOVERY,
    secret,
    header.subarray(18, 34),
    info.opsLimit,
    info.memLimitBytes,
  );
  if (!s.memcmp(keyCheck(s, key), header.subarray(58, 74))) throw new ParleyError('backup_wrong_secret');
  const state = s.crypto_secretstream_xchacha20poly1305_init_pull(header.subarray(34, 58), key);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const parts: Uint8Array[] = [];
  let total = 0;
  let at = HEADER_LENGTH;
  const overhead = s.crypto_secretstream_xchacha20poly1305_ABYTES;
  for (;;) {
    if (at + 4 > file.length) throw new ParleyError('backup_truncated');
    const len = view.getUint32(at, false);
    if (len < overhead || len > CHUNK + overhead)
      throw new ParleyError('backup_tampered', { message: 'A chunk length is out of range.' });
    if (at + 4 + len > file.length) throw new ParleyError('backup_truncated');
    let r: { message: Uint8Array; tag: number } | false;
    try {
      // libsodium.js throws on a failed authentication where the C library returns -1.
      r = s.crypto_secretstream_xchacha20poly1305_pull(
        state,
        file.subarray(at + 4, at + 4 + len),
        header,
        'uint8array',
      );
    } catch {
      r = false;
    }
    if (!r) throw new ParleyError('backup_tampered');
    parts.push(r.message);
    total += r.message.length;
    at += 4 + len;
    if (r.tag === s.crypto_secretstream_xchacha20poly1305_TAG_FINAL) break;
  }
  if (at !== file.length)
    throw new ParleyError('backup_tampered', { message: 'Data follows the last chunk of the backup.' });
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
