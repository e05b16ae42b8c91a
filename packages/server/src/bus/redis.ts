/**
 * Redis bus (C3, C19 scale-out): wake-ups between nodes over Redis pub/sub. One publisher and one
 * subscriber connection per bus, however many topics: a connection in subscribe mode can run no
 * other command, and one per topic would not scale. Topics map to channels `prefix + topic`;
 * incoming messages are dispatched from a channel → subscriptions map. ioredis resubscribes every
 * channel by itself after a reconnect.
 */
import { warnSink } from './errors.ts';
import { closeRedis, openRedis } from './redis-client.ts';
import type { Bus, BusOptions } from './types.ts';

/** Options of the Redis bus. */
export interface RedisBusOptions extends BusOptions {
  url: string;
}

interface Channel {
  subs: Set<{ handler: (m: string) => void }>;
  /** Settles when Redis has confirmed SUBSCRIBE; later subscribers to the channel wait on it too. */
  ready: Promise<unknown>;
}

/** A bus shared by every process connected to the same Redis with the same prefix. */
export function createRedisBus(opts: RedisBusOptions): Bus {
  const prefix = opts.prefix ?? 'parley:';
  const onError = opts.onError ?? warnSink;
  const pub = openRedis(opts.url, 'parley-bus-pub', onError);
  const sub = openRedis(opts.url, 'parley-bus-sub', onError, { subscriber: true });
  const channels = new Map<string, Channel>();
  let closed = false;

  sub.on('message', (channel: string, message: string) => {
    const ch = channels.get(channel);
    if (!ch) return;
    for (const s of ch.subs) {
      // A handler's exception must not escape into ioredis's reply parser.
      try {
        s.handler(message);
      } catch (err) {
        onError(err, `bus handler for ${channel}`);
      }
    }
  });

  return {
    async publish(topic, message) {
      if (closed) throw new Error('bus is closed');
      await pub.publish(prefix + topic, message);
    },
    async subscribe(topic, handler) {
      if (closed) throw new Error('bus is closed');
      const name = prefix + topic;
      let ch = channels.get(name);
      if (!ch) {
        ch = { subs: new Set(), ready: sub.subscribe(name) };
        channels.set(name, ch);
      }
      const entry = { handler };
      ch.subs.add(entry);
      const mine = ch;
      const drop = async () => {
        if (!mine.subs.delete(entry)) return;
        // Only the last subscriber of the current channel entry unsubscribes; commands on one
        // connection run in order, so a SUBSCRIBE issued after this UNSUBSCRIBE still wins.
        if (mine.subs.size === 0 && channels.get(name) === mine) {
          channels.delete(name);
          if (!closed) await sub.unsubscribe(name);
        }
      };
      try {
        // Also when another caller created the entry: "resolves once active" must hold for everyone.
        await mine.ready;
      } catch (err) {
        await drop().catch(() => undefined);
        throw err;
      }
      return drop;
    },
    async ping() {
      if (closed) throw new Error('bus is closed');
      // A connection that is down queues commands until it is back: say so at once instead.
      for (const r of [pub, sub])
        if (r.status !== 'ready') throw new Error(`redis connection ${r.options.connectionName ?? ''} is ${r.status}`);
      await pub.ping();
    },
    async close() {
      closed = true;
      channels.clear();
      await Promise.all([closeRedis(pub), closeRedis(sub)]);
    },
  };
}
