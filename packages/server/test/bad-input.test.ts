/**
 * Bad input (issue requirement 10): every HTTP route and every WebSocket frame type answers
 * malformed, wrong-type, oversized and unauthenticated input with a catalogued error, and the
 * database is unchanged afterwards (every table's row count is compared). The Business API's routes
 * likewise, with its own error body (Cloud API codes 190 and 100). Runs on SQLite and on PostgreSQL.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import WebSocket from 'ws';
import { ERRORS, LIMITS, businessErrorBodySchema, encodeFrame, toB64 } from '@parley/protocol';
import { generateLinkKeyPair, generateSigningKeyPair } from '@parley/crypto';
import { OPS } from '../src/ops.ts';
import { BUSINESS_ROUTES } from '../src/business/routes.ts';
import { TEMPLATE_ROUTES } from '../src/business/templates.ts';
import { BusinessAccounts } from '../src/business/service.ts';
import { availableDrivers, newClient, newPhone, startServer, until, type TestServer } from '@parley/testkit';
import { deviceToken } from '@parley/sdk/testing';
import { SAMPLE_PNG, json, startFake } from '@parley/imagegen/testing';

/** Rows per table, of every table in the server's database. */
async function snapshot(t: TestServer): Promise<Record<string, number>> {
  if (t.databaseUrl) {
    const c = new pg.Client({ connectionString: t.databaseUrl });
    await c.connect();
    try {
      const { rows: tables } = await c.query<{ name: string }>(
        "select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'",
      );
      const out: Record<string, number> = {};
      for (const { name } of tables)
        out[name] = Number((await c.query<{ n: string }>(`select count(*) as n from "${name}"`)).rows[0]!.n);
      return out;
    } finally {
      await c.end();
    }
  }
  const db = new Database(join(t.dataDir, 'parley.sqlite'), { readonly: true });
  const tables = db
    .prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")
    .all() as { name: string }[];
  const out: Record<string, number> = {};
  for (const { name } of tables)
    out[name] = (db.prepare(`select count(*) as n from "${name}"`).get() as { n: number }).n;
  db.close();
  return out;
}

function fillPath(path: string): string {
  return path
    .replace(':conversationId', 'AAAAAAAAAAAAAAAAAAAAAA')
    .replace(':accountId', 'a_AAAAAAAAAAAAAAAAAAAAAA')
    .replace(':linkId', 'l_AAAAAAAAAAAAAAAAAAAAAA')
    .replace(':deviceId', 'd_AAAAAAAAAAAAAAAAAAAAAA');
}

const catalogued = (code: unknown) => typeof code === 'string' && code in ERRORS;

