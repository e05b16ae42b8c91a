/**
 * Connection and acknowledgements (C3): the device's one WebSocket, the inbox that processes
 * deliveries one at a time in arrival order, and the batched quiet acks sent once each delivery's
 * effect is stored. It knows nothing about what a delivery means: the receiving service does.
 */
import { LIMITS, ParleyError, type DeliverEvent } from '@parley/protocol';
import { Socket, type WebSocketCtor } from '../transport/socket.ts';
import { hasDeadline, seconds, type Timeouts } from '../transport/deadline.ts';
import type { DeviceStore } from '../store/types.ts';
import type { Session } from './session.ts';
import { reportError, type ClientEventSink } from './types.ts';

/** Sends a request over the socket and resolves with its answer. */
export interface Requester {
  request<T = unknown>(op: string, body: unknown, opts?: { payload?: Uint8Array; idempotent?: boolean }): Promise<T>;
}

/** Where deliveries go: processes one; never throws for a delivery it could not handle. */
export interface DeliveryHandler {
  process(event: DeliverEvent, payload: Uint8Array): Promise<void>;
}

/** Where the server's group-call events go, and who learns that the socket dropped. */
export interface CallEventHandler {
  event(name: string, body: unknown): void;
  socketLost(): void;
}

/** The socket, the inbox and the acks of one device. */
export class Connection implements Requester {
  private socket: Socket | null = null;
  private inbox: Promise<void> = Promise.resolve();
  private ackQueue: number[] = [];
  private ackTimer: ReturnType<typeof setTimeout> | null = null;
  /** Deliveries the server said were queued at hello, and how many were processed since. */
  private expectedAtHello = 0;
  private processedSinceHello = 0;
  private deliveries: DeliveryHandler | null = null;
  private callEvents: CallEventHandler | null = null;
  /** The heartbeat's timer while the socket is ready, and whether a ping is out. */
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private pinging = false;
  /** This device is logging itself out: the server's refusal that follows is no `revoked` news. */
  private loggingOut = false;

  constructor(
    private readonly session: Session,
    private readonly store: DeviceStore,
    private readonly opts: { WebSocket?: WebSocketCtor | undefined; timeouts: Timeouts },
    private readonly events: ClientEventSink,
  ) {}

  /** Name the services that take deliveries and group-call events (set once, before `connect`). */
  attach(deliveries: DeliveryHandler, callEvents: CallEventHandler): void {
    this.deliveries = deliveries;
    this.callEvents = callEvents;
  }

  /**
   * Open the socket (once) and wait until it is authenticated or `timeoutMs` passed; true when
   * this call opened it, false when it waited for the socket an earlier call opened.
   */
  async connect(opts: { timeoutMs?: number } = {}): Promise<boolean> {
    const record = this.session.device();
    const timeoutMs = opts.timeoutMs ?? this.opts.timeouts.connectMs;
    if (this.socket) {
      await this.socket.ready(timeoutMs);
      return false;
    }
    const WS = this.opts.WebSocket ?? (globalThis as unknown as { WebSocket?: WebSocketCtor }).WebSocket;
    if (!WS) throw new Error('No WebSocket implementation: pass options.WebSocket');
    const socket = new Socket(record.serverUrl, () => this.session.token(), WS, this.opts.timeouts);
    this.socket = socket;
    socket.on('reconnecting', (r) => this.events.emit('reconnecting', r));
    socket.on('unauthenticated', ({ reason }) => {
      if (!this.loggingOut) this.events.emit('revoked', { reason });
    });
    socket.on('state', (s) => {
      if (s === 'ready') this.startHeartbeat(socket);
      else this.stopHeartbeat();
      this.events.emit('connection', s);
      // A dropped socket means the server took this device out of its group calls.
      if (s === 'closed') this.callEvents?.socketLost();
    });
    socket.on('hello', (h) => {
      this.expectedAtHello = h.pending;
      this.processedSinceHello = 0;
    });
    socket.on('deliver', ({ event, payload }) => {
      this.inbox = this.inbox.then(() => this.handle(event, payload)).catch(reportError(this.events, 'inbox'));
    });
    // Group-call events the server pushes.
    socket.on('call', ({ event, body }) => this.callEvents?.event(event, body));
    socket.start();
    await socket.ready(timeoutMs);
    return true;
  }

