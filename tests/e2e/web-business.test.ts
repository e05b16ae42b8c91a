/**
 * A chat with a hosted business in the web client (C10, docs/business.md "Where the keys live"),
 * in real Chromium against `parley serve`, which runs the business's device: a business created
 * with `parley business create` sends a text through the Business API; the user's page shows it,
 * and the chat's top line says in plain words that the server holds the business's keys (not the
 * usual "not even Parley's server" line), at phone and desktop widths, with no serious axe
 * violations.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from './helpers/expect.ts';
import { ROOT, startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import { closeBrowserSuite, registerInBrowser } from './helpers/web.ts';
import { browserUnavailable, launch } from './helpers/browser.ts';
import { seriousAxeViolations } from './helpers/axe.ts';
import { parley } from './helpers/cli.ts';

const skip = browserUnavailable();

describe('a hosted business chat in the web client', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-web-business-'));
  const env = { PARLEY_DATA_DIR: join(tmp, 'data') };
  let server: ServerProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const phone = '+12025550181';

  before(async () => {
    if (!existsSync(join(ROOT, 'apps/web/dist/index.html')))
      throw new Error('web client not built: npm run build --workspace @parley/web');
    server = await startServerProcess(env);
    browser = await launch();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
  });
  after(async () => closeBrowserSuite({ contexts: [context], browsers: [browser], server, tmp }));

  it('says before the first message that the server holds the business keys', { timeout: 120_000 }, async () => {
    const created = await parley(['business', 'create', '--name', 'Lucky Shrub', '--phone', '+14155550166'], env);
    assert.equal(created.code, 0, created.stderr);
    const biz = created.lines[0] as { phoneNumberId: string; accessToken: string };
    await registerInBrowser(page, server.url, phone);
    const res = await fetch(`${server.url}/v21.0/${biz.phoneNumberId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${biz.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        messaging_product: 'whatsapp',
        to: phone,
        type: 'text',
        text: { body: 'Welcome to Lucky Shrub' },
      }),
    });
    assert.equal(res.status, 200);
    const chat = page.getByRole('button', { name: /Open chat/ }).filter({ hasText: 'Welcome to Lucky Shrub' });
    await expect(() => chat.first().isVisible(), 'the business chat appears');
    await chat.first().click();
    const note = page.getByRole('note').filter({ hasText: 'holds its keys' });
    await expect(() => note.isVisible(), 'the key-location note');
    assert.match(
      (await note.textContent()) ?? '',
      /Lucky Shrub is a business\. This Parley server runs its device and holds its keys/,
    );
    assert.equal(await page.getByText('not even Parley', { exact: false }).count(), 0);
    assert.deepEqual(await seriousAxeViolations(page), []);
    for (const width of [360, 390, 768, 1280]) {
      await page.setViewportSize({ width, height: 800 });
      assert.ok(await note.isVisible(), `note visible at ${width} px`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
      assert.equal(overflow, false, `no sideways scroll at ${width} px`);
      if (width === 360 || width === 1280)
        await page.screenshot({ path: join(ROOT, `.test-tmp/web-business-${width}.png`) });
    }
  });
});
