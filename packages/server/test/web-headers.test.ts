/**
 * Security headers of the served web client (C15, C19), in-process: every file of the client (the
 * page, a client-side route that falls back to it, a hashed asset, the favicon and the manifest)
 * carries the Content-Security-Policy, `Referrer-Policy: no-referrer` and `nosniff`, with a cache
 * policy that follows the build; the API's JSON answers carry no page policy. No storage is
 * involved, so one driver is enough; tests/e2e/web-serving.test.ts runs the real client under it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '@parley/testkit';
import { WEB_CSP } from '../src/http/web-headers.ts';

describe('web client headers', () => {
  const webDir = mkdtempSync(join(tmpdir(), 'parley-web-'));
  let t: TestServer;

  before(async () => {
    mkdirSync(join(webDir, 'assets'));
    writeFileSync(
      join(webDir, 'index.html'),
      '<!doctype html><title>Parley</title><script type="module" src="/assets/index-AbCd12_-.js"></script>',
    );
    writeFileSync(join(webDir, 'assets', 'index-AbCd12_-.js'), 'export {};');
    writeFileSync(join(webDir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(join(webDir, 'manifest.webmanifest'), '{"name":"Parley"}');
    t = await startServer('sqlite', { webDir });
  });

  after(async () => {
    await t.close();
    rmSync(webDir, { recursive: true, force: true });
  });

  const get = (path: string) => fetch(`${t.url}${path}`, { signal: AbortSignal.timeout(10_000) });

  function assertSecured(res: Response, path: string): void {
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get('content-security-policy'), WEB_CSP, `${path}: CSP`);
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer', `${path}: Referrer-Policy`);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `${path}: nosniff`);
  }

  it('the policy allows scripts only from the origin, no eval or inline code, and no framing', () => {
    const d = new Map(WEB_CSP.split('; ').map((x) => [x.split(' ')[0]!, x.split(' ').slice(1).join(' ')]));
    assert.equal(d.get('script-src'), "'self'");
    assert.equal(d.get('frame-ancestors'), "'none'");
    assert.equal(d.get('object-src'), "'none'");
    assert.ok(!WEB_CSP.includes('unsafe'), WEB_CSP);
  });

  it('secures the page, client routes, assets, favicon and manifest; caches only hashed assets for good', async () => {
    for (const path of ['/', '/chats/abc']) {
      const res = await get(path);
      assertSecured(res, path);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(res.headers.get('cache-control'), 'no-cache', `${path}: checked on every load`);
    }
    const asset = await get('/assets/index-AbCd12_-.js');
    assertSecured(asset, 'asset');
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const icon = await get('/favicon.svg');
    assertSecured(icon, 'favicon');
    assert.match(icon.headers.get('content-type') ?? '', /^image\/svg\+xml/);
    assert.equal(icon.headers.get('cache-control'), 'no-cache');
    const manifest = await get('/manifest.webmanifest');
    assertSecured(manifest, 'manifest');
    assert.match(manifest.headers.get('content-type') ?? '', /^application\/manifest\+json/);
  });

  it('leaves the API answers alone', async () => {
    for (const path of ['/healthz', '/v1/no-such-route']) {
      const res = await get(path);
      await res.arrayBuffer();
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/, path);
      assert.equal(res.headers.get('content-security-policy'), null, `${path}: no page policy`);
    }
  });
});
