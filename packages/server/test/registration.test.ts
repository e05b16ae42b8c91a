/**
 * Registration (C1) and key checks at the door (C13) over real HTTP, on SQLite and PostgreSQL:
 * codes through the dev outbox, per-number and per-IP limits, wrong and expired codes, proof of
 * possession, device certificates, registration lock, key reuse; codes bound to the session that
 * requested them, so guesses from elsewhere never block the owner (rate limits in-process and on
 * Redis).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { deviceCertMessage, identityProofMessage, toB64 } from '@parley/protocol';
import { generateSigningKeyPair, sign } from '@parley/crypto';
import { badKeyCorpus } from '@parley/crypto/testing';
import {
  availableDrivers,
  newClient,
  nextPhone,
  outboxCode,
  startServer,
  deleteKeys,
  REDIS_URL,
  redisProblem,
  testPrefix,
  type TestServer,
} from '@parley/testkit';
import { deviceToken } from '@parley/sdk/testing';

const drivers = await availableDrivers();
const redisDown = await redisProblem();
if (redisDown && process.env.PARLEY_REQUIRE_SERVICES === '1')
  throw new Error(`Redis is required (PARLEY_REQUIRE_SERVICES=1) but not reachable: ${redisDown}`);

async function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as { error?: { code: string; retryAfterMs?: number } } & Record<string, unknown>,
  };
}

function verifyBody(
  sessionId: string,
  phone: string,
  code: string,
  keys = { identity: generateSigningKeyPair(), signing: generateSigningKeyPair() },
) {
  const identityKey = toB64(keys.identity.publicKey);
  const signingKey = toB64(keys.signing.publicKey);
  return {
    sessionId,
    phone,
    code,
    identityKey,
    identityProof: toB64(sign(keys.identity.privateKey, identityProofMessage(phone, code, identityKey))),
    device: {
      name: 'test',
      signingKey,
      signingKeyCert: toB64(sign(keys.identity.privateKey, deviceCertMessage(signingKey))),
    },
  };
}

/** Ask for a code for `phone`; resolves with the session id the server answered with. */
async function requestCode(url: string, phone: string): Promise<string> {
  const r = await post(url, '/v1/registration/code', { phone });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.match(String(r.body.sessionId), /^r_[A-Za-z0-9_-]{22}$/);
  return String(r.body.sessionId);
}

