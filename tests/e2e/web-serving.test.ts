/**
 * Serving the web client safely (C15, C19), against a real `parley serve` and real Chromium: every
 * file of the client carries a strict Content-Security-Policy (no inline script, no eval,
 * `frame-ancestors 'none'`), `Referrer-Policy: no-referrer` and `X-Content-Type-Options: nosniff`;
 * index.html holds no inline script and links a favicon and a web app manifest that load; the
 * bundle is split into content-hashed chunks. Then, under that policy and with a cold cache, the
 * first screen renders, two people register, chat over the WebSocket and open the lazily loaded QR
 * scanner, and the pages report no policy violation. The first-screen time is printed (the figure
 * in docs/web.md); its bound is a deliberately generous 5 s, since timing is not behaviour.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from './helpers/expect.ts';
import { ROOT, startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import { closeBrowserSuite, openChat, registerInBrowser } from './helpers/web.ts';
import { browserUnavailable, launch } from './helpers/browser.ts';

const skip = browserUnavailable();

/** Size of the single script the client was built into before it was split (apps/web, v0.1.0). */
const UNSPLIT_ENTRY_BYTES = 850_917;

/** A Vite output file named by a hash of its content: `assets/name-XXXXXXXX.ext`. */
const HASHED = /^\/assets\/[A-Za-z0-9_.-]+-[A-Za-z0-9_-]{8}\.(js|css)$/;

/** Check the three security headers of one web-client answer. */
function assertSecurityHeaders(res: Response, what: string): void {
  const csp = res.headers.get('content-security-policy') ?? '';
  const directives = new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .map(([name, ...values]) => [name!, values]),
  );
  assert.deepEqual(directives.get('script-src'), ["'self'"], `${what}: scripts only from the origin (${csp})`);
  assert.deepEqual(directives.get('frame-ancestors'), ["'none'"], `${what}: nobody may frame the client`);
  assert.deepEqual(directives.get('object-src'), ["'none'"], `${what}: no plug-ins`);
  assert.ok(directives.has('default-src'), `${what}: a default for everything not listed`);
  assert.ok(!/unsafe-inline|unsafe-eval/.test(csp), `${what}: no 'unsafe-inline' or 'unsafe-eval'`);
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer', `${what}: Referrer-Policy`);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `${what}: X-Content-Type-Options`);
}

