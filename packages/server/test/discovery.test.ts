/**
 * Private contact discovery (C12) over real HTTP on SQLite and PostgreSQL: OPRF lookups that never
 * carry a number, "find me by number" settings, the allowance of unseen numbers (300 on day one,
 * 1,000 by day 7, then 10 a day), refusal of a whole request over quota with nothing recorded, the
 * per-IP budget, the global alarm that pauses young accounts, malformed elements, and an
 * enumeration attempt by many accounts that learns no more than the quotas allow.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ParleyError, toB64 } from '@parley/protocol';
import { blindNumber, discoveryTag, finalizeNumber } from '@parley/crypto';
import type { ParleyClient } from '@parley/sdk';
import { availableDrivers, newClient, startServer, type TestServer } from '@parley/testkit';
import { deviceToken } from '@parley/sdk/testing';

const drivers = await availableDrivers();
const DAY = 86_400_000;

/** `count` unregistered numbers in a block nobody else uses. */
function block(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `+1${prefix}${String(i).padStart(4, '0')}`);
}

/** A registered client whose every HTTP request body is recorded. */
async function recordingClient(url: string, phone: string) {
  const bodies: string[] = [];
  const fetchImpl = async (input: string, init?: RequestInit) => {
    if (typeof init?.body === 'string') bodies.push(init.body);
    return fetch(input, init);
  };
  const client = await newClient(url, phone, { connect: false, fetch: fetchImpl });
  bodies.length = 0;
  return { client, bodies };
}

/** Numbers whose tags must come from the real OPRF (registered people a test expects to find). */
const realOprf = new Set<string>();

/**
 * Raw discovery with an account's token (no client cache): answers status, body and what was found.
 * Numbers in `realOprf` go through blind, evaluate and finalise; the bulk of unregistered numbers
 * in the quota tests get stand-in tags (SHA-256 of the number) to keep the suite fast. The server
 * cannot tell the two apart (it only ever sees 32-byte tags), and the first test proves the OPRF
 * path end to end.
 */
async function rawDiscover(url: string, token: string, numbers: string[]) {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const real = numbers.filter((n) => realOprf.has(n));
  const realTags = new Map<string, string>();
  if (real.length) {
    const blinded = real.map((n) => blindNumber(n));
    const ev = await fetch(`${url}/v1/discovery/evaluate`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ blinded: blinded.map((b) => toB64(b.blinded)) }),
    });
    if (ev.status !== 200)
      return {
        status: ev.status,
        retryAfter: ev.headers.get('retry-after'),
        body: (await ev.json()) as Record<string, unknown>,
        found: new Map<string, string>(),
      };
    const { evaluated } = (await ev.json()) as { evaluated: string[] };
    real.forEach((n, i) =>
      realTags.set(
        n,
        toB64(discoveryTag(finalizeNumber(n, blinded[i]!.blind, Buffer.from(evaluated[i]!, 'base64url')))),
      ),
    );
  }
  const tags = numbers.map((n) => realTags.get(n) ?? createHash('sha256').update(`stand-in ${n}`).digest('base64url'));
  const res = await fetch(`${url}/v1/discovery/lookup`, { method: 'POST', headers, body: JSON.stringify({ tags }) });
  const body = (await res.json()) as {
    matches?: { tag: string; accountId: string }[];
    remaining?: number;
    error?: { code: string; details?: unknown };
  };
  const found = new Map<string, string>();
  for (const m of body.matches ?? []) found.set(numbers[tags.indexOf(m.tag)]!, m.accountId);
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: body as Record<string, unknown>,
    found,
  };
}

/** A registered client that tests expect discovery to find. */
async function person(url: string, phone?: string) {
  const c = await newClient(url, phone, { connect: false });
  realOprf.add(c.phone);
  return c;
}

