/** In-memory device store (C15): for tests and short-lived bots; values are deep-copied. */
import { bytesJson, type DeviceStore } from './types.ts';

/** Keeps everything in a Map; nothing survives the process. */
export class MemoryStore implements DeviceStore {
  private readonly data = new Map<string, string>();
  async get<T>(key: string): Promise<T | undefined> {
    const v = this.data.get(key);
    return v === undefined ? undefined : (bytesJson.parse(v) as T);
  }
  async set(key: string, value: unknown): Promise<void> {
    this.data.set(key, bytesJson.stringify(value));
  }
  async delete(key: string): Promise<void> {
    this.data.delete(key);
  }
  async keys(prefix: string): Promise<string[]> {
    return [...this.data.keys()].filter((k) => k.startsWith(prefix));
  }
}
