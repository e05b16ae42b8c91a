/**
 * The key-encryption key of server secrets (C19 secrets at rest). Server secrets (the discovery
 * OPRF key, the key-transparency signing key, the username key, …) are stored in the database
 * encrypted under this key, which lives outside the database: in a file (PARLEY_SECRET_KEY_FILE,
 * made 0600 at first start, `<dataDir>/secret.key` by default) or in an environment variable
 * (PARLEY_SECRET_KEY). So a copy of the database, or its backup, alone reveals no secret.
 *
 * Sealing is AES-256-GCM with a random 96-bit nonce, the secret's name and the key id as
 * associated data (a value moved to another name does not open). The encryption key and the key
 * id are derived from the key-encryption key with HKDF, so neither is the key itself.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, openSync, readFileSync, statSync, writeSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from '../config/index.ts';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../private-files.ts';

/** Bytes of a key-encryption key. */
export const SECRET_KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** A loaded key-encryption key: where it came from (for messages), its public id, its AEAD key. */
export interface SecretKey {
  /** `PARLEY_SECRET_KEY_FILE (/path)` or `PARLEY_SECRET_KEY`: named in error messages. */
  readonly source: string;
  /** 16 hex digits derived from the key; stored with each sealed secret so rotation can tell keys apart. */
  readonly id: string;
  readonly aeadKey: Buffer;
}

/** Derive the id and the AEAD key from the raw key-encryption key. */
export function secretKeyFrom(raw: Uint8Array, source: string): SecretKey {
  if (raw.length !== SECRET_KEY_BYTES)
    throw new Error(
      `${source} must hold ${SECRET_KEY_BYTES} random bytes in base64 (make one with: openssl rand -base64 32)`,
    );
  const derive = (info: string, n: number) =>
    Buffer.from(hkdfSync('sha256', raw, Buffer.alloc(0), `parley server secrets ${info}`, n));
  return { source, id: derive('key id', 8).toString('hex'), aeadKey: derive('aes-256-gcm', 32) };
}

/** Decode the text of a key (file contents or variable): base64 of exactly 32 bytes. */
function decodeKey(text: string, source: string): SecretKey {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(t))
    throw new Error(
      `${source} must hold ${SECRET_KEY_BYTES} random bytes in base64 (make one with: openssl rand -base64 32)`,
    );
  return secretKeyFrom(Buffer.from(t, 'base64'), source);
}

function readKeyFile(path: string, variable: string): SecretKey {
  const source = `${variable} (${path})`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${source} cannot be read: ${(e as Error).message}`);
  }
  return decodeKey(text, source);
}

/** The key file this configuration uses when no key is given in the environment. */
export function secretKeyPath(config: Pick<Config, 'dataDir' | 'secretKeyFile'>): string {
  return config.secretKeyFile ?? join(config.dataDir, 'secret.key');
}

/** True when the key file named by the configuration is readable group- or world-wide. */
export function keyFileTooOpen(path: string): boolean {
  try {
    return (statSync(path).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}

/**
 * The current key: PARLEY_SECRET_KEY when set, else the key file. A missing file is made (0600,
 * random key) only while the database holds no sealed secret (`sealedUnder` null): secrets sealed
 * before need the key they were sealed with, and a fresh key would only hide that it is missing.
 */
export function loadCurrentKey(
  config: Pick<Config, 'dataDir' | 'secretKey' | 'secretKeyFile'>,
  sealedUnder: string | null,
): { key: SecretKey; created: string | null } {
  if (config.secretKey) return { key: decodeKey(config.secretKey, 'PARLEY_SECRET_KEY'), created: null };
  const path = secretKeyPath(config);
  if (existsSync(path)) return { key: readKeyFile(path, 'PARLEY_SECRET_KEY_FILE'), created: null };
  if (sealedUnder)
    throw new Error(
      `PARLEY_SECRET_KEY_FILE (${path}) does not exist, but the database holds server secrets encrypted under key ${sealedUnder}: restore that key file or set PARLEY_SECRET_KEY (docs/operations.md, "Server secrets")`,
    );
  if (!config.secretKeyFile) ensurePrivateDir(dirname(path));
  let fd: number;
  try {
    fd = openSync(path, 'wx', PRIVATE_FILE_MODE);
  } catch (e) {
    // Another process sharing the data folder made it first: use that one.
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      return { key: readKeyFile(path, 'PARLEY_SECRET_KEY_FILE'), created: null };
    throw new Error(`PARLEY_SECRET_KEY_FILE (${path}) cannot be created: ${(e as Error).message}`);
  }
  try {
    writeSync(fd, `${randomBytes(SECRET_KEY_BYTES).toString('base64')}\n`);
  } finally {
    closeSync(fd);
  }
  return { key: readKeyFile(path, 'PARLEY_SECRET_KEY_FILE'), created: path };
}

/** The previous key during a rotation (PARLEY_SECRET_KEY_PREVIOUS or _FILE), or null. */
export function loadPreviousKey(config: Pick<Config, 'secretKeyPrevious' | 'secretKeyPreviousFile'>): SecretKey | null {
  if (config.secretKeyPrevious) return decodeKey(config.secretKeyPrevious, 'PARLEY_SECRET_KEY_PREVIOUS');
  if (config.secretKeyPreviousFile) return readKeyFile(config.secretKeyPreviousFile, 'PARLEY_SECRET_KEY_PREVIOUS_FILE');
  return null;
}

function aad(name: string, keyId: string): Buffer {
  return Buffer.from(`parley server secret\0${keyId}\0${name}`, 'utf8');
}

/** Encrypt a secret's value under `key`, bound to its name: nonce ‖ ciphertext ‖ tag. */
export function sealSecret(key: SecretKey, name: string, value: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.aeadKey, nonce);
  cipher.setAAD(aad(name, key.id));
  const body = Buffer.concat([cipher.update(value), cipher.final()]);
  return new Uint8Array(Buffer.concat([nonce, body, cipher.getAuthTag()]));
}

/** Decrypt what `sealSecret` made; null when it does not open (wrong key, name or tampered bytes). */
export function openSecret(key: SecretKey, name: string, sealed: Uint8Array): Uint8Array | null {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) return null;
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.aeadKey, buf.subarray(0, NONCE_BYTES));
    decipher.setAAD(aad(name, key.id));
    decipher.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
    return new Uint8Array(
      Buffer.concat([decipher.update(buf.subarray(NONCE_BYTES, buf.length - TAG_BYTES)), decipher.final()]),
    );
  } catch {
    return null;
  }
}
