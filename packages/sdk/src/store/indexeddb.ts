/** IndexedDB device store (C15): the browser's persistent store, one object store of JSON text. */
import { bytesJson, type DeviceStore } from './types.ts';

interface IdbLike {
  open(name: string, version: number): IDBOpenDBRequest;
}

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/** Opens (or creates) database `name` with one object store `kv`. */
export class IndexedDbStore implements DeviceStore {
  private constructor(private readonly db: IDBDatabase) {}

  static async open(
    name = 'parley',
    idb: IdbLike = (globalThis as unknown as { indexedDB: IdbLike }).indexedDB,
  ): Promise<IndexedDbStore> {
    const open = idb.open(name, 1);
    open.onupgradeneeded = () => open.result.createObjectStore('kv');
    return new IndexedDbStore(await req(open));
  }

  private tx(mode: IDBTransactionMode) {
    return this.db.transaction('kv', mode).objectStore('kv');
  }
  async get<T>(key: string): Promise<T | undefined> {
    const v = (await req(this.tx('readonly').get(key))) as string | undefined;
    return v === undefined ? undefined : (bytesJson.parse(v) as T);
  }
  async set(key: string, value: unknown): Promise<void> {
    await req(this.tx('readwrite').put(bytesJson.stringify(value), key));
  }
  async delete(key: string): Promise<void> {
    await req(this.tx('readwrite').delete(key));
  }
  async keys(prefix: string): Promise<string[]> {
    const all = (await req(this.tx('readonly').getAllKeys())) as string[];
    return all.filter((k) => typeof k === 'string' && k.startsWith(prefix));
  }
  async close(): Promise<void> {
    this.db.close();
  }
}
