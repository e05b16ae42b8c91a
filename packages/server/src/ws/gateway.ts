/**
 * WebSocket gateway (C3): `/v1/ws` on the same HTTP server. The first frame must be `hello` with the
 * device token; after that the socket serves the same handler table as HTTP (requests
 * `{id, op, body}`, answers `{id, status, body}`) through the one dispatcher (`dispatch.ts`), and
 * receives `deliver` pushes. Ciphertext travels in binary frames (the protocol's frame codec) and is
 * never JSON-parsed. `hello`, resume and revocation are the session action's (`actions/session.ts`):
 * a socket whose device is revoked (C1) runs no further frame, parked or not, and closes with 4003.
 * The gateway owns the bytes: framing, read backpressure (parking), `requests_pending`, slow
 * readers and shutdown.
 *
 * Shutdown (C19) is two steps so nothing a client was told is lost: `quiesce` stops taking frames
 * and waits until every frame already taken has been answered (a send's answer comes after its
 * batch is written), then `close` closes the sockets with 1012 so clients reconnect elsewhere.
 * Frames that arrive meanwhile are left unanswered: the client re-sends its idempotent requests
 * (sends, commits, acks) on its next connection.
 */
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import {
  FRAME_PREFIX_BYTES,
  LIMITS,
  ParleyError,
  binaryFramePayloadStart,
  isRequestHeader,
  requestHeaderSchema,
  type DeliverEvent,
  type HelloResponse,
} from '@parley/protocol';
import type { ServerContext } from '../context.ts';
import { NO_ANSWER, dispatch } from '../dispatch.ts';
import { toParleyError } from '../errors.ts';
import { Session } from '../actions/session.ts';
import { binaryFrame, textFrame, writeFrame, type BuiltFrame } from './frame-writer.ts';

const HELLO_TIMEOUT_MS = 10_000;
/**
 * Requests one socket may have running at once. Read backpressure already stops reading sockets
 * while sends wait to be stored, so an honest client stays far below this; one over it gets
 * `requests_pending` for each extra request, which is answered without running it.
 */
export const MAX_PENDING_REQUESTS = 2048;
/** How long a socket closed for being too slow may take to finish its closing handshake. */
const SLOW_CLOSE_GRACE_MS = 2000;

/** How long closing sockets may take their close handshake before they are cut. */
const CLOSE_GRACE_MS = 2_000;
/**
 * How long shutdown waits for frames already taken. A send waits for its batch to be written,
 * milliseconds even under load; far longer means a request that is not coming back.
 */
const QUIESCE_MAX_MS = 5_000;

/** A socket with the gateway's liveness marks: a pong seen, and output drained since the last tick. */
type LiveSocket = WebSocket & { alive?: boolean; written?: number; drained?: number };

/** The gateway of one server: its sockets, and the two steps of shutting it down. */
export interface Gateway {
  /** Open sockets. */
  count(): number;
  /**
   * Take no more frames or sockets; resolves once every frame already taken has been answered, or
   * after `QUIESCE_MAX_MS` with a warning naming how many still run, so one request that never
   * ends (a call negotiation waiting on a peer that left) cannot hold a shutdown for ever.
   */
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
  /** Frames still being handled. */
  get running(): number {
    return this.n;
  }
}

/** Attach the gateway to an HTTP server. */
export function attachGateway(server: Server, ctx: ServerContext): Gateway {
  const pingIntervalMs = ctx.config.wsPingSeconds * 1000;
  const wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.wsFrameBytes, perMessageDeflate: false });
  const inflight = new InFlight();

  // A handshake `ws` refuses (wrong method, missing or bad Sec-WebSocket-Key or -Version) gets a
  // catalogued error instead of `ws`'s plain-text answer.
  wss.on('wsClientError', (err: Error, socket: Duplex) => {
    refuseUpgrade(
      socket,
      new ParleyError('bad_request', { details: { problem: err.message } }),
      /Version/.test(err.message) ? { 'Sec-WebSocket-Version': '13, 8' } : {},
    );
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = req.url ?? '';
    if (url !== '/v1/ws' && !url.startsWith('/v1/ws?')) {
      refuseUpgrade(socket, new ParleyError('not_found'));
      return;
    }
    // A keep-alive connection can still ask to upgrade after the listener closed.
    if (inflight.stopped) {
      refuseUpgrade(socket, new ParleyError('unavailable'));
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, req, ctx, inflight));
  });

  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      const w = ws as LiveSocket;
      if (w.alive === false || !draining(w)) {
        w.terminate();
        continue;
      }
      w.alive = false;
      w.ping();
    }
  }, pingIntervalMs);
  pinger.unref();

  return {
    count: () => wss.clients.size,
    quiesce: async () => {
      inflight.stopped = true;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), QUIESCE_MAX_MS)));
      const stuck = await Promise.race([inflight.whenIdle().then(() => false), late]);
      clearTimeout(timer);
      if (stuck)
        ctx.log.warn(
          { running: inflight.running, waitedMs: QUIESCE_MAX_MS },
          'shutdown: requests still running; closing their sockets anyway',
        );
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

