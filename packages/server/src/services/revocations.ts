/**
 * Device revocation across processes (C1, C19). Storage says which devices are revoked, but the
 * gateway authenticates a socket once, at `hello`, and the send path must not read the database
 * per frame. So every process keeps the devices revoked recently in memory, learns of each
 * revocation over the bus (topic `revocations`, every node, this one included), and cuts the
 * device off at once: its sockets close (4003), its frames stop running and its queued sends are
 * refused. An entry is kept for RECENT_MS, far longer than any `hello` takes between reading the
 * device from storage and attaching its socket; after that storage alone refuses the device.
 */
import type { Logger } from 'pino';
import type { Bus } from '../bus/types.ts';

/** WebSocket close code for a socket whose device was revoked (docs/protocol.md). */
export const REVOKED_CLOSE_CODE = 4003;

/** Why devices were revoked; logged, and carried on the bus for the receiving nodes' logs. */
export type RevocationReason = 're-registration' | 'admin' | 'unlink';

/** How long a revoked device is remembered in memory (monotonic milliseconds). */
const RECENT_MS = 10 * 60_000;
const TOPIC = 'revocations';

interface RevocationMessage {
  devices: string[];
  reason: RevocationReason;
}

/** Called with the revoked device ids when this process learns of a revocation. */
export type RevocationListener = (deviceIds: readonly string[]) => void;

/** The revoked devices this process knows of, fed by the bus. */
export class Revocations {
  /** Device id → when this process learned it was revoked (performance.now()). */
  private readonly recent = new Map<string, number>();
  private readonly listeners: RevocationListener[] = [];
  private unsubscribe: (() => Promise<void>) | null = null;

  constructor(
    private readonly bus: Bus,
    private readonly log: Logger,
  ) {}

  /** Subscribe to revocations from every node. */
  async start(): Promise<void> {
    this.unsubscribe = await this.bus.subscribe(TOPIC, (m) => this.onBusMessage(m));
  }

  /** Stop listening. */
  async stop(): Promise<void> {
    if (this.unsubscribe) await this.unsubscribe();
    this.unsubscribe = null;
  }

  /** Run `fn` whenever devices are revoked (the composition root cuts off sockets and calls here). */
  onRevoked(fn: RevocationListener): void {
    this.listeners.push(fn);
  }

  /**
   * True when the device was revoked recently. Called for every frame and every queued send, so it
   * is one Map lookup, and none at all while nothing was revoked.
   */
  isRevoked(deviceId: string): boolean {
    return this.recent.size !== 0 && this.recent.has(deviceId);
  }

  /** True when any device was revoked recently (lets hot loops skip the per-item check). */
  get any(): boolean {
    return this.recent.size !== 0;
  }

  /**
   * Apply a revocation (already committed to storage) here at once, then tell every other node.
   * Resolves once the bus has taken the message.
   */
  async announce(deviceIds: readonly string[], reason: RevocationReason): Promise<void> {
    if (!deviceIds.length) return;
    this.apply(deviceIds);
    const msg: RevocationMessage = { devices: [...deviceIds], reason };
    await this.bus.publish(TOPIC, JSON.stringify(msg));
  }

  private apply(deviceIds: readonly string[]): void {
    const now = performance.now();
    this.prune(now);
    const fresh = deviceIds.filter((d) => !this.recent.has(d));
    for (const d of deviceIds) this.recent.set(d, now);
    // Our own message comes back over the bus: nothing new then, so listeners run once per node.
    if (!fresh.length) return;
    for (const fn of this.listeners) {
      try {
        fn(fresh);
      } catch (err) {
        this.log.error({ err }, 'revocation listener failed');
      }
    }
  }

  private prune(now: number): void {
    // Insertion order is (almost) time order: stop at the first entry still young.
    for (const [d, at] of this.recent) {
      if (now - at < RECENT_MS) break;
      this.recent.delete(d);
    }
  }

  private onBusMessage(raw: string): void {
    let msg: RevocationMessage;
    try {
      msg = JSON.parse(raw) as RevocationMessage;
    } catch {
      return;
    }
    if (!Array.isArray(msg.devices) || !msg.devices.every((d) => typeof d === 'string')) return;
    this.log.debug({ devices: msg.devices, reason: msg.reason }, 'revocation received');
    this.apply(msg.devices);
  }
}
