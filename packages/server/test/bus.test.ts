/**
 * Bus (C3, C19): publish/subscribe between two nodes, unsubscribe, ordering, isolation and error
 * containment — each test on the in-process bus and on Redis. On Redis the two nodes are two bus
 * instances with their own connections; in-process there is one node, so both names are one bus.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBus, type Bus } from '../src/bus/index.ts';
import { BACKENDS, setupBackend, sleep, waitFor, type Backend, type BackendSetup } from '@parley/testkit';

/** Two "nodes" sharing one backend. */
function twoNodes(backend: Backend, env: BackendSetup, onError?: (err: unknown) => void): [Bus, Bus] {
  const make = () =>
    env.track(
      createBus({
        ...(env.redisUrl ? { redisUrl: env.redisUrl } : {}),
        prefix: env.prefix,
        ...(onError ? { onError } : {}),
      }),
    );
  if (backend === 'redis') return [make(), make()];
  const one = make();
  return [one, one];
}

for (const backend of BACKENDS) {
  describe(`bus [${backend}]`, () => {
    it('answers a ping while open and refuses one once closed (readiness)', async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const bus = createBus({ ...(env.redisUrl ? { redisUrl: env.redisUrl } : {}), prefix: env.prefix });
      let answered = false;
      // A Redis connection needs a moment to become ready; a ping before that is refused, not queued.
      for (let i = 0; i < 200 && !answered; i++)
        answered = await bus.ping().then(
          () => true,
          async () => (await sleep(10), false),
        );
      assert.ok(answered, 'the bus answered a ping');
      await bus.close();
      await assert.rejects(bus.ping());
    });

    it('delivers a publish to subscribers on every node, the publisher included', async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const [a, b] = twoNodes(backend, env);
      const got: string[] = [];
      await a.subscribe('wake', (m) => got.push(`a:${m}`));
      await b.subscribe('wake', (m) => got.push(`b:${m}`));
      await a.publish('wake', 'hello');
      assert.ok(await waitFor(() => got.length === 2), `got ${JSON.stringify(got)}`);
      assert.deepEqual(got.sort(), ['a:hello', 'b:hello']);
      await b.publish('wake', 'back');
      assert.ok(await waitFor(() => got.length === 4));
      assert.deepEqual(got.slice(2).sort(), ['a:back', 'b:back']);
    });

    it('keeps a subscription made while the connection is still being set up', async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      // Subscribe at staggered moments after the bus opens its connections, so one lands between
      // "connected" and "ready" (where a Redis client can drop it); every one must receive.
      // In-process there is one node, so all twelve names are one bus (as in twoNodes).
      const make = () =>
        env.track(createBus({ ...(env.redisUrl ? { redisUrl: env.redisUrl } : {}), prefix: env.prefix }));
      const one = backend === 'redis' ? null : make();
      const nodes = Array.from({ length: 12 }, () => one ?? make());
      const got = new Set<number>();
      await Promise.all(
        nodes.map(async (n, i) => {
          await sleep(i);
          await n.subscribe('early', () => got.add(i));
        }),
      );
      await nodes[0]!.publish('early', 'x');
      assert.ok(
        await waitFor(() => got.size === nodes.length),
        `received on ${[...got].sort((x, y) => x - y).join(',')}`,
      );
    });

    it("keeps one publisher's messages in order", async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const [a, b] = twoNodes(backend, env);
      const got: string[] = [];
      await b.subscribe('seq', (m) => got.push(m));
      const sent = Array.from({ length: 50 }, (_, i) => String(i));
      for (const m of sent) await a.publish('seq', m);
      assert.ok(await waitFor(() => got.length === sent.length));
      assert.deepEqual(got, sent);
    });

    it('stops delivery after unsubscribe, leaving other subscribers and topics alone', async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const [a, b] = twoNodes(backend, env);
      const got: string[] = [];
      const offB = await b.subscribe('t', (m) => got.push(`b:${m}`));
      await a.subscribe('t', (m) => got.push(`a:${m}`));
      const offOther = await b.subscribe('other', (m) => got.push(`other:${m}`));
      await offB();
      await offB(); // a second call is harmless
      await a.publish('t', 'after');
      await a.publish('other', 'x');
      assert.ok(await waitFor(() => got.includes('a:after') && got.includes('other:x')));
      await sleep(50); // leave room for a stray delivery to show up
      assert.deepEqual(got.sort(), ['a:after', 'other:x']);
      await offOther();
      await a.publish('other', 'y');
      await sleep(50);
      assert.equal(got.includes('other:y'), false);
    });

    it('counts the same handler subscribed twice as two subscriptions', async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const [a, b] = twoNodes(backend, env);
      const got: string[] = [];
      const h = (m: string) => got.push(m);
      const off1 = await b.subscribe('dup', h);
      await b.subscribe('dup', h);
      await off1();
      await a.publish('dup', 'm');
      assert.ok(await waitFor(() => got.length === 1));
      await sleep(30);
      assert.deepEqual(got, ['m']);
    });

    it('has every concurrent subscription active once it resolves', async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const [a, b] = twoNodes(backend, env);
      const got: string[] = [];
      // Two subscribes to one new topic at once: the second must not resolve before Redis confirms the first.
      await Promise.all([
        b.subscribe('race', (m) => got.push(`1:${m}`)),
        b.subscribe('race', (m) => got.push(`2:${m}`)),
      ]);
      await a.publish('race', 'go');
      assert.ok(await waitFor(() => got.length === 2), `got ${JSON.stringify(got)}`);
      // Unsubscribe then resubscribe at once: the newer subscription wins.
      const off = await b.subscribe('flip', () => undefined);
      const flipped: string[] = [];
      await Promise.all([off(), b.subscribe('flip', (m) => flipped.push(m))]);
      await a.publish('flip', 'still here');
      assert.ok(await waitFor(() => flipped.length === 1));
    });

    it('contains a throwing handler: others still get the message and the error is reported', async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const errors: unknown[] = [];
      const [a, b] = twoNodes(backend, env, (err) => errors.push(err));
      const got: string[] = [];
      await b.subscribe('boom', () => {
        throw new Error('handler failed');
      });
      await b.subscribe('boom', (m) => got.push(m));
      await a.publish('boom', '1');
      await a.publish('boom', '2');
      assert.ok(await waitFor(() => got.length === 2 && errors.length === 2));
      assert.deepEqual(got, ['1', '2']);
      assert.match(String((errors[0] as Error).message), /handler failed/);
    });

    it('keeps buses with different prefixes apart', async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const opts = env.redisUrl ? { redisUrl: env.redisUrl } : {};
      const x = env.track(createBus({ ...opts, prefix: `${env.prefix}x:` }));
      const y = env.track(createBus({ ...opts, prefix: `${env.prefix}y:` }));
      const got: string[] = [];
      await y.subscribe('t', (m) => got.push(`y:${m}`));
      await x.subscribe('t', (m) => got.push(`x:${m}`));
      await x.publish('t', 'm');
      assert.ok(await waitFor(() => got.length >= 1));
      await sleep(50);
      assert.deepEqual(got, ['x:m']);
    });

    it('refuses work after close', async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const [a] = twoNodes(backend, env);
      await a.close();
      await assert.rejects(a.publish('t', 'm'), /closed/);
      await assert.rejects(
        a.subscribe('t', () => undefined),
        /closed/,
      );
    });
  });
}
