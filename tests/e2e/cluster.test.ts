/**
 * Scale-out (C19): two `parley serve` processes on different ports share one PostgreSQL database
 * and one Redis. A device connected to one receives, in real time, what a device connected to the
 * other sent, in order; rate limits hold across both.
 */
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { MemoryStore, ParleyClient, type WebSocketCtor } from '@parley/sdk';
import { devOutboxCode } from '@parley/sdk/testing';
import { DEV_OUTBOX_TOKEN, type ServerProcess } from './helpers/server-process.ts';
import { servicesUp, startProcessPair, type ProcessPair } from './helpers/services.ts';

const skip = await servicesUp();

async function register(url: string, phone: string): Promise<ParleyClient> {
  const c = await ParleyClient.open({
    store: new MemoryStore(),
    WebSocket: WebSocket as unknown as WebSocketCtor,
    keyPackageTarget: 5,
  });
  await c.requestCode(url, phone);
  await c.verify(await devOutboxCode(url, phone, fetch, DEV_OUTBOX_TOKEN));
  return c;
}

describe('two server processes on PostgreSQL + Redis', { skip }, () => {
  let pair: ProcessPair;
  let a: ServerProcess;
  let b: ServerProcess;
  const clients: ParleyClient[] = [];

  before(async () => {
    pair = await startProcessPair('cluster', { PARLEY_REGISTRATION_PER_NUMBER: '2' });
    ({ a, b } = pair);
  });

  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await pair?.remove();
  });

  it('delivers in real time across processes, in order, both ways', { timeout: 60_000 }, async () => {
    const alice = await register(a.url, '+12025550191');
    // Bob registers through the other process: codes live in its dev outbox, accounts in PostgreSQL.
    const bob = await register(b.url, '+12025550192');
    clients.push(alice, bob);
    await alice.connect();
    await bob.connect();
    const conv = await alice.startDirect(await alice.lookupPhone('+12025550192'));
    const first = bob.once('message');
    await alice.sendText(conv, 'across nodes');
    assert.equal((await first).text, 'across nodes');
    const back = alice.once('message');
    await bob.sendText(conv, 'and back');
    assert.equal((await back).text, 'and back');

    // A burst in both directions arrives complete and in order on each side.
    const got: string[] = [];
    bob.on('message', (m) => got.push(m.text));
    for (let i = 0; i < 50; i++) await alice.sendText(conv, `burst ${i}`);
    const deadline = Date.now() + 20_000;
    while (got.length < 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    assert.deepEqual(
      got,
      Array.from({ length: 50 }, (_, i) => `burst ${i}`),
    );
  });

  it('holds the per-number registration limit across both processes', async () => {
    const phone = '+12025550199';
    const post = (url: string) =>
      fetch(`${url}/v1/registration/code`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ phone }),
      });
    assert.equal((await post(a.url)).status, 202);
    assert.equal((await post(b.url)).status, 202);
    const third = await post(a.url);
    assert.equal(third.status, 429);
    assert.ok(Number(third.headers.get('retry-after')) >= 1);
    assert.equal((await post(b.url)).status, 429);
  });
});
