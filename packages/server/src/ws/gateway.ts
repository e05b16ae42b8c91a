/**
 * WebSocket gateway (C3): `/v1/ws` on the same HTTP server. The first frame must be `hello` with the
 * device token; after that the socket serves the same handler table as HTTP (requests
 * `{id, op, body}`, answers `{id, status, body}`) and receives `deliver` pushes. Ciphertext travels
 * in binary frames and is never JSON-parsed.
 *
 * Shutdown (C19) is two steps so nothing a client was told is lost: `quiesce` stops taking frames
 * and waits until every frame already taken has been answered (a send's answer comes after its
 * batch is written), then `close` closes the sockets with 1012 so clients reconnect elsewhere.
 * Frames that arrive meanwhile are left unanswered: the client re-sends its idempotent requests
 * (sends, commits, acks) on its next connection.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import {
  LIMITS, ParleyError, helloBody, isRequestHeader, requestHeaderSchema, type DeliverEvent,
} from '@parley/protocol';
import type { AuthedCaller, ServerContext } from '../context.ts';
import { OPS, type OpSpec } from '../ops.ts';
import { toParleyError } from '../errors.ts';
import { authenticate } from '../actions/accounts.ts';
import type { DeviceConnection } from '../services/delivery.ts';
import { binaryFrame, textFrame, writeFrame, type BuiltFrame } from './frame-writer.ts';

const HELLO_TIMEOUT_MS = 10_000;
const PING_INTERVAL_MS = 30_000;
/** Pause reading? No: refuse to buffer beyond this; a client this far behind is disconnected. */
const MAX_BUFFERED = 16 * 1024 * 1024;
/** How long closing sockets may take their close handshake before they are cut. */
const CLOSE_GRACE_MS = 2_000;

/** The gateway of one server: its sockets, and the two steps of shutting it down. */
export interface Gateway {
  /** Open sockets. */
  count(): number;
  /** Take no more frames or sockets; resolves once every frame already taken has been answered. */
  quiesce(): Promise<void>;
  /** Close every socket with 1012 "server restarting"; resolves once they are all closed. */
  close(): Promise<void>;
}

/** Frames being handled across all sockets, and who waits for there to be none. */
class InFlight {
  private n = 0;
  private idle: (() => void)[] = [];
  /** True once shutdown began: frames and upgrades are no longer taken. */
  stopped = false;
  begin(): void {
    this.n++;
  }
  end(): void {
    if (--this.n === 0) for (const fn of this.idle.splice(0)) fn();
  }
  whenIdle(): Promise<void> {
    return this.n === 0 ? Promise.resolve() : new Promise((r) => this.idle.push(r));
  }
}

/** Attach the gateway to an HTTP server. */
export function attachGateway(server: Server, ctx: ServerContext): Gateway {
  const wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.wsFrameBytes, perMessageDeflate: false });
  const inflight = new InFlight();

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = req.url ?? '';
    if (url !== '/v1/ws' && !url.startsWith('/v1/ws?')) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    // A keep-alive connection can still ask to upgrade after the listener closed.
    if (inflight.stopped) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, req, ctx, inflight));
  });

  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      const w = ws as WebSocket & { alive?: boolean };
      if (w.alive === false) {
        w.terminate();
        continue;
      }
      w.alive = false;
      w.ping();
    }
  }, PING_INTERVAL_MS);
  pinger.unref();

  return {
    count: () => wss.clients.size,
    quiesce: () => {
      inflight.stopped = true;
      return inflight.whenIdle();
    },
    close: () =>
      new Promise<void>((resolveClose) => {
        inflight.stopped = true;
        clearInterval(pinger);
        for (const ws of wss.clients) {
          // A parked socket is paused: let it read again, or it never reads the client's close.
          ws.resume();
          ws.close(1012, 'server restarting');
        }
        // A client that does not finish the close handshake soon is cut, so shutdown has an end.
        const cut = setTimeout(() => {
          for (const ws of wss.clients) ws.terminate();
        }, CLOSE_GRACE_MS);
        wss.close(() => {
          clearTimeout(cut);
          resolveClose();
        });
      }),
  };
}

