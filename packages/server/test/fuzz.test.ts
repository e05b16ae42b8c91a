/**
 * The fuzzer (C19, docs/errors.md): seeded random and mutated input at every edge of the server —
 * WebSocket op names (those `Object.prototype` lends every object included), bodies of every op
 * over both transports, base64url fields of bad length or alphabet, raw HTTP the parser refuses
 * (bad URL, long parameters, header overflow, bad chunked encoding, refused WebSocket handshakes),
 * payloads past each op's documented limit, a repeated `hello`, and the caps on simultaneous calls
 * per device and unfinished uploads per account. Every answer must be a catalogued error (a code in the
 * catalogue, its status, a JSON body), never a 500 or a bare parser answer, and refused input
 * must leave every table as it was. The Business API's routes get the same treatment, answering
 * with their own documented error body (docs/business.md).
 *
 * The seed is random per run and printed with every failure; PARLEY_FUZZ_SEED replays one run.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { z } from 'zod';
import { ERRORS, LIMITS, MEDIA_LIMITS, businessErrorBodySchema, encodeFrame, toB64 } from '@parley/protocol';
import type { ParleyClient } from '@parley/sdk';
import { OPS } from '../src/ops.ts';
import { BUSINESS_ROUTES } from '../src/business/routes.ts';
import { TEMPLATE_ROUTES } from '../src/business/templates.ts';
import { BusinessAccounts } from '../src/business/service.ts';
import { newClient, startServer, type TestServer } from '@parley/testkit';
import { deviceToken } from '@parley/sdk/testing';
import { SAMPLE_PNG, json, startFake } from '@parley/imagegen/testing';

const SEED = Number(process.env.PARLEY_FUZZ_SEED ?? randomBytes(4).readUInt32LE(0));
const seedNote = `(PARLEY_FUZZ_SEED=${SEED})`;

/** mulberry32: a small seeded PRNG, so a failing run can be replayed exactly. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}
type Rng = ReturnType<typeof prng>;

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Names every plain object inherits: an op table must not find them. */
const INHERITED = [...Object.getOwnPropertyNames(Object.prototype), 'prototype', '__proto__'];

/** Base64url text no decoder accepts: a length of 4k+1 (one dangling character). */
function badLengthB64(rng: Rng, maxQuads = 20): string {
  let s = '';
  const n = 4 * rng.int(maxQuads) + 1;
  for (let i = 0; i < n; i++) s += rng.pick([...B64URL]);
  return s;
}

/** A random JSON value: strings that look like ids or base64, prototype keys, odd numbers, nesting. */
function randomJson(rng: Rng, depth = 0): unknown {
  const kind = rng.int(depth > 2 ? 5 : 8);
  switch (kind) {
    case 0:
      return rng.pick([0, -1, 1.5, 2 ** 53, -(2 ** 31), 1e308, 7]);
    case 1:
      return rng.pick([true, false, null]);
    case 2:
      return badLengthB64(rng);
    case 3:
      return rng.pick([
        '',
        'a_AAAAAAAAAAAAAAAAAAAAAA',
        'AAAAAAAAAAAAAAAAAAAAAA',
        '+14155550123',
        '\u0000',
        '%zz',
        'x'.repeat(300),
        ...INHERITED,
      ]);
    case 4:
      return rng.pick(INHERITED);
    case 5:
      return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      // defineProperty, so that `__proto__` becomes an own key (and reaches the JSON) like any other.
      for (let i = 0, n = 1 + rng.int(4); i < n; i++) {
        Object.defineProperty(
          o,
          rng.pick([
            ...INHERITED,
            'conversationId',
            'accountIds',
            'digest',
            'size',
            'name',
            'token',
            'body',
            'id',
            'op',
            'endpoint',
            'keys',
          ]),
          { value: randomJson(rng, depth + 1), enumerable: true, writable: true, configurable: true },
        );
      }
      return o;
    }
  }
}

/** Field names of an op's input schema (through optional/default wrappers), to aim mutations at. */
function fieldsOf(schema: z.ZodType): string[] {
  let s = schema as unknown as {
    shape?: Record<string, unknown>;
    _zod?: { def?: { innerType?: unknown; in?: unknown } };
  };
  for (let i = 0; i < 5 && !s.shape; i++) {
    const inner = s._zod?.def?.innerType ?? s._zod?.def?.in;
    if (!inner) break;
    s = inner as typeof s;
  }
  return s.shape ? Object.keys(s.shape) : [];
}

