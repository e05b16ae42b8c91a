/**
 * Web Push (C18) against a real server on SQLite and PostgreSQL and the local push service of
 * `@parley/testkit` (RFC 8030, VAPID checked per RFC 8292, payload decrypted per RFC 8291): the
 * VAPID key is made once and kept sealed with the server secrets; a device sets, replaces, reads
 * and deletes only its own subscription; a message queued for a subscribed device with no open
 * socket produces one encrypted, content-free wake-up, and a connected device gets none; a push
 * service answering 410 loses the subscription; a push service that never answers slows no send
 * and its request ends at the deadline; invalid and foreign subscriptions are refused with their
 * catalogued errors and change nothing. Across two servers sharing PostgreSQL and Redis, both use
 * one VAPID key, and a device connected to the other server is not pushed until it leaves.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ParleyError, PUSH_LIMITS, pushWakeSchema } from '@parley/protocol';
import { deviceToken } from '@parley/sdk/testing';
import { randomBytes } from 'node:crypto';
import {
  availableDrivers,
  deleteKeys,
  newClient,
  redisProblem,
  REDIS_URL,
  testPrefix,
  startLocalPushService,
  startServer,
  until,
  type LocalPushService,
  type TestServer,
} from '@parley/testkit';
import type { ParleyClient } from '@parley/sdk';

const drivers = await availableDrivers();

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ParleyError, String(e));
    return e.code;
  }
  assert.fail('expected a refusal');
}

for (const { driver, skip } of drivers) {
  describe(`web push [${driver}]`, { skip }, () => {
    let t: TestServer;
    let ps: LocalPushService;
    const clients: ParleyClient[] = [];
    const make = async () => {
      const c = await newClient(t.url);
      clients.push(c);
      return c;
    };
    /** A client that registered, connected once (KeyPackages uploaded), then went away. */
    const away = async (c: ParleyClient) => {
      await c.close();
      await until(() => !t.server.ctx.delivery.isConnected(c.self.deviceId));
    };
    before(async () => {
      t = await startServer(driver, { pushHttpHosts: ['127.0.0.1'], pushTimeoutMs: 500 });
      ps = await startLocalPushService({ expectKey: t.server.ctx.push.publicKey });
    });
    after(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await t?.close();
      await ps?.close();
    });

    it('makes the VAPID key once and keeps it sealed with the server secrets', async () => {
      const c = await make();
      const key = await c.pushVapidKey();
      assert.equal(key, t.server.ctx.push.publicKey);
      assert.equal(Buffer.from(key, 'base64url').length, 65);
      const rows = await t.server.ctx.storage.secrets.listSecrets();
      const row = rows.find((r) => r.name === 'push-vapid-p256');
      assert.ok(row, 'the VAPID private key is a server secret');
      assert.notEqual(row.keyId, null, 'sealed, not in clear');
      const priv = t.server.ctx.secrets.loaded('push-vapid-p256')!;
      assert.equal(Buffer.from(row.value).includes(Buffer.from(priv)), false);
    });

    it('wakes a subscribed device with no socket with an encrypted, content-free push', async () => {
      const alice = await make();
      const bob = await make();
      const sub = ps.subscribe();
      const state = await bob.subscribePush(sub);
      assert.equal(state.subscribed, true);
      assert.equal(state.origin, ps.url);
      assert.deepEqual(await bob.pushState(), state);
      await away(bob);
      const before = ps.received.length;
      const conv = await alice.startDirect(await alice.lookupPhone(bob.phone));
      const secret = 'canary-text-' + Math.random().toString(36).slice(2);
      await alice.sendText(conv, secret);
      const got = (await ps.waitFor(before + 1)).slice(before);
      await t.server.ctx.push.idle();
      assert.equal(got.length, 1, 'one wake-up for one message');
      const p = got[0]!;
      assert.equal(p.id, sub.endpoint.split('/').pop());
      assert.equal(p.vapidKey, t.server.ctx.push.publicKey);
      assert.equal(p.claims.aud, ps.url);
      assert.equal(p.urgency, 'high');
      assert.ok(p.ttl > 0);
      const wake = pushWakeSchema.parse(JSON.parse(p.plaintext.toString('utf8')));
      assert.equal(wake.conversationId, conv);
      assert.equal(wake.from, alice.self.accountId);
      assert.equal(p.plaintext.includes(secret), false, 'no message text in the payload');
      assert.ok(p.bodyBytes > p.plaintext.length, 'the body on the wire is the encrypted record');
      assert.deepEqual(ps.rejected, []);
    });

    it('sends nothing to a device that is connected', async () => {
      const alice = await make();
      const bob = await make();
      await bob.subscribePush(ps.subscribe());
      const conv = await alice.startDirect(await alice.lookupPhone(bob.phone));
      const seen: string[] = [];
      bob.on('message', (m) => {
        if (m.conversationId === conv) seen.push(m.text);
      });
      const before = ps.received.length;
      await alice.sendText(conv, 'live');
      await until(() => seen.includes('live'));
      await t.server.ctx.push.idle();
      assert.equal(ps.received.length, before);
    });

    it('deletes the subscription when the push service answers 410 Gone', async () => {
      const alice = await make();
      const bob = await make();
      const sub = ps.subscribe();
      await bob.subscribePush(sub);
      await away(bob);
      ps.setMode(sub.endpoint, 'gone');
      const conv = await alice.startDirect(await alice.lookupPhone(bob.phone));
      const gone = t.server.ctx.push.counters.gone;
      await alice.sendText(conv, 'to a browser that unsubscribed');
      await until(() => t.server.ctx.push.counters.gone > gone);
      await until(async () => !(await t.server.ctx.storage.push.getSubscription(bob.self.deviceId)));
    });

    it('a push service that never answers does not hold up sends; the request ends at its deadline', async () => {
      const alice = await make();
      const bob = await make();
      const sub = ps.subscribe();
      await bob.subscribePush(sub);
      await away(bob);
      ps.setMode(sub.endpoint, 'hang');
      const conv = await alice.startDirect(await alice.lookupPhone(bob.phone));
      const failed = t.server.ctx.push.counters.failed;
      await alice.sendText(conv, 'one');
      await until(() => t.server.ctx.push.pending > 0);
      // The push is still in flight, and the sender's next sends are acknowledged all the same.
      await alice.sendText(conv, 'two');
      await alice.sendText(conv, 'three');
      await until(() => t.server.ctx.push.counters.failed > failed, 10_000);
      await t.server.ctx.push.idle();
      assert.ok(await t.server.ctx.storage.push.getSubscription(bob.self.deviceId), 'a timeout keeps the subscription');
    });

    it('replaces and deletes only its own subscription', async () => {
      const bob = await make();
      const first = ps.subscribe();
      const second = ps.subscribe();
      await bob.subscribePush(first);
      await bob.subscribePush(second);
      const row = await t.server.ctx.storage.push.getSubscription(bob.self.deviceId);
      assert.equal(row?.endpoint, second.endpoint, 'one subscription per device: the newer replaces the older');
      assert.equal((await bob.unsubscribePush()).subscribed, false);
      assert.equal((await bob.unsubscribePush()).subscribed, false, 'deleting again is fine');
      assert.equal((await bob.pushState()).subscribed, false);
    });

    it('refuses invalid and foreign subscriptions with catalogued errors and changes nothing', async () => {
      const bob = await make();
      const carol = await make();
      const mine = ps.subscribe();
      await bob.subscribePush(mine);
      const stateBefore = await bob.pushState();
      const good = ps.subscribe();
      const cases: [string, unknown][] = [
        ['push_endpoint_invalid', { ...good, endpoint: 'http://example.com/push/x' }],
        ['push_endpoint_invalid', { ...good, endpoint: 'https://127.0.0.1/push/x' }],
        ['push_endpoint_invalid', { ...good, endpoint: 'https://10.1.2.3/push/x' }],
        ['push_endpoint_invalid', { ...good, endpoint: 'https://u:p@push.example/x' }],
        ['push_endpoint_invalid', { ...good, endpoint: 'ftp://push.example/x' }],
        ['push_endpoint_invalid', { ...good, endpoint: 'not a url' }],
        ['push_endpoint_invalid', { ...good, endpoint: 'http://localhost:1/push/x' }],
        ['push_keys_invalid', { ...good, keys: { ...good.keys, auth: Buffer.alloc(15).toString('base64url') } }],
        ['push_keys_invalid', { ...good, keys: { ...good.keys, p256dh: Buffer.alloc(65, 4).toString('base64url') } }],
        ['push_keys_invalid', { ...good, keys: { ...good.keys, p256dh: good.keys.p256dh.slice(0, 80) } }],
        ['push_keys_invalid', { ...good, keys: { ...good.keys, auth: '!!!!' } }],
        // Bob's endpoint, offered by another account's device.
        ['push_endpoint_in_use', mine],
      ];
      for (const [code, body] of cases)
        assert.equal(
          await refusal(carol.subscribePush(body as never)),
          code,
          `${code} for ${JSON.stringify(body).slice(0, 80)}`,
        );
      // Wrong shapes never reach the checks: the schema refuses them (raw HTTP: the SDK would not send them).
      const token = deviceToken(carol);
      for (const body of [
        { ...good, keys: { p256dh: 5, auth: good.keys.auth } },
        { ...good, extra: true },
        { keys: good.keys },
        { ...good, endpoint: 'https://push.example/' + 'x'.repeat(PUSH_LIMITS.endpointChars) },
      ]) {
        const res = await fetch(`${t.url}/v1/devices/me/push`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        assert.equal(res.status, 400);
        assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'bad_request');
      }
      const anon = await fetch(`${t.url}/v1/devices/me/push`, { method: 'DELETE' });
      assert.equal(anon.status, 401);
      assert.deepEqual(await bob.pushState(), stateBefore, "bob's subscription is untouched");
      assert.equal((await carol.pushState()).subscribed, false, 'carol got nothing stored');
    });
  });
}

