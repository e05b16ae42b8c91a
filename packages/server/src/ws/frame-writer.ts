/**
 * Server-side frame writer (C3 speed). Every answer and every delivery pushed to a device goes
 * through here, so each frame is built whole in one Buffer: the WebSocket frame header (RFC 6455
 * §5.2: FIN, opcode, unmasked length, as a server sends it) followed by the body, and a binary
 * body is Parley's binary frame, laid out by the protocol's codec (`writeBinaryFrame`) with Node's
 * Buffer text methods (`nodeUtf8`). One buffer means one allocation, one copy and one plain socket write per frame,
 * where `ws.send` builds a separate header and writes the two pieces with a corked `writev`.
 */
import type { WebSocket } from 'ws';
import { idleRawSocket } from './ws-internals.ts';
import { binaryFrameSize, writeBinaryFrame, type Utf8 } from '@parley/protocol';

/** `bytes` as a Buffer over the same memory (itself when it already is one: the hot path). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * UTF-8 through Buffer's methods, for the protocol's frame codec: they write into and read from the
 * frame in place (a `Buffer` from `ws` or `allocUnsafe`), with no intermediate copy.
 */
export const nodeUtf8: Utf8 = {
  byteLength: (text) => Buffer.byteLength(text),
  write: (out, at, text) => void asBuffer(out).write(text, at, 'utf8'),
  read: (bytes, start, end) => asBuffer(bytes).toString('utf8', start, end),
};

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
  const { bytes, at } = allocFrame(BINARY, binaryFrameSize(jsonLength, payload.length));
  writeBinaryFrame(bytes, at, json, jsonLength, payload, nodeUtf8);
  return { bytes, bodyStart: at, binary: true };
}

/** Parley's binary frame alone (no WebSocket header), e.g. for `ws.send` or tests. */
export function encodeBinaryFrame(header: unknown, payload: Uint8Array): Buffer {
  const f = binaryFrame(header, payload);
  return f.bytes.subarray(f.bodyStart);
}

/**
 * Send a built frame on an open socket. It goes straight to the TCP socket when `ws` has nothing of
 * its own in progress (its sender is idle and not inside a fragmented message: permessage-deflate is
 * off, so that is always the case in Parley), which keeps frames whole and in order; otherwise,
 * and for any `ws` without those internals, through `ws.send` with the body alone.
 */
export function writeFrame(ws: WebSocket, frame: BuiltFrame): void {
  const socket = idleRawSocket(ws);
  if (socket) {
    socket.write(frame.bytes);
    return;
  }
  const body = frame.bytes.subarray(frame.bodyStart);
  ws.send(frame.binary ? body : body.toString('utf8'));
}
