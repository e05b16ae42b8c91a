/**
 * In-process bus (C3, C19 single-node default): one process is the whole cluster, so topics are a
 * Map. Delivery happens on a microtask, as a network bus would deliver later: a publisher never
 * runs subscriber code re-entrantly, and a throwing handler cannot break the publisher.
 */
import { warnSink } from './errors.ts';
import type { Bus, BusOptions } from './types.ts';

/** A bus private to this process. `prefix` is accepted for symmetry with Redis and has no effect. */
export function createMemoryBus(opts: BusOptions = {}): Bus {
  const onError = opts.onError ?? warnSink;
  // One entry object per subscription, so subscribing the same function twice gives two independent subscriptions.
  const topics = new Map<string, Set<{ handler: (m: string) => void }>>();
  let closed = false;
  return {
    async publish(topic, message) {
      if (closed) throw new Error('bus is closed');
      const subs = topics.get(topic);
      if (!subs) return;
      for (const sub of subs) {
        queueMicrotask(() => {
          // Unsubscribing between publish and delivery stops delivery, as the contract promises.
          if (!topics.get(topic)?.has(sub)) return;
          try {
            sub.handler(message);
          } catch (err) {
            onError(err, `bus handler for ${topic}`);
          }
        });
      }
    },
    async subscribe(topic, handler) {
      if (closed) throw new Error('bus is closed');
      const sub = { handler };
      let subs = topics.get(topic);
      if (!subs) topics.set(topic, (subs = new Set()));
      subs.add(sub);
      return async () => {
        const current = topics.get(topic);
        if (!current) return;
        current.delete(sub);
        if (current.size === 0) topics.delete(topic);
      };
    },
    async ping() {
      if (closed) throw new Error('bus is closed');
    },
    async close() {
      closed = true;
      topics.clear();
    },
  };
}