for (const { driver, skip } of drivers) {
  describe(`contact discovery on ${driver}`, { skip }, () => {
    let t: TestServer;
    let clock = Date.now();
    before(async () => {
      t = await startServer(driver, { discoveryAlarmFloor: 1_000_000 }, { now: () => clock });
    });
    after(async () => t?.close());

    it('finds discoverable accounts, never sends a number or its hash, and honours "nobody"', async () => {
      const bob = await newClient(t.url, undefined, { connect: false });
      const carol = await person(t.url);
      assert.equal(await carol.findByNumber(), 'everyone', 'findable by default');
      assert.equal(await carol.findByNumber('nobody'), 'nobody');
      const { client: alice, bodies } = await recordingClient(t.url, '+12025559001');
      const unknown = '+12025559999';
      const found = await alice.discover([bob.phone, carol.phone, unknown]);
      assert.equal(found.get(bob.phone), bob.self.accountId);
      assert.equal(found.get(carol.phone), null, 'an account that said nobody is not found');
      assert.equal(found.get(unknown), null);
      assert.ok(bodies.length >= 2, 'two requests: evaluate and lookup');
      for (const number of [bob.phone, carol.phone, unknown]) {
        const digits = number.slice(1);
        const hashes = [
          createHash('sha256').update(number).digest('hex'),
          createHash('sha256').update(number).digest('base64url'),
        ];
        for (const b of bodies) {
          assert.ok(!b.includes(digits), 'no number on the wire');
          for (const h of hashes) assert.ok(!b.includes(h), 'no plain hash of a number on the wire');
        }
      }
      // Asking again about the same contacts sends nothing: the answers are cached on the device.
      const sent = bodies.length;
      await alice.discover([bob.phone, carol.phone]);
      assert.equal(bodies.length, sent);
      // A number typed to start a chat is asked again even when cached as not found: someone who
      // joins after a first "not found" can be reached at once, while a contact sync still reuses it.
      await assert.rejects(
        alice.lookupPhone(unknown),
        (e: unknown) => (e as { code?: string }).code === 'account_not_found',
      );
      const late = await newClient(t.url, unknown, { connect: false });
      assert.equal((await alice.discover([unknown])).get(unknown), null, 'a sync reuses the cached answer');
      assert.equal(await alice.lookupPhone(unknown), late.self.accountId);
      assert.equal((await alice.discover([unknown])).get(unknown), late.self.accountId, 'and the cache learns it');
      await late.close();
      // Carol changes her mind: findable again at once; and back to nobody.
      assert.equal(await carol.findByNumber('everyone'), 'everyone');
      const again = await rawDiscover(t.url, deviceToken(alice), [carol.phone]);
      assert.equal(again.found.get(carol.phone), carol.self.accountId);
      await carol.findByNumber('nobody');
      assert.equal((await rawDiscover(t.url, deviceToken(alice), [carol.phone])).found.size, 0);
      await Promise.all([alice.close(), bob.close(), carol.close()]);
    });

    it('allows 300 unseen numbers on day one, 1,000 by day 7, then 10 a day; a request over quota is refused whole', async () => {
      clock = Date.now();
      const target = await person(t.url);
      const scanner = await newClient(t.url, undefined, { connect: false });
      const token = deviceToken(scanner);
      const first = block('303555', 300);
      const ok = await rawDiscover(t.url, token, first);
      assert.equal(ok.status, 200);
      assert.equal(ok.body.remaining, 0);
      // The 301st unseen number, together with a registered one: refused whole, no partial answer.
      const over = await rawDiscover(t.url, token, ['+13035559999', target.phone]);
      assert.equal(over.status, 429);
      assert.equal((over.body as { error: { code: string } }).error.code, 'rate_limited');
      assert.ok(Number(over.retryAfter) > 0 && Number(over.retryAfter) <= 86_400, `Retry-After ${over.retryAfter}`);
      assert.equal(over.found.size, 0);
      assert.equal(
        await t.server.ctx.storage.discovery.discoveryUsed(scanner.self.accountId),
        300,
        'the refused request recorded nothing',
      );
      // Numbers already looked up cost nothing again.
      assert.equal((await rawDiscover(t.url, token, first.slice(0, 50))).status, 200);
      // Day 2: 400 in total; day 7: 1,000; day 8: 1,010.
      clock += DAY;
      assert.equal((await rawDiscover(t.url, token, block('303556', 100))).status, 200);
      assert.equal((await rawDiscover(t.url, token, ['+13035570000'])).status, 429);
      clock += 6 * DAY;
      const week = await rawDiscover(t.url, token, [...block('303557', 599), target.phone]);
      assert.equal(week.status, 200);
      assert.equal(week.found.get(target.phone), target.self.accountId);
      assert.equal((await rawDiscover(t.url, token, ['+13035580000'])).status, 429);
      clock += DAY;
      assert.equal((await rawDiscover(t.url, token, block('303559', 10))).status, 200);
      assert.equal((await rawDiscover(t.url, token, ['+13035600000'])).status, 429);
      assert.equal(await t.server.ctx.storage.discovery.discoveryUsed(scanner.self.accountId), 1010);
      clock = Date.now();
      await Promise.all([target.close(), scanner.close()]);
    });

    it('refuses malformed elements with a catalogued error and spends no budget', async () => {
      const c = await newClient(t.url, undefined, { connect: false });
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${deviceToken(c)}` };
      const good = toB64(blindNumber('+12025550000').blinded);
      const bad: [string, string[], string][] = [
        ['all-zero element (the identity)', [good, toB64(new Uint8Array(32))], 'discovery_element_invalid'],
        ['non-canonical encoding', [toB64(new Uint8Array(32).fill(0xff))], 'discovery_element_invalid'],
        ['not a point', [toB64(new Uint8Array(32).fill(3))], 'discovery_element_invalid'],
        ['short element', ['AAAA'], 'bad_request'],
        ['too many', Array(1001).fill(good), 'bad_request'],
        ['none', [], 'bad_request'],
      ];
      for (const [what, blinded, code] of bad) {
        const r = await fetch(`${t.url}/v1/discovery/evaluate`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ blinded }),
        });
        const body = (await r.json()) as { error: { code: string; details?: { index?: number } } };
        assert.equal(body.error.code, code, what);
        if (code === 'discovery_element_invalid')
          assert.equal(body.error.details?.index, blinded.length - 1, `${what} names the bad element`);
      }
      const badTags = await fetch(`${t.url}/v1/discovery/lookup`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ tags: ['x'.repeat(43) + '!'] }),
      });
      assert.equal(badTags.status, 400);
      assert.equal(await t.server.ctx.storage.discovery.discoveryUsed(c.self.accountId), 0);
      await c.close();
    });

    it('an enumeration script with many accounts learns no more than the quotas allow', async () => {
      clock = Date.now();
      // Registered, discoverable people hidden in a range of 3,000 numbers.
      const people = [];
      for (let i = 0; i < 6; i++) people.push(await person(t.url, `+1404555${String(i * 500 + 7).padStart(4, '0')}`));
      const range = block('404555', 3000);
      const bots = [];
      for (let i = 0; i < 4; i++) bots.push(await newClient(t.url, undefined, { connect: false }));
      const learned = new Set<string>();
      let refusals = 0;
      let next = 0;
      for (const bot of bots) {
        for (;;) {
          const chunk = range.slice(next, next + 100);
          if (!chunk.length) break;
          const r = await rawDiscover(t.url, deviceToken(bot), chunk);
          if (r.status === 429) {
            refusals++;
            break;
          }
          assert.equal(r.status, 200);
          chunk.forEach((n) => learned.add(n));
          next += chunk.length;
        }
      }
      assert.equal(refusals, bots.length, 'every bot hit its quota');
      assert.equal(learned.size, bots.length * 300, 'no more than 300 numbers per account on its first day');
      const visible = people.filter((p) => learned.has(p.phone)).length;
      assert.equal(visible, 3, 'only the people inside the allowed 1,200 numbers were reachable');
      for (const c of [...people, ...bots]) await c.close();
    });
  });
}

describe('contact discovery limits across accounts', () => {
  let t: TestServer;
  let clock = Date.now();
  after(async () => t?.close());

  it('caps unseen numbers per IP address, all accounts together', async () => {
    t = await startServer('sqlite', { discoveryPerIpPerDay: 50, discoveryAlarmFloor: 1_000_000 }, { now: () => clock });
    const a = await newClient(t.url, undefined, { connect: false });
    const b = await newClient(t.url, undefined, { connect: false });
    assert.equal((await rawDiscover(t.url, deviceToken(a), block('505555', 30))).status, 200);
    const r = await rawDiscover(t.url, deviceToken(b), block('505556', 30));
    assert.equal(r.status, 429);
    assert.deepEqual((r.body as { error: { details: unknown } }).error.details, { quota: 'discovery', scope: 'ip' });
    assert.equal(await t.server.ctx.storage.discovery.discoveryUsed(b.self.accountId), 0);
    await Promise.all([a.close(), b.close()]);
    await t.close();
  });

  it('the daily alarm pauses accounts younger than a week and leaves older ones alone', async () => {
    clock = Date.now() - 10 * DAY;
    t = await startServer('sqlite', { discoveryAlarmFloor: 20, discoveryAlarmFactor: 3 }, { now: () => clock });
    const old = await newClient(t.url, undefined, { connect: false });
    clock += 10 * DAY;
    const young = await newClient(t.url, undefined, { connect: false });
    // A quiet history, then a burst today far above three times its median.
    assert.equal((await rawDiscover(t.url, deviceToken(old), block('606555', 25))).status, 200);
    const paused = await rawDiscover(t.url, deviceToken(young), block('606556', 5));
    assert.equal(paused.status, 429);
    assert.deepEqual((paused.body as { error: { details: unknown } }).error.details, {
      quota: 'discovery',
      scope: 'paused',
    });
    assert.equal(
      (await rawDiscover(t.url, deviceToken(old), block('606557', 5))).status,
      200,
      'an established account still discovers',
    );
    await Promise.all([old.close(), young.close()]);
  });

  it('SDK lookupPhone and a refusal surface as catalogued errors', async () => {
    await t.close();
    t = await startServer('sqlite');
    const c = await newClient(t.url, undefined, { connect: false });
    await assert.rejects(
      c.lookupPhone('+12025550555'),
      (e: unknown) => e instanceof ParleyError && e.code === 'account_not_found',
    );
    await assert.rejects(c.discover(['12345']), (e: unknown) => e instanceof ParleyError && e.code === 'phone_invalid');
    await c.close();
  });
});