function snapshot(t: TestServer): Record<string, number> {
  const db = new Database(join(t.dataDir, 'parley.sqlite'), { readonly: true });
  const tables = db
    .prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")
    .all() as { name: string }[];
  const out: Record<string, number> = {};
  for (const { name } of tables)
    out[name] = (db.prepare(`select count(*) as n from "${name}"`).get() as { n: number }).n;
  db.close();
  // Written in the background when a socket of an account closes; not a change the input made.
  delete out.last_seen;
  return out;
}

/** Assert an answer is a catalogued error: a known code, its catalogued status, and (over HTTP) JSON. */
function assertCatalogued(status: number, body: unknown, what: string, codes?: string[]): string {
  const code = (body as { error?: { code?: unknown } } | null)?.error?.code;
  assert.ok(
    typeof code === 'string' && code in ERRORS,
    `${what}: not a catalogued error: ${status} ${JSON.stringify(body)?.slice(0, 300)} ${seedNote}`,
  );
  assert.equal(status, ERRORS[code as keyof typeof ERRORS].status, `${what}: status of ${code} ${seedNote}`);
  if (codes) assert.ok(codes.includes(code), `${what}: got ${code}, expected one of ${codes.join(', ')} ${seedNote}`);
  return code;
}

/** Send raw bytes over TCP and read the whole answer (the server closes: `Connection: close` or a parse error). */
function rawHttp(url: string, request: string | Buffer): Promise<{ status: number; headers: string; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    // A deadline: a server that neither answers nor closes fails the test instead of hanging it.
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})[^\r\n]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(text);
      if (!m) return reject(new Error(`not an HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      let body = m[3]!;
      if (/transfer-encoding: chunked/i.test(m[2]!))
        body = body.replace(/^[0-9a-f]+\r\n/i, '').replace(/\r\n0\r\n\r\n$/, '');
      resolve({ status: Number(m[1]), headers: m[2]!, body });
    });
    socket.write(request);
  });
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

interface Answer {
  id: number;
  status: number;
  body: { error?: { code: string } } & Record<string, unknown>;
}

/** A raw WebSocket that answers requests by id. */
async function socket(url: string) {
  const ws = new WebSocket(url.replace('http', 'ws') + '/v1/ws');
  const answers = new Map<number, Answer>();
  const waiters = new Map<number, (a: Answer) => void>();
  ws.on('message', (d, isBinary) => {
    if (isBinary) return;
    const a = JSON.parse(d.toString()) as Answer & { event?: string };
    if (a.event) return;
    const w = waiters.get(a.id);
    if (w) {
      waiters.delete(a.id);
      w(a);
    } else answers.set(a.id, a);
  });
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('error', j);
  });
  let nextId = 1;
  /** Send a frame (text when `payload` is absent) and wait for the answer with its id. */
  const request = (op: string, body: unknown, payload?: Uint8Array): Promise<Answer> => {
    const id = nextId++;
    const got = new Promise<Answer>((r) => {
      const a = answers.get(id);
      if (a) r(a);
      else waiters.set(id, r);
    });
    ws.send(payload ? encodeFrame({ id, op, body }, payload) : JSON.stringify({ id, op, body }));
    return got;
  };
  return { ws, request, closed };
}

const fillPath = (path: string) =>
  path
    .replace(':conversationId', 'AAAAAAAAAAAAAAAAAAAAAA')
    .replace(':accountId', 'a_AAAAAAAAAAAAAAAAAAAAAA')
    .replace(':blobId', 'b_AAAAAAAAAAAAAAAAAAAAAA')
    .replace(':linkId', 'l_AAAAAAAAAAAAAAAAAAAAAA')
    .replace(':deviceId', 'd_AAAAAAAAAAAAAAAAAAAAAA');

describe(`fuzzer ${seedNote}`, () => {
  let t: TestServer;
  let token: string;
  before(async () => {
    t = await startServer('sqlite', { mediaMaxUploads: 3, callsPerDevice: 1 });
    token = deviceToken(await newClient(t.url, undefined, { connect: false }));
  });
  after(async () => t?.close());

  it('answers op names inherited from Object.prototype, and random ones, with unknown_op', async () => {
    const rng = prng(SEED);
    const before = snapshot(t);
    const s = await socket(t.url);
    assert.equal((await s.request('hello', { token, protocol: 1 })).status, 200);
    const random = Array.from({ length: 30 }, () =>
      Array.from({ length: 1 + rng.int(20) }, () => rng.pick([...B64URL, '.', '$', ' '])).join(''),
    );
    for (const op of [...INHERITED, ...random]) {
      if (op in OPS && Object.hasOwn(OPS, op)) continue;
      const a = await s.request(op, rng.pick([{}, undefined, randomJson(rng)]));
      assertCatalogued(a.status, a.body, `op ${JSON.stringify(op)}`, ['unknown_op']);
    }
    // Over HTTP the same names are paths that do not exist.
    for (const name of INHERITED) {
      const r = await fetch(`${t.url}/v1/${encodeURIComponent(name)}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assertCatalogued(r.status, await r.json(), `GET /v1/${name}`, ['not_found']);
    }
    s.ws.close();
    assert.deepEqual(snapshot(t), before);
  });

  it('answers random bodies of every op, over HTTP and WebSocket, with catalogued errors that change nothing', async () => {
    const rng = prng(SEED + 1);
    const s = await socket(t.url);
    assert.equal((await s.request('hello', { token, protocol: 1 })).status, 200);
    /** A refused request must leave every table as it was; an accepted one (rare, legitimate) moves the baseline. */
    let base = snapshot(t);
    const check = (status: number, body: unknown, what: string) => {
      if (status >= 400) {
        assertCatalogued(status, body, what);
        assert.deepEqual(snapshot(t), base, `${what}: refused, yet the database changed ${seedNote}`);
      } else base = snapshot(t);
    };
    for (const [name, spec] of Object.entries(OPS)) {
      // An empty random body is a valid logout, which would revoke the fuzzer's own device and end
      // the run: its refusals are in bad-input.test.ts, and what it does in group-info.test.ts.
      if (name === 'logout') continue;
      const fields = fieldsOf(spec.input as z.ZodType);
      for (let i = 0; i < 12; i++) {
        // Half the bodies aim at the op's own fields, so they get past the strict-object check.
        const body: Record<string, unknown> = {};
        if (fields.length && rng.next() < 0.5) for (const f of fields) body[f] = randomJson(rng, 1);
        else {
          const r = randomJson(rng, 2);
          if (r && typeof r === 'object' && !Array.isArray(r))
            for (const k of Object.keys(r))
              Object.defineProperty(body, k, {
                value: (r as Record<string, unknown>)[k],
                enumerable: true,
                writable: true,
                configurable: true,
              });
        }
        const payload = spec.payload ? new Uint8Array(rng.int(64)) : undefined;
        const a = await s.request(name, body, payload);
        check(a.status, a.body, `ws ${name} ${JSON.stringify(body).slice(0, 200)}`);
        if (!spec.http || spec.payload) continue;
        const hasBody = spec.http.method !== 'GET' && spec.http.method !== 'DELETE';
        const query = hasBody
          ? ''
          : '?' +
            new URLSearchParams(
              Object.entries(body).map(([k, v]) => [k, typeof v === 'string' ? v : (JSON.stringify(v) ?? '')]),
            ).toString();
        const r = await fetch(t.url + fillPath(spec.http.path) + query, {
          method: spec.http.method,
          headers: { authorization: `Bearer ${token}`, ...(hasBody ? { 'content-type': 'application/json' } : {}) },
          ...(hasBody ? { body: JSON.stringify(body) } : {}),
        });
        check(r.status, parseJson(await r.text()), `http ${name} ${JSON.stringify(body).slice(0, 200)}`);
      }
    }
    s.ws.close();
  });

  it('answers random queries and bodies of every Business API route with its documented error body, never a 500', async () => {
    const rng = prng(SEED + 7);
    const ctx = t.server.ctx;
    const biz = await new BusinessAccounts(ctx.storage, ctx.secrets, ctx.now).create({
      name: 'Fuzz Shop',
      phone: `+1415555${String(rng.int(10_000)).padStart(4, '0')}`,
    });
    let base = snapshot(t);
    let profile = await ctx.storage.business.getProfile(biz.businessId);
    for (const r of BUSINESS_ROUTES) {
      const fields = [...fieldsOf(r.query as z.ZodType), ...(r.body ? fieldsOf(r.body as z.ZodType) : [])];
      for (let i = 0; i < 24; i++) {
        const body: Record<string, unknown> = {};
        if (rng.next() < 0.5) for (const f of fields) body[f] = randomJson(rng, 1);
        else {
          const x = randomJson(rng, 2);
          if (x && typeof x === 'object' && !Array.isArray(x))
            for (const k of Object.keys(x))
              Object.defineProperty(body, k, {
                value: (x as Record<string, unknown>)[k],
                enumerable: true,
                writable: true,
                configurable: true,
              });
        }
        const hasBody = r.method === 'POST';
        const query = hasBody
          ? ''
          : '?' +
            new URLSearchParams(
              Object.entries(body).map(([k, v]) => [k, typeof v === 'string' ? v : (JSON.stringify(v) ?? '')]),
            ).toString();
        const id =
          rng.next() < 0.8 ? biz.phoneNumberId : String(rng.pick(['', '0', '%00', 'x'.repeat(300), ...INHERITED]));
        const res = await fetch(
          `${t.url}/v${rng.int(30)}.${rng.int(10)}${r.path.replace(':phoneNumberId', encodeURIComponent(id))}${query}`,
          {
            method: r.method,
            headers: {
              authorization: `Bearer ${biz.accessToken}`,
              ...(hasBody ? { 'content-type': 'application/json' } : {}),
            },
            ...(hasBody ? { body: JSON.stringify(body) } : {}),
          },
        );
        const what = `${r.name} ${id.slice(0, 20)} ${JSON.stringify(body).slice(0, 200)} ${seedNote}`;
        const answer = parseJson(await res.text());
        assert.ok(res.status < 500, `${what}: ${res.status}`);
        if (res.status >= 400) {
          assert.ok(
            businessErrorBodySchema.strict().safeParse(answer).success,
            `${what}: not the documented error body`,
          );
          assert.deepEqual(snapshot(t), base, `${what}: refused, yet the database changed`);
          assert.deepEqual(await ctx.storage.business.getProfile(biz.businessId), profile, `${what}: profile changed`);
        } else {
          base = snapshot(t);
          profile = await ctx.storage.business.getProfile(biz.businessId);
        }
      }
    }
  });

  it('answers random template, template-send and media-upload input with the documented error body, never a 500', async () => {
    const rng = prng(SEED + 11);
    const ctx = t.server.ctx;
    const biz = await new BusinessAccounts(ctx.storage, ctx.secrets, ctx.now).create({
      name: 'Fuzz Templates',
      phone: `+1415556${String(rng.int(10_000)).padStart(4, '0')}`,
    });
    let base = snapshot(t);
    const auth = { authorization: `Bearer ${biz.accessToken}` };
    /** A 4xx must be the documented body and leave the database as it was; a success moves the baseline. */
    const judge = async (res: Response, what: string) => {
      const answer = parseJson(await res.text());
      assert.ok(res.status < 500, `${what}: ${res.status} ${seedNote}`);
      if (res.status >= 400) {
        assert.ok(businessErrorBodySchema.strict().safeParse(answer).success, `${what}: not the documented error body`);
        assert.deepEqual(snapshot(t), base, `${what}: refused, yet the database changed`);
      } else base = snapshot(t);
    };
    /** Random values for a schema's fields, or a random object. */
    const randomBody = (fields: string[]) => {
      const body: Record<string, unknown> = {};
      if (rng.next() < 0.5) for (const f of fields) body[f] = randomJson(rng, 2);
      else {
        const x = randomJson(rng, 2);
        if (x && typeof x === 'object' && !Array.isArray(x))
          for (const k of Object.keys(x))
            Object.defineProperty(body, k, {
              value: (x as Record<string, unknown>)[k],
              enumerable: true,
              writable: true,
              configurable: true,
            });
      }
      return body;
    };
    for (const r of TEMPLATE_ROUTES) {
      const fields = [...fieldsOf(r.query as z.ZodType), ...(r.body ? fieldsOf(r.body as z.ZodType) : [])];
      for (let i = 0; i < 24; i++) {
        const body = randomBody(fields);
        const hasBody = r.method === 'POST';
        const query = hasBody
          ? ''
          : '?' +
            new URLSearchParams(
              Object.entries(body).map(([k, v]) => [k, typeof v === 'string' ? v : (JSON.stringify(v) ?? '')]),
            ).toString();
        const id =
          rng.next() < 0.8 ? biz.businessId : String(rng.pick(['', '0', '%00', 'x'.repeat(300), ...INHERITED]));
        const res = await fetch(
          `${t.url}/v${rng.int(30)}.${rng.int(10)}${r.path.replace(':businessId', encodeURIComponent(id))}${query}`,
          {
            method: r.method,
            headers: { ...auth, ...(hasBody ? { 'content-type': 'application/json' } : {}) },
            ...(hasBody ? { body: JSON.stringify(body) } : {}),
          },
        );
        await judge(res, `${r.name} ${id.slice(0, 20)} ${JSON.stringify(body).slice(0, 200)}`);
      }
    }
    // Template sends with random components (no template exists, so none is sent).
    for (let i = 0; i < 24; i++) {
      const components = Array.from({ length: rng.int(3) }, () => ({
        type: rng.pick(['header', 'body', 'button', 'BODY']),
        ...(rng.next() < 0.5 ? { sub_type: rng.pick(['url', 'quick_reply', 'copy_code', 'x']) } : {}),
        ...(rng.next() < 0.5 ? { index: rng.pick([0, '1', -1, 'x', 99, null]) } : {}),
        parameters: Array.from({ length: rng.int(3) }, () =>
          rng.next() < 0.5
            ? { type: rng.pick(['text', 'currency', 'date_time', 'image', 'payload']), ...randomBody([]) }
            : randomJson(rng, 2),
        ),
      }));
      const template = rng.next() < 0.3 ? randomJson(rng, 2) : { name: 'fuzz', language: { code: 'en' }, components };
      const res = await fetch(`${t.url}/v21.0/${biz.phoneNumberId}/messages`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ messaging_product: 'whatsapp', to: '14155550100', type: 'template', template }),
      });
      await judge(res, `template send ${JSON.stringify(template).slice(0, 200)}`);
    }
    // Media uploads: random forms, random bytes posing as forms, random media ids.
    for (let i = 0; i < 24; i++) {
      let body: BodyInit;
      const headers: Record<string, string> = { ...auth };
      if (rng.next() < 0.5) {
        const form = new FormData();
        for (let k = 0; k < rng.int(4); k++) {
          const name = rng.pick(['file', 'type', 'messaging_product', 'other']);
          if (rng.next() < 0.5) form.append(name, String(randomJson(rng, 1)));
          else
            form.append(
              name,
              new Blob([new Uint8Array(randomBytes(rng.int(64)))], {
                type: rng.pick(['image/png', 'text/plain', 'x/y']),
              }),
              rng.pick(['a.png', '', '../x']),
            );
        }
        body = form;
      } else {
        const boundary = rng.pick(['b', 'xyz', '']);
        headers['content-type'] = `multipart/form-data; boundary=${boundary}`;
        body = rng.pick([
          new Uint8Array(randomBytes(rng.int(200))),
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n${'x'.repeat(rng.int(20))}`,
          `--${boundary}\r\n\r\n\r\n--${boundary}--`,
          `--${boundary}--`,
        ]);
      }
      const res = await fetch(`${t.url}/v21.0/${biz.phoneNumberId}/media`, { method: 'POST', headers, body });
      await judge(res, `media upload ${i}`);
      const id = rng.pick(['1234567890123456', '0000000000000000', '9'.repeat(16)]);
      await judge(
        await fetch(
          `${t.url}/v21.0/${id}${rng.next() < 0.5 ? '/download' : ''}?${rng.pick(['', 'expires=1', 'x=y'])}`,
          {
            method: rng.pick(['GET', 'DELETE']),
            headers: auth,
          },
        ),
        `media ${id}`,
      );
    }
  });

  it('answers base64url fields no decoder accepts with bad_request, never 500', async () => {
    const rng = prng(SEED + 2);
    const before = snapshot(t);
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const key43 = () => toB64(randomBytes(32));
    // Bodies the schemas accept, each with one base64url field replaced by undecodable text.
    const cases: [string, string, (bad: string) => unknown][] = [
      ['PUT', '/v1/accounts/me/profile', (bad) => ({ version: 1, [rng.pick(['name', 'about', 'photo'])]: bad })],
      ['POST', '/v1/keypackages', (bad) => ({ keyPackages: [bad] })],
      ['POST', '/v1/keypackages', (bad) => ({ keyPackages: [], lastResort: bad })],
      [
        'POST',
        '/v1/links/l_AAAAAAAAAAAAAAAAAAAAAA/join',
        (bad) => ({
          ephemeralKey: rng.pick([bad, key43()]),
          request: bad,
          tokenHash: rng.pick([bad, key43()]),
        }),
      ],
      [
        'POST',
        '/v1/registration/verify',
        (bad) => ({
          phone: '+14155550123',
          code: '123456',
          identityKey: rng.pick([bad, key43()]),
          identityProof: bad,
          device: { name: 'x', signingKey: key43(), signingKeyCert: bad },
        }),
      ],
    ];
    for (let i = 0; i < 40; i++) {
      const [method, path, make] = rng.pick(cases);
      const body = make(badLengthB64(rng, method === 'PUT' ? 40 : 8));
      const r = await fetch(t.url + path, { method, headers: auth, body: JSON.stringify(body) });
      assertCatalogued(r.status, await r.json(), `${method} ${path} ${JSON.stringify(body).slice(0, 200)}`, [
        'bad_request',
      ]);
    }
    const s = await socket(t.url);
    assert.equal((await s.request('hello', { token, protocol: 1 })).status, 200);
    for (let i = 0; i < 10; i++) {
      const a = await s.request('putProfile', { version: 1, name: badLengthB64(rng) });
      assertCatalogued(a.status, a.body, 'ws putProfile', ['bad_request']);
    }
    s.ws.close();
    assert.deepEqual(snapshot(t), before);
  });

  it('answers what the HTTP parser refuses with catalogued JSON errors', async () => {
    const rng = prng(SEED + 3);
    const before = snapshot(t);
    const req = (line: string, headers = '', body = '') =>
      `${line}\r\nHost: x\r\nConnection: close\r\n${headers}\r\n${body}`;
    const badUrls = ['/v1/accounts/%zz', '/%E0%A4%A', '/v1/%', '/v1/accounts/a_%ff%fe'];
    for (let i = 0; i < 6; i++)
      badUrls.push(
        '/v1/accounts/' +
          Array.from({ length: 1 + rng.int(6) }, () => '%' + rng.pick(['zz', 'g0', 'C3', 'ff', '%'])).join(''),
      );
    const cases: [string, string | Buffer, string[]][] = [
      ...badUrls.map((u): [string, string, string[]] => [
        `bad URL ${u}`,
        req(`GET ${u} HTTP/1.1`, `Authorization: Bearer ${token}\r\n`),
        ['bad_request', 'not_found'],
      ]),
      [
        'long parameter',
        req(`GET /v1/accounts/${'a'.repeat(500)} HTTP/1.1`, `Authorization: Bearer ${token}\r\n`),
        ['bad_request'],
      ],
      [
        'long parameter on a POST route',
        req(
          `POST /v1/conversations/${'A'.repeat(300)}/leave HTTP/1.1`,
          `Authorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n`,
          '{}',
        ),
        ['bad_request'],
      ],
      [
        'header overflow',
        req('GET /v1/accounts/me HTTP/1.1', `X-Big: ${'h'.repeat(20 * 1024)}\r\n`),
        ['headers_too_large'],
      ],
      [
        'too many headers',
        req('GET /v1/accounts/me HTTP/1.1', Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`).join('\r\n') + '\r\n'),
        ['headers_too_large'],
      ],
      [
        'bad chunk size',
        req(
          'POST /v1/registration/code HTTP/1.1',
          'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n',
          'zz\r\n{}\r\n0\r\n\r\n',
        ),
        ['bad_request'],
      ],
      [
        'chunk longer than declared',
        req(
          'POST /v1/registration/code HTTP/1.1',
          'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n',
          '2\r\n{"phone":1}\r\n0\r\n\r\n',
        ),
        ['bad_request'],
      ],
      ['bad header line', req('GET /v1/accounts/me HTTP/1.1', 'Bad Header Without Colon\r\n'), ['bad_request']],
      [
        'content-length and chunked',
        req(
          'POST /v1/registration/code HTTP/1.1',
          'Content-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n',
          '2\r\n{}\r\n0\r\n\r\n',
        ),
        ['bad_request'],
      ],
      [
        'bad content-length',
        req('POST /v1/registration/code HTTP/1.1', 'Content-Type: application/json\r\nContent-Length: abc\r\n', '{}'),
        ['bad_request'],
      ],
      // WebSocket handshakes refused before any socket exists.
      [
        'upgrade on another path',
        req(
          'GET /v1/nope HTTP/1.1',
          'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n',
        ).replace('Connection: close\r\n', ''),
        ['not_found'],
      ],
      [
        'upgrade without a key',
        req(
          'GET /v1/ws HTTP/1.1',
          'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n',
        ).replace('Connection: close\r\n', ''),
        ['bad_request'],
      ],
      [
        'upgrade with a bad version',
        req(
          'GET /v1/ws HTTP/1.1',
          'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 99\r\n',
        ).replace('Connection: close\r\n', ''),
        ['bad_request'],
      ],
      [
        'upgrade by POST',
        req(
          'POST /v1/ws HTTP/1.1',
          'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n',
        ).replace('Connection: close\r\n', ''),
        ['bad_request'],
      ],
    ];
    for (const [what, request, codes] of cases) {
      const r = await rawHttp(t.url, request);
      assert.match(r.headers, /content-type: application\/json/i, `${what}: JSON answer ${seedNote}`);
      assertCatalogued(r.status, parseJson(r.body), what, codes);
    }
    assert.deepEqual(snapshot(t), before);
  });

  it('enforces the documented ciphertext limit per op', async () => {
    const before = snapshot(t);
    const s = await socket(t.url);
    assert.equal((await s.request('hello', { token, protocol: 1 })).status, 200);
    const send = (n: number) =>
      s.request('send', { conversationId: 'AAAAAAAAAAAAAAAAAAAAAA', clientMessageId: `fuzz-${n}` }, new Uint8Array(n));
    // At the limit the size is fine (the unknown conversation is what is refused); one byte over is not.
    assertCatalogued(...spread(await send(LIMITS.ciphertextBytes)), 'send at the limit', ['conversation_not_found']);
    assertCatalogued(...spread(await send(LIMITS.ciphertextBytes + 1)), 'send one byte over', ['payload_too_large']);
    const commit = (n: number) =>
      s.request(
        'commit',
        { conversationId: 'AAAAAAAAAAAAAAAAAAAAAA', clientMessageId: 'fuzz-commit', epoch: 0 },
        new Uint8Array(n),
      );
    assertCatalogued(...spread(await commit(LIMITS.commitBytes)), 'commit at the limit', ['conversation_not_found']);
    assertCatalogued(...spread(await commit(LIMITS.commitBytes + 1)), 'commit one byte over', ['payload_too_large']);
    const append = (n: number) =>
      s.request('appendUpload', { blobId: 'b_AAAAAAAAAAAAAAAAAAAAAA', offset: 0 }, new Uint8Array(n));
    assertCatalogued(...spread(await append(MEDIA_LIMITS.wsChunkBytes)), 'append at the limit', ['upload_not_found']);
    assertCatalogued(...spread(await append(MEDIA_LIMITS.wsChunkBytes + 1)), 'append one byte over', [
      'payload_too_large',
    ]);
    s.ws.close();
    assert.deepEqual(snapshot(t), before);
  });

  it('refuses a second hello on a socket, even one sent before the first is answered', async () => {
    const s = await socket(t.url);
    const [first, second] = await Promise.all([
      s.request('hello', { token, protocol: 1 }),
      s.request('hello', { token, protocol: 1 }),
    ]);
    assert.equal(first.status, 200);
    assertCatalogued(second.status, second.body, 'hello sent twice at once', ['bad_request']);
    const third = await s.request('hello', { token, protocol: 1 });
    assertCatalogued(third.status, third.body, 'hello after hello', ['bad_request']);
    // The socket still serves its device.
    assert.equal((await s.request('ping', {})).status, 200);
    s.ws.close();
  });

  it('answers random disappearing expiries outside the allowed range with catalogued errors that change nothing (C17)', async () => {
    const rng = prng(SEED + 7);
    const s = await socket(t.url);
    assert.equal((await s.request('hello', { token, protocol: 1 })).status, 200);
    // A conversation the fuzzer's device is in, so the expiry itself is what is judged.
    const conv = toB64(randomBytes(16));
    assert.equal((await s.request('createConversation', { conversationId: conv, kind: 'group' })).status, 200);
    const before = snapshot(t);
    const now = Date.now();
    const year = 365 * 86400_000;
    const expiry = (): unknown =>
      rng.pick([
        () => now - rng.int(10 * year),
        () => now + 2 * year + rng.int(1_000_000_000),
        () => -rng.int(1000),
        () => now + rng.int(1000) + 0.5,
        () => 1e300,
        () => randomJson(rng, 1),
      ])();
    for (let i = 0; i < 40; i++) {
      const expiresAt = expiry();
      const what = `expiresAt ${JSON.stringify(expiresAt)?.slice(0, 80)}`;
      const sent = await s.request(
        'send',
        { conversationId: conv, clientMessageId: `fuzz-expiry-${i}`, expiresAt },
        new Uint8Array(8),
      );
      assertCatalogued(sent.status, sent.body, `send ${what}`, ['expiry_out_of_range', 'bad_request']);
      const upload = await s.request('createUpload', { size: 100, digest: toB64(randomBytes(32)), expiresAt });
      assertCatalogued(upload.status, upload.body, `createUpload ${what}`, ['expiry_out_of_range', 'bad_request']);
    }
    assert.deepEqual(snapshot(t), before, `a refused expiry stored nothing ${seedNote}`);
    s.ws.close();
  });

  it('answers mutated image jobs with a catalogued error or a finished stream; refused ones call no provider and charge nothing', async () => {
    const rng = prng(SEED + 11);
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
      costPerImage: 0,
    };
    const t2 = await startServer('sqlite', {
      imagegenModels: [{ ...spec, id: 'studio', displayName: 'Studio', dailyQuota: 6 }],
      imagegenBlocklist: ['forbidden'],
    });
    try {
      const auth = {
        authorization: `Bearer ${deviceToken(await newClient(t2.url, undefined, { connect: false }))}`,
        'content-type': 'application/json',
      };
      const left = async () => {
        const r = await fetch(`${t2.url}/v1/imagegen/models`, { headers: auth });
        return ((await r.json()) as { models: { id: string; leftToday: number }[] }).models.find(
          (m) => m.id === 'studio',
        )!.leftToday;
      };
      const edges: Record<string, unknown[]> = {
        model: ['studio', 'pattern', '', 'x'.repeat(65), ...INHERITED],
        prompt: ['a boat', '', ' ', '\u0000', 'x'.repeat(4001), 'x'.repeat(17_000), 'the forbidden city', 'ok'],
        variants: [0, 1, 4, 5, -1, 1.5, '2', null],
        width: [63, 64, 4097, 1.5, null],
        height: [63, 64, 4097, null],
        aspectRatio: ['1:1', '0:1', '16:9', 'wide', ''],
        seed: [-1, 0, 2 ** 32, 1.5, '7'],
      };
      const fields = Object.keys(edges);
      for (let i = 0; i < 40; i++) {
        const body: Record<string, unknown> = { model: 'studio', prompt: 'a boat', width: 64, height: 64 };
        for (let k = 1 + rng.int(3); k > 0; k--) {
          const f = rng.pick(fields);
          body[f] = rng.next() < 0.8 ? rng.pick(edges[f]!) : randomJson(rng, 1);
        }
        if (rng.next() < 0.1) body[rng.pick(INHERITED)] = 1;
        const hits = fake.hits.length;
        const quota = await left();
        const r = await fetch(`${t2.url}/v1/imagegen/jobs`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify(body),
        });
        const text = await r.text();
        const what = `imagine ${JSON.stringify(body).slice(0, 160)}`;
        if (r.status >= 400) {
          assertCatalogued(r.status, JSON.parse(text), what);
          assert.equal(fake.hits.length, hits, `${what}: refused, yet a provider was called ${seedNote}`);
          assert.equal(await left(), quota, `${what}: refused, yet charged ${seedNote}`);
          continue;
        }
        const lastLine = JSON.parse(text.trim().split('\n').at(-1)!) as { type: string; error?: { code: string } };
        assert.ok(
          lastLine.type === 'result' || lastLine.type === 'error',
          `${what}: ${text.slice(0, 200)} ${seedNote}`,
        );
        if (lastLine.type === 'error') {
          assert.ok(lastLine.error!.code in ERRORS, `${what}: ${lastLine.error!.code} ${seedNote}`);
          assert.equal(await left(), quota, `${what}: failed, yet charged ${seedNote}`);
        }
      }
    } finally {
      await t2.close();
      await fake.close();
    }
  });

  it('caps unfinished uploads per account', async () => {
    const s = await socket(t.url);
    assert.equal((await s.request('hello', { token, protocol: 1 })).status, 200);
    const create = () => s.request('createUpload', { size: 100, digest: toB64(randomBytes(32)) });
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      const a = await create();
      assert.ok(a.status === 200, JSON.stringify(a.body));
      made.push(a.body.blobId as string);
    }
    const before = snapshot(t);
    const refused = await create();
    assertCatalogued(refused.status, refused.body, 'a fourth unfinished upload', ['too_many_uploads']);
    assert.deepEqual(snapshot(t), before, 'the refused upload stored nothing');
    // Discarding one makes room again.
    assert.equal((await s.request('deleteBlob', { blobId: made[0] })).status, 200);
    const again = await create();
    assert.equal(again.status, 200, JSON.stringify(again.body));
    for (const id of [...made.slice(1), again.body.blobId as string]) await s.request('deleteBlob', { blobId: id });
    s.ws.close();
  });

  it('caps simultaneous calls per device', async () => {
    const alice = await newClient(t.url, undefined, { connect: false });
    const s = await socket(t.url);
    assert.equal((await s.request('hello', { token: deviceToken(alice), protocol: 1 })).status, 200);
    const convs = [randomBytes(16).toString('base64url'), randomBytes(16).toString('base64url')];
    for (const conversationId of convs)
      assert.equal((await s.request('createConversation', { conversationId, kind: 'group' })).status, 200);
    const join = (conv: string) =>
      s.request('callJoin', { conversationId: conv, callId: `fuzz_call_${randomBytes(6).toString('hex')}` });
    const first = await join(convs[0]!);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const second = await join(convs[1]!);
    assertCatalogued(second.status, second.body, 'a second simultaneous call', ['too_many_calls']);
    // Leaving the first call makes room for another.
    assert.equal((await s.request('callLeave', { callId: first.body.callId })).status, 200);
    const third = await join(convs[1]!);
    assert.equal(third.status, 200, JSON.stringify(third.body));
    s.ws.close();
    await s.closed;
    await alice.close();
  });
});

function spread(a: Answer): [number, unknown] {
  return [a.status, a.body];
}
