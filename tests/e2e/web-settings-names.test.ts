/**
 * Settings cards and contact names in the web client (C12, C15), in Chromium at desktop (1280×800)
 * and phone (390×844) width against a real server, with an SDK user who has a profile name.
 *
 * Settings: the status line a card shows after saving ("Profile saved.") passes axe-core's colour
 * contrast in the light and the dark scheme, and a card with nothing to say has no empty
 * `role=status` element (a screen reader lists every status region, empty ones too). Names: when
 * the other person's profile key reaches the page before their chat's row is on screen (the page
 * shows Settings meanwhile, or is not loaded and handles the key first thing), the row shows their profile name as soon as it is
 * shown, never "Contact …" until the 5-minute refresh.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { ParleyClient, WebSocketCtor } from '@parley/sdk';
import { registerTestClient } from '@parley/sdk/testing';
import { expect } from './helpers/expect.ts';
import { DEV_OUTBOX_TOKEN, ROOT, startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import { closeBrowserSuite, registerInBrowser } from './helpers/web.ts';
import { browserUnavailable, launch } from './helpers/browser.ts';
import { seriousAxeViolations } from './helpers/axe.ts';

const skip = browserUnavailable();
const WS = WebSocket as unknown as WebSocketCtor;

/** No element wider than the viewport at each width; a screenshot per width for a look. */
async function fitsWidths(page: Page, name: string): Promise<void> {
  const original = page.viewportSize()!;
  try {
    for (const width of [360, 390, 768, 1280]) {
      await page.setViewportSize({ width, height: original.height });
      const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(wide <= 0, `${name} at ${width} px is ${wide} px wider than the viewport`);
      await page.screenshot({ path: join(tmpdir(), `parley-settings-names-${name}-${width}.png`) });
    }
  } finally {
    await page.setViewportSize(original);
  }
}

/** `role=status` elements inside Settings cards that hold no text. */
function emptyStatuses(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      [...document.querySelectorAll('.settings [role="status"]')].filter((el) => !(el.textContent ?? '').trim()).length,
  );
}

describe('web Settings cards and contact names in Chromium', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-settings-names-'));
  let server: ServerProcess;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const pages: { page: Page; phone: string; label: string }[] = [];
  const sdk: ParleyClient[] = [];

  before(async () => {
    if (!existsSync(join(ROOT, 'apps/web/dist/index.html')))
      throw new Error('web client not built: npm run build --workspace @parley/web');
    server = await startServerProcess({ PARLEY_DATA_DIR: join(tmp, 'data') });
    browser = await launch();
    const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    contexts.push(desktop, phone);
    pages.push(
      { page: await desktop.newPage(), phone: '+12025550381', label: 'desktop' },
      { page: await phone.newPage(), phone: '+12025550382', label: 'phone' },
    );
    for (const p of pages) await registerInBrowser(p.page, server.url, p.phone);
  });

  after(async () => {
    for (const c of sdk) await c.close().catch(() => undefined);
    await closeBrowserSuite({ contexts, browsers: [browser], server, tmp });
  });

  it(
    'Settings status lines have contrast in both schemes and no empty status regions',
    { timeout: 120_000 },
    async () => {
      for (const { page, label } of pages) {
        await page.getByRole('button', { name: 'Settings' }).click();
        await page.getByLabel('Your name').waitFor();
        assert.equal(await emptyStatuses(page), 0, `${label}: no empty role=status in Settings before saving`);
        await page.getByLabel('Your name').fill(`Tester ${label}`);
        await page.getByRole('button', { name: 'Save profile' }).click();
        const saved = page.locator('.settings [aria-live="polite"]').getByText('Profile saved.', { exact: true });
        await expect(() => saved.isVisible(), `${label}: "Profile saved." shown`);
        // Two more cards say what they saved: privacy and the default timer.
        await page.getByLabel('Who can find me by my number').selectOption('nobody');
        await expect(
          () => page.locator('.settings').getByText('Saved: who can find me by my number: nobody.').isVisible(),
          `${label}: the privacy card says what it saved`,
        );
        await page.getByLabel('Default timer for new chats').selectOption('86400');
        await expect(
          () =>
            page
              .locator('.settings')
              .getByText(/^New chats start with/)
              .isVisible(),
          `${label}: the timer card says what it saved`,
        );
        assert.equal(await emptyStatuses(page), 0, `${label}: no empty role=status after saving`);
        for (const scheme of ['light', 'dark'] as const) {
          await page.emulateMedia({ colorScheme: scheme });
          await saved.scrollIntoViewIfNeeded();
          const found = await seriousAxeViolations(page);
          assert.deepEqual(found, [], `${label} ${scheme}: axe on Settings with a saved status`);
        }
        await page.emulateMedia({ colorScheme: 'light' });
        await fitsWidths(page, `settings-${label}`);
        // Put back what later steps expect.
        await page.getByLabel('Who can find me by my number').selectOption('everyone');
        await page.getByLabel('Default timer for new chats').selectOption('off');
        await page.getByRole('button', { name: 'Back to chats' }).click();
      }
    },
  );

  it(
    "shows the profile name of a contact whose key arrived before their chat's row",
    { timeout: 180_000 },
    async () => {
      for (const { page, phone, label } of pages) {
        const name = `Carol Finch ${label}`;
        const carol = await registerTestClient(server.url, { WebSocket: WS, outboxToken: DEV_OUTBOX_TOKEN });
        sdk.push(carol);
        await carol.setProfile({ name });
        // The list is not on screen while Carol opens the chat and writes: the page shows Settings.
        await page.getByRole('button', { name: 'Settings' }).click();
        await page.getByLabel('Your name').waitFor();
        const chat = await carol.startDirect(await carol.lookupPhone(phone));
        await carol.sendText(chat, `hello from ${name}`);
        // The key and the message reach the page while Settings is shown (the tab title counts it).
        await expect(async () => (await page.title()).startsWith('(1)'), `${label}: the message arrived`, 20_000);
        await page.getByRole('button', { name: 'Back to chats' }).click();
        const row = page.getByRole('button', { name: new RegExp(`Open chat ${name}`) });
        await expect(() => row.isVisible(), `${label}: the row names ${name}`, 20_000);
        assert.equal(await page.getByRole('button', { name: /Open chat Contact / }).count(), 0);

        // The same while the page is not loaded at all: the key waits in the server's queue and is
        // among the first things the reloaded page handles, before any row is drawn.
        const daveName = `Dave Marsh ${label}`;
        const dave = await registerTestClient(server.url, { WebSocket: WS, outboxToken: DEV_OUTBOX_TOKEN });
        sdk.push(dave);
        await dave.setProfile({ name: daveName });
        await page.goto('about:blank');
        const daveChat = await dave.startDirect(await dave.lookupPhone(phone));
        await dave.sendText(daveChat, `hello from ${daveName}`);
        await page.goto(server.url);
        const daveRow = page.getByRole('button', { name: new RegExp(`Open chat ${daveName}`) });
        await expect(() => daveRow.isVisible(), `${label}: after the reload the row names ${daveName}`, 20_000);
      }
    },
  );
});
