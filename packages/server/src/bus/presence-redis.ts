/**
 * Redis presence (C3, C19 scale-out): one key per device, `prefix + 'presence:' + deviceId` → node
 * id, written with `SET … PX ttl` so a node that dies without cleaning up is forgotten after the TTL.
 * `locate` is one MGET, `refresh` one pipeline, and both conditional writes (refresh only our own
 * or missing entries, delete only our own) are small Lua scripts, because a GET-then-write from the
 * client could overwrite a newer connection that another node recorded in between.
 */
import type { Redis } from 'ioredis';
import { checkTtl, DEFAULT_PRESENCE_TTL_MS } from './presence-memory.ts';
import { closeRedis, openRedis } from './redis-client.ts';
import type { Presence, PresenceOptions } from './types.ts';

/** Options of the Redis registry. */
export interface RedisPresenceOptions extends PresenceOptions {
  url: string;
}

// KEYS[1] device key; ARGV[1] node id. Deletes only an entry that is still ours.
const DELETE_IF_OURS = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

// KEYS[1] device key; ARGV[1] node id, ARGV[2] ttl ms. Renews a missing or own entry, never another node's.
const REFRESH_IF_OURS = `
local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`;

type WithScripts = Redis & {
  parleyPresenceDelete(key: string, node: string): Promise<number>;
};
type PipelineWithScripts = ReturnType<Redis['pipeline']> & {
  parleyPresenceRefresh(key: string, node: string, ttlMs: number): PipelineWithScripts;
};

/** A registry shared by every process connected to the same Redis with the same prefix. */
export function createRedisPresence(opts: RedisPresenceOptions): Presence {
  const prefix = `${opts.prefix ?? 'parley:'}presence:`;
  const ttl = checkTtl(opts.ttlMs ?? DEFAULT_PRESENCE_TTL_MS);
  const r = openRedis(opts.url, 'parley-presence', opts.onError) as WithScripts;
  r.defineCommand('parleyPresenceDelete', { numberOfKeys: 1, lua: DELETE_IF_OURS });
  r.defineCommand('parleyPresenceRefresh', { numberOfKeys: 1, lua: REFRESH_IF_OURS });
  return {
    async setOnline(deviceId, nodeId) {
      await r.set(prefix + deviceId, nodeId, 'PX', ttl);
    },
    async refresh(deviceIds, nodeId) {
      if (deviceIds.length === 0) return;
      const p = r.pipeline() as PipelineWithScripts;
      for (const d of deviceIds) p.parleyPresenceRefresh(prefix + d, nodeId, ttl);
      const results = await p.exec();
      // exec resolves even when single commands fail; surface the first failure.
      const failed = results?.find(([err]) => err);
      if (failed?.[0]) throw failed[0];
    },
    async setOffline(deviceId, nodeId) {
      await r.parleyPresenceDelete(prefix + deviceId, nodeId);
    },
    async locate(deviceIds) {
      const out = new Map<string, string>();
      if (deviceIds.length === 0) return out;
      const nodes = await r.mget(deviceIds.map((d) => prefix + d));
      nodes.forEach((node, i) => {
        const d = deviceIds[i];
        if (node !== null && d !== undefined) out.set(d, node);
      });
      return out;
    },
    async close() {
      await closeRedis(r);
    },
  };
}