for (const { driver, skip } of await availableDrivers())
  describe(`bad input [${driver}]`, { skip }, () => {
    let t: TestServer;
    let token: string;
    before(async () => {
      t = await startServer(driver);
      const c = await newClient(t.url, undefined, { connect: false });
      token = deviceToken(c);
    });
    after(async () => t?.close());

    const routes = Object.entries(OPS).filter(([, s]) => 'http' in s && s.http) as [
      string,
      { auth: boolean; http: { method: string; path: string } },
    ][];

    it('every HTTP route rejects unauthenticated, malformed, wrong-type and oversized input and changes nothing', async () => {
      const before = await snapshot(t);
      for (const [name, spec] of routes) {
        const url = t.url + fillPath(spec.http.path);
        const method = spec.http.method;
        const auth = { authorization: `Bearer ${token}` };
        const hasBody = method === 'POST' || method === 'PUT';
        if (spec.auth) {
          for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: 'Basic abc' }] as Record<
            string,
            string
          >[]) {
            const r = await fetch(url, {
              method,
              headers: { ...headers, ...(hasBody ? { 'content-type': 'application/json' } : {}) },
              ...(hasBody ? { body: '{}' } : {}),
            });
            assert.equal(r.status, 401, `${name} without valid token`);
            assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'unauthenticated', name);
          }
        }
        const headers = spec.auth ? auth : {};
        if (hasBody) {
          const cases: [string, string, string[]][] = [
            ['malformed JSON', '{"phone": ', ['bad_request']],
            [
              'wrong type',
              JSON.stringify({
                phone: 12,
                keyPackages: 'x',
                conversationId: 5,
                accountIds: {},
                pin: 7,
                role: 'king',
                accountId: 3,
                cursors: 'a',
                kind: 'x',
              }),
              ['bad_request'],
            ],
            ['array body', '[1,2]', ['bad_request']],
            ['unknown field', JSON.stringify({ surprise: true }), ['bad_request']],
            ['oversized', 'a'.repeat(LIMITS.httpBodyBytes + 10), ['payload_too_large']],
          ];
          for (const [what, body, codes] of cases) {
            const r: Response = await fetch(url, {
              method,
              headers: { ...headers, 'content-type': 'application/json' },
              body,
            });
            const j = (await r.json()) as { error?: { code: string } };
            assert.ok(codes.includes(j.error?.code ?? ''), `${name} ${what}: got ${r.status} ${JSON.stringify(j)}`);
            assert.equal(r.status, ERRORS[j.error!.code as keyof typeof ERRORS].status, `${name} ${what} status`);
          }
          const wrongType = await fetch(url, {
            method,
            headers: { ...headers, 'content-type': 'text/plain' },
            body: 'hello',
          });
          assert.ok([400, 415].includes(wrongType.status), `${name} text/plain`);
          assert.ok(catalogued(((await wrongType.json()) as { error: { code: string } }).error.code));
        } else {
          const r = await fetch(url + '?bogus=1', { method, headers });
          const j = (await r.json()) as { error?: { code: string } };
          assert.ok(catalogued(j.error?.code), `${name} with unknown query: ${JSON.stringify(j)}`);
          assert.ok(r.status >= 400 && r.status < 500, `${name} status ${r.status}`);
        }
      }
      const unknown = await fetch(`${t.url}/v1/nope`);
      assert.equal(unknown.status, 404);
      assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'not_found');
      assert.deepEqual(await snapshot(t), before);
    });

    it('every Business API route rejects unauthenticated, cross-business, malformed, wrong-type and oversized input and changes nothing', async () => {
      const ctx = t.server.ctx;
      const accounts = new BusinessAccounts(ctx.storage, ctx.secrets, ctx.now);
      const mine = await accounts.create({ name: 'Bad Input Shop', phone: newPhone() });
      const theirs = await accounts.create({ name: 'Someone Else', phone: newPhone() });
      const spare = await accounts.createToken(mine.businessId);
      await accounts.revokeToken(mine.businessId, spare.tokenId);
      const before = await snapshot(t);
      const profiles = [
        await ctx.storage.business.getProfile(mine.businessId),
        await ctx.storage.business.getProfile(theirs.businessId),
      ];
      /** The documented error body with this code; returns it for more checks. */
      const expect = async (r: Response, code: number, what: string) => {
        const body = businessErrorBodySchema.strict().safeParse(await r.json());
        assert.ok(body.success, `${what}: not the documented error body`);
        assert.equal(body.data.error.code, code, what);
        assert.equal(r.status, code === 190 ? 401 : 400, `${what} status`);
      };
      for (const r of BUSINESS_ROUTES) {
        const path = (id: string) => `${t.url}/v21.0${r.path.replace(':phoneNumberId', id)}`;
        const hasBody = r.method === 'POST';
        const send = (id: string, headers: Record<string, string>, body?: string, query = '') =>
          fetch(path(id) + query, {
            method: r.method,
            headers: { ...headers, ...(hasBody ? { 'content-type': 'application/json' } : {}) },
            ...(hasBody ? { body: body ?? '{"messaging_product":"whatsapp","about":"changed"}' } : {}),
          });
        const auth = { authorization: `Bearer ${mine.accessToken}` };
        for (const headers of [
          {},
          { authorization: 'Bearer nope' },
          { authorization: `Basic ${mine.accessToken}` },
          { authorization: `Bearer ${spare.accessToken}` },
        ] as Record<string, string>[])
          await expect(await send(mine.phoneNumberId, headers), 190, `${r.name} token ${JSON.stringify(headers)}`);
        await expect(await send(theirs.phoneNumberId, auth), 100, `${r.name} another business's number`);
        await expect(await send('x'.repeat(5000), auth), 100, `${r.name} oversized id`);
        await expect(await send(mine.phoneNumberId, auth, undefined, '?bogus=1'), 100, `${r.name} unknown query`);
        if (hasBody)
          for (const [what, body] of [
            ['malformed JSON', '{"about": '],
            ['wrong type', JSON.stringify({ messaging_product: 'whatsapp', about: 12, websites: {}, vertical: 3 })],
            ['array body', '[1,2]'],
            ['unknown field', JSON.stringify({ messaging_product: 'whatsapp', surprise: true })],
            [
              'oversized',
              JSON.stringify({ messaging_product: 'whatsapp', about: 'a'.repeat(LIMITS.httpBodyBytes + 10) }),
            ],
          ])
            await expect(await send(mine.phoneNumberId, auth, body), 100, `${r.name} ${what}`);
        // The messages route: each message type's own wrong types and bounds (docs/business.md).
        if (r.name === 'messages.send') {
          const to = { messaging_product: 'whatsapp', to: '14155550100' };
          const button = (i: number) => ({ type: 'reply', reply: { id: `b${i}`, title: `B${i}` } });
          const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `r${i}`, title: `R${i}` }));
          for (const [what, body] of [
            ['no recipient', { messaging_product: 'whatsapp', type: 'text', text: { body: 'x' } }],
            ['recipient not a number', { ...to, to: 'alice', type: 'text', text: { body: 'x' } }],
            ['wrong product', { ...to, messaging_product: 'sms', type: 'text', text: { body: 'x' } }],
            ['unknown type', { ...to, type: 'hologram', hologram: {} }],
            ['text as a string', { ...to, type: 'text', text: 'hello' }],
            ['text too long', { ...to, type: 'text', text: { body: 'x'.repeat(4097) } }],
            ['preview_url not boolean', { ...to, type: 'text', text: { body: 'x', preview_url: 'yes' } }],
            ['type without its object', { ...to, type: 'location' }],
            ['latitude out of range', { ...to, type: 'location', location: { latitude: 91, longitude: 0 } }],
            ['latitude not a number', { ...to, type: 'location', location: { latitude: 'north', longitude: 0 } }],
            ['no contacts', { ...to, type: 'contacts', contacts: [] }],
            ['contact without a name', { ...to, type: 'contacts', contacts: [{ phones: [{ phone: '1' }] }] }],
            [
              'four buttons',
              {
                ...to,
                type: 'interactive',
                interactive: { type: 'button', body: { text: 'x' }, action: { buttons: [0, 1, 2, 3].map(button) } },
              },
            ],
            [
              'eleven rows',
              {
                ...to,
                type: 'interactive',
                interactive: {
                  type: 'list',
                  body: { text: 'x' },
                  action: { button: 'Pick', sections: [{ rows: rows(6) }, { rows: rows(5) }] },
                },
              },
            ],
            ['media with id and link', { ...to, type: 'image', image: { id: '1', link: 'https://a.test/x.png' } }],
            ['media link not http', { ...to, type: 'document', document: { link: 'file:///etc/passwd' } }],
            ['reaction without message', { ...to, type: 'reaction', reaction: { emoji: '👍' } }],
            ['template without language', { ...to, type: 'template', template: { name: 'x' } }],
            ['context not an object', { ...to, type: 'text', text: { body: 'x' }, context: 'm1' }],
            ['read mark without id', { messaging_product: 'whatsapp', status: 'read' }],
            ['read mark of another status', { messaging_product: 'whatsapp', status: 'delivered', message_id: 'x' }],
            [
              'read mark with extra fields',
              { messaging_product: 'whatsapp', status: 'read', message_id: 'x', to: '1' },
            ],
          ] as [string, unknown][])
            await expect(await send(mine.phoneNumberId, auth, JSON.stringify(body)), 100, `messages.send ${what}`);
        }
      }
      assert.deepEqual(await snapshot(t), before);
      assert.deepEqual(
        [
          await ctx.storage.business.getProfile(mine.businessId),
          await ctx.storage.business.getProfile(theirs.businessId),
        ],
        profiles,
      );
    });

    it('the template and media routes reject unauthenticated, cross-business, malformed, wrong-type and oversized input and change nothing', async () => {
      const ctx = t.server.ctx;
      const accounts = new BusinessAccounts(ctx.storage, ctx.secrets, ctx.now);
      const mine = await accounts.create({ name: 'Bad Template Shop', phone: newPhone() });
      const theirs = await accounts.create({ name: 'Someone Else Again', phone: newPhone() });
      const spare = await accounts.createToken(mine.businessId);
      await accounts.revokeToken(mine.businessId, spare.tokenId);
      const before = await snapshot(t);
      const auth = { authorization: `Bearer ${mine.accessToken}` };
      const badTokens = [
        {},
        { authorization: 'Bearer nope' },
        { authorization: `Basic ${mine.accessToken}` },
        { authorization: `Bearer ${spare.accessToken}` },
      ] as Record<string, string>[];
      // Failed token checks share one budget per address (30 a minute, and the test above spent
      // some): every kind once on the first route, then the revoked token on the others.
      let tokenKinds = badTokens;
      const tokensToTry = () => {
        const kinds = tokenKinds;
        tokenKinds = [badTokens[3]!];
        return kinds;
      };
      /** The documented error body with this code (and HTTP status). */
      const expect = async (r: Response, code: number, what: string, status = code === 190 ? 401 : 400) => {
        const body = businessErrorBodySchema.strict().safeParse(await r.json());
        assert.ok(body.success, `${what}: not the documented error body`);
        assert.equal(body.data.error.code, code, what);
        assert.equal(r.status, status, `${what} status`);
      };
      const good = {
        name: 'fine_template',
        language: 'en_US',
        category: 'UTILITY',
        components: [{ type: 'BODY', text: 'Your order {{1}} is ready.', example: { body_text: [['42']] } }],
      };
      for (const r of TEMPLATE_ROUTES) {
        const hasBody = r.method === 'POST';
        const query = r.method === 'DELETE' ? '?name=fine_template' : '';
        const send = (id: string, headers: Record<string, string>, body?: string, q = query) =>
          fetch(`${t.url}/v21.0${r.path.replace(':businessId', id)}${q}`, {
            method: r.method,
            headers: { ...headers, ...(hasBody ? { 'content-type': 'application/json' } : {}) },
            ...(hasBody ? { body: body ?? JSON.stringify(good) } : {}),
          });
        for (const headers of tokensToTry())
          await expect(await send(mine.businessId, headers), 190, `${r.name} token ${JSON.stringify(headers)}`);
        await expect(await send(theirs.businessId, auth), 100, `${r.name} another business`);
        await expect(await send('x'.repeat(5000), auth), 100, `${r.name} oversized id`);
        await expect(
          await send(mine.businessId, auth, undefined, `${query || '?'}&bogus=1`),
          100,
          `${r.name} unknown query`,
        );
        if (r.method === 'GET')
          for (const q of ['?status=MAYBE', '?limit=0', '?limit=5000', '?fields=secret', '?after=abc'])
            await expect(await send(mine.businessId, auth, undefined, q), 100, `${r.name} ${q}`);
        if (r.method === 'DELETE')
          for (const q of ['', '?name=Bad-Name', '?name=fine_template&hsm_id=x'])
            await expect(await send(mine.businessId, auth, undefined, q), 100, `${r.name} ${q || 'no name'}`);
        if (hasBody) {
          const body = (text: string, example?: unknown) => ({
            ...good,
            components: [{ type: 'BODY', text, ...(example ? { example } : {}) }],
          });
          for (const [what, b] of [
            ['malformed JSON', '{"name": '],
            ['array body', '[1,2]'],
            ['oversized', JSON.stringify({ ...good, name: 'a'.repeat(LIMITS.httpBodyBytes + 10) })],
            ['unknown field', { ...good, surprise: true }],
            ['name with capitals', { ...good, name: 'Fine' }],
            ['bad language', { ...good, language: 'english' }],
            ['unknown category', { ...good, category: 'SPAM' }],
            ['no components', { ...good, components: [] }],
            ['no body', { ...good, components: [{ type: 'FOOTER', text: 'x' }] }],
            ['two bodies', { ...good, components: [good.components[0], good.components[0]] }],
            ['parameters not 1..n', body('Order {{2}} ready', { body_text: [['x']] })],
            ['no example for a parameter', body('Order {{1}} ready')],
            ['body too long', body('x'.repeat(1025))],
            [
              'header with two parameters',
              {
                ...good,
                components: [
                  { type: 'HEADER', format: 'TEXT', text: '{{1}} {{2}}', example: { header_text: ['a'] } },
                  good.components[0],
                ],
              },
            ],
            [
              'URL parameter not at the end',
              {
                ...good,
                components: [
                  good.components[0],
                  {
                    type: 'BUTTONS',
                    buttons: [
                      { type: 'URL', text: 'Go', url: 'https://a.test/{{1}}/x', example: ['https://a.test/1/x'] },
                    ],
                  },
                ],
              },
            ],
            [
              'eleven buttons',
              {
                ...good,
                components: [
                  good.components[0],
                  { type: 'BUTTONS', buttons: Array.from({ length: 11 }, () => ({ type: 'QUICK_REPLY', text: 'x' })) },
                ],
              },
            ],
            ['components of the wrong type', { ...good, components: 'BODY' }],
          ] as [string, unknown][])
            await expect(
              await send(mine.businessId, auth, typeof b === 'string' ? b : JSON.stringify(b)),
              100,
              `${r.name} ${what}`,
            );
        }
      }
      // Sending a template: wrongly typed parameters and button indexes are refused before any lookup.
      const to = { messaging_product: 'whatsapp', to: '14155550100', type: 'template' };
      for (const [what, template] of [
        [
          'parameters not an array',
          { name: 'x', language: { code: 'en' }, components: [{ type: 'body', parameters: {} }] },
        ],
        [
          'unknown parameter type',
          { name: 'x', language: { code: 'en' }, components: [{ type: 'body', parameters: [{ type: 'blob' }] }] },
        ],
        [
          'currency without its code',
          {
            name: 'x',
            language: { code: 'en' },
            components: [
              {
                type: 'body',
                parameters: [{ type: 'currency', currency: { fallback_value: '$1', amount_1000: 1000 } }],
              },
            ],
          },
        ],
        [
          'button index out of range',
          {
            name: 'x',
            language: { code: 'en' },
            components: [{ type: 'button', sub_type: 'url', index: '99', parameters: [] }],
          },
        ],
        [
          'unknown sub_type',
          {
            name: 'x',
            language: { code: 'en' },
            components: [{ type: 'button', sub_type: 'teleport', index: 0, parameters: [] }],
          },
        ],
      ] as [string, unknown][])
        await expect(
          await fetch(`${t.url}/v21.0/${mine.phoneNumberId}/messages`, {
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/json' },
            body: JSON.stringify({ ...to, template }),
          }),
          100,
          `template send ${what}`,
        );

      // Media: the upload, the read, the delete and the download.
      const form = () => {
        const f = new FormData();
        f.append('messaging_product', 'whatsapp');
        f.append('type', 'image/png');
        f.append('file', new Blob([new Uint8Array([1, 2, 3])], { type: 'image/png' }), 'x.png');
        return f;
      };
      const uploadTo = (id: string, headers: Record<string, string>, body: BodyInit = form(), q = '') =>
        fetch(`${t.url}/v21.0/${id}/media${q}`, { method: 'POST', headers, body });
      for (const headers of tokensToTry())
        await expect(await uploadTo(mine.phoneNumberId, headers), 190, `media upload token`);
      await expect(await uploadTo(theirs.phoneNumberId, auth), 100, 'media upload to another business');
      await expect(await uploadTo('x'.repeat(5000), auth), 100, 'media upload oversized id');
      await expect(await uploadTo(mine.phoneNumberId, auth, form(), '?bogus=1'), 100, 'media upload unknown query');
      await expect(await uploadTo(mine.phoneNumberId, auth, 'not a form'), 100, 'media upload not a form');
      const mediaId = '1234567890123456';
      for (const method of ['GET', 'DELETE']) {
        for (const headers of tokensToTry())
          await expect(await fetch(`${t.url}/v21.0/${mediaId}`, { method, headers }), 190, `media ${method} token`);
        await expect(
          await fetch(`${t.url}/v21.0/${mediaId}`, { method, headers: auth }),
          100,
          `media ${method} unknown id`,
        );
        await expect(
          await fetch(`${t.url}/v21.0/${mediaId}?bogus=1`, { method, headers: auth }),
          100,
          `media ${method} unknown query`,
        );
      }
      for (const q of ['', '?expires=1&signature=zz', `?expires=1&signature=${'0'.repeat(64)}`])
        await expect(
          await fetch(`${t.url}/v21.0/${mediaId}/download${q}`, { headers: auth }),
          100,
          `media download ${q}`,
        );
      await expect(await fetch(`${t.url}/v21.0/${mediaId}/download`), 190, 'media download without a token');
      assert.deepEqual(await snapshot(t), before);
    });

    it('the link routes refuse forged, reused, expired and foreign input with catalogued errors and change nothing', async () => {
      const http = async (method: string, path: string, auth: string | null, body?: unknown) => {
        const r = await fetch(t.url + path, {
          method,
          headers: {
            ...(auth ? { authorization: `Bearer ${auth}` } : {}),
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
        const json = (await r.json()) as { error?: { code: string }; linkId?: string };
        return { status: r.status, code: json.error?.code ?? 'ok', linkId: json.linkId };
      };
      const key = () => toB64(generateLinkKeyPair().publicKey);
      const signingKey = () => toB64(generateSigningKeyPair().publicKey);
      const sig = () => Buffer.from(crypto.getRandomValues(new Uint8Array(64))).toString('base64url');
      // A session answered once, to refuse the second answer and a foreign certificate against.
      const started = await http('POST', '/v1/devices/links', token, {});
      assert.equal(started.status, 201);
      const linkId = started.linkId!;
      const join = { ephemeralKey: key(), request: sig(), tokenHash: key() };
      assert.equal((await http('POST', `/v1/links/${linkId}/join`, null, join)).code, 'ok');
      const before = await snapshot(t);
      const cases: [string, () => Promise<{ status: number; code: string }>, string][] = [
        ['a second answer', () => http('POST', `/v1/links/${linkId}/join`, null, join), 'link_used'],
        ['an unknown code', () => http('POST', `/v1/links/l_AAAAAAAAAAAAAAAAAAAAAA/join`, null, join), 'link_expired'],
        [
          'an all-zero ephemeral key',
          () => http('POST', `/v1/links/${linkId}/join`, null, { ...join, ephemeralKey: 'A'.repeat(43) }),
          'key_all_zero',
        ],
        [
          'a certificate not under the identity key',
          () =>
            http('POST', `/v1/devices/links/${linkId}/approve`, token, {
              device: { name: 'x', signingKey: signingKey(), signingKeyCert: sig() },
              reply: sig(),
            }),
          'signature_invalid',
        ],
        [
          'approving an unknown code',
          () =>
            http('POST', '/v1/devices/links/l_AAAAAAAAAAAAAAAAAAAAAA/approve', token, {
              device: { name: 'x', signingKey: signingKey(), signingKeyCert: sig() },
              reply: sig(),
            }),
          'link_expired',
        ],
        [
          'fetching with a wrong token',
          () => http('POST', `/v1/links/${linkId}/reply`, null, { token: 'x'.repeat(43) }),
          'unauthenticated',
        ],
        [
          'a forged device list',
          () =>
            http('PUT', '/v1/accounts/me/device-list', token, {
              version: 1,
              issuedAt: 1,
              devices: [{ deviceId: 'd_AAAAAAAAAAAAAAAAAAAAAA', signingKey: signingKey() }],
              signature: sig(),
            }),
          'device_list_invalid',
        ],
        [
          'unlinking an unknown device',
          () => http('DELETE', '/v1/accounts/me/devices/d_AAAAAAAAAAAAAAAAAAAAAA', token),
          'device_not_found',
        ],
      ];
      for (const [what, answer, code] of cases) {
        const r = await answer();
        assert.equal(r.code, code, what);
        assert.equal(r.status, ERRORS[code as keyof typeof ERRORS].status, `${what} status`);
      }
      assert.deepEqual(await snapshot(t), before);
    });

    async function socket(): Promise<{
      ws: WebSocket;
      next: () => Promise<{ id: number; status: number; body: { error?: { code: string } } }>;
      closed: Promise<number>;
    }> {
      const ws = new WebSocket(t.url.replace('http', 'ws') + '/v1/ws');
      const queue: unknown[] = [];
      const waiters: ((v: unknown) => void)[] = [];
      ws.on('message', (d, isBinary) => {
        if (isBinary) return;
        const v = JSON.parse(d.toString());
        const w = waiters.shift();
        if (w) w(v);
        else queue.push(v);
      });
      const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
      await new Promise((r, j) => {
        ws.once('open', r);
        ws.once('error', j);
      });
      return {
        ws,
        closed,
        next: () => new Promise((r) => (queue.length ? r(queue.shift() as never) : waiters.push(r as never))),
      };
    }

    it('every WebSocket frame type rejects bad input with a catalogued error and changes nothing', async () => {
      const before = await snapshot(t);
      const s = await socket();
      // Before hello: every op is unauthenticated.
      for (const op of Object.keys(OPS)) {
        s.ws.send(JSON.stringify({ id: 1, op, body: {} }));
        assert.equal((await s.next()).body.error?.code, 'unauthenticated', op);
      }
      s.ws.send('not json');
      assert.equal((await s.next()).body.error?.code, 'bad_frame');
      s.ws.send(JSON.stringify({ id: 'x', op: 'hello' }));
      assert.equal((await s.next()).body.error?.code, 'bad_frame');
      s.ws.send(Buffer.from([0, 0, 0, 200, 1, 2]));
      assert.equal((await s.next()).body.error?.code, 'bad_frame');
      s.ws.send(JSON.stringify({ id: 2, op: 'hello', body: { token: 'wrong', protocol: 1 } }));
      assert.equal((await s.next()).body.error?.code, 'unauthenticated');
      s.ws.send(JSON.stringify({ id: 3, op: 'hello', body: { token, protocol: 2 } }));
      assert.equal((await s.next()).body.error?.code, 'bad_request');
      s.ws.send(JSON.stringify({ id: 4, op: 'hello', body: { token, protocol: 1 } }));
      assert.equal((await s.next()).status, 200);

      const conv = 'AAAAAAAAAAAAAAAAAAAAAA';
      const cases: [string, string | Uint8Array, string][] = [
        ['unknown op', JSON.stringify({ id: 5, op: 'explode', body: {} }), 'unknown_op'],
        ['second hello', JSON.stringify({ id: 6, op: 'hello', body: { token, protocol: 1 } }), 'bad_request'],
        [
          'send without payload',
          JSON.stringify({ id: 7, op: 'send', body: { conversationId: conv, clientMessageId: 'abcdefgh' } }),
          'bad_frame',
        ],
        [
          'send wrong types',
          encodeFrame({ id: 8, op: 'send', body: { conversationId: 1, clientMessageId: [] } }, new Uint8Array([1])),
          'bad_request',
        ],
        [
          'send to a conversation it is not in',
          encodeFrame(
            { id: 9, op: 'send', body: { conversationId: conv, clientMessageId: 'abcdefgh' } },
            new Uint8Array([1]),
          ),
          'conversation_not_found',
        ],
        [
          'send oversized ciphertext',
          encodeFrame(
            { id: 10, op: 'send', body: { conversationId: conv, clientMessageId: 'abcdefgh' } },
            new Uint8Array(LIMITS.ciphertextBytes + 1),
          ),
          'payload_too_large',
        ],
        [
          'commit wrong types',
          encodeFrame(
            { id: 11, op: 'commit', body: { conversationId: conv, clientMessageId: 'abcdefgh', epoch: -1 } },
            new Uint8Array([1]),
          ),
          'bad_request',
        ],
        [
          'commit to a foreign conversation',
          encodeFrame(
            { id: 12, op: 'commit', body: { conversationId: conv, clientMessageId: 'abcdefgh', epoch: 0 } },
            new Uint8Array([1]),
          ),
          'conversation_not_found',
        ],
        ['ack wrong types', JSON.stringify({ id: 13, op: 'ack', body: { cursors: ['a'] } }), 'bad_request'],
        [
          'ack with payload',
          encodeFrame({ id: 14, op: 'ack', body: { cursors: [1] } }, new Uint8Array([1])),
          'bad_frame',
        ],
        ['ack empty', JSON.stringify({ id: 15, op: 'ack', body: { cursors: [] } }), 'bad_request'],
        ['ping with junk', JSON.stringify({ id: 16, op: 'ping', body: { x: 1 } }), 'bad_request'],
        [
          'createConversation bad id',
          JSON.stringify({ id: 17, op: 'createConversation', body: { conversationId: 'short', kind: 'group' } }),
          'bad_request',
        ],
        [
          'uploadKeyPackages garbage',
          JSON.stringify({ id: 18, op: 'uploadKeyPackages', body: { keyPackages: ['AAAA'] } }),
          'keypackage_malformed',
        ],
      ];
      for (const [what, frame, code] of cases) {
        s.ws.send(frame);
        const r = await s.next();
        assert.equal(r.body.error?.code, code, what);
        assert.equal(r.status, ERRORS[code as keyof typeof ERRORS].status, `${what} status`);
      }
      // A frame over the limit cannot even be read: the socket is closed with 1009.
      s.ws.send(new Uint8Array(LIMITS.wsFrameBytes + 1));
      assert.equal(await s.closed, 1009);
      // The one accepted hello rightly records, once its socket has closed, when the account was last
      // seen (written in the background, so waited for): exactly that one row more, and every bad
      // frame left every other table as it was.
      assert.equal(before.last_seen, 0, 'the account had never been online before this socket');
      await until(async () => (await snapshot(t)).last_seen === 1, 5_000, 'the last-seen row of the closed socket');
      assert.deepEqual(await snapshot(t), { ...before, last_seen: 1 });
    });

    it('refuses bad hosted image jobs with catalogued errors: nothing charged, no provider called, nothing stored', async () => {
      const fake = await startFake((hit, res) =>
        json(res, 200, {
          data: Array.from({ length: (hit.body as { n: number }).n }, () => ({
            b64_json: Buffer.from(SAMPLE_PNG).toString('base64'),
          })),
        }),
      );
      const spec = {
        provider: 'openai' as const,
        baseUrl: fake.base,
        model: 'm',
        maxVariantsPerJob: 4,
        imageInput: false,
        costPerImage: 1,
      };
      const t2 = await startServer(driver, {
        imagegenModels: [
          { ...spec, id: 'studio', displayName: 'Studio', dailyQuota: 2 },
          { ...spec, id: 'private', displayName: 'Private', dailyQuota: 2, accounts: ['a_someoneElseAAAAAAAAAAAA'] },
        ],
      });
      try {
        const c = await newClient(t2.url, undefined, { connect: false });
        const auth = { authorization: `Bearer ${deviceToken(c)}`, 'content-type': 'application/json' };
        const job = async (body: unknown) => {
          const r = await fetch(`${t2.url}/v1/imagegen/jobs`, {
            method: 'POST',
            headers: auth,
            body: JSON.stringify(body),
          });
          return { status: r.status, text: await r.text() };
        };
        const left = async () => {
          const r = await fetch(`${t2.url}/v1/imagegen/models`, { headers: auth });
          return ((await r.json()) as { models: { id: string; leftToday: number }[] }).models.find(
            (m) => m.id === 'studio',
          )!.leftToday;
        };
        // Spend the quota on one good job first, so the quota case below is real.
        assert.equal((await job({ model: 'studio', prompt: 'a boat', variants: 2 })).status, 200);
        const hits = fake.hits.length;
        const before = await snapshot(t2);
        const cases: [unknown, string][] = [
          [{ model: 'studio', prompt: '' }, 'image_prompt_invalid'],
          [{ model: 'studio', prompt: 'x'.repeat(4001) }, 'image_prompt_invalid'],
          [{ model: 'studio', prompt: 'x'.repeat(20_000) }, 'bad_request'],
          [{ model: 'studio', prompt: 'ok', variants: 0 }, 'image_request_invalid'],
          [{ model: 'studio', prompt: 'ok', seed: -1 }, 'image_request_invalid'],
          [{ model: 'unknown', prompt: 'ok' }, 'image_model_unknown'],
          [{ model: '__proto__', prompt: 'ok' }, 'image_model_unknown'],
          [{ model: 'private', prompt: 'ok' }, 'image_model_not_allowed'],
          [{ model: 'studio', prompt: 'ok' }, 'image_quota_spent'],
          [{ model: 'studio', prompt: 'ok', extra: 1 }, 'bad_request'],
          [{ prompt: 'ok' }, 'bad_request'],
        ];
        for (const [body, code] of cases) {
          const r = await job(body);
          const j = JSON.parse(r.text) as { error?: { code: string; retryAfterMs?: number } };
          assert.equal(j.error?.code, code, `${JSON.stringify(body).slice(0, 60)}: ${r.text.slice(0, 200)}`);
          assert.equal(r.status, ERRORS[code as keyof typeof ERRORS].status);
          if (code === 'image_quota_spent') assert.ok((j.error?.retryAfterMs ?? 0) > 0);
        }
        assert.equal(fake.hits.length, hits, 'a provider was called');
        assert.equal(await left(), 0);
        assert.deepEqual(await snapshot(t2), before);
      } finally {
        await t2.close();
        await fake.close();
      }
    });

    it('closes a socket that never says hello', { timeout: 20_000 }, async () => {
      const s = await socket();
      assert.equal(await s.closed, 4000);
    });

    it('refuses a disappearing expiry out of range, or from a non-member, and changes nothing (C17)', async () => {
      const alice = await newClient(t.url);
      const bob = await newClient(t.url);
      const outsider = await newClient(t.url, undefined, { connect: false });
      const conv = await alice.startDirect(bob.self.accountId);
      await until(() => bob.conversations().find((c) => c.id === conv), 10_000, 'bob joined');
      await alice.idle();
      const tables = async () => {
        const all = await snapshot(t);
        return [all.messages, all.deliveries, all.message_expiries, all.media_blobs];
      };
      const before = await tables();
      const now = Date.now();
      const year = 365 * 86400_000;
      const frames: [string, string, unknown, string][] = [
        ['expiry in the past', deviceToken(alice), now - 1000, 'expiry_out_of_range'],
        ['expiry two years ahead', deviceToken(alice), now + 2 * year, 'expiry_out_of_range'],
        ['negative expiry', deviceToken(alice), -5, 'bad_request'],
        ['fractional expiry', deviceToken(alice), now + 60_000.5, 'bad_request'],
        ['expiry as text', deviceToken(alice), 'tomorrow', 'bad_request'],
        ['a valid expiry from a non-member', deviceToken(outsider), now + 60_000, 'conversation_not_found'],
      ];
      for (const [what, who, expiresAt, code] of frames) {
        const s = await socket();
        s.ws.send(JSON.stringify({ id: 1, op: 'hello', body: { token: who, protocol: 1 } }));
        assert.equal((await s.next()).status, 200);
        s.ws.send(
          encodeFrame(
            { id: 2, op: 'send', body: { conversationId: conv, clientMessageId: 'expiry-check-1', expiresAt } },
            new Uint8Array([1, 2, 3]),
          ),
        );
        const r = await s.next();
        assert.equal(r.body.error?.code, code, what);
        assert.equal(r.status, ERRORS[code as keyof typeof ERRORS].status, `${what} status`);
        s.ws.close();
      }
      for (const [what, expiresAt, code] of [
        ['upload expiry in the past', now - 1, 'expiry_out_of_range'],
        ['upload expiry two years ahead', now + 2 * year, 'expiry_out_of_range'],
        ['upload expiry not a number', 'soon', 'bad_request'],
      ] as const) {
        const r = await fetch(`${t.url}/v1/media/uploads`, {
          method: 'POST',
          headers: { authorization: `Bearer ${deviceToken(alice)}`, 'content-type': 'application/json' },
          body: JSON.stringify({ size: 100, digest: 'A'.repeat(43), expiresAt }),
        });
        assert.equal(((await r.json()) as { error: { code: string } }).error.code, code, what);
      }
      assert.deepEqual(await tables(), before, 'no message, queue entry, expiry or blob was stored');
      await Promise.all([alice.close(), bob.close()]);
    });

    it('rejects a commit built on a stale epoch and keeps the conversation unchanged', async () => {
      const alice = await newClient(t.url);
      const bob = await newClient(t.url);
      const conv = await alice.startDirect(bob.self.accountId);
      await until(() => bob.conversations().find((c) => c.id === conv), 10_000, 'bob joined');
      const info = await alice.api.getConversation(conv);
      const s = await socket();
      s.ws.send(JSON.stringify({ id: 1, op: 'hello', body: { token, protocol: 1 } }));
      await s.next();
      const aliceToken = deviceToken(alice);
      const s2 = await socket();
      s2.ws.send(JSON.stringify({ id: 1, op: 'hello', body: { token: aliceToken, protocol: 1 } }));
      await s2.next();
      const before = await snapshot(t);
      s2.ws.send(
        encodeFrame(
          {
            id: 2,
            op: 'commit',
            body: { conversationId: conv, clientMessageId: 'stale-commit-1', epoch: info.epoch - 1 },
          },
          new Uint8Array([1, 2, 3]),
        ),
      );
      const r = await s2.next();
      assert.equal(r.body.error?.code, 'stale_epoch');
      assert.equal(r.status, 409);
      assert.deepEqual(await snapshot(t), before);
      s.ws.close();
      s2.ws.close();
      await alice.close();
      await bob.close();
    });
  });
