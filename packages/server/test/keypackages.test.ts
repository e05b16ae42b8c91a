/**
 * The KeyPackage directory over HTTP (C2, C13), on SQLite and PostgreSQL: every malformed
 * KeyPackage of the corpus is refused with its own code and nothing is stored; a good one is
 * stored, cannot be uploaded again (key reuse), and is claimed before the last-resort one. A claim
 * refused for any account in it consumes no KeyPackage, and claims are limited per claimer and
 * target and per claimer over all targets (the claim limits run on the in-process limiter with
 * SQLite and on Redis with PostgreSQL).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { deviceCertMessage, identityProofMessage, toB64 } from '@parley/protocol';
import { createDeviceIdentity, generateKeyPackages, generateSigningKeyPair, sign } from '@parley/crypto';
import { badKeyPackages } from '@parley/crypto/testing';
import {
  availableDrivers,
  nextPhone,
  outboxCode,
  startServer,
  deleteKeys,
  redisProblem,
  REDIS_URL,
  testPrefix,
  type TestServer,
} from '@parley/testkit';

const drivers = await availableDrivers();

for (const { driver, skip } of drivers) {
  describe(`KeyPackage directory [${driver}]`, { skip }, () => {
    let t: TestServer;
    before(async () => {
      t = await startServer(driver);
    });
    after(async () => t?.close());

    async function device(url = t.url) {
      const phone = nextPhone();
      const requested = await fetch(`${url}/v1/registration/code`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ phone }),
      });
      const { sessionId } = (await requested.json()) as { sessionId: string };
      const code = await outboxCode(url, phone);
      const identity = generateSigningKeyPair();
      const signing = generateSigningKeyPair();
      const identityKey = toB64(identity.publicKey);
      const signingKey = toB64(signing.publicKey);
      const res = await fetch(`${url}/v1/registration/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          sessionId,
          phone,
          code,
          identityKey,
          identityProof: toB64(sign(identity.privateKey, identityProofMessage(phone, code, identityKey))),
          device: {
            name: 'kp',
            signingKey,
            signingKeyCert: toB64(sign(identity.privateKey, deviceCertMessage(signingKey))),
          },
        }),
      });
      const body = (await res.json()) as { accountId: string; deviceId: string; token: string };
      const call = async (method: string, path: string, payload?: unknown) => {
        const r = await fetch(url + path, {
          method,
          headers: {
            authorization: `Bearer ${body.token}`,
            ...(payload ? { 'content-type': 'application/json' } : {}),
          },
          ...(payload ? { body: JSON.stringify(payload) } : {}),
        });
        return {
          status: r.status,
          body: (await r.json()) as Record<string, unknown> & {
            error?: { code: string; details?: { index?: unknown; accountId?: unknown } };
          },
        };
      };
      return { ...body, mls: createDeviceIdentity(body.deviceId, signing), call };
    }

    it('refuses each malformed KeyPackage with its code and stores nothing', async () => {
      const d = await device();
      const corpus = await badKeyPackages(d.mls);
      assert.ok(corpus.cases.length >= 10);
      for (const c of corpus.cases) {
        const r = await d.call('POST', '/v1/keypackages', { keyPackages: [toB64(corpus.valid), toB64(c.bytes)] });
        assert.equal(r.body.error?.code, c.expected, c.name);
        assert.equal(r.body.error?.details?.index, 1, `${c.name}: the offending index is named`);
      }
      const last = await d.call('POST', '/v1/keypackages', {
        keyPackages: [],
        lastResort: toB64(corpus.cases[0]!.bytes),
      });
      assert.equal(last.body.error?.code, corpus.cases[0]!.expected);
      assert.deepEqual((await d.call('GET', '/v1/keypackages')).body, { available: 0, lastResort: false });
    });

    it('stores good KeyPackages once, refuses reuse, and claims one-time before last resort', async () => {
      const d = await device();
      const other = await device();
      const kps = await generateKeyPackages(d.mls, 2);
      const last = await generateKeyPackages(d.mls, 1, { lastResort: true });
      const up = await d.call('POST', '/v1/keypackages', {
        keyPackages: kps.publicKeyPackages.map(toB64),
        lastResort: toB64(last.publicKeyPackages[0]!),
      });
      assert.equal(up.status, 200);
      assert.deepEqual(up.body, { stored: 3, available: 2 });
      const again = await d.call('POST', '/v1/keypackages', { keyPackages: [toB64(kps.publicKeyPackages[0]!)] });
      assert.equal(again.body.error?.code, 'key_reused');
      const twice = await d.call('POST', '/v1/keypackages', {
        keyPackages: [toB64(last.publicKeyPackages[0]!), toB64(last.publicKeyPackages[0]!)],
      });
      assert.ok(['key_reused'].includes(twice.body.error?.code ?? ''), JSON.stringify(twice.body));
      // Another device cannot upload this device's KeyPackage (credential and key belong to d).
      const foreign = await generateKeyPackages(d.mls, 1);
      assert.equal(
        (await other.call('POST', '/v1/keypackages', { keyPackages: [toB64(foreign.publicKeyPackages[0]!)] })).body
          .error?.code,
        'keypackage_wrong_credential',
      );

      const claims: boolean[] = [];
      for (let i = 0; i < 4; i++) {
        const c = await other.call('POST', '/v1/keypackages/claim', { accountIds: [d.accountId] });
        const list = c.body.keyPackages as { deviceId: string; lastResort: boolean }[];
        assert.equal(list.length, 1);
        assert.equal(list[0]!.deviceId, d.deviceId);
        claims.push(list[0]!.lastResort);
      }
      assert.deepEqual(claims, [false, false, true, true]);
    });

    /** A device with `n` one-time KeyPackages and, unless `lastResort` is false, a last-resort one. */
    async function stocked(n: number, lastResort = true, url = t.url) {
      const d = await device(url);
      const kps = await generateKeyPackages(d.mls, n);
      const last = lastResort ? await generateKeyPackages(d.mls, 1, { lastResort: true }) : null;
      const up = await d.call('POST', '/v1/keypackages', {
        keyPackages: kps.publicKeyPackages.map(toB64),
        ...(last ? { lastResort: toB64(last.publicKeyPackages[0]!) } : {}),
      });
      assert.equal(up.status, 200, JSON.stringify(up.body));
      return d;
    }

    it('consumes no KeyPackage when the claim fails for any account in it', async () => {
      const claimer = await device();
      const a = await stocked(2);
      const b = await stocked(1);
      const empty = await device();
      const exhausted = await claimer.call('POST', '/v1/keypackages/claim', {
        accountIds: [a.accountId, b.accountId, empty.accountId],
      });
      assert.equal(exhausted.status, 409);
      assert.equal(exhausted.body.error?.code, 'keypackages_exhausted');
      assert.equal(exhausted.body.error?.details?.accountId, empty.accountId);
      const unknown = await claimer.call('POST', '/v1/keypackages/claim', {
        accountIds: [a.accountId, 'a_AAAAAAAAAAAAAAAAAAAAAA'],
      });
      assert.equal(unknown.body.error?.code, 'account_not_found');
      assert.deepEqual(
        (await a.call('GET', '/v1/keypackages')).body,
        { available: 2, lastResort: true },
        'a kept both one-time KeyPackages',
      );
      assert.deepEqual((await b.call('GET', '/v1/keypackages')).body, { available: 1, lastResort: true });
      const ok = await claimer.call('POST', '/v1/keypackages/claim', { accountIds: [a.accountId, b.accountId] });
      assert.deepEqual(
        (ok.body.keyPackages as { deviceId: string; lastResort: boolean }[]).map((k) => [k.deviceId, k.lastResort]),
        [
          [a.deviceId, false],
          [b.deviceId, false],
        ],
      );
    });

    it('limits claims per claimer and target and per claimer over all targets; refused claims take nothing', async (ctx) => {
      // The limits run on the in-process limiter with SQLite and on Redis with PostgreSQL.
      let prefix: string | undefined;
      if (driver === 'postgres') {
        const problem = await redisProblem();
        if (problem) {
          if (process.env.PARLEY_REQUIRE_SERVICES === '1') throw new Error(`Redis is required: ${problem}`);
          ctx.skip(`Redis not reachable: ${problem}`);
          return;
        }
        prefix = testPrefix();
      }
      const limited = await startServer(driver, {
        keyPackageClaimsPerTarget: 2,
        keyPackageClaimsPerClaimer: 3,
        ...(prefix ? { redisUrl: REDIS_URL, redisPrefix: prefix } : {}),
      });
      try {
        const claimer = await device(limited.url);
        const [a, b, c] = [
          await stocked(5, true, limited.url),
          await stocked(5, true, limited.url),
          await stocked(5, true, limited.url),
        ];
        const claim = (ids: string[]) => claimer.call('POST', '/v1/keypackages/claim', { accountIds: ids });
        const left = async (d: { call: typeof claimer.call }) =>
          (await d.call('GET', '/v1/keypackages')).body.available;
        // Per claimer and target: two claims of a, the third is refused and a keeps the rest.
        assert.equal((await claim([a.accountId])).status, 200);
        assert.equal((await claim([a.accountId])).status, 200);
        const third = await claim([a.accountId]);
        assert.equal(third.status, 429);
        assert.equal(third.body.error?.code, 'rate_limited');
        assert.equal(await left(a), 3);
        // A claim naming a limited account is refused whole: b loses nothing and its budget is intact.
        assert.equal((await claim([b.accountId, a.accountId])).body.error?.code, 'rate_limited');
        assert.equal(await left(b), 5);
        // Per claimer over all targets (3 per window, 2 used on a): b fits, then c does not, though
        // the claimer has never claimed c.
        assert.equal((await claim([b.accountId])).status, 200);
        const drained = await claim([c.accountId]);
        assert.equal(drained.body.error?.code, 'rate_limited');
        assert.equal(drained.status, 429);
        assert.equal(await left(c), 5, 'c kept every KeyPackage');
        // The own account's other devices are not counted.
        assert.equal((await claim([claimer.accountId])).status, 200);
        // Another claimer still reaches c: the limits are the claimer's, not the victim's.
        const friend = await device(limited.url);
        const got = await friend.call('POST', '/v1/keypackages/claim', { accountIds: [c.accountId] });
        assert.equal((got.body.keyPackages as { lastResort: boolean }[])[0]?.lastResort, false);
      } finally {
        await limited.close();
        if (prefix) await deleteKeys(prefix);
      }
    });
  });
}
