/**
 * The one dispatcher (C3): HTTP routes and WebSocket frames reach the handler table through the
 * same `dispatch`, so the same request meets the same checks and gets the same catalogued error
 * whichever transport carried it; only the framing differs (a missing binary body is
 * `unsupported_media_type` over HTTP and `bad_frame` over a socket, a quiet ack is unanswered
 * only on a socket). Inherited property names are never ops, and the per-op payload limit is the
 * transport's: a WebSocket media chunk is held to `wsChunkBytes`, an HTTP one to the route's body
 * limit. On SQLite and PostgreSQL.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { MEDIA_LIMITS, ParleyError, encodeFrame } from '@parley/protocol';
import type { ParleyClient } from '@parley/sdk';
import { NO_ANSWER, dispatch } from '../src/dispatch.ts';
import { availableDrivers, newClient, startServer, until, type TestServer } from '@parley/testkit';
import { deviceToken } from '@parley/sdk/testing';

type Body = { error?: { code: string } } & Record<string, unknown>;
type Answer = { id: number; status: number; body: Body };

/** An authenticated raw socket and the text answers it received. */
async function socket(url: string, token: string) {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/v1/ws', { perMessageDeflate: false });
  const answers: Answer[] = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) answers.push(JSON.parse(data.toString('utf8')) as Answer);
  });
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  let next = 1;
  const ask = async (op: string, body: unknown, payload?: Uint8Array): Promise<Answer> => {
    const id = next++;
    ws.send(payload ? encodeFrame({ id, op, body }, payload) : JSON.stringify({ id, op, body }));
    return until(async () => answers.find((a) => a.id === id), 10_000, `answer to ${op}`);
  };
  return { ws, answers, ask, next: () => next++ };
}