function serve(ws: WebSocket, req: IncomingMessage, ctx: ServerContext, inflight: InFlight): void {
  const ip = req.socket.remoteAddress ?? 'unknown';
  let caller: AuthedCaller | null = null;
  let conn: DeviceConnection | null = null;
  (ws as WebSocket & { alive?: boolean }).alive = true;
  ws.on('pong', () => ((ws as WebSocket & { alive?: boolean }).alive = true));
  const helloTimer = setTimeout(() => {
    if (!caller) ws.close(4000, 'hello expected');
  }, HELLO_TIMEOUT_MS);

  const respond = (id: number, status: number, body: unknown) => {
    if (ws.readyState === ws.OPEN) writeFrame(ws, textFrame(JSON.stringify({ id, status, body })));
  };
  const fail = (id: number, err: unknown) => {
    const e = toParleyError(err, ctx.log);
    respond(id, e.status, e.toBody());
  };
  /** A push (delivery or event): dropped on a closed socket; a client too far behind is disconnected. */
  const pushFrame = (frame: BuiltFrame) => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED) {
      ws.close(4008, 'client too slow');
      return;
    }
    writeFrame(ws, frame);
  };

  /** Frames parked unparsed while the server is behind on writing sends (see `Delivery.whenDrained`). */
  let parked: [RawData, boolean][] | null = null;
  const release = (): number => {
    const frames = parked ?? [];
    parked = null;
    for (const [data, isBinary] of frames) void handleFrame(data, isBinary);
    ws.resume();
    return frames.length;
  };

  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (inflight.stopped) return;
    if (parked) {
      parked.push([data, isBinary]);
      return;
    }
    // Only authenticated sockets are parked: before `hello` a socket cannot send, and parking its
    // hello through a long backlog would let the hello timeout close it.
    if (caller && ctx.delivery.backlogged) {
      // Stop reading this socket; what its client sends meanwhile waits in the kernel, in order.
      parked = [[data, isBinary]];
      ws.pause();
      ctx.delivery.whenDrained(release);
      return;
    }
    void handleFrame(data, isBinary);
  });

  /** Handle one frame unless shutdown began (parked frames are released late); counted while it runs. */
  const handleFrame = async (data: RawData, isBinary: boolean): Promise<void> => {
    if (inflight.stopped) return;
    inflight.begin();
    try {
      await handleTaken(data, isBinary);
    } finally {
      inflight.end();
    }
  };

  const handleTaken = async (data: RawData, isBinary: boolean): Promise<void> => {
    let header: unknown;
    let payload: Uint8Array | null = null;
    try {
      // `ws` hands a Buffer for ordinary frames: use it in place rather than copy it.
      const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      if (isBinary) {
        // The protocol's decodeBinaryFrame, with Node's faster Buffer reads (same checks).
        if (buf.length < 4) throw new Error('frame too short');
        const len = buf.readUInt32BE(0);
        if (len > buf.length - 4) throw new Error('header length exceeds frame');
        header = JSON.parse(buf.toString('utf8', 4, 4 + len));
        payload = new Uint8Array(buf.buffer, buf.byteOffset + 4 + len, buf.length - 4 - len);
      } else header = JSON.parse(buf.toString('utf8'));
    } catch {
      respond(0, 400, new ParleyError('bad_frame').toBody());
      return;
    }
    if (!isRequestHeader(header)) {
      // Only a bad header pays for the schema pass, to say precisely what is wrong.
      const issues = requestHeaderSchema.safeParse(header).error?.issues ?? [];
      const id = typeof (header as { id?: unknown })?.id === 'number' ? (header as { id: number }).id : 0;
      respond(id, 400, new ParleyError('bad_frame', { details: issues.map((i) => i.path.join('.') + ': ' + i.message) }).toBody());
      return;
    }
    const { id, op, body } = header;
    try {
      if (op === 'hello') {
        if (caller) throw new ParleyError('bad_request', { message: 'Already authenticated.' });
        const hello = helloBody.parse(body);
        const who = await authenticate(ctx, hello.token);
        caller = { ip, ...who };
        clearTimeout(helloTimer);
        const c: DeviceConnection = {
          deviceId: who.deviceId,
          accountId: who.accountId,
          isOpen: () => ws.readyState === ws.OPEN,
          close: (code, reason) => ws.close(code, reason),
          push: (event: DeliverEvent, p: Uint8Array) => pushFrame(binaryFrame({ event: 'deliver', body: event }, p)),
          event: (name: string, body: unknown) => pushFrame(textFrame(JSON.stringify({ event: name, body }))),
        };
        conn = c;
        // Answer hello before the resume pump starts pushing, so the client sees the order it expects.
        const pendingBefore = await ctx.storage.countPendingDeliveries(who.deviceId);
        respond(id, 200, { ...who, serverTime: ctx.now(), pending: pendingBefore });
        await ctx.delivery.attach(c);
        return;
      }
      if (!caller) throw new ParleyError('unauthenticated');
      const spec = (OPS as Record<string, OpSpec>)[op];
      if (!spec) throw new ParleyError('unknown_op', { details: { op } });
      if (spec.payload && !payload) throw new ParleyError('bad_frame', { message: `Op ${op} needs a binary frame with a payload.` });
      if (!spec.payload && payload && payload.length) throw new ParleyError('bad_frame', { message: `Op ${op} takes no payload.` });
      if (payload && payload.length > LIMITS.ciphertextBytes + LIMITS.keyPackageBytes * 4) throw new ParleyError('payload_too_large');
      const input = spec.accepts?.(body) ? body : spec.input.parse(body ?? {});
      const out = await spec.run(ctx, caller, input, payload ?? new Uint8Array());
      if (op === 'ack' && (input as { quiet?: boolean }).quiet) return;
      respond(id, 200, out);
    } catch (err) {
      fail(id, err);
    }
  };

  ws.on('close', () => {
    clearTimeout(helloTimer);
    if (conn) {
      ctx.delivery.detach(conn);
      ctx.profiles.noteOffline(conn.accountId);
      ctx.calls.detach(conn);
    }
  });
  ws.on('error', (err) => ctx.log.debug({ err }, 'socket error'));
}
