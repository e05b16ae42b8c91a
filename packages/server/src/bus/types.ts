/**
 * Bus and presence contracts (C3, C19): how server processes wake each other and find which
 * process holds a device's socket. In-process implementations are the single-node default; Redis
 * implementations let several processes share the work.
 */

/** Topic-based publish/subscribe reaching every node, this one included. Delivery is at-most-once: wake-ups only, the data lives in the database. */
export interface Bus {
  /** Deliver `message` to every subscriber of `topic` on every node, including this one. */
  publish(topic: string, message: string): Promise<void>;
  /** Subscribe; resolves once the subscription is active (so a publish after it is seen). Returns an unsubscribe function. */
  subscribe(topic: string, handler: (message: string) => void): Promise<() => Promise<void>>;
  /**
   * One round trip to the shared medium (Redis PING), for readiness (C19); throws when it does not
   * answer or is not connected. In-process there is nothing to reach: it fails only once closed.
   */
  ping(): Promise<void>;
  /** Drop every subscription and release connections; the bus is unusable afterwards. */
  close(): Promise<void>;
}

/** Which node holds each connected device's socket. */
export interface Presence {
  /** Record that the device's socket is held by nodeId; entries expire after ttlMs unless refreshed. */
  setOnline(deviceId: string, nodeId: string): Promise<void>;
  /**
   * Refresh many devices at once (called periodically by the node for all its sockets). An entry is
   * renewed when it is missing or already points at nodeId; one that points elsewhere is left alone,
   * because a newer connection on another node must not be taken back by a stale refresh.
   */
  refresh(deviceIds: string[], nodeId: string): Promise<void>;
  /** Remove the entry only if it still points at nodeId (a newer connection elsewhere wins). */
  setOffline(deviceId: string, nodeId: string): Promise<void>;
  /** Node holding each online device's socket; offline devices are absent. One round trip for many ids. */
  locate(deviceIds: string[]): Promise<Map<string, string>>;
  /** Release timers and connections. */
  close(): Promise<void>;
}

/** Called when a subscriber's handler throws or a connection reports an error; `where` names the source. */
export type BusErrorHandler = (err: unknown, where: string) => void;

/** Options every bus and presence constructor accepts. */
export interface BusOptions {
  /** Namespace for channels and keys (default 'parley:'), so tests and deployments sharing a Redis stay apart. */
  prefix?: string;
  /** Where handler and connection errors go (default: a process warning). */
  onError?: BusErrorHandler;
}

/** Options of the presence registries. */
export interface PresenceOptions extends BusOptions {
  /** How long an entry lives without a refresh (default 60 s); refresh well within it. */
  ttlMs?: number;
}
