/**
 * The client's `profile-key` event and `username()` (C12), against a real server, with clients from
 * `@parley/sdk/testing`: the event fires when another account's profile key arrives (before that
 * account's first message in a conversation), with the account, the conversation and the version,
 * so an app can fetch the profile right then; `username()` is the name this device last set.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { MemoryStore, ParleyClient, type ClientEvents, type WebSocketCtor } from '@parley/sdk';
import { registerTestClient, testPhone, until } from '@parley/sdk/testing';
import { startServer, type TestServer } from '@parley/testkit';

type Client = ParleyClient & { phone: string };

/** `p`, or a rejection naming `what` after `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)),
  );
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

describe('profile-key event and username() [sqlite]', () => {
  let t: TestServer;
  const clients: Client[] = [];
  const client = async (store?: MemoryStore) => {
    const c = await registerTestClient(t.url, {
      WebSocket: WebSocket as unknown as WebSocketCtor,
      ...(store ? { store } : {}),
    });
    clients.push(c);
    return c;
  };

  before(async () => {
    t = await startServer('sqlite');
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await t?.close();
  });

  it('emits profile-key {accountId, conversationId, version} before the first message, and the profile is readable then', async () => {
    const alice = await client();
    const bob = await client();
    const version = await alice.setProfile({ name: 'Alice Liddell' });
    const conv = await alice.startDirect(bob.self.accountId);
    await until(() => bob.conversations().some((c) => c.id === conv), 10_000, 'bob has the chat');

    const seen: string[] = [];
    bob.on('message', () => seen.push('message'));
    const keyEvent = new Promise<ClientEvents['profile-key']>((resolve) => {
      bob.on('profile-key', (e) => {
        seen.push('profile-key');
        resolve(e);
      });
    });
    // Nothing yet: Alice has not written, so the server hides her profile and Bob holds no key.
    assert.equal(await bob.profileOf(alice.self.accountId), null);

    await alice.sendText(conv, 'Hello Bob');
    const e = await within(keyEvent, 10_000, 'the profile-key event');
    assert.deepEqual(e, { accountId: alice.self.accountId, conversationId: conv, version });
    assert.equal(
      (await bob.profileOf(alice.self.accountId))?.name,
      'Alice Liddell',
      'readable as soon as the event fired',
    );
    await until(() => seen.includes('message'), 10_000, 'the message');
    assert.deepEqual(seen, ['profile-key', 'message'], 'the key comes first');

    // Alice's own devices get no event for her own key; a second message sends no key again.
    await alice.sendText(conv, 'Still me');
    await until(() => seen.filter((s) => s === 'message').length === 2, 10_000, 'second message');
    assert.equal(seen.filter((s) => s === 'profile-key').length, 1, 'the key travels once per chat');
  });

  it('fires for every chat the key arrives in, even when the key is already held', async () => {
    const alice = await client();
    const bob = await client();
    await alice.setProfile({ name: 'Alice' });
    const direct = await alice.startDirect(bob.self.accountId);
    const group = await alice.createGroup('Tea party', [bob.self.accountId]);
    await until(
      () => [direct, group].every((id) => bob.conversations().some((c) => c.id === id)),
      10_000,
      'bob has both chats',
    );
    const events: ClientEvents['profile-key'][] = [];
    bob.on('profile-key', (e) => events.push(e));
    await alice.sendText(direct, 'hi');
    await alice.sendText(group, 'hi all');
    await until(() => events.length === 2, 10_000, 'two profile-key events');
    assert.deepEqual(
      events.map((e) => e.conversationId),
      [direct, group],
    );
    assert.ok(events.every((e) => e.accountId === alice.self.accountId));
  });

  it('a profile change is announced in every chat the key was shared in, so contacts read it at once', async () => {
    const alice = await client();
    const bob = await client();
    await alice.setProfile({ name: 'Alice' });
    const direct = await alice.startDirect(bob.self.accountId);
    const group = await alice.createGroup('Croquet', [bob.self.accountId]);
    await until(
      () => [direct, group].every((id) => bob.conversations().some((c) => c.id === id)),
      10_000,
      'bob has both chats',
    );
    await alice.sendText(direct, 'hi');
    await alice.sendText(group, 'hi all');
    await until(async () => (await bob.profileOf(alice.self.accountId))?.name === 'Alice', 10_000, 'first name read');

    const events: ClientEvents['profile-key'][] = [];
    bob.on('profile-key', (e) => events.push(e));
    const version = await alice.setProfile({ name: 'Ada Lovelace' });
    await until(() => events.length === 2, 10_000, 'the change announced in both chats');
    assert.deepEqual(events.map((e) => e.conversationId).sort(), [direct, group].sort());
    assert.ok(events.every((e) => e.version === version && e.accountId === alice.self.accountId));
    assert.equal((await bob.profileOf(alice.self.accountId))?.name, 'Ada Lovelace', 'the new name, no message needed');
  });

  it('username() is the name this device last set, from its store', async () => {
    const store = new MemoryStore();
    const alice = await client(store);
    assert.equal(await alice.username(), null, 'none yet');
    const name = `Pat_${testPhone().slice(-6)}.42`;
    assert.equal(await alice.setUsername(name), name.toLowerCase());
    assert.equal(await alice.username(), name.toLowerCase(), 'normalised, as set');
    // Another client on the same store (a reload) reads it back.
    const again = await ParleyClient.open({ store, WebSocket: WebSocket as unknown as WebSocketCtor });
    assert.equal(await again.username(), name.toLowerCase());
    await alice.setUsername(null);
    assert.equal(await alice.username(), null, 'cleared');
  });
});
