/**
 * Disappearing messages in the web client in real Chromium (C17), against a real server: Alice
 * (desktop, 1280 px) sets a chat's timer from "More options" → "Disappearing messages…" (Custom,
 * 15 seconds) by keyboard; both pages show the system line and the header's timer mark; a message
 * sent then shows on both sides and leaves both screens when it expires. Bob (phone, 390 px) opens
 * the same dialog, which fits without sideways scrolling; Alice sets a default for new chats in
 * Settings. The dialog and the setting are checked with axe-core and screenshotted to /tmp.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from './helpers/expect.ts';
import { seriousAxeViolations, type AxeViolation } from './helpers/axe.ts';
import { ROOT, startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import { closeBrowserSuite, openChat, registerInBrowser } from './helpers/web.ts';
import { browserUnavailable, launch } from './helpers/browser.ts';

const skip = browserUnavailable();

/** Violations of these screens, leaving out the chat list rows' known name mismatch (see web-group-info). */
function ownViolations(found: AxeViolation[]): AxeViolation[] {
  return found.filter((v) => !(v.id === 'label-content-name-mismatch' && v.targets.every((t) => t === '.chat-item')));
}

/** The open chat's system lines. */
async function systemLines(page: Page): Promise<string[]> {
  const texts = await page.getByRole('list', { name: 'Message history' }).locator('li.group-event').allTextContents();
  return texts.map((t) => t.replace(/\s*·\s*\d{1,2}:\d{2}.*$/, '').trim());
}

