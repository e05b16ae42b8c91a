/**
 * Private files at rest (C19): the data folder, the SQLite files, the local blob folder and the
 * secret key file belong to the server's user alone. Modes are set explicitly after creation,
 * because `mkdir`/`open` modes are filtered through the process umask and an existing folder or
 * file (made by an older version, or by hand) keeps whatever mode it had.
 */
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';

/** Mode of every folder Parley keeps state in: only the owner may list or enter it. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of every file Parley keeps state in: only the owner may read or write it. */
export const PRIVATE_FILE_MODE = 0o600;

function isMissing(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/** Create `path` (and missing parents) if needed and make it 0700. */
export function ensurePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(path, PRIVATE_DIR_MODE);
}

/** Make an existing file 0600; a missing one is left missing. */
export function restrictFile(path: string): void {
  try {
    chmodSync(path, PRIVATE_FILE_MODE);
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
}

/** Create `path` empty if it does not exist (never truncating it), and make it 0600. */
export function touchPrivateFile(path: string): void {
  closeSync(openSync(path, 'a', PRIVATE_FILE_MODE));
  chmodSync(path, PRIVATE_FILE_MODE);
}