for (const { driver, skip } of drivers) {
  describe(`registration [${driver}]`, { skip }, () => {
    let t: TestServer;
    before(async () => {
      t = await startServer(driver, {
        registrationPerNumberPerHour: 3,
        registrationPerIpPerHour: 40,
        deviceListFetchesPerTarget: 4,
      });
    });
    after(async () => t?.close());

    it('registers with a code from the dev outbox and answers /healthz', async () => {
      const health = await fetch(`${t.url}/healthz`);
      assert.deepEqual(await health.json(), { status: 'ok' });
      const phone = nextPhone();
      const r1 = await post(t.url, '/v1/registration/code', { phone });
      assert.equal(r1.status, 202);
      assert.deepEqual(Object.keys(r1.body).sort(), ['expiresInSeconds', 'resendAfterSeconds', 'sessionId']);
      const code = await outboxCode(t.url, phone);
      assert.match(code, /^\d{6}$/);
      const r2 = await post(t.url, '/v1/registration/verify', verifyBody(String(r1.body.sessionId), phone, code));
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
      assert.equal(
        (await post(t.url, '/v1/registration/code', { phone: '+11234567890' })).body.error?.code,
        'phone_invalid',
      );
      const phone = nextPhone();
      const session = await requestCode(t.url, phone);
      const code = await outboxCode(t.url, phone);
      const wrong = code === '000000' ? '000001' : '000000';
      const r = await post(t.url, '/v1/registration/verify', verifyBody(session, phone, wrong));
      assert.equal(r.status, 400);
      assert.equal(r.body.error?.code, 'code_invalid');
      assert.equal(await t.server.ctx.storage.accounts.getAccountByPhone(phone), null);
      assert.equal((await post(t.url, '/v1/registration/verify', verifyBody(session, phone, code))).status, 200);
      assert.equal(
        (await post(t.url, '/v1/registration/verify', verifyBody(session, phone, code))).body.error?.code,
        'code_expired',
      );
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
      const session = await requestCode(t.url, phone);
      const code = await outboxCode(t.url, phone);
      const good = verifyBody(session, phone, code);
      const other = generateSigningKeyPair();
      const badProof = {
        ...good,
        identityProof: toB64(sign(other.privateKey, identityProofMessage(phone, code, good.identityKey))),
      };
      assert.equal((await post(t.url, '/v1/registration/verify', badProof)).body.error?.code, 'identity_proof_invalid');
      const badCert = {
        ...good,
        device: {
          ...good.device,
          signingKeyCert: toB64(sign(other.privateKey, deviceCertMessage(good.device.signingKey))),
        },
      };
      assert.equal((await post(t.url, '/v1/registration/verify', badCert)).body.error?.code, 'signature_invalid');
      for (const bad of badKeyCorpus()
        .filter((k) => k.kind === 'ed25519' && k.bytes.length === 32)
        .slice(0, 6)) {
        const r = await post(t.url, '/v1/registration/verify', { ...good, identityKey: toB64(bad.bytes) });
        assert.equal(r.body.error?.code, bad.expected, bad.name);
      }
      assert.equal(await t.server.ctx.storage.accounts.getAccountByPhone(phone), null);
    });

    it('refuses an identity key another account already uses', async () => {
      const keys = { identity: generateSigningKeyPair(), signing: generateSigningKeyPair() };
      const p1 = nextPhone();
      const s1 = await requestCode(t.url, p1);
      assert.equal(
        (await post(t.url, '/v1/registration/verify', verifyBody(s1, p1, await outboxCode(t.url, p1), keys))).status,
        200,
      );
      const p2 = nextPhone();
      const s2 = await requestCode(t.url, p2);
      const r = await post(
        t.url,
        '/v1/registration/verify',
        verifyBody(s2, p2, await outboxCode(t.url, p2), { identity: keys.identity, signing: generateSigningKeyPair() }),
      );
      assert.equal(r.status, 409);
      assert.equal(r.body.error?.code, 'key_reused');
      assert.equal(await t.server.ctx.storage.accounts.getAccountByPhone(p2), null);
    });

    it('enforces the registration-lock PIN on re-registration', async () => {
      const c = await newClient(t.url, undefined, { connect: false });
      await c.setPin('4321');
      const phone = c.phone;
      const session = await requestCode(t.url, phone);
      const code = await outboxCode(t.url, phone);
      const r = await post(t.url, '/v1/registration/verify', verifyBody(session, phone, code));
      assert.equal(r.status, 423);
      assert.equal(r.body.error?.code, 'registration_locked');
      const ok = await post(t.url, '/v1/registration/verify', {
        ...verifyBody(session, phone, code),
        registrationLockPin: '4321',
      });
      assert.equal(ok.status, 200);
      assert.equal(ok.body.newAccount, false);
      assert.equal(ok.body.accountId, c.self.accountId);
      // The old device is revoked by re-registration.
      const me = await fetch(`${t.url}/v1/accounts/me`, { headers: { authorization: `Bearer ${deviceToken(c)}` } });
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
      await assert.rejects(
        bob.api.getAccount(alice.self.accountId),
        (e: unknown) => (e as { code?: string }).code === 'rate_limited',
      );
      // Another target for the same requester, and another requester for the same target, still answer.
      const carol = await newClient(t.url, undefined, { connect: false });
      assert.equal((await bob.api.getAccount(carol.self.accountId)).devices.length, 1);
      assert.equal((await carol.api.getAccount(alice.self.accountId)).devices.length, 1);
      await alice.api.getAccount(bob.self.accountId);
      for (let i = 0; i < 6; i++) await alice.api.getAccount(alice.self.accountId);
    });
  });
}

/** A six-digit code that is none of `taken`. */
function wrongCode(i: number, ...taken: string[]): string {
  for (let n = i; ; n++) {
    const c = String(n % 1_000_000).padStart(6, '0');
    if (!taken.includes(c)) return c;
  }
}

