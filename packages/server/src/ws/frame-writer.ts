/**
 * Server-side frame writer (C3 speed). Every answer and every delivery pushed to a device goes
 * through here, so each frame is built whole in one Buffer: the WebSocket frame header (RFC 6455
 * §5.2: FIN, opcode, unmasked length, as a server sends it) followed by the body, and a binary
 * body is Parley's `u32 header length | header JSON | payload` (the same bytes as the protocol's
 * `encodeFrame`). One buffer means one allocation, one copy and one plain socket write per frame,
 * where `ws.send` builds a separate header and writes the two pieces with a corked `writev`.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

const TEXT = 0x81;
const BINARY = 0x82;

/** A frame built by `textFrame` or `binaryFrame`: the bytes, and where the body starts. */
export interface BuiltFrame {
  bytes: Buffer;
  bodyStart: number;
  binary: boolean;
}

function headerLength(bodyLength: number): number {
  return bodyLength < 126 ? 2 : bodyLength < 65536 ? 4 : 10;
}

function allocFrame(first: number, bodyLength: number): { bytes: Buffer; at: number } {
  const at = headerLength(bodyLength);
  const bytes = Buffer.allocUnsafe(at + bodyLength);
  bytes[0] = first;
  if (at === 2) bytes[1] = bodyLength;
  else if (at === 4) {
    bytes[1] = 126;
    bytes.writeUInt16BE(bodyLength, 2);
  } else {
    bytes[1] = 127;
    bytes.writeUInt32BE(Math.floor(bodyLength / 2 ** 32), 2);
    bytes.writeUInt32BE(bodyLength >>> 0, 6);
  }
  return { bytes, at };
}

/** A whole text frame carrying `text` (UTF-8). */
export function textFrame(text: string): BuiltFrame {
  const n = Buffer.byteLength(text);
  const { bytes, at } = allocFrame(TEXT, n);
  bytes.write(text, at, 'utf8');
  return { bytes, bodyStart: at, binary: false };
}

/** A whole binary frame carrying Parley's binary frame of `header` and `payload`. */
export function binaryFrame(header: unknown, payload: Uint8Array): BuiltFrame {
  const json = JSON.stringify(header);
  const jsonLength = Buffer.byteLength(json);
  const { bytes, at } = allocFrame(BINARY, 4 + jsonLength + payload.length);
  bytes.writeUInt32BE(jsonLength, at);
  bytes.write(json, at + 4, 'utf8');
  bytes.set(payload, at + 4 + jsonLength);
  return { bytes, bodyStart: at, binary: true };
}

/** Parley's binary frame alone (no WebSocket header), e.g. for `ws.send` or tests. */
export function encodeBinaryFrame(header: unknown, payload: Uint8Array): Buffer {
  const f = binaryFrame(header, payload);
  return f.bytes.subarray(f.bodyStart);
}

/** The parts of a `ws` (8.x) WebSocket this writer relies on. */
interface WsInternals {
  _socket: Socket | null;
  _sender: { _state: number; _firstFragment: boolean } | null;
}

/**
 * Send a built frame on an open socket. It goes straight to the TCP socket when `ws` has nothing of
 * its own in progress (its sender is idle and not inside a fragmented message: permessage-deflate is
 * off, so that is always the case in Parley), which keeps frames whole and in order; otherwise,
 * and for any `ws` without those internals, through `ws.send` with the body alone.
 */
export function writeFrame(ws: WebSocket, frame: BuiltFrame): void {
  const w = ws as unknown as WsInternals;
  if (w._socket && w._sender && w._sender._state === 0 && w._sender._firstFragment && !w._socket.destroyed) {
    w._socket.write(frame.bytes);
    return;
  }
  const body = frame.bytes.subarray(frame.bodyStart);
  ws.send(frame.binary ? body : body.toString('utf8'));
}
