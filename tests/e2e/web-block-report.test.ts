/**
 * Blocking and reporting in the web client (C15), in real Chromium against a real server: Bob in
 * the browser, Alice and Carol as SDK devices. Bob blocks Alice by keyboard from the chat's "More
 * options" menu: the composer gives way to "You blocked …" with Unblock, and what Alice sends
 * meanwhile (accepted on her side) never shows; unblocking brings later messages back. In a group
 * Alice's messages stay collapsed as "Message from a blocked contact" until opened, while Carol's
 * show. Report, from the chat's menu and from a message's menu, says that included messages go to
 * the operator, sends the chosen number and can block in the same step; the chat list previews no
 * blocked member's message. Checked at 360, 390, 768
 * and 1280 px: no sideways scrolling, and axe-core finds no serious or critical violation.
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

/** Violations of this feature's screens (the chat list's known name mismatch is another suite's). */
function ownViolations(found: AxeViolation[]): AxeViolation[] {
  return found.filter((v) => !(v.id === 'label-content-name-mismatch' && v.targets.every((t) => t === '.chat-item')));
}

/** The name of the focused element. */
function focusedName(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement;
    return el?.getAttribute('aria-label') ?? el?.textContent?.trim() ?? '';
  });
}

describe('web block and report in Chromium', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-web-block-'));
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let alice: ParleyClient;
  let carol: ParleyClient;
  const contexts: BrowserContext[] = [];
  const phones = { alice: '+12025550181', bob: '+12025550182', carol: '+12025550183' };
  const sdk = (phone: string) =>
    registerTestClient(server.url, {
      outboxToken: DEV_OUTBOX_TOKEN,
      phone,
      deviceName: 'node',
      WebSocket: WebSocket as unknown as WebSocketCtor,
    });

  before(async () => {
    if (!existsSync(join(ROOT, 'apps/web/dist/index.html')))
      throw new Error('web client not built: npm run build --workspace @parley/web');
    server = await startServerProcess({ PARLEY_DATA_DIR: join(tmp, 'data') });
    browser = await launch();
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    contexts.push(phone);
    page = await phone.newPage();
    alice = await sdk(phones.alice);
    carol = await sdk(phones.carol);
    await alice.setProfile({ name: 'Alice Adams' });
    await carol.setProfile({ name: 'Carol Clark' });
  });

  after(async () => {
    await alice?.close().catch(() => undefined);
    await carol?.close().catch(() => undefined);
    await closeBrowserSuite({ contexts, browsers: [browser], server, tmp });
  });

  it(
    'blocks and unblocks by keyboard, hides a blocked member in groups, and reports',
    { timeout: 240_000 },
    async () => {
      await registerInBrowser(page, server.url, phones.bob);
      const bobId = await alice.lookupPhone(phones.bob);
      const history = page.getByRole('list', { name: 'Message history' });
      const direct = await alice.startDirect(bobId);
      await alice.sendText(direct, 'hi bob');
      const open = page.getByRole('button', { name: /Open chat/ }).filter({ hasText: 'hi bob' });
      await expect(() => open.first().isVisible(), 'the chat with alice appears');
      await open.first().click();
      await expect(() => history.getByText('hi bob').isVisible(), 'bob sees the first message');
      const title = (await page.locator('.chat-head h2').textContent())?.trim() ?? '';
      assert.ok(title, 'the chat has a title');

      // Keyboard only: More options → End (Report) → up to Block → Enter → confirm.
      page.once('dialog', (d) => {
        assert.match(d.message(), /Blocked contacts can't call you or send you messages/);
        void d.accept();
      });
      await page.getByRole('button', { name: 'More options' }).focus();
      await page.keyboard.press('Enter');
      await page.keyboard.press('End');
      assert.equal(await focusedName(page), `Report ${title}`);
      await page.keyboard.press('ArrowUp');
      assert.equal(await focusedName(page), `Block ${title}`);
      await page.keyboard.press('Enter');
      const unblock = page.getByRole('button', { name: `Unblock ${title}` });
      await expect(() => unblock.isVisible(), 'the composer gives way to Unblock');
      await expect(() => page.getByText(`You blocked ${title}.`).isVisible(), 'the blocked line shows');
      assert.equal(await page.getByRole('textbox', { name: 'Message' }).count(), 0, 'no composer while blocked');

      // Alice's send is accepted on her side; Bob never sees it.
      const sent = await alice.sendText(direct, 'are you ignoring me');
      assert.equal(sent.status, 'sent');

      for (const width of [360, 390, 768, 1280]) {
        await page.setViewportSize({ width, height: 800 });
        await expect(() => unblock.isVisible(), `blocked line at ${width}px`);
        const sideways = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(sideways <= 0, `no sideways scrolling at ${width}px (${sideways}px too wide)`);
        await page.screenshot({ path: join(tmpdir(), `parley-web-blocked-${width}.png`) });
        assert.deepEqual(ownViolations(await seriousAxeViolations(page)), [], `axe at ${width}px`);
      }
      await page.setViewportSize({ width: 390, height: 844 });

      await unblock.focus();
      await page.keyboard.press('Enter');
      await expect(() => page.getByRole('textbox', { name: 'Message' }).isVisible(), 'the composer is back');
      await alice.sendText(direct, 'back again');
      await expect(() => history.getByText('back again').isVisible(), 'later messages show');
      // Queues deliver in order: had the blocked message been delivered, it would be here already.
      assert.equal(await history.getByText('are you ignoring me').count(), 0);

      // Contact info offers the same: Block and Report.
      await page.getByRole('button', { name: `Contact info for ${title}` }).click();
      const info = page.getByRole('dialog', { name: 'Contact info' });
      await expect(() => info.getByRole('button', { name: `Block ${title}` }).isVisible(), 'contact info offers Block');
      assert.equal(await info.getByRole('button', { name: `Report ${title}` }).count(), 1);
      await page.screenshot({ path: join(tmpdir(), 'parley-web-contact-block-390.png') });
      assert.deepEqual(ownViolations(await seriousAxeViolations(page)), [], 'axe on contact info');
      await info.getByRole('button', { name: 'Close' }).click();

      // Report from the chat's menu, by keyboard: 2 messages, and block in the same step.
      await page.getByRole('button', { name: 'More options' }).focus();
      await page.keyboard.press('Enter');
      await page.keyboard.press('End');
      await page.keyboard.press('Enter');
      const dialog = page.getByRole('dialog', { name: `Report ${title}` });
      await expect(() => dialog.isVisible(), 'the report dialog opens');
      assert.match((await dialog.textContent()) ?? '', /only way they see messages/);
      const count = dialog.getByLabel(`Last messages from ${title} to include`);
      assert.equal(await count.inputValue(), '5', 'five messages by default');
      await count.fill('2');
      await dialog.getByLabel('Reason').selectOption('abuse');
      await dialog.getByLabel(`Also block ${title}`).check();
      // Tab never leaves the dialog: twenty presses either way stay inside it.
      for (const key of ['Tab', 'Shift+Tab']) {
        for (let i = 0; i < 20; i++) {
          await page.keyboard.press(key);
          assert.ok(
            await dialog.evaluate((d) => d.contains(document.activeElement)),
            `${key} ×${i + 1} stays in the report dialog`,
          );
        }
      }
      for (const width of [360, 1280]) {
        await page.setViewportSize({ width, height: 800 });
        const sideways = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(sideways <= 0, `report dialog: no sideways scrolling at ${width}px`);
        await page.screenshot({ path: join(tmpdir(), `parley-web-report-${width}.png`) });
        assert.deepEqual(ownViolations(await seriousAxeViolations(page)), [], `axe on the report dialog at ${width}px`);
      }
      await page.setViewportSize({ width: 390, height: 844 });
      await dialog.getByRole('button', { name: 'Send report' }).click();
      await expect(
        () => dialog.getByRole('status').filter({ hasText: 'Report sent' }).isVisible(),
        'the report is confirmed',
      );
      await dialog.getByRole('button', { name: 'Done' }).click();
      await expect(() => unblock.isVisible(), 'reporting with "Also block" blocked too');

      // A group with Alice (blocked) and Carol: Alice's message is collapsed, Carol's shows.
      const group = await carol.createGroup('Book club', [bobId, await carol.lookupPhone(phones.alice)]);
      await carol.sendText(group, 'carol in the group');
      await alice.sendText(group, 'alice in the group');
      if (await page.getByRole('button', { name: 'Back' }).isVisible())
        await page.getByRole('button', { name: 'Back' }).click();
      const groupRow = page.getByRole('button', { name: /Open chat Book club/ });
      await expect(() => groupRow.isVisible(), 'the group appears');
      await groupRow.click();
      await expect(() => history.getByText('carol in the group').isVisible(), "carol's message shows");
      const hidden = history.locator('li').filter({ hasText: 'Message from a blocked contact' });
      await expect(() => hidden.isVisible(), "alice's message is collapsed");
      assert.equal(await history.getByText('alice in the group').count(), 0, 'its text is not shown');
      const show = hidden.getByRole('button', { name: 'Show' });
      await show.focus();
      await page.keyboard.press('Enter');
      await expect(() => history.getByText('alice in the group').isVisible(), 'Show opens it');
      assert.equal(await hidden.getByRole('button', { name: 'Hide' }).getAttribute('aria-expanded'), 'true');
      // The chat list previews the newest message not from a blocked member: Carol's.
      await page.getByRole('button', { name: 'Back' }).click();
      await expect(() => groupRow.filter({ hasText: 'carol in the group' }).isVisible(), "the preview is carol's");
      assert.equal(await groupRow.filter({ hasText: 'alice in the group' }).count(), 0);
      await groupRow.click();
      await expect(() => hidden.isVisible(), 'back in the group');
      await hidden.getByRole('button', { name: 'Show' }).click();

      for (const width of [360, 1280]) {
        await page.setViewportSize({ width, height: 800 });
        const sideways = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(sideways <= 0, `group: no sideways scrolling at ${width}px`);
        await page.screenshot({ path: join(tmpdir(), `parley-web-blocked-group-${width}.png`) });
        assert.deepEqual(ownViolations(await seriousAxeViolations(page)), [], `axe in the group at ${width}px`);
      }

      // Report from a message's menu: the dialog names that message's sender.
      const carolBubble = page.locator('li.bubble').filter({ hasText: 'carol in the group' });
      await carolBubble.getByRole('button', { name: 'Message actions' }).click();
      await page.getByRole('menuitem', { name: 'Report' }).click();
      const carolDialog = page.getByRole('dialog', { name: /^Report / });
      await expect(() => carolDialog.isVisible(), 'the report dialog opens from the message');
      assert.doesNotMatch((await carolDialog.getByRole('heading').textContent()) ?? '', new RegExp(title));
      await page.keyboard.press('Escape');
      await expect(async () => !(await carolDialog.isVisible()), 'Escape closes it');
      assert.ok(
        (await page.getByRole('list', { name: 'Message history' }).getByText('carol in the group').count()) > 0,
        'nothing changed in the chat',
      );
    },
  );
});
