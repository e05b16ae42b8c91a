/**
 * Structured logs (C19), on SQLite and PostgreSQL: the server's own logger, captured at `trace`
 * while clients register (code requested, read from the dev outbox, verified), authenticate over
 * HTTP and WebSocket, and exchange messages, never writes a phone number, a verification code or
 * a device token; fields with those names, and credentials in request headers, come out as
 * `[Redacted]`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { DestinationStream } from 'pino';
import type { ParleyClient } from '@parley/sdk';
import { availableDrivers, newClient, nextPhone, outboxCode, startServer, type TestServer } from '@parley/testkit';
import { deviceToken } from '@parley/sdk/testing';

const drivers = await availableDrivers();

/** A pino destination that keeps every line in memory. */
function capture(): DestinationStream & { lines: string[] } {
  const lines: string[] = [];
  return { lines, write: (s: string) => void lines.push(s) };
}

/** Every form a phone number may take in a log line: E.164, URL-encoded, or bare national digits. */
function phoneForms(phone: string): string[] {
  return [phone, encodeURIComponent(phone), phone.slice(2)];
}

for (const { driver, skip } of drivers) {
  describe(`logging [${driver}]`, { skip }, () => {
    let t: TestServer;
    const sink = capture();
    const clients: ParleyClient[] = [];
    before(async () => {
      t = await startServer(driver, { logLevel: 'trace' }, { logDestination: sink });
    });
    after(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await t?.close();
    });

    it('writes no phone number, verification code or token while clients register and talk', async () => {
      // A registration by hand, so the test knows the code the server sent.
      const phone = nextPhone();
      const asked = await fetch(`${t.url}/v1/registration/code`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ phone }),
      });
      assert.equal(asked.status, 202);
      const { sessionId } = (await asked.json()) as { sessionId: string };
      const code = await outboxCode(t.url, phone);
      // A wrong code with the number in the body: the refusal path logs too.
      const wrong = await fetch(`${t.url}/v1/registration/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sessionId, phone, code: code === '000000' ? '111111' : '000000', identityKey: 'x' }),
      });
      assert.equal(wrong.status, 400);

      const alice = await newClient(t.url);
      const bob = await newClient(t.url);
      clients.push(alice, bob);
      const conv = await alice.startDirect(await alice.lookupPhone(bob.phone));
      const got = bob.once('message');
      await alice.sendText(conv, 'hello bob');
      assert.equal((await got).text, 'hello bob');
      // The devices' real bearer tokens (the SDK keeps them privately; read here only to search for them).
      const tokens = [alice, bob].map((c) => deviceToken(c));
      assert.ok(tokens.every((x) => x.length >= 20));
      // A bad bearer token over HTTP: refused, and the header is not logged.
      const secretToken = 'tok_' + 'A'.repeat(40);
      const me = await fetch(`${t.url}/v1/accounts/me`, { headers: { authorization: `Bearer ${secretToken}` } });
      assert.equal(me.status, 401);

      const text = sink.lines.join('');
      assert.ok(sink.lines.length > 10, 'the server logged the traffic');
      assert.ok(text.includes('/v1/registration/code'), 'requests are logged');
      for (const p of [phone, alice.phone, bob.phone])
        for (const form of phoneForms(p)) assert.ok(!text.includes(form), `phone number ${form} is in the log`);
      for (const form of [`"${code}"`, `=${code}`, ` ${code}`])
        assert.ok(!text.includes(form), `verification code ${code} is in the log`);
      for (const x of [...tokens, secretToken]) assert.ok(!text.includes(x), 'a bearer token is in the log');
      assert.ok(text.includes('?to=[Redacted]'), 'the dev outbox query is logged with the number blanked');
    });

    it('blanks token, code and phone fields and credential headers in any log object', () => {
      sink.lines.length = 0;
      const phone = nextPhone();
      t.server.ctx.log.warn(
        {
          phone,
          to: phone,
          token: 'device-token-value',
          code: '424242',
          pin: '9999',
          body: { phone, code: '434343', registrationLockPin: '8888' },
          headers: { authorization: 'Bearer header-token-value', cookie: 'sid=cookie-value' },
          req: {
            method: 'GET',
            url: `/dev/outbox?to=${encodeURIComponent(phone)}&limit=5`,
            headers: { authorization: 'Bearer request-token-value' },
          },
          err: { type: 'Error', message: 'connect refused', code: 'ECONNREFUSED' },
        },
        'redaction probe',
      );
      assert.equal(sink.lines.length, 1);
      const line = JSON.parse(sink.lines[0]!) as Record<string, unknown> & {
        body: Record<string, unknown>;
        headers: Record<string, unknown>;
        req: Record<string, unknown>;
        err: { code: string };
      };
      for (const k of ['phone', 'to', 'token', 'code', 'pin']) assert.equal(line[k], '[Redacted]', k);
      assert.deepEqual(line.body, { phone: '[Redacted]', code: '[Redacted]', registrationLockPin: '[Redacted]' });
      assert.deepEqual(line.headers, { authorization: '[Redacted]', cookie: '[Redacted]' });
      // A request is logged as method and URL (sensitive query values blanked), never its headers.
      assert.deepEqual(line.req, { method: 'GET', url: '/dev/outbox?to=[Redacted]&limit=5' });
      assert.equal(line.err.code, 'ECONNREFUSED', 'an error code is not a secret');
      for (const secret of [
        phone,
        'device-token-value',
        '424242',
        '434343',
        '9999',
        '8888',
        'header-token-value',
        'request-token-value',
        'cookie-value',
      ])
        assert.ok(!sink.lines[0]!.includes(secret), secret);
    });
  });
}
