/**
 * Presence (C3, C19): which node holds a device's socket — set, locate, offline only by the owning
 * node, refresh that never steals, and expiry — each on the in-process registry and on Redis (two
 * registry instances acting as two nodes).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPresence, type Presence } from '../src/bus/index.ts';
import { BACKENDS, keysUnder, pttl, setupBackend, sleep, type Backend, type BackendSetup } from '@parley/testkit';

function twoNodes(backend: Backend, env: BackendSetup, ttlMs = 60_000): [Presence, Presence] {
  const make = () =>
    env.track(createPresence({ ...(env.redisUrl ? { redisUrl: env.redisUrl } : {}), prefix: env.prefix, ttlMs }));
  if (backend === 'redis') return [make(), make()];
  const one = make();
  return [one, one];
}

const obj = (m: Map<string, string>) => Object.fromEntries([...m].sort());

for (const backend of BACKENDS) {
  describe(`presence [${backend}]`, () => {
    it('locates online devices on their nodes and leaves offline ones out', async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const [n1, n2] = twoNodes(backend, env);
      await n1.setOnline('dev-a', 'node-1');
      await n2.setOnline('dev-b', 'node-2');
      await n2.refresh(['dev-c', 'dev-d'], 'node-2');
      assert.deepEqual(obj(await n1.locate(['dev-a', 'dev-b', 'dev-c', 'dev-d', 'dev-none'])), {
        'dev-a': 'node-1',
        'dev-b': 'node-2',
        'dev-c': 'node-2',
        'dev-d': 'node-2',
      });
      assert.equal((await n2.locate([])).size, 0);
      await n2.refresh([], 'node-2'); // nothing to do, no error
      // A device that reconnects elsewhere moves.
      await n2.setOnline('dev-a', 'node-2');
      assert.equal((await n1.locate(['dev-a'])).get('dev-a'), 'node-2');
    });

    it('lets only the node that holds the entry take it offline', async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const [n1, n2] = twoNodes(backend, env);
      await n1.setOnline('dev', 'node-1');
      await n2.setOnline('dev', 'node-2'); // newer connection on node 2
      await n1.setOffline('dev', 'node-1'); // node 1's old socket closes late
      assert.equal((await n1.locate(['dev'])).get('dev'), 'node-2', 'a stale node cannot clear a newer entry');
      await n2.setOffline('dev', 'node-2');
      assert.equal((await n1.locate(['dev'])).size, 0);
      await n2.setOffline('dev', 'node-2'); // already gone: harmless
      if (backend === 'redis') assert.deepEqual(await keysUnder(env.prefix), []);
    });

    it("refreshes own and missing entries but never takes over another node's", async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const [n1, n2] = twoNodes(backend, env);
      await n1.setOnline('mine', 'node-1');
      await n2.setOnline('moved', 'node-2'); // node 1 still has a stale socket for it
      await n1.refresh(['mine', 'moved', 'lost'], 'node-1');
      assert.deepEqual(obj(await n2.locate(['mine', 'moved', 'lost'])), {
        mine: 'node-1',
        moved: 'node-2',
        lost: 'node-1',
      });
    });

    it('expires entries that are not refreshed, and keeps refreshed ones', async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const ttlMs = 500;
      const [n1, n2] = twoNodes(backend, env, ttlMs);
      await n1.setOnline('kept', 'node-1');
      await n1.setOnline('dropped', 'node-1');
      await n2.refresh(['kept-2'], 'node-2');
      if (backend === 'redis') {
        const left = await pttl(`${env.prefix}presence:kept`);
        assert.ok(left > 0 && left <= ttlMs, `PX set on the key (pttl ${left})`);
      }
      await sleep(300);
      await n1.refresh(['kept'], 'node-1');
      await n2.refresh(['kept-2'], 'node-2');
      await sleep(300); // past the first write's TTL, well within the refresh's
      assert.deepEqual(obj(await n1.locate(['kept', 'kept-2', 'dropped'])), { kept: 'node-1', 'kept-2': 'node-2' });
      await sleep(ttlMs + 100);
      assert.equal((await n2.locate(['kept', 'kept-2', 'dropped'])).size, 0, 'entries expire without refresh');
      if (backend === 'redis') assert.deepEqual(await keysUnder(env.prefix), [], 'Redis forgot them too');
    });

    it('rejects a TTL Redis could not store', async (t) => {
      const env = await setupBackend(t, backend);
      if (!env) return;
      const opts = env.redisUrl ? { redisUrl: env.redisUrl } : {};
      assert.throws(() => createPresence({ ...opts, prefix: env.prefix, ttlMs: 0 }), RangeError);
      assert.throws(() => createPresence({ ...opts, prefix: env.prefix, ttlMs: 1.5 }), RangeError);
    });
  });
}
