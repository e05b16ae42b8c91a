/**
 * Delivery (C3): per-device queues in the database, pushed to connected devices with a bounded
 * window of un-acknowledged deliveries. Sends are stored in batches (group commit: everything that
 * arrives within one event-loop turn is written in one transaction) and acknowledged to the sender
 * only after that transaction commits, so an acknowledged message survives a crash.
 *
 * A device connected to this process gets a message pushed straight from the batch result when its
 * queue is caught up, otherwise the queue is re-read from storage ("pump"). A device connected to
 * another process is woken over the bus: presence says which node holds its socket.
 */
import type { Logger } from 'pino';
import { LIMITS, ParleyError, toB64, fromB64, type DeliverEvent } from '@parley/protocol';
import type { AppendResult, MessageRow, NewMessage, Storage } from '../storage/types.ts';
import type { Bus, Presence } from '../bus/types.ts';
import { CursorSet } from './cursor-set.ts';
import type { Revocations } from './revocations.ts';
import { ServerMetrics } from '../metrics/counters.ts';

/** What the gateway gives the delivery service for each authenticated socket. */
export interface DeviceConnection {
  readonly deviceId: string;
  readonly accountId: string;
  /** Push one delivery frame. */
  push(event: DeliverEvent, payload: Uint8Array): void;
  /** Close the socket (another connection of the same device took over). */
  close(code: number, reason: string): void;
  /** The device was revoked: run no further frame from this socket and close it (4003). */
  revoke(): void;
  /** False once the socket is closed. */
  isOpen(): boolean;
  /** Push one event without a payload (`{event, body}` text frame), e.g. call signalling. */
  event(name: string, body: unknown): void;
}

interface ConnState {
  conn: DeviceConnection;
  /** Pushed, not yet acknowledged. */
  inflight: CursorSet;
  pumping: boolean;
  again: boolean;
  /** True when the last storage read found no more pending deliveries. */
  caughtUp: boolean;
}

interface Pending {
  msg: NewMessage;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

/**
 * Told which stored application messages found their recipient with no open socket on any node
 * (the Web Push sender wakes those devices, C18). Called after the batch is dispatched; it must
 * return at once.
 */
export type OfflineHandler = (offline: { deviceId: string; message: Omit<MessageRow, 'payload'> }[]) => void;

type BusMessage =
  | { t: 'wake'; devices: string[] }
  | { t: 'kick'; device: string; node: string }
  | { t: 'eph'; devices: string[]; event: DeliverEvent; payload: string };

const MAX_BATCH = 512;
/**
 * Read backpressure. Once this many sends wait to be written, the gateway stops reading sockets
 * that bring more and parks their frames unparsed (`whenDrained`); below LOW_WATER they are let
 * back in, about a batch's worth of frames per turn. A parked frame is one buffer, and what waits
 * in the kernel's socket buffers costs nothing, while a send in this queue is a web of live
 * objects (parsed header, validated body, promises) that every young-generation GC copies.
 * Without the bound, a stall of a few hundred milliseconds at 10,000 messages/s left tens of
 * thousands of sends queued here, GC took a fifth of the core, and the server stayed behind a
 * rate it otherwise handled with room to spare (docs/benchmarks.md).
 */
export const HIGH_WATER = 2 * MAX_BATCH;
const LOW_WATER = MAX_BATCH / 2;

/** A paused reader: handles the frames it parked, resumes reading, and says how many it handled. */
export type DrainWaiter = () => number;
/**
 * Group commit pacing: a batch is written at most this often. A commit costs about as much as a
 * few dozen messages inside it (SQLite writes every page the transaction touched to the WAL; on
 * PostgreSQL it is a round trip and a flush), so under load waiting up to a millisecond for more
 * messages to join the batch buys far more than it costs; when idle, the first message is written
 * at once.
 */
const FLUSH_INTERVAL_MS = 1;

/** Toward the number of in-flight deliveries per device before the client must acknowledge. */
export const DELIVERY_WINDOW = LIMITS.deliveryWindow;

/** The delivery engine of one server process. */
export class Delivery {
  private readonly conns = new Map<string, ConnState>();
  private queue: Pending[] = [];
  private scheduled = false;
  /** When the last batch started to be written (performance.now()). */
  private lastFlushAt = -Infinity;
  private unsubscribe: (() => Promise<void>) | null = null;
  /** Paused readers, first paused first released (see HIGH_WATER). */
  private drainWaiters: DrainWaiter[] = [];
  private drainHead = 0;
  private releaseScheduled = false;
  private refreshTimer: NodeJS.Timeout | null = null;
  private offlineHandler: OfflineHandler | null = null;

