/**
 * The server's frame writer: Parley's binary frame is byte for byte the protocol encoder's, the
 * WebSocket framing is what RFC 6455 says for each length form, and a real `ws` client receives
 * every frame whole and in order, whether it went straight to the socket or through `ws.send`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { decodeBinaryFrame, encodeBinaryFrame, encodeFrame } from '@parley/protocol';
import { binaryFrame, nodeUtf8, textFrame, writeFrame } from '../src/ws/frame-writer.ts';
import { rawSocketOf } from '../src/ws/ws-internals.ts';

test('the server frame writer produces the protocol encoder bytes', () => {
  const payload = new Uint8Array(334).map((_, i) => i & 0xff);
  for (const header of [
    { event: 'deliver', body: { cursor: 1, text: 'ascii' } },
    { event: 'deliver', body: { note: 'ünïcødé 🎉 \ud800' } },
  ]) {
    const f = binaryFrame(header, payload);
    const portable = encodeFrame(header, payload);
    assert.deepEqual(new Uint8Array(f.bytes.subarray(f.bodyStart)), portable);
    assert.deepEqual(
      new Uint8Array(encodeBinaryFrame(header, payload, nodeUtf8)),
      portable,
      'the codec with Buffer text writes the same bytes',
    );
    const back = decodeBinaryFrame(Buffer.from(portable as Uint8Array), nodeUtf8);
    assert.deepEqual(back.header, JSON.parse(JSON.stringify(header)));
    assert.deepEqual(new Uint8Array(back.payload), payload);
  }
});

test('WebSocket headers: FIN and opcode, then 7-bit, 16-bit or 64-bit lengths, never masked', () => {
  for (const [n, headerBytes, marker] of [
    [5, 2, 5],
    [125, 2, 125],
    [126, 4, 126],
    [65535, 4, 126],
    [65536, 10, 127],
    [70000, 10, 127],
  ] as const) {
    const text = 'x'.repeat(n);
    const f = textFrame(text);
    assert.equal(f.bodyStart, headerBytes, `header size for ${n}`);
    assert.equal(f.bytes[0], 0x81, 'FIN + text');
    assert.equal(f.bytes[1], marker, `length marker for ${n} (mask bit clear)`);
    const length =
      headerBytes === 2 ? f.bytes[1] : headerBytes === 4 ? f.bytes.readUInt16BE(2) : Number(f.bytes.readBigUInt64BE(2));
    assert.equal(length, n);
    assert.equal(f.bytes.length, headerBytes + n);
    assert.equal(f.bytes.subarray(f.bodyStart).toString('utf8'), text);
  }
  const b = binaryFrame({ event: 'deliver' }, new Uint8Array([1, 2, 3]));
  assert.equal(b.bytes[0], 0x82, 'FIN + binary');
  assert.deepEqual(
    new Uint8Array(b.bytes.subarray(b.bodyStart)),
    encodeFrame({ event: 'deliver' }, new Uint8Array([1, 2, 3])),
  );
});

test('a ws client receives direct and fallback frames whole and in order', async () => {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`, { perMessageDeflate: false });
  const [server] = (await once(wss, 'connection')) as [WebSocket];
  await once(client, 'open');
  const got: { binary: boolean; data: Buffer }[] = [];
  client.on('message', (data: Buffer, binary: boolean) => got.push({ binary, data }));

  // Which path each frame took: a whole frame written straight to the TCP socket, or ws.send.
  const socket = rawSocketOf(server)!;
  const socketWrite = socket.write.bind(socket) as (b: Buffer, ...rest: unknown[]) => boolean;
  const direct: Buffer[] = [];
  socket.write = ((b: Buffer, ...rest: unknown[]) => (direct.push(b), socketWrite(b, ...rest))) as typeof socket.write;
  let sent = 0;

  const big = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
  const first = textFrame('{"id":1}');
  const second = binaryFrame({ event: 'deliver', body: { cursor: 7 } }, big);
  writeFrame(server, first);
  writeFrame(server, second);
  // Without the ws internals the writer relies on, it falls back to ws.send.
  const plain = {
    send: (data: Buffer | string) => (sent++, server.send(data)),
  } as unknown as WebSocket;
  writeFrame(plain, textFrame('{"id":2,"é":"ü"}'));
  writeFrame(plain, binaryFrame({ event: 'deliver', body: { cursor: 8 } }, new Uint8Array([9])));
  const fifth = textFrame('{"id":3}');
  writeFrame(server, fifth);
  while (got.length < 5) await once(client, 'message');
  assert.equal(sent, 2, 'the two frames without ws internals went through ws.send');
  assert.equal(
    direct.filter((b) => b === first.bytes || b === second.bytes || b === fifth.bytes).length,
    3,
    'the others went to the socket whole, as built',
  );

  assert.deepEqual(
    got.map((g) => g.binary),
    [false, true, false, true, false],
  );
  assert.equal(got[0]!.data.toString(), '{"id":1}');
  assert.deepEqual(new Uint8Array(got[1]!.data), encodeFrame({ event: 'deliver', body: { cursor: 7 } }, big));
  assert.equal(got[2]!.data.toString(), '{"id":2,"é":"ü"}');
  assert.deepEqual(
    new Uint8Array(got[3]!.data),
    encodeFrame({ event: 'deliver', body: { cursor: 8 } }, new Uint8Array([9])),
  );
  assert.equal(got[4]!.data.toString(), '{"id":3}');
  client.close();
  await once(client, 'close');
  wss.close();
  http.close();
});
