/**
 * Device revocation across processes (C1, C19). Storage says which devices are revoked, but the
 * gateway authenticates a socket once, at `hello`, and the send path must not read the database
 * per frame. So every process keeps the devices revoked recently in memory, learns of each
 * revocation over the bus (topic `revocations`, every node, this one included), and cuts the
 * device off at once: its sockets close (4003), its frames stop running and its queued sends are
 * refused. An entry is kept for RECENT_MS, far longer than any `hello` takes between reading the
 * device from storage and attaching its socket; after that storage alone refuses the device.
 *
 * The bus is at-most-once: a node whose subscription was down misses the message. So with several
 * nodes each one also asks storage, every SWEEP_MS, which of its connected devices are no longer
 * active, and cuts those off as if the message had arrived (`sweep`).
 */
import type { Logger } from 'pino';
import type { Bus } from '../bus/types.ts';
import type { Storage } from '../storage/types.ts';

/** WebSocket close code for a socket whose device was revoked (docs/protocol.md). */
export const REVOKED_CLOSE_CODE = 4003;

/** Why devices were revoked; logged, and carried on the bus for the receiving nodes' logs. */
export type RevocationReason = 're-registration' | 'admin' | 'unlink' | 'logout';

/** How long a revoked device is remembered in memory (monotonic milliseconds). */
const RECENT_MS = 10 * 60_000;
const TOPIC = 'revocations';
/** How often a node of several checks its connected devices against storage. */
const SWEEP_MS = 30_000;
/** Device ids per storage query of a sweep. */
const SWEEP_CHUNK = 1000;
/**
 * How long a revocation waits for the bus to take its message. The caller (a registration, an
 * admin) must not hang on a Redis outage; a node that never gets the message catches up at its sweep.
 */
const PUBLISH_DEADLINE_MS = 3000;

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
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly bus: Bus,
    private readonly storage: Storage,
    private readonly log: Logger,
  ) {}

  /**
   * Subscribe to revocations from every node. With `connected` (several nodes share the work),
   * also sweep the devices it lists every SWEEP_MS.
   */
  async start(connected?: () => string[]): Promise<void> {
    this.unsubscribe = await this.bus.subscribe(TOPIC, (m) => this.onBusMessage(m));
    if (connected) {
      this.sweepTimer = setInterval(() => {
        this.sweep(connected()).catch((err: unknown) => this.log.warn({ err }, 'revocation sweep failed'));
      }, SWEEP_MS);
      this.sweepTimer.unref();
    }
  }

  /** Stop listening and sweeping. */
  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    if (this.unsubscribe) await this.unsubscribe();
    this.unsubscribe = null;
  }

  /**
   * Cut off those of `deviceIds` (this node's connected devices) that storage no longer holds
   * active: revocations whose bus message this node missed. Returns the ids cut off.
   */
  async sweep(deviceIds: readonly string[]): Promise<string[]> {
    const gone: string[] = [];
    for (let i = 0; i < deviceIds.length; i += SWEEP_CHUNK)
      gone.push(...(await this.storage.accounts.inactiveDevices(deviceIds.slice(i, i + SWEEP_CHUNK))));
    if (gone.length) {
      this.log.warn({ devices: gone }, 'revoked devices still connected: their revocation message was missed');
      this.apply(gone);
    }
    return gone;
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
   * Resolves once the bus has taken the message; rejects when it did not within
   * PUBLISH_DEADLINE_MS (this node has applied it all the same).
   */
  async announce(deviceIds: readonly string[], reason: RevocationReason): Promise<void> {
    if (!deviceIds.length) return;
    this.apply(deviceIds);
    const msg: RevocationMessage = { devices: [...deviceIds], reason };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_r, reject) => {
      timer = setTimeout(
        () => reject(new Error(`bus did not take the revocation within ${PUBLISH_DEADLINE_MS} ms`)),
        PUBLISH_DEADLINE_MS,
      );
    });
    try {
      await Promise.race([this.bus.publish(TOPIC, JSON.stringify(msg)), deadline]);
    } finally {
      clearTimeout(timer);
    }
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