  constructor(
    private readonly storage: Storage,
    private readonly bus: Bus,
    private readonly presence: Presence,
    private readonly nodeId: string,
    private readonly log: Logger,
    /** True when other processes may hold sockets (Redis configured). */
    private readonly distributed: boolean,
    /** Devices revoked recently: their queued sends are refused rather than written. */
    private readonly revocations: Revocations,
    /** Where pushes, stored messages and storage timings are counted (C19). */
    private readonly metrics: ServerMetrics = new ServerMetrics(),
  ) {}

  /** Subscribe to this node's bus topic and start refreshing presence. */
  async start(): Promise<void> {
    this.unsubscribe = await this.bus.subscribe(`node:${this.nodeId}`, (m) => this.onBusMessage(m));
    if (this.distributed) {
      this.refreshTimer = setInterval(() => {
        const ids = [...this.conns.keys()];
        if (ids.length)
          this.presence.refresh(ids, this.nodeId).catch((err) => this.log.warn({ err }, 'presence refresh failed'));
      }, 20_000);
      this.refreshTimer.unref();
    }
  }

  /** Stop accepting work; waits for the current batch to be written. */
  async stop(): Promise<void> {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    while (this.queue.length || this.scheduled) await new Promise((r) => setTimeout(r, 5));
    if (this.unsubscribe) await this.unsubscribe();
    for (const s of this.conns.values()) s.conn.close(1012, 'server restarting');
    this.conns.clear();
  }

  /** Be told about application messages queued for devices with no open socket (one handler). */
  onOffline(handler: OfflineHandler): void {
    this.offlineHandler = handler;
  }

  /** The device's current socket on this node (the newest it authenticated), if any. */
  connection(deviceId: string): DeviceConnection | undefined {
    return this.conns.get(deviceId)?.conn;
  }

  /** True when the device has an open socket on this node. */
  isConnected(deviceId: string): boolean {
    return this.connection(deviceId)?.isOpen() ?? false;
  }

  /** Devices with an authenticated socket on this node. */
  connectedDevices(): string[] {
    return [...this.conns.keys()];
  }

  /** Number of authenticated sockets on this node. */
  get connectionCount(): number {
    return this.conns.size;
  }

  /**
   * Register an authenticated socket; an older socket of the same device is closed. Starts the
   * resume pump (the gateway has told the device how many deliveries wait before this).
   */
  async attach(conn: DeviceConnection): Promise<void> {
    const old = this.conns.get(conn.deviceId);
    if (old && old.conn !== conn) old.conn.close(4001, 'replaced by a newer connection');
    const state: ConnState = { conn, inflight: new CursorSet(), pumping: false, again: false, caughtUp: false };
    this.conns.set(conn.deviceId, state);
    if (this.distributed) {
      const where = await this.presence.locate([conn.deviceId]);
      const other = where.get(conn.deviceId);
      if (other && other !== this.nodeId)
        await this.publish(other, { t: 'kick', device: conn.deviceId, node: this.nodeId });
      await this.presence.setOnline(conn.deviceId, this.nodeId);
    }
    void this.pump(state);
  }

  /**
   * Cut revoked devices off: their sockets on this node stop serving and close (4003) and are
   * detached now, not when the close handshake ends. Returns the connections cut off.
   */
  cutOff(deviceIds: readonly string[]): DeviceConnection[] {
    const cut: DeviceConnection[] = [];
    for (const d of deviceIds) {
      const s = this.conns.get(d);
      if (!s) continue;
      s.conn.revoke();
      this.detach(s.conn);
      cut.push(s.conn);
    }
    return cut;
  }

  /** Forget a closed socket. */
  detach(conn: DeviceConnection): void {
    const s = this.conns.get(conn.deviceId);
    if (s?.conn !== conn) return;
    this.conns.delete(conn.deviceId);
    if (this.distributed)
      this.presence
        .setOffline(conn.deviceId, this.nodeId)
        .catch((err) => this.log.warn({ err }, 'presence offline failed'));
  }

  /** Acknowledge deliveries; frees window room and pushes more. */
  async ack(deviceId: string, cursors: number[]): Promise<number> {
    const n = await this.storage.conversations.ackDeliveries(deviceId, cursors);
    const s = this.conns.get(deviceId);
    if (s) {
      for (const c of cursors) s.inflight.delete(c);
      if (!s.caughtUp) void this.pump(s);
    }
    return n;
  }

  /** Sends waiting to be written. */
  get queued(): number {
    return this.queue.length;
  }

  /** True while so many sends wait to be written that callers should stop reading more. */
  get backlogged(): boolean {
    return this.queue.length >= HIGH_WATER;
  }

  /** Call `fn` once the send queue has drained below LOW_WATER, in turn with other paused readers. */
  whenDrained(fn: DrainWaiter): void {
    this.drainWaiters.push(fn);
    this.releaseWaiters();
  }