  /** Process one delivery, then count it and queue its ack (ephemeral ones are neither). */
  private async handle(event: DeliverEvent, payload: Uint8Array): Promise<void> {
    try {
      if (!this.deliveries) throw new Error('no delivery handler attached');
      await this.deliveries.process(event, payload);
    } finally {
      if (!event.ephemeral) {
        this.processedSinceHello++;
        this.queueAck(event.cursor);
      }
    }
  }

  /**
   * Say whether this device is logging itself out: while it is, the socket the server closes as a
   * result is not reported as `revoked` (a UI reacting to that would race the logout's own wipe).
   */
  setLoggingOut(on: boolean): void {
    this.loggingOut = on;
  }

  /** Drop and re-open the socket (resumes from the last acknowledged delivery). */
  reconnect(): void {
    this.socket?.reconnect();
  }

  /**
   * The device's network went away or came back (a browser's `offline` / `online` events): going
   * offline drops the socket at once, so the state and queued sends tell the truth; coming back
   * connects now instead of at the end of the backoff wait.
   */
  networkChanged(online: boolean): void {
    if (online) this.socket?.wake();
    else this.socket?.drop('the device is offline');
  }

  /**
   * While the socket is ready, ping every `heartbeatMs`; an answer missing after
   * `heartbeatTimeoutMs` means the socket is dead although nothing closed it (a network that
   * vanished without a word, a stalled proxy), so it is dropped and the reconnect starts.
   */
  private startHeartbeat(socket: Socket): void {
    this.stopHeartbeat();
    const { heartbeatMs, heartbeatTimeoutMs } = this.opts.timeouts;
    if (!hasDeadline(heartbeatMs)) return;
    this.heartbeat = setInterval(() => {
      if (this.pinging || socket.state !== 'ready') return;
      this.pinging = true;
      socket
        .request('ping', {}, { timeoutMs: heartbeatTimeoutMs })
        .catch((e: unknown) => {
          // `unavailable`: the socket was lost meanwhile, and its own handling already reconnects.
          if (e instanceof ParleyError && e.code === 'timeout' && this.socket === socket)
            socket.drop(`no answer to the heartbeat within ${seconds(heartbeatTimeoutMs)}`);
        })
        .finally(() => (this.pinging = false));
    }, heartbeatMs);
    // A Node process is not kept alive by the heartbeat alone.
    (this.heartbeat as { unref?: () => void }).unref?.();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  /** Wait until everything received so far is processed and acknowledged. */
  async idle(): Promise<void> {
    let before: Promise<void>;
    do {
      before = this.inbox;
      await before;
    } while (before !== this.inbox);
    await this.flushAcks();
  }

  /**
   * Wait until every delivery that was queued when this connection was made has been processed
   * (or `timeoutMs` passed), then until the inbox is idle.
   */
  async drain(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.processedSinceHello < this.expectedAtHello && Date.now() < until)
      await new Promise((r) => setTimeout(r, 20));
    await this.idle();
  }

  /** Close the socket and the store. */
  async close(): Promise<void> {
    await this.idle().catch(() => undefined);
    this.stopHeartbeat();
    this.socket?.close();
    this.socket = null;
    await this.store.close?.();
  }

  request<T = unknown>(op: string, body: unknown, opts?: { payload?: Uint8Array; idempotent?: boolean }): Promise<T> {
    if (!this.socket) throw new ParleyError('unavailable', { message: 'Call connect() first.' });
    return this.socket.request<T>(op, body, opts);
  }

  private queueAck(cursor: number): void {
    if (cursor <= 0) return;
    this.ackQueue.push(cursor);
    if (this.ackQueue.length >= LIMITS.ackBatch) void this.flushAcks();
    else if (!this.ackTimer) this.ackTimer = setTimeout(() => void this.flushAcks(), LIMITS.ackDelayMs);
  }

  private async flushAcks(): Promise<void> {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    const cursors = this.ackQueue.splice(0);
    // Quiet acks: no answer frame. An ack lost with a dropped socket only means a redelivery,
    // which de-duplication by message id absorbs.
    if (cursors.length && this.socket) this.socket.notify('ack', { cursors, quiet: true });
  }
}
