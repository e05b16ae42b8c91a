/**
 * The SDK socket checks answers (C3, C15): the answer to an op of the protocol's `WS_OPS` is
 * validated against that op's response schema before the caller sees it, so a server (or anything
 * in between) that answers a `send` with the wrong shape is an `internal` error, not a value that
 * merely claims to be a `SendResponse`. Binary frames the server pushes go through the protocol's
 * codec. The server here is a bare `ws` server scripted per test, to send answers a real Parley
 * server never would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket, { WebSocketServer } from 'ws';
import { ParleyError, decodeBinaryFrame, encodeFrame } from '@parley/protocol';
import type { WebSocketCtor } from '@parley/sdk';
import { Socket } from '../src/transport/socket.ts';

const WS = WebSocket as unknown as WebSocketCtor;
const id = (prefix: string) => `${prefix}_${'A'.repeat(22)}`;

/** A server answering `hello` correctly and every other request with `answers[op]`. */
async function scripted(answers: Record<string, unknown>) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws) => {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const header = (
        isBinary ? decodeBinaryFrame(new Uint8Array(data)).header : JSON.parse(data.toString('utf8'))
      ) as { id: number; op: string };
      const body =
        header.op === 'hello'
          ? { accountId: id('a'), deviceId: id('d'), serverTime: 1, pending: 0 }
          : answers[header.op];
      ws.send(JSON.stringify({ id: header.id, status: 200, body }));
    });
  });
  const socket = new Socket(`http://127.0.0.1:${(wss.address() as { port: number }).port}`, () => 'token', WS, {
    requestMs: 5000,
    connectMs: 5000,
  });
  socket.start();
  await socket.ready();
  return {
    socket,
    close: async () => {
      socket.close();
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
}

const sendBody = { conversationId: 'C'.repeat(22), clientMessageId: 'client-1' };

test('a send answer that does not fit sendResponse is refused with internal', async () => {
  const s = await scripted({ send: { messageId: 'not-an-id', seq: 'one' } });
  try {
    await assert.rejects(s.socket.request('send', sendBody, { payload: new Uint8Array([1]) }), (e: unknown) => {
      assert.ok(e instanceof ParleyError, String(e));
      assert.equal(e.code, 'internal');
      assert.match(e.message, /answer to send/);
      return true;
    });
  } finally {
    await s.close();
  }
});

test('a fitting answer arrives parsed (unknown fields dropped); ops outside the table pass through', async () => {
  const good = { messageId: id('m'), seq: 3, sentAt: 5, duplicate: false };
  const s = await scripted({ send: { ...good, extra: 'x' }, custom: { anything: [1, 2] } });
  try {
    const answer = await s.socket.request('send', sendBody, { payload: new Uint8Array([1]) });
    assert.deepEqual(answer, good);
    assert.equal(answer.seq, 3, 'typed by op name');
    assert.deepEqual(await s.socket.request('custom', {}), { anything: [1, 2] });
  } finally {
    await s.close();
  }
});

test('pushed deliveries are decoded with the protocol codec', async () => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  const event = {
    cursor: 1,
    messageId: id('m'),
    conversationId: 'C'.repeat(22),
    kind: 'application',
    seq: 1,
    epoch: 0,
    sender: { accountId: id('a'), deviceId: id('d') },
    sentAt: 1,
  };
  wss.on('connection', (ws) => {
    ws.on('message', (data: Buffer) => {
      const header = JSON.parse(data.toString('utf8')) as { id: number };
      ws.send(
        JSON.stringify({
          id: header.id,
          status: 200,
          body: { accountId: id('a'), deviceId: id('d'), serverTime: 1, pending: 1 },
        }),
      );
      ws.send(encodeFrame({ event: 'deliver', body: event }, new Uint8Array([9, 8, 7])));
    });
  });
  const socket = new Socket(`http://127.0.0.1:${(wss.address() as { port: number }).port}`, () => 'token', WS, {
    requestMs: 5000,
    connectMs: 5000,
  });
  const got = new Promise<{ event: unknown; payload: Uint8Array }>((r) => socket.on('deliver', r));
  socket.start();
  try {
    const d = await got;
    assert.deepEqual(d.event, event);
    assert.deepEqual([...d.payload], [9, 8, 7]);
  } finally {
    socket.close();
    for (const c of wss.clients) c.terminate();
    await new Promise((r) => wss.close(r));
  }
});
