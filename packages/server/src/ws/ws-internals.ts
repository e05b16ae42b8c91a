/**
 * The one place Parley reaches past `ws`'s public API (C3 speed). The frame writer
 * (`frame-writer.ts`) writes whole pre-built frames straight to the TCP socket when `ws` has no
 * frame of its own in progress, which needs two private fields of `ws` 8.x. `ws` is pinned to the
 * exact version these fields (and `patches/ws+8.23.0.patch`, docs/decisions/0003) were written
 * for, so an upgrade of `ws` is a deliberate change that touches this file and the patch, and
 * `ws-internals.test.ts` fails if the fields moved.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** The `ws` version this module and the patch were written for (pinned in every package.json). */
export const WS_VERSION = '8.23.0';

/** The private parts of a `ws` 8.x WebSocket read here. */
interface WsPrivate {
  _socket: Socket | null;
  _sender: { _state: number; _firstFragment: boolean } | null;
}

/**
 * The TCP socket under `ws` when a complete frame may be written to it directly, else null: the
 * socket is open, and `ws`'s sender is idle (state 0: not compressing or waiting on a queued
 * frame) and not inside a fragmented message. With permessage-deflate off, as in Parley, that is
 * always so once the handshake is done, so direct writes keep frames whole and in order. Null also
 * for a `ws` without these fields: callers then fall back to `ws.send`.
 */
export function idleRawSocket(ws: WebSocket): Socket | null {
  const w = ws as unknown as WsPrivate;
  const socket = w._socket;
  const sender = w._sender;
  if (!socket || !sender || sender._state !== 0 || !sender._firstFragment || socket.destroyed) return null;
  return socket;
}

/**
 * The TCP socket under any `ws` WebSocket (server or client side), or null once it is gone. Tests
 * and the bench use it to stop reading a client (`pause()`) or to watch what the frame writer
 * writes; they take it from here so that every read of `ws`'s private fields stays in this file.
 */
export function rawSocketOf(ws: WebSocket): Socket | null {
  return (ws as unknown as WsPrivate)._socket;
}
