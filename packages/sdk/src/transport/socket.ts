/**
 * WebSocket transport (C3, C15): one authenticated socket with automatic reconnect (exponential
 * backoff with jitter), request/response correlation, and binary frames for ciphertext. Idempotent
 * requests (send, commit, ack: they carry client ids) survive a reconnect by being re-sent; others
 * fail with `unavailable` so the caller decides. Deadlines: an attempt that is not authenticated
 * within `connectMs` is dropped and retried, and a request without an answer within `requestMs`
 * (counted from the call, waiting for a connection included) fails with `timeout`. Requests are
 * typed by op name (the protocol's `WS_OPS`), and every answer to one of those ops is validated
 * against its response schema before the caller sees it; frames go through the protocol's codec.
 */
import {
  ParleyError,
  WS_OPS,
  decodeBinaryFrame,
  deliverEvent,
  encodeFrame,
  helloResponse,
  isWsOpName,
  type DeliverEvent,
  type WsOpAnswer,
  type WsOpBody,
  type WsOpName,
} from '@parley/protocol';
import type { z } from 'zod';
import { Emitter } from '../events.ts';
import { hasDeadline, resolveTimeouts, seconds, timeoutError, type Timeouts } from './deadline.ts';
import { RECONNECT_BACKOFF, backoffDelay } from '../backoff.ts';

/** The part of the WebSocket API the SDK uses (browser WebSocket and the `ws` package both fit). */
export interface WebSocketLike {
  binaryType: string;
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  /** Drop the connection at once, without a closing handshake (the `ws` package has it; browsers do not). */
  terminate?(): void;
}
export type WebSocketCtor = new (url: string) => WebSocketLike;

export type SocketState = 'connecting' | 'ready' | 'closed';

/** Events the transport emits. */
export interface SocketEvents extends Record<string, unknown> {
  deliver: { event: DeliverEvent; payload: Uint8Array };
  state: SocketState;
  hello: z.infer<typeof helloResponse>;
  /** Another connection of this device took over; the transport stops. */
  replaced: { reason: string };
  /** Authentication failed, or the device was revoked (close 4003); the transport stops. */
  unauthenticated: { reason: string };
  /** A group-call event the server pushed (`call-offer`, `call-speaker`, …; body not yet validated). */
  call: { event: string; body: unknown };
  /** A connection attempt failed or the connection was lost; the next attempt starts in `inMs`. */
  reconnecting: { attempt: number; inMs: number; reason: string };
}

/** Options of one request. */
export interface RequestOptions {
  /** Bytes sent in a binary frame after the header (ciphertext, commits, media chunks). */
  payload?: Uint8Array;
  /** True when the request carries a client id and may be sent again after a reconnect. */
  idempotent?: boolean;
  /** This request's own deadline in ms, instead of `requestMs` (the heartbeat's ping is short). */
  timeoutMs?: number;
}

interface Outstanding {
  op: string;
  body: unknown;
  payload: Uint8Array | undefined;
  idempotent: boolean;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  sent: boolean;
  /** The frame id of its latest transmission. */
  id?: number;
}

/** A reconnecting, authenticated WebSocket. */
export class Socket extends Emitter<SocketEvents> {
  private ws: WebSocketLike | null = null;
  private nextId = 1;
  private readonly outstanding = new Map<number, Outstanding>();
  private readonly waiting: Outstanding[] = [];
  private stopped = false;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Drops the current attempt when it is not authenticated in time. */
  private handshake: ReturnType<typeof setTimeout> | undefined;
  /** Why the latest attempt failed, for the `timeout` message of `ready()`. */
  private lastFailure = '';
  /** Why the server refused this device's token (a revoked device), once it has; null before. */
  private refused: string | null = null;
  private readonly timeouts: Timeouts;
  state: SocketState = 'closed';

  constructor(
    private readonly baseUrl: string,
    private readonly token: () => string | undefined,
    private readonly WS: WebSocketCtor,
    timeouts: Partial<Timeouts> = {},
  ) {
    super();
    this.timeouts = resolveTimeouts(timeouts);
  }

  private get url(): string {
    return this.baseUrl.replace(/^http/, 'ws').replace(/\/$/, '') + '/v1/ws';
  }

  /** Open the socket (and keep it open until `close`). */
  start(): void {
    this.stopped = false;
    if (!this.ws) this.open();
  }

