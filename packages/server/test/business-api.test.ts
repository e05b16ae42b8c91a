/**
 * The Business API's first routes (C10, docs/business.md) on SQLite and PostgreSQL, in-process:
 * the phone-number read and the business-profile read and update at `/{version}/…` for any
 * `vNN.N`. For each route: the Cloud API success shape, `?fields=`, and the documented error body
 * for a missing, unknown and revoked token (190), another business's number (100, subcode 33, the
 * same as an unknown id) and bad input (100), nothing changed by a refused update. Also: other
 * paths under a version, Parley's own routes untouched, the per-token request budget, tokens
 * stored only hashed and the app secret sealed.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BUSINESS_LIMITS, businessErrorBodySchema } from '@parley/protocol';
import { availableDrivers, newPhone, startServer, type TestServer } from '@parley/testkit';
import { BusinessAccounts, businessTokenHash } from '../src/business/service.ts';
import { businessAppSecretName } from '../src/storage/business.ts';

const drivers = await availableDrivers();

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function call(
  url: string,
  token: string | null,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<Answer> {
  const res = await fetch(url + path, {
    method,
    headers: {
      ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': contentType } : {}),
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

/** Assert the documented error body with this code (and subcode). */
function assertError(a: Answer, status: number, code: number, subcode?: number): void {
  assert.equal(a.status, status, JSON.stringify(a.body));
  const parsed = businessErrorBodySchema.strict().parse(a.body);
  assert.equal(parsed.error.code, code);
  assert.equal(parsed.error.error_subcode, subcode);
  assert.equal(parsed.error.error_data.messaging_product, 'whatsapp');
  assert.ok(parsed.error.fbtrace_id.length > 0);
}

