/**
 * Bus and presence (C3, C19): the contracts and the factories the composition root uses — Redis
 * when a URL is configured (several nodes share work), in-process otherwise.
 */
import { createMemoryBus } from './memory.ts';
import { createRedisBus } from './redis.ts';
import { createMemoryPresence } from './presence-memory.ts';
import { createRedisPresence } from './presence-redis.ts';
import type { Bus, BusErrorHandler, Presence } from './types.ts';

export type { Bus, Presence, BusOptions, PresenceOptions, BusErrorHandler } from './types.ts';
export type { RedisBusOptions } from './redis.ts';
export type { MemoryPresenceOptions } from './presence-memory.ts';
export type { RedisPresenceOptions } from './presence-redis.ts';
export { DEFAULT_PRESENCE_TTL_MS } from './presence-memory.ts';
export { createMemoryBus, createRedisBus, createMemoryPresence, createRedisPresence };

/** The bus for this configuration: Redis when `redisUrl` is set, in-process otherwise. */
export function createBus(opts: { redisUrl?: string; prefix?: string; onError?: BusErrorHandler } = {}): Bus {
  const { redisUrl, ...rest } = opts;
  return redisUrl ? createRedisBus({ url: redisUrl, ...rest }) : createMemoryBus(rest);
}

/** The presence registry for this configuration: Redis when `redisUrl` is set, in-process otherwise. */
export function createPresence(
  opts: { redisUrl?: string; ttlMs?: number; prefix?: string; onError?: BusErrorHandler } = {},
): Presence {
  const { redisUrl, ...rest } = opts;
  return redisUrl ? createRedisPresence({ url: redisUrl, ...rest }) : createMemoryPresence(rest);
}
