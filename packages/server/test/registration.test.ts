/**
 * Registration (C1) and key checks at the door (C13) over real HTTP, on SQLite and PostgreSQL:
 * codes through the dev outbox, per-number and per-IP limits, wrong and expired codes, proof of
 * possession, device certificates, registration lock, key reuse.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { deviceCertMessage, identityProofMessage, toB64 } from '@parley/protocol';
import { generateSigningKeyPair, sign } from '@parley/crypto';
import { badKeyCorpus } from '@parley/crypto/testing';
import { availableDrivers, newClient, nextPhone, outboxCode, startServer, type TestServer } from './helpers/harness.ts';

const drivers = await availableDrivers();

async function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as { error?: { code: string; retryAfterMs?: number } } & Record<string, unknown> };
}

function verifyBody(phone: string, code: string, keys = { identity: generateSigningKeyPair(), signing: generateSigningKeyPair() }) {
  const identityKey = toB64(keys.identity.publicKey);
  const signingKey = toB64(keys.signing.publicKey);
  return {
    phone,
    code,
    identityKey,
    identityProof: toB64(sign(keys.identity.privateKey, identityProofMessage(phone, code, identityKey))),
    device: { name: 'test', signingKey, signingKeyCert: toB64(sign(keys.identity.privateKey, deviceCertMessage(signingKey))) },
  };
}

for (const { driver, skip } of drivers) {
  describe(`registration [${driver}]`, { skip }, () => {
    let t: TestServer;
    before(async () => {
      t = await startServer(driver, { registrationPerNumberPerHour: 3, registrationPerIpPerHour: 40, deviceListFetchesPerTarget: 4 });
    });
    after(async () => t?.close());

    it('registers with a code from the dev outbox and answers /healthz', async () => {
      const health = await fetch(`${t.url}/healthz`);
      assert.deepEqual(await health.json(), { status: 'ok' });
      const phone = nextPhone();
      const r1 = await post(t.url, '/v1/registration/code', { phone });
      assert.equal(r1.status, 202);
      const code = await outboxCode(t.url, phone);
      assert.match(code, /^\d{6}$/);
      const r2 = await post(t.url, '/v1/registration/verify', verifyBody(phone, code));
      assert.equal(r2.status, 200);
      assert.match(String(r2.body.accountId), /^a_/);
      assert.match(String(r2.body.deviceId), /^d_/);
      assert.equal(r2.body.newAccount, true);
      const me = await fetch(`${t.url}/v1/accounts/me`, { headers: { authorization: `Bearer ${r2.body.token}` } });
      const meBody = (await me.json()) as { phone: string; accountId: string; devices: unknown[] };
      assert.equal(meBody.phone, phone);
      assert.equal(meBody.accountId, r2.body.accountId);
      assert.equal(meBody.devices.length, 1);
    });

    it('rejects invalid numbers, wrong codes and used codes without creating anything', async () => {
      assert.equal((await post(t.url, '/v1/registration/code', { phone: '+1555' })).body.error?.code, 'bad_request');
      assert.equal((await post(t.url, '/v1/registration/code', { phone: '+11234567890' })).body.error?.code, 'phone_invalid');
      const phone = nextPhone();
      await post(t.url, '/v1/registration/code', { phone });
      const code = await outboxCode(t.url, phone);
      const wrong = code === '000000' ? '000001' : '000000';
      const r = await post(t.url, '/v1/registration/verify', verifyBody(phone, wrong));
      assert.equal(r.status, 400);
      assert.equal(r.body.error?.code, 'code_invalid');
      assert.equal(await t.server.ctx.storage.getAccountByPhone(phone), null);
      assert.equal((await post(t.url, '/v1/registration/verify', verifyBody(phone, code))).status, 200);
      assert.equal((await post(t.url, '/v1/registration/verify', verifyBody(phone, code))).body.error?.code, 'code_expired');
    });

    it('limits code requests per number with 429 and Retry-After', async () => {
      const phone = nextPhone();
      for (let i = 0; i < 3; i++) assert.equal((await post(t.url, '/v1/registration/code', { phone })).status, 202);
      const r = await post(t.url, '/v1/registration/code', { phone });
      assert.equal(r.status, 429);
      assert.equal(r.body.error?.code, 'rate_limited');
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
      assert.ok((r.body.error?.retryAfterMs ?? 0) > 0);
    });

    it('refuses a bad identity proof, a bad device certificate and malformed identity keys', async () => {
      const phone = nextPhone();
      await post(t.url, '/v1/registration/code', { phone });
      const code = await outboxCode(t.url, phone);
      const good = verifyBody(phone, code);
      const other = generateSigningKeyPair();
      const badProof = { ...good, identityProof: toB64(sign(other.privateKey, identityProofMessage(phone, code, good.identityKey))) };
      assert.equal((await post(t.url, '/v1/registration/verify', badProof)).body.error?.code, 'identity_proof_invalid');
      const badCert = { ...good, device: { ...good.device, signingKeyCert: toB64(sign(other.privateKey, deviceCertMessage(good.device.signingKey))) } };
      assert.equal((await post(t.url, '/v1/registration/verify', badCert)).body.error?.code, 'signature_invalid');
      for (const bad of badKeyCorpus().filter((k) => k.kind === 'ed25519' && k.bytes.length === 32).slice(0, 6)) {
        const r = await post(t.url, '/v1/registration/verify', { ...good, identityKey: toB64(bad.bytes) });
        assert.equal(r.body.error?.code, bad.expected, bad.name);
      }
      assert.equal(await t.server.ctx.storage.getAccountByPhone(phone), null);
    });

    it('refuses an identity key another account already uses', async () => {
      const keys = { identity: generateSigningKeyPair(), signing: generateSigningKeyPair() };
      const p1 = nextPhone();
      await post(t.url, '/v1/registration/code', { phone: p1 });
      assert.equal((await post(t.url, '/v1/registration/verify', verifyBody(p1, await outboxCode(t.url, p1), keys))).status, 200);
      const p2 = nextPhone();
      await post(t.url, '/v1/registration/code', { phone: p2 });
      const r = await post(t.url, '/v1/registration/verify', verifyBody(p2, await outboxCode(t.url, p2), { identity: keys.identity, signing: generateSigningKeyPair() }));
      assert.equal(r.status, 409);
      assert.equal(r.body.error?.code, 'key_reused');
      assert.equal(await t.server.ctx.storage.getAccountByPhone(p2), null);
    });

    it('enforces the registration-lock PIN on re-registration', async () => {
      const c = await newClient(t.url, undefined, { connect: false });
      await c.setPin('4321');
      const phone = c.phone;
      await post(t.url, '/v1/registration/code', { phone });
      const code = await outboxCode(t.url, phone);
      const r = await post(t.url, '/v1/registration/verify', verifyBody(phone, code));
      assert.equal(r.status, 423);
      assert.equal(r.body.error?.code, 'registration_locked');
      const ok = await post(t.url, '/v1/registration/verify', { ...verifyBody(phone, code), registrationLockPin: '4321' });
      assert.equal(ok.status, 200);
      assert.equal(ok.body.newAccount, false);
      assert.equal(ok.body.accountId, c.self.accountId);
      // The old device is revoked by re-registration.
      const me = await fetch(`${t.url}/v1/accounts/me`, { headers: { authorization: `Bearer ${(c as unknown as { device: { token: string } }).device.token}` } });
      assert.equal(me.status, 401);
    });

    it('shows device names to the owner only, and limits device-list fetches per requester and target', async () => {
      const alice = await newClient(t.url, undefined, { connect: false });
      const bob = await newClient(t.url, undefined, { connect: false });
      const own = await alice.api.getAccount(alice.self.accountId);
      assert.equal(own.devices[0]?.name, 'test', 'the owner sees its device names');
      const seen = await bob.api.getAccount(alice.self.accountId);
      assert.equal(seen.devices.length, 1);
      assert.equal(seen.devices[0]?.deviceId, alice.self.deviceId);
      assert.ok(seen.devices[0]?.signingKey && seen.devices[0]?.signingKeyCert, 'keys to encrypt to');
      assert.equal('name' in seen.devices[0]!, false, 'no device name for anyone else');
      // The limit (set to 4 for this suite) counts per requester and target; the owner is not limited.
      for (let i = 1; i < 4; i++) await bob.api.getAccount(alice.self.accountId);
      await assert.rejects(bob.api.getAccount(alice.self.accountId), (e: unknown) => (e as { code?: string }).code === 'rate_limited');
      // Another target for the same requester, and another requester for the same target, still answer.
      const carol = await newClient(t.url, undefined, { connect: false });
      assert.equal((await bob.api.getAccount(carol.self.accountId)).devices.length, 1);
      assert.equal((await carol.api.getAccount(alice.self.accountId)).devices.length, 1);
      await alice.api.getAccount(bob.self.accountId);
      for (let i = 0; i < 6; i++) await alice.api.getAccount(alice.self.accountId);
    });
  });
}