describe('web client: disappearing messages', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-web-disappearing-'));
  let server: ServerProcess;
  let browser: Browser;
  let alice: Page;
  let bob: Page;
  const contexts: BrowserContext[] = [];
  const phones = { alice: '+12025550191', bob: '+12025550192' };

  before(async () => {
    if (!existsSync(join(ROOT, 'apps/web/dist/index.html')))
      throw new Error('web client not built: npm run build --workspace @parley/web');
    server = await startServerProcess({ PARLEY_DATA_DIR: join(tmp, 'data'), PARLEY_MESSAGE_SWEEP_SECONDS: '1' });
    browser = await launch();
    const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    contexts.push(desktop, phone);
    alice = await desktop.newPage();
    bob = await phone.newPage();
  });

  after(async () => closeBrowserSuite({ contexts, browsers: [browser], server, tmp }));

  it('sets a timer, shows who did, and a message leaves both screens at its expiry', { timeout: 240_000 }, async () => {
    await registerInBrowser(alice, server.url, phones.alice);
    await registerInBrowser(bob, server.url, phones.bob);
    await openChat(alice, bob, phones.bob, 'Hello there');

    // By keyboard: "More options", then "Disappearing messages…".
    await alice.getByRole('button', { name: 'More options' }).click();
    await alice.getByRole('menuitem', { name: 'Disappearing messages…' }).click();
    const dialog = alice.getByRole('dialog', { name: 'Disappearing messages' });
    await expect(() => dialog.isVisible(), 'the dialog opens');
    for (const name of ['Off', '24 hours', '7 days', '90 days', 'Custom'])
      assert.ok(await dialog.getByRole('radio', { name }).isVisible(), `${name} offered`);
    assert.ok(await dialog.getByRole('radio', { name: 'Off' }).isChecked(), 'off to begin with');
    await dialog.getByRole('radio', { name: 'Custom' }).check();
    await dialog.getByRole('spinbutton', { name: 'Custom duration' }).fill('3');
    await dialog.getByRole('combobox', { name: 'Unit' }).selectOption({ label: 'seconds' });
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect(() => dialog.getByRole('alert').isVisible(), 'too short a timer is refused in words');
    assert.match((await dialog.getByRole('alert').textContent()) ?? '', /5 seconds to 1 year/);
    await dialog.getByRole('spinbutton', { name: 'Custom duration' }).fill('15');
    assert.deepEqual(ownViolations(await seriousAxeViolations(alice)), [], 'axe: the timer dialog');
    await alice.screenshot({ path: join(tmpdir(), 'parley-web-disappearing-dialog-1280.png') });
    await dialog.getByRole('spinbutton', { name: 'Custom duration' }).press('Enter');
    await expect(async () => !(await dialog.isVisible()), 'the dialog closes');

    for (const [page, who] of [
      [alice, 'You'],
      [bob, null],
    ] as const) {
      await expect(
        async () => (await systemLines(page)).some((l) => /set disappearing messages to 15 seconds$/.test(l)),
        'the system line',
      );
      if (who) assert.ok((await systemLines(page)).includes('You set disappearing messages to 15 seconds'));
      await expect(
        () => page.getByRole('img', { name: 'Disappearing messages: 15 seconds' }).isVisible(),
        'the header mark',
      );
    }

    await alice.getByRole('textbox', { name: 'Message' }).fill('This one vanishes');
    await alice.getByRole('button', { name: 'Send' }).click();
    const shown = (p: Page) => p.locator('.messages').getByText('This one vanishes').isVisible();
    await expect(() => shown(bob), 'bob sees the message');
    assert.ok(await shown(alice));
    await bob.screenshot({ path: join(tmpdir(), 'parley-web-disappearing-chat-390.png') });
    // On the phone's narrow header the name shortens, the timer mark stays whole.
    const mark = await bob.getByRole('img', { name: 'Disappearing messages: 15 seconds' }).boundingBox();
    const head = await bob.locator('.chat-head-title').boundingBox();
    assert.ok(mark && head && mark.x + mark.width <= head.x + head.width + 1, 'the mark fits the header');
    await expect(async () => !(await shown(alice)) && !(await shown(bob)), 'gone from both screens', 40_000);
    assert.ok(await alice.locator('.messages').getByText('Hello there').isVisible(), 'earlier messages stay');

    // Bob's phone: the same dialog, showing the chat's timer, fits the width.
    await bob.getByRole('button', { name: 'More options' }).click();
    await bob.getByRole('menuitem', { name: 'Disappearing messages…' }).click();
    const bobs = bob.getByRole('dialog', { name: 'Disappearing messages' });
    await expect(() => bobs.isVisible(), "bob's dialog");
    assert.ok(await bobs.getByRole('radio', { name: 'Custom' }).isChecked());
    assert.equal(await bobs.getByRole('spinbutton', { name: 'Custom duration' }).inputValue(), '15');
    assert.equal(await bob.evaluate(() => document.documentElement.scrollWidth - window.innerWidth), 0);
    await bob.screenshot({ path: join(tmpdir(), 'parley-web-disappearing-dialog-390.png') });
    await bob.keyboard.press('Escape');
    await expect(async () => !(await bobs.isVisible()), "bob's dialog closes");

    // Settings: a default timer for new chats.
    await alice.getByRole('button', { name: 'Settings' }).click();
    const select = alice.getByRole('combobox', { name: 'Default timer for new chats' });
    await expect(() => select.isEnabled(), 'the setting loads');
    await select.selectOption({ label: '7 days' });
    await expect(
      // The card's status line: a polite live region that holds a paragraph once there is news.
      async () => (await alice.locator('[aria-live="polite"]').filter({ hasText: 'New chats start' }).count()) > 0,
      'saved',
    );
    assert.deepEqual(ownViolations(await seriousAxeViolations(alice)), [], 'axe: settings');
    await alice
      .locator('section[aria-labelledby="default-timer-title"]')
      .screenshot({ path: join(tmpdir(), 'parley-web-disappearing-settings-1280.png') });
    await alice.reload();
    await alice.getByRole('button', { name: 'Settings' }).click();
    await expect(
      async () =>
        (await alice.getByRole('combobox', { name: 'Default timer for new chats' }).inputValue()) === String(7 * 86400),
      'kept on this device',
    );
  });
});