for (const { driver, skip } of await availableDrivers()) {
  describe(`one dispatcher for HTTP and WebSocket [${driver}]`, { skip }, () => {
    let t: TestServer;
    let alice: ParleyClient;
    let token: string;
    before(async () => {
      t = await startServer(driver);
      alice = await newClient(t.url, undefined, { connect: false });
      token = deviceToken(alice);
    });
    after(async () => {
      await alice?.close();
      await t?.close();
    });

    const http = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
      fetch(t.url + path, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as Body }));

    it('answers the same request with the same error over both transports', async () => {
      const s = await socket(t.url, token);
      try {
        assert.equal((await s.ask('getAccount', { accountId: 'a_x' })).status, 401, 'nothing runs before hello');
        assert.equal((await s.ask('hello', { token, protocol: 1 })).status, 200);
        const cases: [string, string, string, unknown, Record<string, unknown>][] = [
          ['GET', '/v1/accounts/not-an-id', 'getAccount', undefined, { accountId: 'not-an-id' }],
          ['PUT', '/v1/accounts/me/pin', 'setPin', { pin: null, extra: 1 }, { pin: null, extra: 1 }],
          ['PUT', '/v1/accounts/me/pin', 'setPin', { pin: 7 }, { pin: 7 }],
          ['POST', '/v1/deliveries/ack', 'ack', { cursors: [] }, { cursors: [] }],
        ];
        for (const [method, path, op, httpBody, wsBody] of cases) {
          const overHttp = await http(method, path, httpBody);
          const overWs = await s.ask(op, wsBody);
          assert.equal(overHttp.body.error?.code, 'bad_request', `${op} over HTTP`);
          assert.equal(overWs.body.error?.code, overHttp.body.error?.code, `${op}: the socket gets what HTTP gets`);
          assert.equal(overWs.status, overHttp.status);
        }
        for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
          assert.equal((await s.ask(name, {})).body.error?.code, 'unknown_op', `${name} is inherited, not an op`);
        }
        assert.equal(
          (await s.ask('appendUpload', { blobId: 'b', offset: 0 })).body.error?.code,
          'bad_frame',
          'a payload op needs a binary frame',
        );
        assert.equal(
          (await s.ask('me', {}, new Uint8Array([1]))).body.error?.code,
          'bad_frame',
          'an op without payload refuses one',
        );
        const noBytes = await http('PATCH', '/v1/media/uploads/b_AAAAAAAAAAAAAAAAAAAAAA?offset=0', {});
        assert.equal(
          noBytes.body.error?.code,
          'unsupported_media_type',
          'over HTTP the same rule is about the body type',
        );
      } finally {
        s.ws.close();
      }
    });

    it('leaves a quiet ack unanswered on a socket only; HTTP always answers', async () => {
      const s = await socket(t.url, token);
      try {
        assert.equal((await s.ask('hello', { token, protocol: 1 })).status, 200);
        const quietId = s.next();
        s.ws.send(JSON.stringify({ id: quietId, op: 'ack', body: { cursors: [1], quiet: true } }));
        // Frames of one socket are answered in order, so once the ping behind it is answered the
        // quiet ack has run.
        assert.equal((await s.ask('ping', {})).status, 200);
        assert.equal(
          s.answers.find((a) => a.id === quietId),
          undefined,
          'no answer to the quiet ack',
        );
        assert.equal((await s.ask('ack', { cursors: [1] })).status, 200, 'an ordinary ack is answered');
        const overHttp = await http('POST', '/v1/deliveries/ack', { cursors: [1], quiet: true });
        assert.equal(overHttp.status, 200);
        assert.equal(typeof overHttp.body.acked, 'number');
      } finally {
        s.ws.close();
      }
    });

    it('checks auth and the payload limit of the transport in the dispatcher itself', () => {
      const ctx = t.server.ctx;
      const code = (fn: () => unknown) => {
        try {
          fn();
        } catch (e) {
          return e instanceof ParleyError ? e.code : String(e);
        }
        return 'ran';
      };
      assert.equal(
        code(() => dispatch(ctx, { ip: '127.0.0.1', transport: 'http' }, 'me', {}, null)),
        'unauthenticated',
        'an op that needs a device refuses a caller without one',
      );
      const device = { ip: '127.0.0.1', accountId: 'a_AAAAAAAAAAAAAAAAAAAAAA', deviceId: 'd_AAAAAAAAAAAAAAAAAAAAAA' };
      const chunk = new Uint8Array(MEDIA_LIMITS.wsChunkBytes + 1);
      const body = { blobId: 'b_AAAAAAAAAAAAAAAAAAAAAA', offset: 0 };
      assert.equal(
        code(() => dispatch(ctx, { ...device, transport: 'ws' }, 'appendUpload', body, chunk)),
        'payload_too_large',
        'a socket chunk is held to wsChunkBytes',
      );
      const overHttp = code(() => {
        const p = dispatch(ctx, { ...device, transport: 'http' }, 'appendUpload', body, chunk);
        p.catch(() => undefined);
      });
      assert.equal(overHttp, 'ran', 'an HTTP chunk up to the route body limit reaches its action');
      assert.equal(
        code(() => dispatch(ctx, { ...device, transport: 'ws' }, 'toString', {}, null)),
        'unknown_op',
      );
    });

    it('resolves a quiet ack to NO_ANSWER on a socket and to the answer over HTTP', async () => {
      const ctx = t.server.ctx;
      const me = (await http('GET', '/v1/accounts/me')).body as { accountId: string; deviceId: string };
      const caller = { ip: '127.0.0.1', accountId: me.accountId, deviceId: me.deviceId };
      assert.equal(
        await dispatch(ctx, { ...caller, transport: 'ws' }, 'ack', { cursors: [1], quiet: true }, null),
        NO_ANSWER,
      );
      assert.deepEqual(
        await dispatch(ctx, { ...caller, transport: 'http' }, 'ack', { cursors: [1], quiet: true }, null),
        { acked: 0 },
      );
    });
  });
}