/** Record CSP violations (and the console's word on them) in a page from its first script on. */
async function watchViolations(page: Page, into: string[]): Promise<void> {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (e) =>
      seen.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`),
    );
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content.Security.Policy/i.test(m.text())) into.push(`console: ${m.text()}`);
  });
}

/** The violations a page recorded itself. */
function violationsIn(page: Page): Promise<string[]> {
  return page.evaluate(
    () => (window as unknown as { cspViolations?: string[] }).cspViolations ?? ['(recorder missing)'],
  );
}

describe('web client served safely in Chromium', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-serving-'));
  let server: ServerProcess;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const consoleViolations: string[] = [];
  const phones = { alice: '+12025550181', bob: '+12025550182' };

  before(async () => {
    if (!existsSync(join(ROOT, 'apps/web/dist/index.html')))
      throw new Error('web client not built: npm run build --workspace @parley/web');
    server = await startServerProcess({ PARLEY_DATA_DIR: join(tmp, 'data') });
    browser = await launch();
  });

  after(() => closeBrowserSuite({ contexts, browsers: [browser], server, tmp }));

  it('serves index.html, client routes and every asset with the security headers; no inline script; hashed, split chunks', async () => {
    const index = await fetch(`${server.url}/`);
    assert.equal(index.status, 200);
    assertSecurityHeaders(index, '/');
    assert.equal(
      index.headers.get('cache-control'),
      'no-cache',
      'index.html is checked on every load, so a release is seen at once',
    );
    const html = await index.text();
    // A client-side route falls back to the same page, with the same headers.
    assertSecurityHeaders(await fetch(`${server.url}/chats/some-chat`), 'client route');

    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length >= 1, 'the page has its entry script');
    for (const [, attrs, body] of scripts) {
      assert.match(attrs!, /\bsrc="/, 'every script is a file, none inline');
      assert.equal(body!.trim(), '', 'no script body in the page');
    }
    assert.ok(!/\son[a-z]+=/i.test(html), 'no inline event handlers');

    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    const entry = /<script type="module"[^>]*src="([^"]+)"/.exec(html)?.[1];
    assert.ok(entry && assets.includes(entry), `entry script under /assets (${entry})`);
    const preloaded = [...html.matchAll(/<link rel="modulepreload"[^>]*href="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(preloaded.length >= 2, `vendor code sits in chunks of its own (${preloaded.join(', ')})`);
    let entryBytes = 0;
    for (const path of assets) {
      assert.match(path, HASHED, 'asset named by a hash of its content');
      const res = await fetch(`${server.url}${path}`);
      assert.equal(res.status, 200, path);
      assertSecurityHeaders(res, path);
      assert.match(res.headers.get('cache-control') ?? '', /immutable/, `${path}: hashed, so cached for good`);
      const bytes = (await res.arrayBuffer()).byteLength;
      if (path === entry) entryBytes = bytes;
    }
    console.log(
      `# entry script ${entry}: ${entryBytes} bytes (unsplit build: ${UNSPLIT_ENTRY_BYTES}); ${preloaded.length} chunks preloaded`,
    );
    assert.ok(
      entryBytes > 0 && entryBytes < UNSPLIT_ENTRY_BYTES / 2,
      `entry script ${entryBytes} bytes, less than half the unsplit ${UNSPLIT_ENTRY_BYTES}`,
    );

    // The API's JSON answers are not web pages and keep their own headers.
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.headers.get('content-security-policy'), null, 'no page policy on API answers');
  });

  it('links a favicon and a web app manifest that load with the right types', async () => {
    const html = await (await fetch(`${server.url}/`)).text();
    const icon = /<link rel="icon" href="([^"]+)"/.exec(html)?.[1];
    const manifestPath = /<link rel="manifest" href="([^"]+)"/.exec(html)?.[1];
    assert.ok(icon && manifestPath, 'favicon and manifest linked from index.html');

    const iconRes = await fetch(`${server.url}${icon}`);
    assert.equal(iconRes.status, 200);
    assert.match(iconRes.headers.get('content-type') ?? '', /^image\/svg\+xml/);
    assertSecurityHeaders(iconRes, icon);
    assert.match(await iconRes.text(), /^<svg\b/);

    const manifestRes = await fetch(`${server.url}${manifestPath}`);
    assert.equal(manifestRes.status, 200);
    assert.match(manifestRes.headers.get('content-type') ?? '', /^application\/manifest\+json/);
    const manifest = (await manifestRes.json()) as {
      name: string;
      start_url: string;
      display: string;
      icons: { src: string; type: string }[];
    };
    assert.equal(manifest.name, 'Parley');
    assert.equal(manifest.start_url, '/');
    assert.equal(manifest.display, 'standalone');
    assert.ok(manifest.icons.length >= 1, 'the manifest names an icon');
    for (const i of manifest.icons)
      assert.equal((await fetch(new URL(i.src, server.url))).status, 200, `icon ${i.src} loads`);
  });

  it(
    'renders the first screen from a cold cache, registers, chats and loads lazy code with no CSP violation',
    { timeout: 120_000 },
    async () => {
      // A fresh context has an empty cache: this is a first visit.
      const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
      contexts.push(desktop, phone);
      const alice = await desktop.newPage();
      const bob = await phone.newPage();
      for (const p of [alice, bob]) await watchViolations(p, consoleViolations);

      // First screen: from navigation start until the registration form is on screen.
      await alice.goto(server.url);
      await alice.getByLabel('Phone number').waitFor({ state: 'visible' });
      const firstScreenMs = await alice.evaluate(() => performance.now());
      const loaded = await alice.evaluate(() =>
        performance
          .getEntriesByType('resource')
          .map((r) => new URL(r.name).pathname)
          .filter((p) => p.startsWith('/assets/')),
      );
      console.log(`# first screen (cold cache, loopback): ${Math.round(firstScreenMs)} ms, ${loaded.length} assets`);
      assert.ok(
        firstScreenMs < 5_000,
        `first screen in ${Math.round(firstScreenMs)} ms (generous bound; the target is 1 s, docs/web.md)`,
      );
      assert.ok(!loaded.some((p) => p.includes('/scan-')), 'the QR reader is not part of the first screen');
      for (const chunk of ['CallOverlay-', 'GroupCallScreen-', 'note-recorder-'])
        assert.ok(!loaded.some((p) => p.includes(`/${chunk}`)), `${chunk} is not part of the first screen`);

      // The WebSocket, IndexedDB, MLS and the wire schemas all work under the policy.
      await registerInBrowser(alice, server.url, phones.alice);
      await registerInBrowser(bob, server.url, phones.bob);
      await openChat(alice, bob, phones.bob, 'Hello under a strict policy');
      await expect(
        () => alice.locator('.messages').getByText('Hello under a strict policy').isVisible(),
        'alice sees her message',
      );

      // Lazy code: the QR reader loads when Bob scans with his (fake) camera.
      // (Watched as responses: a page's resource-timing buffer fills up with API calls.)
      const bobLoaded: string[] = [];
      bob.on('response', (r) => void bobLoaded.push(`${r.status()} ${new URL(r.url()).pathname}`));
      await bob.getByRole('button', { name: 'Verify safety number' }).click();
      await bob.getByRole('button', { name: 'Scan their code' }).click();
      await bob.getByRole('button', { name: 'Stop scanning' }).waitFor({ state: 'visible' });
      // The button changes before the chunk has arrived, so wait for the chunk itself.
      await expect(
        () => bobLoaded.some((p) => /^200 \/assets\/scan-/.test(p)),
        () => `the QR reader chunk loaded on demand (${bobLoaded.join(', ')})`,
      );
      await bob.getByRole('button', { name: 'Stop scanning' }).click();

      for (const [name, page] of [
        ['alice', alice],
        ['bob', bob],
      ] as const) {
        assert.deepEqual(await violationsIn(page), [], `${name}'s page reported no CSP violation`);
      }
      assert.deepEqual(consoleViolations, [], 'the console reported no CSP violation');
    },
  );
});
