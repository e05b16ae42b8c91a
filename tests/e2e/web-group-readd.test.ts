/**
 * A group member removed and added back, in the web client in real Chromium (C2, C15): an SDK
 * client is the group's admin, the browser user the member. Once removed, the chat stays listed,
 * says who removed them and disables the message box with the reason; nothing sent meanwhile shows;
 * once added back the composer returns and messages flow both ways. The removed screen is checked
 * at 360, 390, 768 and 1280 px (no sideways scrolling, screenshots) and with axe-core.
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
import { seriousAxeViolations, type AxeViolation } from './helpers/axe.ts';
import { DEV_OUTBOX_TOKEN, ROOT, startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import { closeBrowserSuite, registerInBrowser } from './helpers/web.ts';
import { browserUnavailable, launch } from './helpers/browser.ts';

const skip = browserUnavailable();
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Violations of this screen, leaving out one the chat list had before this suite: each entry's
 * name ("Open chat …") does not contain its visible avatar initials (label-content-name-mismatch
 * on `.chat-item`). It belongs to the chat list's own rework, not to the removed-member screen.
 */
function ownViolations(found: AxeViolation[]): AxeViolation[] {
  return found.filter((v) => !(v.id === 'label-content-name-mismatch' && v.targets.every((t) => t === '.chat-item')));
}

describe('web client: a group member removed and added back', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-web-readd-'));
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let admin: ParleyClient;
  const contexts: BrowserContext[] = [];
  const phones = { admin: '+12025550191', member: '+12025550192' };

  before(async () => {
    if (!existsSync(join(ROOT, 'apps/web/dist/index.html')))
      throw new Error('web client not built: npm run build --workspace @parley/web');
    server = await startServerProcess({ PARLEY_DATA_DIR: join(tmp, 'data') });
    browser = await launch();
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    contexts.push(phone);
    page = await phone.newPage();
    admin = await registerTestClient(server.url, {
      outboxToken: DEV_OUTBOX_TOKEN,
      phone: phones.admin,
      deviceName: 'node',
      WebSocket: WebSocket as unknown as WebSocketCtor,
    });
    await admin.setProfile({ name: 'Ada Admin' });
  });

  after(async () => {
    await admin?.close().catch(() => undefined);
    await closeBrowserSuite({ contexts, browsers: [browser], server, tmp });
  });

  it('shows the removal, disables the composer, and chats again once added back', { timeout: 180_000 }, async () => {
    await registerInBrowser(page, server.url, phones.member);
    const member = await admin.lookupPhone(phones.member);
    // The member may know the admin by profile name, number, or (neither shared yet) account.
    const adminName = `(?:Ada Admin|${escape(phones.admin)}|Contact ${escape(admin.self.accountId.slice(2, 8))})`;
    const group = await admin.createGroup('Readd club', [member]);
    await admin.sendText(group, 'hello member');
    const open = page.getByRole('button', { name: /Open chat Readd club/ });
    await expect(() => open.isVisible(), 'the group appears');
    await open.click();
    await expect(
      () => page.getByRole('list', { name: 'Message history' }).getByText('hello member').isVisible(),
      'first message shows',
    );
    const box = page.getByRole('textbox', { name: 'Message' });
    assert.equal(await box.isEnabled(), true);

    await admin.removeMember(group, member);
    const line = page.getByText(new RegExp(`You were removed from this group by ${adminName}`)).first();
    await expect(() => line.isVisible(), 'the removal line shows');
    await expect(() => box.isDisabled(), 'the message box is disabled');
    const reason = await box.getAttribute('aria-describedby');
    assert.ok(reason, 'the disabled box is described');
    assert.match(
      (await page.locator(`#${reason}`).textContent()) ?? '',
      new RegExp(`removed from this group by ${adminName}, so you can't send messages here`),
    );
    // Group actions are gone, the chat stays in the list (on a phone the list is behind Back).
    assert.equal(await page.getByRole('button', { name: 'Leave group' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Rename group' }).count(), 0);
    await admin.sendText(group, 'said while the member is out');

    for (const width of [360, 390, 768, 1280]) {
      await page.setViewportSize({ width, height: 800 });
      await expect(() => line.isVisible(), `removal line at ${width}px`);
      const sideways = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(sideways <= 0, `no sideways scrolling at ${width}px (${sideways}px too wide)`);
      await page.screenshot({ path: join(tmpdir(), `parley-web-removed-${width}.png`) });
      assert.deepEqual(ownViolations(await seriousAxeViolations(page)), [], `axe at ${width}px`);
    }
    await page.setViewportSize({ width: 390, height: 844 });
    if (await page.getByRole('button', { name: 'Back' }).isVisible()) {
      await page.getByRole('button', { name: 'Back' }).click();
      await expect(() => open.isVisible(), 'the removed group stays listed');
      await open.click();
    }

    await admin.addMembers(group, [member]);
    await expect(() => box.isEnabled(), 'the composer comes back');
    await expect(async () => (await line.count()) === 0, 'the removal line goes');
    let arrived = false;
    admin.on('message', (m) => {
      if (m.conversationId === group && m.text === 'back in the club') arrived = true;
    });
    // By keyboard: focus the message box, type, Enter.
    await box.focus();
    await page.keyboard.type('back in the club');
    await page.keyboard.press('Enter');
    await expect(() => arrived, "the admin receives the returning member's message");
    await admin.sendText(group, 'welcome back');
    await expect(
      () => page.getByRole('list', { name: 'Message history' }).getByText('welcome back').isVisible(),
      'the member reads again',
    );
    await page.screenshot({ path: join(tmpdir(), 'parley-web-readded-390.png') });
    assert.equal(await page.getByText('said while the member is out').count(), 0, 'nothing from the removal shows');
    assert.deepEqual(ownViolations(await seriousAxeViolations(page)), []);
  });
});
