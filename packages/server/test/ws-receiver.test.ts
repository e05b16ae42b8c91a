/**
 * The `ws` receiver as patched for Parley (patches/ws+8.23.0.patch: its chunk and fragment lists
 * are swapped for shared empty arrays instead of being emptied in place). A raw TCP client writes
 * masked frames in awkward chunkings: many frames in one write, a frame split byte by byte, a
 * message in fragments (with a ping between them), empty messages, a large message over many
 * reads. Every message must arrive whole, in order, with its type.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocketServer } from 'ws';

const require = createRequire(import.meta.url);

/** One client frame (clients must mask, RFC 6455 §5.3). */
function frame(opcode: number, payload: Buffer, fin = true): Buffer {
  const mask = randomBytes(4);
  const len = payload.length;
  const head =
    len < 126
      ? Buffer.from([0, 0x80 | len])
      : len < 65536
        ? Buffer.from([0, 0x80 | 126, len >> 8, len & 0xff])
        : Buffer.alloc(10);
  if (len >= 65536) {
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  head[0] = (fin ? 0x80 : 0) | opcode;
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]!));
  return Buffer.concat([head, mask, body]);
}

async function handshake(port: number): Promise<Socket> {
  const sock = connect(port, '127.0.0.1');
  await once(sock, 'connect');
  sock.write(
    `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  let head = '';
  while (!head.includes('\r\n\r\n')) head += ((await once(sock, 'data')) as [Buffer])[0].toString('latin1');
  assert.match(head, /^HTTP\/1.1 101/);
  return sock;
}

const pause = () => new Promise((r) => setImmediate(r));

test('the patched ws receiver is the one installed', () => {
  const source = readFileSync(join(dirname(require.resolve('ws/package.json')), 'lib', 'receiver.js'), 'utf8');
  assert.match(
    source,
    /const NO_CHUNKS = \[\];/,
    'patches/ws+8.23.0.patch is applied (npm install runs patch-package)',
  );
});

test('messages arrive whole and in order however the bytes are chunked', async () => {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const got: { binary: boolean; data: Buffer }[] = [];
  const serverSide = once(wss, 'connection');
  const sock = await handshake((http.address() as AddressInfo).port);
  const [ws] = (await serverSide) as [import('ws').WebSocket];
  ws.on('message', (data: Buffer, binary: boolean) => got.push({ binary, data: Buffer.from(data) }));

  const expected: { binary: boolean; data: Buffer }[] = [];
  const text = (s: string) => (expected.push({ binary: false, data: Buffer.from(s) }), frame(1, Buffer.from(s)));
  const bin = (b: Buffer) => (expected.push({ binary: true, data: b }), frame(2, b));

  // Many frames, one write; then the same again with an empty binary and an empty text message.
  sock.write(Buffer.concat([text('{"id":1}'), bin(randomBytes(334)), text('{"id":2}')]));
  await pause();
  sock.write(Buffer.concat([bin(Buffer.alloc(0)), text(''), bin(randomBytes(3))]));
  await pause();
  // One frame split byte by byte, then the rest of a frame with the start of the next.
  const split = Buffer.concat([bin(randomBytes(200)), text('{"id":3,"é":"ü"}')]);
  for (let i = 0; i < 210; i++) {
    sock.write(split.subarray(i, i + 1));
    await pause();
  }
  sock.write(split.subarray(210));
  await pause();
  // A message in three fragments, with a ping between them (control frames may interleave).
  const parts = [randomBytes(10), randomBytes(0), randomBytes(70_000)];
  expected.push({ binary: true, data: Buffer.concat(parts) });
  sock.write(frame(2, parts[0]!, false));
  await pause();
  sock.write(Buffer.concat([frame(9, Buffer.from('p')), frame(0, parts[1]!, false)]));
  await pause();
  sock.write(frame(0, parts[2]!, true));
  // A large message over many reads, then a last small one.
  sock.write(Buffer.concat([bin(randomBytes(300_000)), text('{"id":4}')]));

  const until = Date.now() + 10_000;
  while (got.length < expected.length && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  assert.equal(got.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.equal(got[i]!.binary, expected[i]!.binary, `type of message ${i}`);
    assert.ok(got[i]!.data.equals(expected[i]!.data), `bytes of message ${i}`);
  }
  sock.destroy();
  wss.close();
  http.close();
});
