/**
 * The frame writer's access to `ws` internals (`ws/ws-internals.ts`) against the installed `ws`:
 * the version is the pinned one the patch and the adapter were written for, an open connection
 * hands out its raw socket, a frame written there arrives whole at a real client, and a socket
 * mid-way through a fragmented message or closed hands out none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { WS_VERSION, idleRawSocket } from '../src/ws/ws-internals.ts';
import { textFrame } from '../src/ws/frame-writer.ts';

const require = createRequire(import.meta.url);

test('the installed ws is the version the adapter and patches/ws+8.23.0.patch were written for', () => {
  assert.equal((require('ws/package.json') as { version: string }).version, WS_VERSION);
  const manifests = ['../package.json', '../../../apps/cli/package.json', '../../../bench/package.json'];
  for (const m of manifests)
    assert.equal((require(m) as { dependencies: Record<string, string> }).dependencies.ws, WS_VERSION, `${m} pins ws`);
});

test('an idle open socket hands out its TCP socket, and a frame written there arrives whole', async () => {
  const http = createServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`);
  try {
    const [server] = await accepted;
    await once(client, 'open');
    const raw = idleRawSocket(server);
    assert.ok(raw, 'an open, idle socket has a raw socket');
    const got = once(client, 'message') as Promise<[Buffer, boolean]>;
    raw.write(textFrame('hello over the raw socket').bytes);
    const [data, isBinary] = await got;
    assert.equal(isBinary, false);
    assert.equal(data.toString('utf8'), 'hello over the raw socket');

    // Inside a fragmented message a whole frame would split it: no raw socket until it ends.
    server.send('first part', { fin: false });
    assert.equal(idleRawSocket(server), null);
    server.send(' last part', { fin: true });
    assert.ok(idleRawSocket(server), 'idle again once the message is finished');

    const closed = once(server, 'close');
    client.close();
    await closed;
    assert.equal(idleRawSocket(server), null, 'a closed socket has none');
  } finally {
    client.terminate();
    wss.close();
    http.close();
  }
});