/** Answer an upgrade request with a catalogued JSON error and close the connection. */
function refuseUpgrade(socket: Duplex, e: ParleyError, headers: Record<string, string> = {}): void {
  if (socket.writable) {
    const body = JSON.stringify(e.toBody());
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    // Destroyed once the answer is flushed (as `ws` does), since nothing more will be read.
    socket.once('finish', () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`,
    );
    return;
  }
  socket.destroy();
}

/**
 * True while a socket's client reads what it is sent. A pong proves the client writes, not that it
 * reads: a client could answer pings and never read. So each ping tick also asks whether output
 * was waiting at the last tick and none of it has left since; such a socket is terminated. A slow
 * but reading client drains something every interval and stays.
 */
function draining(w: LiveSocket): boolean {
  const waiting = w.bufferedAmount;
  const drained = (w.written ?? 0) - waiting;
  const before = w.drained;
  w.drained = drained;
  return waiting === 0 || before === undefined || drained > before;
}

function serve(ws: WebSocket, req: IncomingMessage, ctx: ServerContext, inflight: InFlight): void {
  /** Requests started and not yet answered on this socket. */
  let pending = 0;
  const live = ws as LiveSocket;
  live.alive = true;
  live.written = 0;
  ws.on('pong', () => (live.alive = true));

  /**
   * Every frame out (answers and pushes alike) passes here: dropped on a closed socket, and a
   * client too far behind is disconnected instead of having the server hold its output.
   */
  const send = (frame: BuiltFrame) => {
    if (ws.readyState !== ws.OPEN) return;
    // Output a socket may have waiting (answers and pushes together): a client this far behind is
    // not reading, and the server will not hold more for it.
    if (ws.bufferedAmount > ctx.config.wsMaxBufferedBytes) {
      // The close frame waits behind everything buffered, which a client this far behind may never
      // read: give it a moment, then drop the connection and what it holds.
      ws.close(4008, 'client too slow');
      setTimeout(() => ws.terminate(), SLOW_CLOSE_GRACE_MS).unref();
      return;
    }
    live.written = (live.written ?? 0) + frame.bytes.length;
    writeFrame(ws, frame);
  };
  const respond = (id: number, status: number, body: unknown) => send(textFrame(JSON.stringify({ id, status, body })));
  const fail = (id: number, err: unknown) => {
    const e = toParleyError(err, ctx.log);
    if (e.code === 'bad_frame') ctx.metrics.wsBadFrames++;
    respond(id, e.status, e.toBody());
  };

  // Who the socket speaks for (hello, revocation, resume) is the session action's business.
  const session = new Session({
    ip: req.socket.remoteAddress ?? 'unknown',
    isOpen: () => ws.readyState === ws.OPEN,
    close: (code, reason) => ws.close(code, reason),
    push: (event: DeliverEvent, p: Uint8Array) => send(binaryFrame({ event: 'deliver', body: event }, p)),
    event: (name: string, body: unknown) => send(textFrame(JSON.stringify({ event: name, body }))),
  });
  const helloTimer = setTimeout(() => {
    if (!session.caller) ws.close(4000, 'hello expected');
  }, HELLO_TIMEOUT_MS);

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
    if (session.caller && ctx.delivery.backlogged) {
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

  const answerHello = (id: number) => (hello: HelloResponse) => {
    clearTimeout(helloTimer);
    respond(id, 200, hello);
  };

  const handleTaken = async (data: RawData, isBinary: boolean): Promise<void> => {
    let header: unknown;
    let payload: Uint8Array | null = null;
    try {
      // `ws` hands a Buffer for ordinary frames: use it in place rather than copy it.
      const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      if (isBinary) {
        // The protocol's codec, split by hand so the header is read with Buffer's own decoder and
        // the payload stays a view into the frame (nothing more allocated per frame).
        const end = binaryFramePayloadStart(buf);
        header = JSON.parse(buf.toString('utf8', FRAME_PREFIX_BYTES, end));
        payload = new Uint8Array(buf.buffer, buf.byteOffset + end, buf.length - end);
      } else header = JSON.parse(buf.toString('utf8'));
    } catch {
      ctx.metrics.wsBadFrames++;
      respond(0, 400, new ParleyError('bad_frame').toBody());
      return;
    }
    if (!isRequestHeader(header)) {
      // Only a bad header pays for the schema pass, to say precisely what is wrong.
      const issues = requestHeaderSchema.safeParse(header).error?.issues ?? [];
      const id = typeof (header as { id?: unknown })?.id === 'number' ? (header as { id: number }).id : 0;
      ctx.metrics.wsBadFrames++;
      respond(
        id,
        400,
        new ParleyError('bad_frame', { details: issues.map((i) => i.path.join('.') + ': ' + i.message) }).toBody(),
      );
      return;
    }
    const { id, op, body } = header;
    if (pending >= MAX_PENDING_REQUESTS) {
      respond(
        id,
        429,
        new ParleyError('requests_pending', { retryAfterMs: 1000, details: { limit: MAX_PENDING_REQUESTS } }).toBody(),
      );
      return;
    }
    pending++;
    try {
      if (op === 'hello') {
        await session.hello(ctx, body, answerHello(id));
        return;
      }
      const out = await dispatch(ctx, session.authorise(ctx), op, body, payload);
      if (out !== NO_ANSWER) respond(id, 200, out);
    } catch (err) {
      fail(id, err);
    } finally {
      pending--;
    }
  };

  ws.on('close', (code: number) => {
    ctx.metrics.wsClosed(code);
    clearTimeout(helloTimer);
    session.end(ctx);
  });
  ws.on('error', (err) => {
    ctx.metrics.wsErrors++;
    ctx.log.debug({ err }, 'socket error');
  });
}
