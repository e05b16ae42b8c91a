/**
 * WebSocket transport (C3, C15): one authenticated socket with automatic reconnect (exponential
 * backoff with jitter), request/response correlation, and binary frames for ciphertext. Idempotent
 * requests (send, commit, ack: they carry client ids) survive a reconnect by being re-sent; others
 * fail with `unavailable` so the caller decides.
 */
import { ParleyError, decodeBinaryFrame, deliverEvent, encodeFrame, helloResponse, type DeliverEvent } from '@parley/protocol';
import type { z } from 'zod';
import { Emitter } from '../events.ts';

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
}

interface Outstanding {
  op: string;
  body: unknown;
  payload: Uint8Array | undefined;
  idempotent: boolean;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  sent: boolean;
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
  state: SocketState = 'closed';

  constructor(
    private readonly baseUrl: string,
    private readonly token: () => string | undefined,
    private readonly WS: WebSocketCtor,
  ) {
    super();
  }

  /** Open the socket (and keep it open until `close`). */
  start(): void {
    this.stopped = false;
    if (!this.ws) this.open();
  }

  /** Resolves when the socket is authenticated. */
  ready(): Promise<void> {
    return this.state === 'ready' ? Promise.resolve() : this.once('state', (s) => s === 'ready').then(() => undefined);
  }

  private setState(s: SocketState) {
    if (this.state === s) return;
    this.state = s;
    this.emit('state', s);
  }

  private open(): void {
    const url = this.baseUrl.replace(/^http/, 'ws').replace(/\/$/, '') + '/v1/ws';
    this.setState('connecting');
    const ws = new this.WS(url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      const id = this.nextId++;
      this.outstanding.set(id, {
        op: 'hello', body: undefined, payload: undefined, idempotent: false, sent: true,
        resolve: (body) => {
          this.attempt = 0;
          this.emit('hello', helloResponse.parse(body));
          this.setState('ready');
          for (const o of this.waiting.splice(0)) this.transmit(o);
        },
        reject: (e) => {
          if (e instanceof ParleyError && e.code === 'unauthenticated') {
            this.stopped = true;
            this.emit('unauthenticated', { reason: e.message });
          }
          ws.close();
        },
      });
      ws.send(JSON.stringify({ id, op: 'hello', body: { token: this.token() ?? '', protocol: 1 } }));
    };
    ws.onmessage = (ev) => this.onFrame(ev.data);
    ws.onerror = () => undefined;
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      // Requests in flight on the dead socket: idempotent ones go again, others fail.
      for (const [id, o] of this.outstanding) {
        this.outstanding.delete(id);
        if (o.op === 'hello') continue;
        if (o.idempotent && !this.stopped) {
          o.sent = false;
          this.waiting.push(o);
        } else o.reject(new ParleyError('unavailable', { message: 'connection lost' }));
      }
      if (ev.code === 4001) {
        this.stopped = true;
        this.emit('replaced', { reason: ev.reason });
      } else if (ev.code === 4003) {
        // The device was revoked (the number re-registered elsewhere, or staff cut it off): its
        // token will never work again, so reconnecting is pointless.
        this.stopped = true;
        this.emit('unauthenticated', { reason: ev.reason || 'device revoked' });
      }
      this.setState('closed');
      if (!this.stopped) {
        const delay = Math.min(10_000, 250 * 2 ** this.attempt++) * (0.5 + Math.random() / 2);
        this.timer = setTimeout(() => {
          this.timer = null;
          if (!this.stopped) this.open();
        }, delay);
      } else {
        for (const o of this.waiting.splice(0)) o.reject(new ParleyError('unavailable', { message: 'client closed' }));
      }
    };
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
    o.sent = true;
    this.ws.send(encodeFrame({ id, op: o.op, body: o.body }, o.payload));
  }

  /** Send a request; waits for the connection if needed. */
  request<T = unknown>(op: string, body: unknown, opts: { payload?: Uint8Array; idempotent?: boolean } = {}): Promise<T> {
    if (this.stopped && !this.ws) return Promise.reject(new ParleyError('unavailable', { message: 'client closed' }));
    return new Promise<T>((resolve, reject) => {
      this.transmit({ op, body, payload: opts.payload, idempotent: opts.idempotent ?? false, resolve: resolve as (v: unknown) => void, reject, sent: false });
    });
  }

  /** Send a request that gets no answer on success (quiet acks); dropped if not connected. */
  notify(op: string, body: unknown): void {
    if (!this.ws || this.state !== 'ready') return;
    this.ws.send(encodeFrame({ id: this.nextId++, op, body }));
  }

  /** Drop the current socket without stopping (tests and network changes); it reconnects. */
  reconnect(): void {
    this.ws?.close(4002, 'client reconnect');
  }

  /** Close for good. */
  close(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const ws = this.ws;
    if (ws) ws.close(1000, 'bye');
    else for (const o of this.waiting.splice(0)) o.reject(new ParleyError('unavailable', { message: 'client closed' }));
    this.setState('closed');
  }
}
