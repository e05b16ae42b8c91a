/**
 * File device store for Node (C15): one file per key in a profile folder, written to a temporary
 * file and renamed so a crash never leaves a half-written key. Used by the `parley` CLI's --profile.
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bytesJson, type DeviceStore } from '../store/types.ts';

const enc = (key: string) => encodeURIComponent(key).replace(/\*/g, '%2A') + '.json';
const dec = (file: string) => decodeURIComponent(file.slice(0, -5));

/** Stores each key as `<dir>/<urlencoded key>.json` (mode 0600: it holds private keys). */
export class FileStore implements DeviceStore {
  private ready: Promise<void>;
  constructor(private readonly dir: string) {
    this.ready = mkdir(dir, { recursive: true, mode: 0o700 }).then(() => undefined);
  }
  async get<T>(key: string): Promise<T | undefined> {
    await this.ready;
    try {
      return bytesJson.parse(await readFile(join(this.dir, enc(key)), 'utf8')) as T;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }
  async set(key: string, value: unknown): Promise<void> {
    await this.ready;
    const file = join(this.dir, enc(key));
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(tmp, bytesJson.stringify(value), { mode: 0o600 });
    await rename(tmp, file);
  }
  async delete(key: string): Promise<void> {
    await this.ready;
    await rm(join(this.dir, enc(key)), { force: true });
  }
  async keys(prefix: string): Promise<string[]> {
    await this.ready;
    return (await readdir(this.dir))
      .filter((f) => f.endsWith('.json'))
      .map(dec)
      .filter((k) => k.startsWith(prefix));
  }
}
