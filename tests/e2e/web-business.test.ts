/**
 * A chat with a hosted business in the web client (C10, docs/business.md "Where the keys live"),
 * in real Chromium against `parley serve`, which runs the business's device: the user opens a chat
 * with a business created by `parley business create`, and before any message the chat's top line
 * says in plain words that the server holds the business's keys (not the usual "not even Parley's
 * server" line); the business can answer only once the user has written (the customer-service
 * window); "Stop promotional messages" in the chat's menu reaches the business's webhook as a
 * `user_preferences` stop, and the item then offers to resume (by keyboard too); at phone and
 * desktop widths, with no serious axe violations.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
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

  /** The business's webhook: answers the handshake, records the marketing choices it hears. */
  let hook: Server;
  let hookUrl = '';
  const heard: string[] = [];
  const preferences = () => heard;
  before(async () => {
    hook = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'GET') {
        const ok = u.searchParams.get('hub.verify_token') === 'shrub-verify';
        res.writeHead(ok ? 200 : 403).end(ok ? (u.searchParams.get('hub.challenge') ?? '') : 'no');
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          entry: { changes: { value: { user_preferences?: { value: string }[] } }[] }[];
        };
        for (const e of body.entry)
          for (const c of e.changes) for (const p of c.value.user_preferences ?? []) heard.push(p.value);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((ok) => hook.listen(0, '127.0.0.1', ok));
    const addr = hook.address();
    hookUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/hook`;
    if (!existsSync(join(ROOT, 'apps/web/dist/index.html')))
      throw new Error('web client not built: npm run build --workspace @parley/web');
    server = await startServerProcess(env);
    browser = await launch();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
  });
  after(async () => {
    await closeBrowserSuite({ contexts: [context], browsers: [browser], server, tmp });
    await new Promise((ok) => hook?.close(ok));
  });

  it(
    'says before the first message that the server holds the business keys, and stops its promotions from the menu',
    { timeout: 180_000 },
    async () => {
      const created = await parley(
        [
          'business',
          'create',
          '--name',
          'Lucky Shrub',
          '--phone',
          '+14155550166',
          '--webhook',
          hookUrl,
          '--verify-token',
          'shrub-verify',
        ],
        env,
      );
      assert.equal(created.code, 0, created.stderr);
      const biz = created.lines[0] as { phoneNumberId: string; accessToken: string };
      await registerInBrowser(page, server.url, phone);
      // The user opens the chat: the note comes before any message. The business's device registers
      // within seconds of `create`; until then starting the chat shows an error and is tried again.
      await page.getByRole('button', { name: 'New chat' }).click();
      await page.getByLabel('Phone number or username').fill('+14155550166');
      const note = page.getByRole('note').filter({ hasText: 'holds its keys' });
      const start = page.getByRole('button', { name: 'Start chat' });
      await expect(
        async () => {
          if (await note.isVisible()) return true;
          if ((await start.isVisible()) && (await start.isEnabled())) await start.click();
          return false;
        },
        'the business chat opens',
        60_000,
      );
      assert.match(
        (await note.textContent()) ?? '',
        /Lucky Shrub is a business\. This Parley server runs its device and holds its keys/,
      );
      assert.equal(await page.getByText('not even Parley', { exact: false }).count(), 0);

      // The business may answer once the user has written (the customer-service window).
      const reply = () =>
        fetch(`${server.url}/v21.0/${biz.phoneNumberId}/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${biz.accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            messaging_product: 'whatsapp',
            to: phone,
            type: 'text',
            text: { body: 'Welcome to Lucky Shrub' },
          }),
        });
      const closed = await reply();
      assert.equal(closed.status, 400, 'the window is closed before the user writes');
      await page.getByRole('textbox', { name: 'Message' }).fill('Is the fern in stock?');
      await page.getByRole('button', { name: 'Send' }).click();
      let status = 0;
      await expect(
        async () => {
          status = (await reply()).status;
          return status === 200;
        },
        () => `the business could answer (last status ${status})`,
        30_000,
      );
      await expect(() => page.locator('.messages').getByText('Welcome to Lucky Shrub').isVisible(), 'the answer shows');

      // "Stop promotional messages" in the chat's menu: said in the chat, heard by the business.
      const menu = page.getByRole('button', { name: 'More options' });
      await menu.click();
      await page.getByRole('menuitem', { name: 'Stop promotional messages' }).click();
      await expect(() => preferences().includes('stop'), 'the business hears the stop', 30_000);
      await menu.click();
      const resume = page.getByRole('menuitem', { name: 'Resume promotional messages' });
      await expect(() => resume.isVisible(), 'the menu offers to resume');
      assert.deepEqual(await seriousAxeViolations(page), []);
      await page.keyboard.press('Escape');

      for (const width of [360, 390, 768, 1280]) {
        await page.setViewportSize({ width, height: 800 });
        assert.ok(await note.isVisible(), `note visible at ${width} px`);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
        assert.equal(overflow, false, `no sideways scroll at ${width} px`);
        if (width === 360 || width === 1280) {
          await menu.click();
          await page.screenshot({ path: join(ROOT, `.test-tmp/web-business-${width}.png`) });
          await page.keyboard.press('Escape');
        }
      }
      // Resumed by keyboard.
      await menu.focus();
      await page.keyboard.press('Enter');
      await expect(() => resume.isVisible(), 'the menu is open');
      await resume.focus();
      await page.keyboard.press('Enter');
      await expect(() => preferences().includes('resume'), 'the business hears the resume', 30_000);
    },
  );
});