const pgSkip = drivers.find((d) => d.driver === 'postgres')!.skip;
const redisSkip = await redisProblem();
describe(
  'web push across two servers on PostgreSQL + Redis',
  { skip: pgSkip || (redisSkip ? `Redis not reachable: ${redisSkip}` : false) },
  () => {
    let a: TestServer;
    let b: TestServer;
    let ps: LocalPushService;
    const prefix = testPrefix();
    const clients: ParleyClient[] = [];
    before(async () => {
      const secretKey = randomBytes(32).toString('base64');
      const push = { pushHttpHosts: ['127.0.0.1' as const], pushTimeoutMs: 2000 };
      a = await startServer('postgres', { redisUrl: REDIS_URL, redisPrefix: prefix, secretKey, ...push });
      b = await startServer('sqlite', {
        databaseUrl: a.databaseUrl!,
        redisUrl: REDIS_URL,
        redisPrefix: prefix,
        secretKey,
        ...push,
      });
      ps = await startLocalPushService({ expectKey: a.server.ctx.push.publicKey });
    });
    after(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await b?.close();
      await a?.close();
      await ps?.close();
      await deleteKeys(prefix);
    });

    it('both servers share one VAPID key; a device connected to the other server is not pushed, and is once it leaves', async () => {
      assert.equal(b.server.ctx.push.publicKey, a.server.ctx.push.publicKey);
      const alice = await newClient(a.url);
      const bob = await newClient(b.url);
      clients.push(alice, bob);
      await bob.subscribePush(ps.subscribe());
      const conv = await alice.startDirect(await alice.lookupPhone(bob.phone));
      const seen: string[] = [];
      bob.on('message', (m) => {
        if (m.conversationId === conv) seen.push(m.text);
      });
      await alice.sendText(conv, 'while bob is on server b');
      await until(() => seen.includes('while bob is on server b'));
      await a.server.ctx.push.idle();
      assert.equal(ps.received.length, 0, 'online on the other server: no push');

      await bob.close();
      await until(async () => (await a.server.ctx.presence.locate([bob.self.deviceId])).size === 0);
      await alice.sendText(conv, 'after bob left');
      const [p] = await ps.waitFor(1);
      assert.equal(pushWakeSchema.parse(JSON.parse(p!.plaintext.toString('utf8'))).conversationId, conv);
    });
  },
);