for (const { driver, skip } of drivers) {
  describe(`business API on ${driver}`, { skip }, () => {
    let t: TestServer;
    let accounts: BusinessAccounts;
    let a: Awaited<ReturnType<BusinessAccounts['create']>>;
    let b: Awaited<ReturnType<BusinessAccounts['create']>>;
    let revoked: string;
    const V = '/v21.0';

    before(async () => {
      t = await startServer(driver);
      const ctx = t.server.ctx;
      accounts = new BusinessAccounts(ctx.storage, ctx.secrets, ctx.now);
      a = await accounts.create({ name: 'Lucky Shrub', phone: newPhone() });
      b = await accounts.create({ name: 'Other Shop', phone: newPhone() });
      const extra = await accounts.createToken(a.businessId);
      await accounts.revokeToken(a.businessId, extra.tokenId);
      revoked = extra.accessToken;
    });
    after(async () => t?.close());

    const profileOf = async (businessId: string) => t.server.ctx.storage.business.getProfile(businessId);

    /** The token checks every route makes, the same way. */
    async function refusesBadTokens(method: 'GET' | 'POST', path: string, body?: unknown): Promise<void> {
      assertError(await call(t.url, null, method, path, body), 401, 190);
      assertError(await call(t.url, 'pbiz_not-a-real-token', method, path, body), 401, 190);
      assertError(await call(t.url, revoked, method, path, body), 401, 190);
      const res = await fetch(t.url + path, { method, headers: { authorization: `Basic ${a.accessToken}` } });
      assertError(
        { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> },
        401,
        190,
      );
    }

    it('reads a phone number: the Cloud API shape, ?fields=, any vNN.N', async () => {
      const r = await call(t.url, a.accessToken, 'GET', `${V}/${a.phoneNumberId}`);
      assert.equal(r.status, 200);
      assert.deepEqual(Object.keys(r.body).sort(), [
        'code_verification_status',
        'display_phone_number',
        'id',
        'name_status',
        'platform_type',
        'quality_rating',
        'throughput',
        'verified_name',
      ]);
      assert.equal(r.body.id, a.phoneNumberId);
      assert.equal(r.body.verified_name, 'Lucky Shrub');
      assert.equal(String(r.body.display_phone_number).replace(/[^\d+]/g, ''), a.phone);
      const some = await call(
        t.url,
        a.accessToken,
        'GET',
        `/v18.0/${a.phoneNumberId}?fields=verified_name,display_phone_number`,
      );
      assert.equal(some.status, 200);
      assert.deepEqual(Object.keys(some.body).sort(), ['display_phone_number', 'id', 'verified_name']);
    });

    it('phone-number read refuses bad tokens, another business number and bad input', async () => {
      await refusesBadTokens('GET', `${V}/${a.phoneNumberId}`);
      // Another business's number and an id that does not exist answer alike.
      assertError(await call(t.url, a.accessToken, 'GET', `${V}/${b.phoneNumberId}`), 400, 100, 33);
      assertError(await call(t.url, a.accessToken, 'GET', `${V}/123456789012345`), 400, 100, 33);
      const other = await call(t.url, a.accessToken, 'GET', `${V}/${b.phoneNumberId}`);
      assert.equal(
        (other.body.error as { message: string }).message,
        `Unsupported get request. Object with ID '${b.phoneNumberId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation`,
      );
      assertError(await call(t.url, a.accessToken, 'GET', `${V}/not-an-id`), 400, 100, 33);
      assertError(await call(t.url, a.accessToken, 'GET', `${V}/${a.phoneNumberId}?fields=secret_key`), 400, 100);
      assertError(await call(t.url, a.accessToken, 'GET', `${V}/${a.phoneNumberId}?nonsense=1`), 400, 100);
      assertError(
        await call(t.url, a.accessToken, 'GET', `${V}/${a.phoneNumberId}?fields=${'id,'.repeat(400)}id`),
        400,
        100,
      );
      // Each business's own token reads its own number.
      assert.equal((await call(t.url, b.accessToken, 'GET', `${V}/${b.phoneNumberId}`)).status, 200);
    });

    it('reads and updates the business profile', async () => {
      const empty = await call(t.url, a.accessToken, 'GET', `${V}/${a.phoneNumberId}/whatsapp_business_profile`);
      assert.equal(empty.status, 200);
      assert.deepEqual(empty.body, { data: [{ messaging_product: 'whatsapp' }] });
      const update = {
        messaging_product: 'whatsapp',
        about: 'Succulent specialists! 🌵',
        address: '1 Garden Way',
        description: 'We grow and ship succulents.',
        email: 'hello@shrub.test',
        websites: ['https://shrub.test/', 'https://shrub.test/shop'],
        vertical: 'RETAIL',
        profile_picture_handle: '4::aW1hZ2U=',
      };
      const r = await call(t.url, a.accessToken, 'POST', `${V}/${a.phoneNumberId}/whatsapp_business_profile`, update);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, { success: true });
      const read = await call(t.url, a.accessToken, 'GET', `${V}/${a.phoneNumberId}/whatsapp_business_profile`);
      const { messaging_product: _m, profile_picture_handle: _p, ...fields } = update;
      assert.deepEqual(read.body, { data: [{ ...fields, messaging_product: 'whatsapp' }] });
      assert.equal((await profileOf(a.businessId))!.photoId, '4::aW1hZ2U=');
      const some = await call(
        t.url,
        a.accessToken,
        'GET',
        `${V}/${a.phoneNumberId}/whatsapp_business_profile?fields=about,vertical`,
      );
      assert.deepEqual(some.body, {
        data: [{ about: update.about, vertical: 'RETAIL', messaging_product: 'whatsapp' }],
      });
      // A partial update changes only what it names; an empty string clears a field.
      await call(t.url, a.accessToken, 'POST', `${V}/${a.phoneNumberId}/whatsapp_business_profile`, {
        messaging_product: 'whatsapp',
        address: '',
      });
      const after = (await profileOf(a.businessId))!;
      assert.equal(after.address, null);
      assert.equal(after.about, update.about);
      // The other business's profile is its own.
      assert.deepEqual(
        (await call(t.url, b.accessToken, 'GET', `${V}/${b.phoneNumberId}/whatsapp_business_profile`)).body,
        {
          data: [{ messaging_product: 'whatsapp' }],
        },
      );
    });

    it('profile read refuses bad tokens, another business number and bad fields', async () => {
      const path = `${V}/${a.phoneNumberId}/whatsapp_business_profile`;
      await refusesBadTokens('GET', path);
      assertError(
        await call(t.url, a.accessToken, 'GET', `${V}/${b.phoneNumberId}/whatsapp_business_profile`),
        400,
        100,
        33,
      );
      assertError(await call(t.url, a.accessToken, 'GET', `${path}?fields=about,pin`), 400, 100);
    });

    it('profile update refuses bad tokens, another business number and bad bodies, changing nothing', async () => {
      const path = `${V}/${a.phoneNumberId}/whatsapp_business_profile`;
      const before = await profileOf(a.businessId);
      const beforeB = await profileOf(b.businessId);
      const good = { messaging_product: 'whatsapp', about: 'Changed' };
      await refusesBadTokens('POST', path, good);
      assertError(
        await call(t.url, a.accessToken, 'POST', `${V}/${b.phoneNumberId}/whatsapp_business_profile`, good),
        400,
        100,
        33,
      );
      const bad: unknown[] = [
        { about: 'no messaging_product' },
        { messaging_product: 'sms', about: 'x' },
        { messaging_product: 'whatsapp', about: '' },
        { messaging_product: 'whatsapp', about: 'x'.repeat(BUSINESS_LIMITS.aboutChars + 1) },
        { messaging_product: 'whatsapp', about: 7 },
        { messaging_product: 'whatsapp', email: 'not an address' },
        { messaging_product: 'whatsapp', websites: ['ftp://x.test'] },
        { messaging_product: 'whatsapp', websites: ['https://a.test', 'https://b.test', 'https://c.test'] },
        { messaging_product: 'whatsapp', websites: 'https://a.test' },
        { messaging_product: 'whatsapp', vertical: 'CASINO' },
        { messaging_product: 'whatsapp', unknown_field: 1 },
        [good],
        'null',
        '{"messaging_product":"whatsapp",',
      ];
      for (const body of bad) assertError(await call(t.url, a.accessToken, 'POST', path, body), 400, 100);
      assertError(
        await call(t.url, a.accessToken, 'POST', path, 'about=x', 'application/x-www-form-urlencoded'),
        400,
        100,
      );
      assertError(
        await call(t.url, a.accessToken, 'POST', path, {
          messaging_product: 'whatsapp',
          about: 'x',
          pad: 'y'.repeat(2_000_000),
        }),
        400,
        100,
      );
      assertError(await call(t.url, a.accessToken, 'POST', `${path}?x=1`, good), 400, 100);
      assert.deepEqual(await profileOf(a.businessId), before);
      assert.deepEqual(await profileOf(b.businessId), beforeB);
    });

    it('answers other paths under a version with the Business API errors, and leaves Parley routes alone', async () => {
      assertError(await call(t.url, null, 'GET', `${V}/${a.phoneNumberId}/subscribed_apps`), 401, 190);
      assertError(await call(t.url, a.accessToken, 'GET', `${V}/${a.phoneNumberId}/subscribed_apps`), 400, 100);
      // Templates hang off the business id: a phone-number id there is an object that is not one.
      assertError(await call(t.url, a.accessToken, 'GET', `${V}/${a.phoneNumberId}/message_templates`), 400, 100, 33);
      assertError(await call(t.url, a.accessToken, 'POST', `${V}/${a.phoneNumberId}/messages`, {}), 400, 100);
      // `/v1/…` is Parley's own API, with Parley's error catalogue.
      const own = await call(t.url, a.accessToken, 'GET', '/v1/no-such-route');
      assert.equal(own.status, 404);
      assert.equal((own.body.error as { code: string }).code, 'not_found');
      assert.equal((await fetch(t.url + '/healthz')).status, 200);
    });

    it('stores tokens only hashed and the app secret sealed; records last use', async () => {
      const s = t.server.ctx.storage;
      const row = await s.business.getTokenByHash(businessTokenHash(a.accessToken));
      assert.ok(row && row.businessId === a.businessId);
      assert.ok(row.lastUsedAt !== null, 'a used token has a last use');
      const secrets = await s.secrets.listSecrets();
      const sealed = secrets.find((x) => x.name === businessAppSecretName(a.businessId));
      assert.ok(sealed && sealed.keyId !== null, 'the app secret is a sealed server secret');
      assert.ok(!Buffer.from(sealed.value).includes(Buffer.from(a.appSecret, 'hex')), 'not stored in clear');
      assert.equal(await accounts.appSecret(a.businessId), a.appSecret, 'the same secret is read back');
      assert.notEqual(a.appSecret, b.appSecret);
    });

    it('limits requests per token (80007 with Retry-After), not per business', async () => {
      const other = await accounts.createToken(b.businessId);
      let refused: Answer | null = null;
      for (let i = 0; i < BUSINESS_LIMITS.requestsPerMinute * 3 && !refused; i++) {
        const r = await call(t.url, b.accessToken, 'GET', `${V}/${b.phoneNumberId}?fields=id`);
        if (r.status !== 200) refused = r;
      }
      assert.ok(refused, 'the budget ran out');
      assertError(refused, 429, 80007);
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
      assert.equal((await call(t.url, other.accessToken, 'GET', `${V}/${b.phoneNumberId}`)).status, 200);
    });

    it('limits failed token checks per address', async () => {
      let refused: Answer | null = null;
      for (let i = 0; i < BUSINESS_LIMITS.failedAuthPerMinute * 3 && !refused; i++) {
        const r = await call(t.url, `pbiz_guess${i}`, 'GET', `${V}/${a.phoneNumberId}`);
        if (r.body.error && (r.body.error as { code: number }).code !== 190) refused = r;
      }
      assert.ok(refused, 'guessing was stopped');
      assertError(refused, 429, 80007);
    });
  });
}
