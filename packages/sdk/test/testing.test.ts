/**
 * `@parley/sdk/testing`'s `deviceToken` (C1), against a real server: the token it returns is the
 * one the server issued at registration (the account's own `GET /v1/accounts/me` accepts it, and
 * the answer is that client's account), and a client that has not registered gets a clear error
 * instead of `undefined`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { MemoryStore, ParleyClient, type WebSocketCtor } from '@parley/sdk';
import { deviceToken, registerTestClient } from '@parley/sdk/testing';
import { startServer, type TestServer } from '@parley/testkit';

describe('deviceToken [sqlite]', () => {
  let t: TestServer;
  const clients: ParleyClient[] = [];

  before(async () => {
    t = await startServer('sqlite');
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await t?.close();
  });

  it("returns the token the server issued: the account's own endpoint accepts it and names that account", async () => {
    const alice = await registerTestClient(t.url, { WebSocket: WebSocket as unknown as WebSocketCtor, connect: false });
    const bob = await registerTestClient(t.url, { WebSocket: WebSocket as unknown as WebSocketCtor, connect: false });
    clients.push(alice, bob);
    for (const c of [alice, bob]) {
      const res = await fetch(`${t.url}/v1/accounts/me`, { headers: { authorization: `Bearer ${deviceToken(c)}` } });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { deviceId: string }).deviceId, c.self.deviceId);
    }
    assert.notEqual(deviceToken(alice), deviceToken(bob));
  });

  it('throws for a client that has not registered', async () => {
    const c = await ParleyClient.open({ store: new MemoryStore(), WebSocket: WebSocket as unknown as WebSocketCtor });
    clients.push(c);
    assert.throws(() => deviceToken(c), /not registered/);
  });
});