// Storage on both drivers and limits on both limiters: SQLite with in-process limits, PostgreSQL with Redis.
for (const { driver, skip } of drivers) {
  const limiter = driver === 'sqlite' ? 'in-process' : 'Redis';
  const skipped = skip || (limiter === 'Redis' && redisDown ? `Redis not reachable: ${redisDown}` : false);
  describe(`registration sessions [${driver}, ${limiter} limits]`, { skip: skipped }, () => {
    let t: TestServer;
    const prefix = testPrefix();
    before(async () => {
      t = await startServer(driver, {
        registrationPerNumberPerHour: 5,
        verifyPerSessionPerHour: 8,
        verifyPerIpPerHour: 40,
        ...(limiter === 'Redis' ? { redisUrl: REDIS_URL, redisPrefix: prefix } : {}),
      });
    });
    after(async () => {
      await t?.close();
      if (limiter === 'Redis') await deleteKeys(prefix);
    });

    /** A request from another machine (Fastify's inject with a remote address). */
    async function from(ip: string, path: string, body: unknown) {
      const r = await t.server.app.inject({
        method: 'POST',
        url: path,
        payload: body as Record<string, unknown>,
        remoteAddress: ip,
      });
      return { status: r.statusCode, body: r.json() as { error?: { code: string } } & Record<string, unknown> };
    }

    it("keeps the owner's code working while an attacker guesses wrong codes for the number, with their own session and with none", async () => {
      const phone = nextPhone();
      const ownerSession = await requestCode(t.url, phone);
      const ownerCode = await outboxCode(t.url, phone);
      const attacker = '203.0.113.66';
      // The attacker asks for a code too: it goes to the owner's phone and replaces nothing.
      const asked = await from(attacker, '/v1/registration/code', { phone });
      assert.equal(asked.status, 202);
      const attackerSession = String(asked.body.sessionId);
      assert.notEqual(attackerSession, ownerSession);
      const attackerCode = await outboxCode(t.url, phone);
      for (let i = 0; i < 12; i++) {
        const r = await from(
          attacker,
          '/v1/registration/verify',
          verifyBody(attackerSession, phone, wrongCode(i, ownerCode, attackerCode)),
        );
        assert.equal(
          r.body.error?.code,
          i < 5 ? 'code_invalid' : 'code_expired',
          `guess ${i} under the attacker's session`,
        );
      }
      for (let i = 0; i < 12; i++) {
        const { sessionId: _, ...noSession } = verifyBody(attackerSession, phone, wrongCode(100 + i, ownerCode));
        assert.equal(
          (await from(attacker, '/v1/registration/verify', noSession)).body.error?.code,
          'bad_request',
          'a guess without a session',
        );
      }
      for (let i = 0; i < 5; i++) {
        const madeUp = `r_${randomBytes(16).toString('base64url')}`;
        assert.equal(
          (await from(attacker, '/v1/registration/verify', verifyBody(madeUp, phone, wrongCode(200 + i, ownerCode))))
            .body.error?.code,
          'code_expired',
        );
      }
      // A session for the attacker's own number, with its right code, does not open the owner's.
      const ownNumber = nextPhone();
      const ownSession = String((await from(attacker, '/v1/registration/code', { phone: ownNumber })).body.sessionId);
      const r = await from(
        attacker,
        '/v1/registration/verify',
        verifyBody(ownSession, phone, await outboxCode(t.url, ownNumber)),
      );
      assert.equal(r.body.error?.code, 'code_expired');
      assert.equal(await t.server.ctx.storage.accounts.getAccountByPhone(phone), null);
      assert.equal(
        (await t.server.ctx.storage.accounts.getVerificationSession(ownerSession))?.attempts,
        0,
        "no guess touched the owner's session",
      );

      const ok = await post(t.url, '/v1/registration/verify', verifyBody(ownerSession, phone, ownerCode));
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.newAccount, true);
    });

    it('voids a session after 5 wrong codes and limits attempts per session, leaving other sessions alone', async () => {
      const phone = nextPhone();
      const first = await requestCode(t.url, phone);
      const firstCode = await outboxCode(t.url, phone);
      for (let i = 0; i < 5; i++)
        assert.equal(
          (await post(t.url, '/v1/registration/verify', verifyBody(first, phone, wrongCode(i, firstCode)))).body.error
            ?.code,
          'code_invalid',
        );
      assert.equal(
        (await post(t.url, '/v1/registration/verify', verifyBody(first, phone, firstCode))).body.error?.code,
        'code_expired',
        'voided, even with the right code',
      );

      // Attempts that fail for another reason still count against the session (8 per hour here).
      const second = await requestCode(t.url, phone);
      const secondCode = await outboxCode(t.url, phone);
      const good = verifyBody(second, phone, secondCode);
      const badProof = { ...good, identityProof: toB64(new Uint8Array(64)) };
      for (let i = 0; i < 8; i++)
        assert.equal(
          (await post(t.url, '/v1/registration/verify', badProof)).body.error?.code,
          'identity_proof_invalid',
        );
      const limited = await post(t.url, '/v1/registration/verify', good);
      assert.equal(limited.status, 429);
      assert.equal(limited.body.error?.code, 'rate_limited');
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);

      // A fresh request for the number is its own session, with its own budget.
      const third = await requestCode(t.url, phone);
      assert.equal(
        (await post(t.url, '/v1/registration/verify', verifyBody(third, phone, await outboxCode(t.url, phone)))).status,
        200,
      );
    });

    it('limits attempts per IP address without blocking others', async () => {
      const phone = nextPhone();
      const session = await requestCode(t.url, phone);
      const code = await outboxCode(t.url, phone);
      const guesser = '198.51.100.23';
      let limitedAt = -1;
      for (let i = 0; i < 45 && limitedAt < 0; i++) {
        const madeUp = `r_${randomBytes(16).toString('base64url')}`;
        const r = await from(guesser, '/v1/registration/verify', verifyBody(madeUp, phone, wrongCode(i, code)));
        if (r.body.error?.code === 'rate_limited') limitedAt = i;
        else assert.equal(r.body.error?.code, 'code_expired');
      }
      assert.equal(limitedAt, 40, 'the 41st attempt from one address is refused');
      assert.equal(
        (await from('198.51.100.24', '/v1/registration/verify', verifyBody(session, phone, code))).status,
        200,
        'another address still verifies',
      );
    });
  });
}
