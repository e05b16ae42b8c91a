/**
 * Local-folder blob store (C4, the embedded default): one file per object under
 * `<dataDir>/media/`, keys mapping to relative paths. Objects are written to a temporary file in
 * `<root>/.tmp/` (same file system, never a valid key), synced, then renamed into place, so a
 * reader never sees half an object and a crash leaves at most a file in `.tmp/`, which the next
 * start empties.
 */
import { mkdir, open, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { ensurePrivateDir, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../private-files.ts';
import { assertBlobKey, sizedChunks, type BlobBody, type BlobStore, type ByteRange } from './types.ts';

/** Folder for objects being written; keys cannot start with a dot, so it never holds one. */
const TMP_DIR = '.tmp';

function isMissing(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/** A {@link BlobStore} over a local folder. */
export class LocalBlobStore implements BlobStore {
  readonly kind = 'local' as const;

  constructor(readonly root: string) {}

  private path(key: string): string {
    assertBlobKey(key);
    return join(this.root, ...key.split('/'));
  }

  async put(key: string, body: BlobBody, size: number): Promise<void> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true, mode: PRIVATE_DIR_MODE });
    await mkdir(join(this.root, TMP_DIR), { recursive: true, mode: PRIVATE_DIR_MODE });
    const tmp = join(this.root, TMP_DIR, randomBytes(12).toString('hex'));
    const fh = await open(tmp, 'wx', PRIVATE_FILE_MODE);
    let done = false;
    try {
      for await (const chunk of sizedChunks(body, size)) await fh.write(chunk);
      // Durable before visible: the database will point at this object once put returns.
      await fh.sync();
      done = true;
    } finally {
      await fh.close();
      if (!done) await unlink(tmp).catch(() => undefined);
    }
    await rename(tmp, target);
  }

  async get(key: string, range?: ByteRange): Promise<Readable | null> {
    let fh;
    try {
      fh = await open(this.path(key), 'r');
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
    // The open handle keeps the bytes readable even if the object is deleted while streaming.
    return fh.createReadStream(range ? { start: range.start, end: range.end, autoClose: true } : { autoClose: true });
  }

  async stat(key: string): Promise<{ size: number } | null> {
    try {
      return { size: (await stat(this.path(key))).size };
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    const p = this.path(key);
    try {
      await unlink(p);
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
    // Drop folders the object leaves empty (an upload's part folder), never the root itself.
    for (let dir = dirname(p); dir.startsWith(this.root + sep); dir = dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        break;
      }
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    const keys: string[] = [];
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if (isMissing(e)) return;
        throw e;
      }
      for (const entry of entries) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (dir !== this.root || entry.name !== TMP_DIR) await walk(full);
        } else {
          const key = relative(this.root, full).split(sep).join('/');
          if (key.startsWith(prefix)) keys.push(key);
        }
      }
    };
    await walk(base ? join(this.root, ...base.split('/')) : this.root);
    keys.sort();
    yield* keys;
  }

  /** Remove half-written objects a crash left behind and make sure the temporary folder exists. */
  async resetTemporary(): Promise<void> {
    await rm(join(this.root, TMP_DIR), { recursive: true, force: true });
    await mkdir(join(this.root, TMP_DIR), { recursive: true, mode: PRIVATE_DIR_MODE });
  }

  async close(): Promise<void> {
    // Nothing to release: every handle is closed by the operation that opened it.
  }
}

/** Create the folder (if needed, 0700: ciphertext sizes and times are metadata) and a store over it. */
export async function createLocalBlobStore(root: string): Promise<LocalBlobStore> {
  ensurePrivateDir(root);
  const store = new LocalBlobStore(root);
  await store.resetTemporary();
  return store;
}
