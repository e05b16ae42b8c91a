/**
 * Device state storage (C15, C16): everything a device must keep (keys, token, MLS group states,
 * local history) lives behind this small key-value interface, so the same SDK runs with memory
 * (tests, bots), a file (Node) or IndexedDB (browsers).
 */

/** A JSON-like value that may contain Uint8Array anywhere. */
export type StoredValue = unknown;

/** Key-value persistence for one device. Writes are durable when the promise resolves. */
export interface DeviceStore {
  get<T = StoredValue>(key: string): Promise<T | undefined>;
  set(key: string, value: StoredValue): Promise<void>;
  delete(key: string): Promise<void>;
  /** Keys starting with a prefix. */
  keys(prefix: string): Promise<string[]>;
  close?(): Promise<void>;
}

/** JSON replacer/reviver pair that round-trips Uint8Array as `{"$b": base64url}`. */
export const bytesJson = {
  stringify(value: unknown): string {
    return JSON.stringify(value, (_k, v: unknown) => {
      if (v instanceof Uint8Array) {
        let s = '';
        for (let i = 0; i < v.length; i += 0x8000) s += String.fromCharCode(...v.subarray(i, i + 0x8000));
        return { $b: btoa(s) };
      }
      return v;
    });
  },
  parse(text: string): unknown {
    return JSON.parse(text, (_k, v: unknown) => {
      if (
        v &&
        typeof v === 'object' &&
        !Array.isArray(v) &&
        typeof (v as { $b?: unknown }).$b === 'string' &&
        Object.keys(v).length === 1
      ) {
        const bin = atob((v as { $b: string }).$b);
        const out = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
        return out;
      }
      return v;
    });
  },
};