  /**
   * Let paused readers go on, oldest first, while the queue is short, up to about one batch of
   * frames per turn: the frames they handle become sends in later microtasks, so the queue's
   * length cannot be watched as they go.
   */
  private releaseWaiters(): void {
    let released = 0;
    while (this.drainHead < this.drainWaiters.length && this.queue.length < LOW_WATER && released < MAX_BATCH) {
      const w = this.drainWaiters[this.drainHead]!;
      this.drainWaiters[this.drainHead++] = undefined as unknown as DrainWaiter;
      released += w();
    }
    if (this.drainHead === this.drainWaiters.length) {
      this.drainWaiters = [];
      this.drainHead = 0;
    } else if (!this.scheduled && !this.releaseScheduled) {
      // No batch is on its way to call this again (the frames let in may all have been acks).
      this.releaseScheduled = true;
      setImmediate(() => {
        this.releaseScheduled = false;
        this.releaseWaiters();
      });
    }
  }

  /** Queue an application message for the next group-commit batch; resolves once it is durable. */
  submit(msg: NewMessage): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ msg, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        this.scheduleFlush();
      }
    });
  }

  /** Write the queue after this turn, or once FLUSH_INTERVAL_MS has passed since the last batch. */
  private scheduleFlush(): void {
    const wait = this.lastFlushAt + FLUSH_INTERVAL_MS - performance.now();
    if (wait > 0) setTimeout(() => void this.flush(), wait);
    else setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.lastFlushAt = performance.now();
    let batch = this.queue.splice(0, MAX_BATCH);
    // A send queued before its device was revoked is refused, not written (it waited in memory).
    if (this.revocations.any) batch = this.refuseRevoked(batch);
    try {
      let results: AppendResult[];
      try {
        const started = performance.now();
        results = batch.length ? await this.storage.conversations.appendMessages(batch.map((p) => p.msg)) : [];
        // Once per batch: the send path pays two clock reads for the whole batch.
        this.metrics.storage.append.record((performance.now() - started) / 1000);
      } catch (err) {
        // One bad message must not fail its neighbours: retry one by one to isolate it.
        results = [];
        for (const p of batch) {
          try {
            results.push((await this.storage.conversations.appendMessages([p.msg]))[0]!);
          } catch (e) {
            p.reject(e);
            results.push(null as unknown as AppendResult);
          }
        }
        this.log.warn({ err }, 'batch append failed; retried one by one');
      }
      const byId = new Map<string, NewMessage>();
      for (const p of batch) byId.set(p.msg.id, p.msg);
      let stored = 0;
      for (let i = 0; i < batch.length; i++) {
        const r = results[i];
        if (!r) continue;
        if (!r.duplicate) stored++;
        batch[i]!.resolve(r);
      }
      this.metrics.messagesIn += stored;
      await this.dispatch(results.filter(Boolean), byId);
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      if (this.queue.length) this.scheduleFlush();
      else this.scheduled = false;
      if (this.drainWaiters.length) this.releaseWaiters();
    }
  }

  /** The sends of `batch` whose device is not revoked; the others are rejected `unauthenticated`. */
  private refuseRevoked(batch: Pending[]): Pending[] {
    const kept: Pending[] = [];
    for (const p of batch) {
      if (this.revocations.isRevoked(p.msg.senderDevice))
        p.reject(new ParleyError('unauthenticated', { message: 'This device was revoked.' }));
      else kept.push(p);
    }
    return kept;
  }

  /**
   * Push freshly stored messages to their recipients: locally connected devices directly (or via
   * the pump), devices on other nodes by a wake-up over the bus.
   */
  async dispatch(results: AppendResult[], payloads: Map<string, { payload: Uint8Array }>): Promise<void> {
    const remote = new Set<string>();
    // Application messages for devices with no socket here: candidates for a Web Push wake-up.
    let away: { deviceId: string; message: Omit<MessageRow, 'payload'> }[] | null = null;
    for (const r of results) {
      if (r.duplicate) continue;
      const payload = payloads.get(r.message.id)?.payload;
      for (const d of r.deliveries) {
        const s = this.conns.get(d.deviceId);
        if (!s) {
          if (this.offlineHandler && r.message.kind === 'application')
            (away ??= []).push({ deviceId: d.deviceId, message: r.message });
          if (this.distributed) remote.add(d.deviceId);
          continue;
        }
        if (payload && s.caughtUp && !s.pumping && s.inflight.size < DELIVERY_WINDOW && s.conn.isOpen()) {
          s.inflight.add(d.cursor);
          s.conn.push(toEvent(d.cursor, r.message), payload);
          this.metrics.pushed(r.message.sentAt);
        } else {
          s.caughtUp = false;
          void this.pump(s);
        }
      }
    }
    const online = remote.size ? await this.wakeRemote([...remote]) : null;
    if (away && this.offlineHandler) {
      const offline = online ? away.filter((a) => !online.has(a.deviceId)) : away;
      if (offline.length) this.offlineHandler(offline);
    }
  }

  /** Forward an ephemeral (never stored) message such as typing to whichever recipients are online. */
  async ephemeral(event: DeliverEvent, payload: Uint8Array, recipients: string[]): Promise<void> {
    const remote: string[] = [];
    for (const d of recipients) {
      const s = this.conns.get(d);
      if (s?.conn.isOpen()) s.conn.push(event, payload);
      else if (this.distributed) remote.push(d);
    }
    if (!remote.length) return;
    const where = await this.presence.locate(remote);
    const byNode = groupByNode(where, this.nodeId);
    for (const [node, devices] of byNode)
      await this.publish(node, { t: 'eph', devices, event, payload: toB64(payload) });
  }

  /** Wake the nodes holding these devices' sockets; returns the devices found online somewhere. */
  private async wakeRemote(deviceIds: string[]): Promise<Set<string>> {
    const where = await this.presence.locate(deviceIds);
    for (const [node, devices] of groupByNode(where, this.nodeId)) await this.publish(node, { t: 'wake', devices });
    return new Set(where.keys());
  }

  private publish(node: string, msg: BusMessage): Promise<void> {
    return this.bus.publish(`node:${node}`, JSON.stringify(msg));
  }

  private onBusMessage(raw: string): void {
    let msg: BusMessage;
    try {
      msg = JSON.parse(raw) as BusMessage;
    } catch {
      return;
    }
    if (msg.t === 'wake') {
      for (const d of msg.devices) {
        const s = this.conns.get(d);
        if (s) {
          s.caughtUp = false;
          void this.pump(s);
        }
      }
    } else if (msg.t === 'kick') {
      const s = this.conns.get(msg.device);
      if (s && msg.node !== this.nodeId) {
        this.conns.delete(msg.device);
        s.conn.close(4001, 'replaced by a newer connection');
      }
    } else if (msg.t === 'eph') {
      const payload = fromB64(msg.payload);
      for (const d of msg.devices) {
        const s = this.conns.get(d);
        if (s?.conn.isOpen()) s.conn.push(msg.event, payload);
      }
    }
  }

  /**
   * Re-read the device's queue and push what is not in flight. Reads all pending (not "after the last
   * pushed cursor"): with several writers a lower cursor can become visible after a higher one.
   */
  private async pump(s: ConnState): Promise<void> {
    if (s.pumping) {
      s.again = true;
      return;
    }
    s.pumping = true;
    try {
      do {
        s.again = false;
        if (!s.conn.isOpen() || this.conns.get(s.conn.deviceId) !== s) return;
        const room = DELIVERY_WINDOW - s.inflight.size;
        if (room <= 0) {
          s.caughtUp = false;
          return;
        }
        const started = performance.now();
        const rows = await this.storage.conversations.pendingDeliveries(s.conn.deviceId, 0, DELIVERY_WINDOW);
        this.metrics.storage.pending.record((performance.now() - started) / 1000);
        let pushed = 0;
        for (const row of rows) {
          if (s.inflight.has(row.cursor)) continue;
          if (pushed >= room) break;
          s.inflight.add(row.cursor);
          s.conn.push(toEvent(row.cursor, row.message), row.message.payload);
          this.metrics.pushed(row.message.sentAt);
          pushed++;
        }
        s.caughtUp = rows.length < DELIVERY_WINDOW && pushed < room;
        if (pushed >= room) s.again = false;
      } while (s.again);
    } catch (err) {
      this.log.error({ err, deviceId: s.conn.deviceId }, 'delivery pump failed');
      s.caughtUp = false;
    } finally {
      s.pumping = false;
    }
  }
}

function groupByNode(where: Map<string, string>, self: string): Map<string, string[]> {
  const byNode = new Map<string, string[]>();
  for (const [device, node] of where) {
    if (node === self) continue;
    const list = byNode.get(node) ?? [];
    list.push(device);
    byNode.set(node, list);
  }
  return byNode;
}

/** The wire event for a stored message at a queue cursor. */
export function toEvent(cursor: number, m: Omit<MessageRow, 'payload'>): DeliverEvent {
  return {
    cursor,
    messageId: m.id,
    conversationId: m.conversationId,
    kind: m.kind,
    seq: m.seq,
    epoch: m.epoch,
    sender: { accountId: m.senderAccount, deviceId: m.senderDevice },
    sentAt: m.sentAt,
  };
}