  /**
   * Resolves when the socket is authenticated; rejects with `timeout` when that has not happened
   * within `timeoutMs` (default `connectMs`; 0 or `Infinity`: wait for ever). Attempts go on in
   * the background either way, until `close()`.
   */
  ready(timeoutMs: number = this.timeouts.connectMs): Promise<void> {
    if (this.state === 'ready') return Promise.resolve();
    // A refused token never works again: say so now rather than at the deadline.
    if (this.refused !== null) return Promise.reject(new ParleyError('unauthenticated', { message: this.refused }));
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const offRefused = this.on('unauthenticated', ({ reason }) => {
        off();
        clearTimeout(timer);
        reject(new ParleyError('unauthenticated', { message: reason }));
      });
      const off = this.on('state', (s) => {
        if (s !== 'ready') return;
        off();
        offRefused();
        clearTimeout(timer);
        resolve();
      });
      if (hasDeadline(timeoutMs)) {
        timer = setTimeout(() => {
          off();
          offRefused();
          reject(
            timeoutError(`No connection to ${this.url}${this.lastFailure ? ` (${this.lastFailure})` : ''}`, timeoutMs),
          );
        }, timeoutMs);
      }
    });
  }

  private setState(s: SocketState) {
    if (this.state === s) return;
    this.state = s;
    this.emit('state', s);
  }

  private open(): void {
    this.setState('connecting');
    const ws = new this.WS(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    // A server that takes the connection but never completes the upgrade or never answers
    // `hello` must not hold the attempt for ever: drop it and try again.
    clearTimeout(this.handshake);
    this.handshake = hasDeadline(this.timeouts.connectMs)
      ? setTimeout(() => {
          if (this.ws !== ws || this.state === 'ready') return;
          this.abandon(ws, `no answer within ${seconds(this.timeouts.connectMs)}`);
        }, this.timeouts.connectMs)
      : undefined;
    const settled = () => clearTimeout(this.handshake);
    ws.onopen = () => {
      const id = this.nextId++;
      this.outstanding.set(id, {
        op: 'hello',
        body: undefined,
        payload: undefined,
        idempotent: false,
        sent: true,
        resolve: (body) => {
          settled();
          this.attempt = 0;
          this.lastFailure = '';
          this.emit('hello', helloResponse.parse(body));
          this.setState('ready');
          for (const o of this.waiting.splice(0)) this.transmit(o);
        },
        reject: (e) => {
          if (e instanceof ParleyError && e.code === 'unauthenticated') {
            this.stopped = true;
            this.refused = e.message;
            this.emit('unauthenticated', { reason: e.message });
          }
          ws.close();
        },
      });
      ws.send(JSON.stringify({ id, op: 'hello', body: { token: this.token() ?? '', protocol: 1 } }));
    };
    ws.onmessage = (ev) => this.onFrame(ev.data);
    // Node's `ws` says why (ECONNREFUSED, an HTTP status); browsers say nothing.
    ws.onerror = (ev) => {
      const message = (ev as { message?: unknown } | null)?.message;
      if (typeof message === 'string' && message) this.lastFailure = message;
    };
    ws.onclose = (ev) => {
      settled();
      this.lost(ws, ev.code, ev.reason);
    };
  }

  /**
   * Give up on `ws` at once, without waiting for a closing handshake that a dead network never
   * completes: detach it, close it as far as it still can be, and treat it as lost (retry).
   */
  private abandon(ws: WebSocketLike, reason: string): void {
    clearTimeout(this.handshake);
    // Detach first (an error handler stays: `ws` throws an error nobody listens to).
    ws.onclose = null;
    ws.onmessage = null;
    ws.onerror = () => undefined;
    try {
      if (ws.terminate) ws.terminate();
      else ws.close();
    } catch {
      // Already closing: nothing more to drop.
    }
    this.lost(ws, 1006, reason);
  }

  /** The connection `ws` ended (closed, failed or dropped for silence): settle requests, maybe retry. */
  private lost(ws: WebSocketLike, code: number, reason: string): void {
    if (this.ws !== ws) return;
    this.ws = null;
    const wasReady = this.state === 'ready';
    if (reason || !this.lastFailure || wasReady)
      this.lastFailure = reason || (wasReady ? 'connection lost' : `closed with code ${code}`);
    // Requests in flight on the dead socket: idempotent ones go again, others fail.
    for (const [id, o] of this.outstanding) {
      this.outstanding.delete(id);
      if (o.op === 'hello') continue;
      if (o.idempotent && !this.stopped) {
        o.sent = false;
        this.waiting.push(o);
      } else o.reject(new ParleyError('unavailable', { message: 'connection lost' }));
    }
    if (code === 4001) {
      this.stopped = true;
      this.emit('replaced', { reason });
    } else if (code === 4003) {
      // The device was revoked (the number re-registered elsewhere, or staff cut it off): its
      // token will never work again, so reconnecting is pointless.
      this.stopped = true;
      this.refused = reason || 'device revoked';
      this.emit('unauthenticated', { reason: this.refused });
    }
    this.setState('closed');
    if (!this.stopped) {
      const delay = backoffDelay(RECONNECT_BACKOFF, this.attempt++);
      this.emit('reconnecting', { attempt: this.attempt, inMs: Math.round(delay), reason: this.lastFailure });
      this.timer = setTimeout(() => {
        this.timer = null;
        if (!this.stopped) this.open();
      }, delay);
    } else {
      for (const o of this.waiting.splice(0)) o.reject(new ParleyError('unavailable', { message: 'client closed' }));
    }
  }

  private onFrame(data: unknown): void {
    let header: { id?: number; status?: number; body?: unknown; event?: string };
    let payload: Uint8Array | undefined;
    try {
      if (typeof data === 'string') header = JSON.parse(data);
      else {
        const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data as ArrayBufferLike);
        const f = decodeBinaryFrame(bytes);
        header = f.header as typeof header;
        payload = f.payload;
      }
    } catch {
      return;
    }
    if (header.event === 'deliver' && payload) {
      const ev = deliverEvent.safeParse(header.body);
      if (ev.success) this.emit('deliver', { event: ev.data, payload });
      return;
    }
    if (typeof header.event === 'string' && header.event.startsWith('call-')) {
      this.emit('call', { event: header.event, body: header.body });
      return;
    }
    if (typeof header.id === 'number') {
      const o = this.outstanding.get(header.id);
      if (!o) return;
      this.outstanding.delete(header.id);
      if (header.status === 200) o.resolve(header.body);
      else o.reject(ParleyError.fromBody(header.body, header.status));
    }
  }

  private transmit(o: Outstanding): void {
    if (!this.ws || this.state !== 'ready') {
      this.waiting.push(o);
      return;
    }
    const id = this.nextId++;
    this.outstanding.set(id, o);
    o.id = id;
    o.sent = true;
    this.ws.send(encodeFrame({ id, op: o.op, body: o.body }, o.payload));
  }

  /**
   * Send a request; waits for the connection if needed. Without an answer within `requestMs`
   * (waiting included) it fails with `timeout` and is forgotten: a late answer is ignored. The
   * answer to an op of the protocol's `WS_OPS` is validated against its response schema (an answer
   * that does not fit fails with `internal`).
   */
  request<O extends WsOpName>(op: O, body: WsOpBody<O>, opts?: RequestOptions): Promise<WsOpAnswer<O>>;
  /** An op outside `WS_OPS` (or one named at run time): the answer is the caller's to check. */
  request<T = unknown>(op: string, body: unknown, opts?: RequestOptions): Promise<T>;
  request(op: string, body: unknown, opts: RequestOptions = {}): Promise<unknown> {
    if (this.stopped && !this.ws) return Promise.reject(new ParleyError('unavailable', { message: 'client closed' }));
    const answer = isWsOpName(op) ? WS_OPS[op].response : undefined;
    return new Promise<unknown>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const o: Outstanding = {
        op,
        body,
        payload: opts.payload,
        idempotent: opts.idempotent ?? false,
        sent: false,
        resolve: (v) => {
          clearTimeout(timer);
          if (!answer) return resolve(v);
          const checked = answer.safeParse(v);
          if (checked.success) resolve(checked.data);
          else
            reject(
              new ParleyError('internal', {
                message: `The server's answer to ${op} does not fit the protocol.`,
                details: checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
              }),
            );
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const ms = opts.timeoutMs ?? this.timeouts.requestMs;
      if (hasDeadline(ms)) {
        timer = setTimeout(() => {
          if (o.id !== undefined && this.outstanding.get(o.id) === o) this.outstanding.delete(o.id);
          const i = this.waiting.indexOf(o);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(
            timeoutError(
              `${this.state === 'ready' ? 'The server did not answer' : `No connection to ${this.url} for`} ${op}`,
              ms,
            ),
          );
        }, ms);
      }
      this.transmit(o);
    });
  }

  /** Send a request that gets no answer on success (quiet acks); dropped if not connected. */
  notify<O extends WsOpName>(op: O, body: WsOpBody<O>): void {
    if (!this.ws || this.state !== 'ready') return;
    this.ws.send(encodeFrame({ id: this.nextId++, op, body }));
  }

  /** Drop the current socket without stopping (tests and network changes); it reconnects. */
  reconnect(): void {
    this.ws?.close(4002, 'client reconnect');
  }

  /**
   * Drop the current connection at once as dead (a missed heartbeat, the device went offline):
   * requests in flight are settled as after any lost connection and the next attempt follows the
   * backoff. Nothing happens when there is no connection or the transport is closed.
   */
  drop(reason: string): void {
    if (this.ws && !this.stopped) this.abandon(this.ws, reason);
  }

  /**
   * Try to connect now instead of at the end of the current backoff wait (the network came back);
   * the backoff starts again from its first step. Nothing happens while connected or connecting.
   */
  wake(): void {
    if (this.stopped || this.ws || !this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.attempt = 0;
    this.open();
  }

  /** Close for good. */
  close(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    clearTimeout(this.handshake);
    const ws = this.ws;
    if (ws) ws.close(1000, 'bye');
    else for (const o of this.waiting.splice(0)) o.reject(new ParleyError('unavailable', { message: 'client closed' }));
    this.setState('closed');
  }
}
