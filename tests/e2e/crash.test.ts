/**
 * Durability across a crash (C3): a sender streams messages while the server process is killed
 * with SIGKILL and restarted on the same data. Every message the server acknowledged reaches the
 * recipient exactly once, in order; sends in flight at the crash are retried by the SDK with the
 * same client message id and stored once.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { MemoryStore, ParleyClient, type WebSocketCtor } from '@parley/sdk';
import { devOutboxCode } from '@parley/sdk/testing';
import { DEV_OUTBOX_TOKEN, startServerProcess, type ServerProcess } from './helpers/server-process.ts';

async function register(url: string, phone: string): Promise<ParleyClient> {
  const c = await ParleyClient.open({
    store: new MemoryStore(),
    WebSocket: WebSocket as unknown as WebSocketCtor,
    keyPackageTarget: 5,
  });
  await c.requestCode(url, phone);
  await c.verify(await devOutboxCode(url, phone, fetch, DEV_OUTBOX_TOKEN));
  await c.connect();
  return c;
}

describe('crash durability', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-crash-'));
  let server: ServerProcess | null = null;
  after(async () => {
    await server?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers every acknowledged message exactly once, in order, after SIGKILL', { timeout: 120_000 }, async () => {
    server = await startServerProcess({ PARLEY_DATA_DIR: dataDir });
    const alice = await register(server.url, '+12025550181');
    const bob = await register(server.url, '+12025550182');
    const conv = await alice.startDirect(bob.self.accountId);
    await alice.sendText(conv, 'warm-up');
    const received: string[] = [];
    bob.on('message', (m) => received.push(m.text));

    const total = 400;
    const acked: string[] = [];
    const sends = Array.from({ length: total }, (_, i) => {
      const text = `stream-${String(i).padStart(4, '0')}`;
      return alice.sendText(conv, text).then(() => acked.push(text));
    });
    // Kill the server in the middle of the stream, once some sends were acknowledged.
    while (acked.length < 60) await new Promise((r) => setTimeout(r, 5));
    const ackedBeforeCrash = [...acked];
    await server.kill('SIGKILL');
    server = await server.restart();
    await Promise.all(sends);
    assert.equal(acked.length, total);

    const deadline = Date.now() + 60_000;
    while (received.length < total + 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    const stream = received.filter((t) => t.startsWith('stream-'));
    assert.equal(new Set(stream).size, stream.length, 'no duplicates');
    for (const text of ackedBeforeCrash)
      assert.ok(stream.includes(text), `${text} acknowledged before the crash was lost`);
    assert.deepEqual(stream, [...stream].sort(), 'in order');
    assert.equal(stream.length, total, 'every acknowledged message arrived');
    await alice.close();
    await bob.close();
  });
});
