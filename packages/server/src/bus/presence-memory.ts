/**
 * In-process presence (C3, C19 single-node default): which node holds each device's socket, in a
 * Map with the same expiry semantics as the Redis registry. Expired entries are dropped on read and
 * by a periodic, unref'd sweep, so devices that vanish without setOffline do not accumulate.
 */
import type { Presence, PresenceOptions } from './types.ts';

/** Default entry lifetime; the delivery service refreshes its sockets well within it. */
export const DEFAULT_PRESENCE_TTL_MS = 60_000;

/** Options of the in-process registry. */
export interface MemoryPresenceOptions extends PresenceOptions {
  /** Clock in ms (default Date.now); tests may pass a fake one. */
  now?: () => number;
}

/** Throw on a TTL that Redis PX would reject, so both registries accept the same values. */
export function checkTtl(ttlMs: number): number {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1)
    throw new RangeError(`presence ttlMs must be a positive integer, got ${ttlMs}`);
  return ttlMs;
}

/** A registry private to this process. `prefix` is accepted for symmetry with Redis and has no effect. */
export function createMemoryPresence(opts: MemoryPresenceOptions = {}): Presence {
  const ttl = checkTtl(opts.ttlMs ?? DEFAULT_PRESENCE_TTL_MS);
  const now = opts.now ?? Date.now;
  const entries = new Map<string, { node: string; expiresAt: number }>();
  const live = (deviceId: string, t: number) => {
    const e = entries.get(deviceId);
    if (e && e.expiresAt <= t) {
      entries.delete(deviceId);
      return undefined;
    }
    return e;
  };
  const sweep = setInterval(
    () => {
      const t = now();
      for (const [d, e] of entries) if (e.expiresAt <= t) entries.delete(d);
    },
    Math.max(1000, ttl),
  );
  sweep.unref();
  return {
    async setOnline(deviceId, nodeId) {
      entries.set(deviceId, { node: nodeId, expiresAt: now() + ttl });
    },
    async refresh(deviceIds, nodeId) {
      const t = now();
      for (const d of deviceIds) {
        const e = live(d, t);
        if (!e || e.node === nodeId) entries.set(d, { node: nodeId, expiresAt: t + ttl });
      }
    },
    async setOffline(deviceId, nodeId) {
      if (live(deviceId, now())?.node === nodeId) entries.delete(deviceId);
    },
    async locate(deviceIds) {
      const t = now();
      const out = new Map<string, string>();
      for (const d of deviceIds) {
        const e = live(d, t);
        if (e) out.set(d, e.node);
      }
      return out;
    },
    async close() {
      clearInterval(sweep);
      entries.clear();
    },
  };
}
