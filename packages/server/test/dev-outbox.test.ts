/**
 * The development sender cannot be used to take over accounts (C1, C19): with the dev outbox the
 * server listens on loopback unless PARLEY_HOST is set, and `GET /dev/outbox` answers only the
 * operator token printed at start, or loopback requests while no host was set. The start banner
 * says so. Access control over HTTP, not storage: SQLite is enough.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { loadConfig, startBanner } from '../src/index.ts';
import { nextPhone, startServer, type TestServer } from '@parley/testkit';

const TOKEN = 'operator-token-0123456789';

async function outbox(t: TestServer, remoteAddress: string, headers: Record<string, string> = {}) {
  const r = await t.server.app.inject({ method: 'GET', url: '/dev/outbox', remoteAddress, headers });
  return {
    status: r.statusCode,
    body: r.json() as { messages?: { to: string; code: string }[]; error?: { code: string } },
  };
}

async function requestCode(t: TestServer, phone: string): Promise<void> {
  const r = await t.server.app.inject({ method: 'POST', url: '/v1/registration/code', payload: { phone } });
  assert.equal(r.statusCode, 202, r.body);
}

describe('dev outbox', () => {
  describe('with PARLEY_HOST unset (the default)', () => {
    let t: TestServer;
    const phone = nextPhone();
    before(async () => {
      t = await startServer('sqlite', { devOutboxToken: TOKEN });
      await requestCode(t, phone);
    });
    after(async () => t?.close());

    it('listens on loopback only', () => {
      assert.equal(loadConfig({}).host, undefined);
      assert.equal((t.server.app.server.address() as AddressInfo).address, '127.0.0.1');
    });

    it('answers loopback requests without a token', async () => {
      for (const ip of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
        const r = await outbox(t, ip);
        assert.equal(r.status, 200, ip);
        assert.ok(
          r.body.messages?.some((m) => m.to === phone),
          ip,
        );
      }
    });

    it('refuses another machine without the token, and a wrong token from anywhere', async () => {
      for (const [ip, headers] of [
        ['203.0.113.5', {}],
        ['10.0.0.7', { authorization: 'Bearer not-the-token-at-all' }],
        ['127.0.0.1', { authorization: 'Bearer not-the-token-at-all' }],
        ['203.0.113.5', { authorization: TOKEN }],
      ] as [string, Record<string, string>][]) {
        const r = await outbox(t, ip, headers);
        assert.equal(r.status, 403, `${ip} ${JSON.stringify(headers)}`);
        assert.equal(r.body.error?.code, 'dev_outbox_forbidden');
        assert.equal(r.body.messages, undefined, 'no code leaks');
      }
    });

    it('refuses a loopback request relayed by a proxy without the token', async () => {
      for (const header of ['x-forwarded-for', 'forwarded', 'x-real-ip']) {
        const r = await outbox(t, '127.0.0.1', {
          [header]: header === 'forwarded' ? 'for=203.0.113.5' : '203.0.113.5',
        });
        assert.equal(r.body.error?.code, 'dev_outbox_forbidden', header);
      }
    });

    it('answers another machine that carries the operator token', async () => {
      const r = await outbox(t, '203.0.113.5', { authorization: `Bearer ${TOKEN}` });
      assert.equal(r.status, 200);
      assert.ok(r.body.messages?.some((m) => m.to === phone));
    });

    it('says so in the start banner, with the token', () => {
      const banner = startBanner(t.server.ctx.config, t.url, t.server.ctx.sender).join('\n');
      assert.match(banner, /Listening on 127\.0\.0\.1 only/);
      assert.ok(banner.includes(`Bearer ${TOKEN}`), banner);
      assert.ok(banner.includes(`${t.url}/dev/outbox`), banner);
      assert.match(banner, /from this machine need no token while PARLEY_HOST is unset/);
    });
  });

  describe('with PARLEY_HOST set', () => {
    let t: TestServer;
    const phone = nextPhone();
    before(async () => {
      t = await startServer('sqlite', { host: '127.0.0.1', devOutboxToken: TOKEN });
      await requestCode(t, phone);
    });
    after(async () => t?.close());

    it('asks every request for the token, loopback included', async () => {
      for (const ip of ['127.0.0.1', '::1', '203.0.113.5']) {
        const r = await outbox(t, ip);
        assert.equal(r.status, 403, ip);
        assert.equal(r.body.error?.code, 'dev_outbox_forbidden');
      }
      const ok = await outbox(t, '127.0.0.1', { authorization: `Bearer ${TOKEN}` });
      assert.equal(ok.status, 200);
      assert.ok(ok.body.messages?.some((m) => m.to === phone));
      const banner = startBanner(t.server.ctx.config, t.url, t.server.ctx.sender).join('\n');
      assert.match(banner, /Every request needs the token \(PARLEY_HOST is set\)/);
    });
  });

  it('makes a random token per start when PARLEY_DEV_OUTBOX_TOKEN is unset, and refuses a short one', async () => {
    const a = await startServer('sqlite');
    const b = await startServer('sqlite');
    try {
      const tokenOf = (t: TestServer) =>
        /Bearer ([A-Za-z0-9_-]+)/.exec(startBanner(t.server.ctx.config, t.url, t.server.ctx.sender).join('\n'))?.[1] ??
        '';
      assert.ok(tokenOf(a).length >= 32);
      assert.notEqual(tokenOf(a), tokenOf(b));
      assert.equal((await outbox(a, '203.0.113.5', { authorization: `Bearer ${tokenOf(a)}` })).status, 200);
      assert.equal((await outbox(a, '203.0.113.5', { authorization: `Bearer ${tokenOf(b)}` })).status, 403);
    } finally {
      await a.close();
      await b.close();
    }
    assert.throws(() => loadConfig({ PARLEY_DEV_OUTBOX_TOKEN: 'short' }), /PARLEY_DEV_OUTBOX_TOKEN/);
  });
});
