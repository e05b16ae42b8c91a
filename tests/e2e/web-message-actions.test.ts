/**
 * Message actions in the web client (C15), in real Chromium against a real server: Alice at
 * desktop width, Bob at phone width. Bob reacts and replies by keyboard only, through the "Message
 * actions" menu; Alice edits, copies, forwards and deletes for everyone; Bob deletes for himself.
 * Each side sees the other's action: reaction chips, the quoted block, "edited", "Forwarded",
 * "This message was deleted". The menu follows the menu-button pattern (focus moves in, arrows,
 * Escape gives focus back), fits the viewport at 360, 390, 768 and 1280 px without sideways
 * scrolling, and axe-core finds no serious or critical violation in the chat with it open.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { expect } from './helpers/expect.ts';
import { ROOT, startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import { closeBrowserSuite, openChat, registerInBrowser } from './helpers/web.ts';
import { twoColourPng } from './helpers/images.ts';
import { browserUnavailable, launch } from './helpers/browser.ts';

const skip = browserUnavailable();
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The bubble holding `text`. */
function bubble(page: Page, text: string | RegExp): Locator {
  return page.locator('li.bubble').filter({ hasText: text });
}

/** The accessible name of the focused element. */
function focusedName(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement;
    return el?.getAttribute('aria-label') ?? el?.textContent?.trim() ?? '';
  });
}

/** Serious and critical axe-core violations inside `selectors`. */
async function axeViolations(page: Page, selectors: string[]): Promise<string[]> {
  await page.evaluate(AXE);
  const found = await page.evaluate(async (include) => {
    const axe = (
      window as unknown as {
        axe: {
          run(
            ctx: unknown,
            opts: unknown,
          ): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }>;
        };
      }
    ).axe;
    const res = await axe.run({ include: include.map((s) => [s]) }, { resultTypes: ['violations'] });
    return res.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(' ')) }));
  }, selectors);
  return found
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.targets.join(', ')}`);
}

describe('web message actions in Chromium', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-web-actions-'));
  let server: ServerProcess;
  let browser: Browser;
  let alice: Page;
  let bob: Page;
  let desktop: BrowserContext;
  const contexts: BrowserContext[] = [];
  const phones = { alice: '+12025550171', bob: '+12025550172' };

  before(async () => {
    if (!existsSync(join(ROOT, 'apps/web/dist/index.html')))
      throw new Error('web client not built: npm run build --workspace @parley/web');
    server = await startServerProcess({ PARLEY_DATA_DIR: join(tmp, 'data') });
    browser = await launch();
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    desktop = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await desktop.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    contexts.push(phone, desktop);
    alice = await desktop.newPage();
    bob = await phone.newPage();
  });

  after(() => closeBrowserSuite({ contexts, browsers: [browser], server, tmp }));

  it('reacts and replies by keyboard, edits, copies, forwards and deletes', { timeout: 180_000 }, async () => {
    await registerInBrowser(alice, server.url, phones.alice);
    await registerInBrowser(bob, server.url, phones.bob);
    await openChat(alice, bob, phones.bob, 'Dinner at eight?');

    // Bob, keyboard only: focus the bubble's menu button, open it, the first reaction has focus.
    const menuButton = bubble(bob, 'Dinner at eight?').getByRole('button', { name: 'Message actions' });
    await menuButton.focus();
    await bob.keyboard.press('Enter');
    const menu = bob.getByRole('menu', { name: 'Message actions' });
    await expect(() => menu.isVisible(), 'the menu opens');
    assert.equal(await menuButton.getAttribute('aria-expanded'), 'true');
    assert.equal(await focusedName(bob), 'React with 👍');
    // Escape closes it and gives focus back to the button.
    await bob.keyboard.press('Escape');
    await expect(async () => !(await menu.isVisible()), 'the menu closes');
    assert.equal(await focusedName(bob), 'Message actions');
    // Arrow keys move through the items; End is the last one, Home the first.
    await bob.keyboard.press('Enter');
    await bob.keyboard.press('End');
    assert.equal(await focusedName(bob), 'Delete for me', 'no delete for everyone on a message of someone else');
    await bob.keyboard.press('Home');
    await bob.keyboard.press('ArrowRight');
    assert.equal(await focusedName(bob), 'React with ❤️');
    await bob.keyboard.press('Enter');
    await expect(
      () =>
        bubble(alice, 'Dinner at eight?')
          .getByRole('button', { name: /^❤️ 1: / })
          .isVisible(),
      'alice sees the reaction chip',
    );

    // Reply, still by keyboard: the menu's Reply puts the focus in the composer with a reply bar.
    await menuButton.focus();
    await bob.keyboard.press('Enter');
    for (let i = 0; i < 6; i++) await bob.keyboard.press('ArrowDown');
    assert.equal(await focusedName(bob), 'Reply');
    await bob.keyboard.press('Enter');
    await expect(() => bob.getByRole('group', { name: 'Reply' }).isVisible(), 'reply bar');
    await bob.screenshot({ path: join(tmpdir(), 'parley-web-actions-reply-bar.png') });
    assert.equal(await bob.evaluate(() => document.activeElement?.id), 'composer');
    await bob.keyboard.type('Yes, see you there');
    await bob.keyboard.press('Enter');
    await expect(async () => !(await bob.getByRole('group', { name: 'Reply' }).isVisible()), 'reply bar gone');
    const quote = bubble(alice, 'Yes, see you there').locator('blockquote');
    await expect(() => quote.isVisible(), 'alice sees the quote');
    assert.equal(await quote.getAttribute('aria-label'), 'Reply to You: Dinner at eight?');

    // Alice edits her message: Bob sees only the new text, marked edited.
    const mine = bubble(alice, 'Dinner at eight?').first();
    await mine.getByRole('button', { name: 'Message actions' }).click();
    await alice.getByRole('menuitem', { name: 'Edit' }).click();
    const edit = alice.getByRole('dialog', { name: 'Edit message' });
    await edit.getByRole('textbox', { name: 'Edited message' }).fill('Dinner at nine?');
    await alice.screenshot({ path: join(tmpdir(), 'parley-web-actions-edit.png') });
    await edit.getByRole('button', { name: 'Save' }).click();
    await expect(() => bubble(bob, 'Dinner at nine?').getByText('edited').isVisible(), 'bob sees the edit');
    assert.equal(await bubble(bob, /^Dinner at eight/).count(), 0, 'the old text is gone');

    // Copy puts the text on the clipboard.
    const edited = bubble(alice, 'Dinner at nine?').first();
    await edited.getByRole('button', { name: 'Message actions' }).click();
    await alice.getByRole('menuitem', { name: 'Copy' }).click();
    await expect(() => alice.getByRole('status').filter({ hasText: 'Copied' }).isVisible(), 'copied');
    assert.equal(await alice.evaluate(() => navigator.clipboard.readText()), 'Dinner at nine?');

    // Forward into the chat (the only one): Bob sees a bubble marked Forwarded.
    await edited.getByRole('button', { name: 'Message actions' }).click();
    await alice.getByRole('menuitem', { name: 'Forward' }).click();
    const fwd = alice.getByRole('dialog', { name: 'Forward message' });
    await fwd.getByRole('button', { name: /^Forward to / }).click();
    await expect(
      () => bob.locator('li.bubble', { has: bob.getByText('Forwarded', { exact: true }) }).isVisible(),
      'bob sees the forwarded copy',
    );

    await alice.screenshot({ path: join(tmpdir(), 'parley-web-actions-chips.png') });

    // Axe on Bob's chat with the menu open, and a look at every width.
    await bubble(bob, 'Dinner at nine?').first().getByRole('button', { name: 'Message actions' }).click();
    await expect(() => bob.getByRole('menu').isVisible(), 'menu open for axe');
    assert.deepEqual(await axeViolations(bob, ['.messages', '.msg-menu', '.composer']), []);
    for (const width of [360, 390, 768, 1280]) {
      await bob.setViewportSize({ width, height: 800 });
      await bob.keyboard.press('Escape');
      await bubble(bob, 'Dinner at nine?').first().getByRole('button', { name: 'Message actions' }).click();
      await expect(() => bob.getByRole('menu').isVisible(), `menu open at ${width}`);
      const box = (await bob.getByRole('menu').boundingBox())!;
      assert.ok(
        box.x >= 0 && box.x + box.width <= width,
        `menu inside the viewport at ${width}: ${JSON.stringify(box)}`,
      );
      assert.ok(
        await bob.evaluate((w) => document.documentElement.scrollWidth <= w, width),
        `no sideways scroll at ${width}`,
      );
      await bob.screenshot({ path: join(tmpdir(), `parley-web-actions-menu-${width}.png`) });
    }
    await bob.keyboard.press('Escape');
    await bob.setViewportSize({ width: 390, height: 844 });

    // Delete for everyone: Bob's copy and the quote in his reply say it was deleted.
    alice.once('dialog', (d) => void d.accept());
    await edited.getByRole('button', { name: 'Message actions' }).click();
    await alice.getByRole('menuitem', { name: 'Delete for everyone' }).click();
    await expect(
      async () =>
        (await bob.getByRole('list', { name: 'Message history' }).getByText('This message was deleted').count()) >= 2,
      'bob sees the deletion',
    );
    assert.equal(
      await bob.getByRole('list', { name: 'Message history' }).getByText('Dinner at nine?', { exact: true }).count(),
      1,
      'only the forwarded copy remains',
    );
    // Bob knows Alice by what she shares (here nothing, so "Contact …"), never by a number the server hides.
    assert.match(
      String(await bubble(bob, 'Yes, see you there').locator('blockquote').getAttribute('aria-label')),
      /^Reply to Contact [\w-]+: This message was deleted$/,
    );

    // An image deleted for everyone: Bob's bubble loses it, and his page's decrypted copy is revoked.
    const picture = join(tmp, 'view.png');
    writeFileSync(picture, twoColourPng(64, 48, [200, 30, 30], [30, 30, 200]));
    await alice.getByLabel('Choose files to send').setInputFiles(picture);
    const image = bob.getByRole('img', { name: 'view.png' });
    await expect(() => image.isVisible(), 'bob sees the image');
    await expect(async () => /^blob:/.test((await image.getAttribute('src')) ?? ''), 'the full image is decrypted');
    const src = (await image.getAttribute('src'))!;
    assert.equal(await bob.evaluate((u) => fetch(u).then((r) => r.ok), src), true, 'readable before');
    alice.once('dialog', (d) => void d.accept());
    const sentImage = alice.locator('li.bubble', { has: alice.getByRole('img', { name: 'view.png' }) });
    await sentImage.getByRole('button', { name: 'Message actions' }).click();
    await alice.getByRole('menuitem', { name: 'Delete for everyone' }).click();
    await expect(async () => (await image.count()) === 0, "the image leaves bob's chat");
    await expect(
      async () =>
        (await bob.getByRole('list', { name: 'Message history' }).getByText('This message was deleted').count()) >= 3,
      'deleted line',
    );
    assert.equal(
      await bob.evaluate(
        (u) =>
          fetch(u).then(
            () => 'readable',
            () => 'revoked',
          ),
        src,
      ),
      'revoked',
      'the decrypted copy is gone from the page',
    );

    // Delete for me: the forwarded copy leaves Bob's screen only.
    bob.once('dialog', (d) => void d.accept());
    const copy = bob.locator('li.bubble', { has: bob.getByText('Forwarded', { exact: true }) });
    await copy.getByRole('button', { name: 'Message actions' }).click();
    await bob.getByRole('menuitem', { name: 'Delete for me' }).click();
    await expect(async () => (await copy.count()) === 0, 'gone for bob');
    assert.equal(
      await alice.getByRole('list', { name: 'Message history' }).getByText('Dinner at nine?', { exact: true }).count(),
      1,
      'alice keeps her forward',
    );
    await alice.screenshot({ path: join(tmpdir(), 'parley-web-actions-desktop.png') });
    await bob.screenshot({ path: join(tmpdir(), 'parley-web-actions-phone.png') });
  });
  it(
    'exports the chat from its menu and every chat from Settings, as zips made in the page',
    { timeout: 120_000 },
    async () => {
      // Alice, desktop: "More options" → "Export chat"; the zip is read back with Info-ZIP's unzip.
      let download = alice.waitForEvent('download');
      await alice.getByRole('button', { name: 'More options' }).click();
      await alice.getByRole('menuitem', { name: 'Export chat' }).click();
      const one = await download;
      assert.match(one.suggestedFilename(), /^parley-.+-\d{4}-\d{2}-\d{2}\.zip$/);
      const zip = join(tmp, 'alice-chat.zip');
      await one.saveAs(zip);
      execFileSync('unzip', ['-tq', zip]);
      const names = execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).trim().split('\n');
      assert.ok(names.includes('export.json') && names.some((n) => n.endsWith('/chat.html')), names.join(' '));
      const chatJson = names.find((n) => n.endsWith('/chat.json'))!;
      const chat = JSON.parse(execFileSync('unzip', ['-p', zip, chatJson], { encoding: 'utf8' })) as {
        messages: { text?: string; editedAt?: string; deletedAt?: string; forwarded?: true }[];
      };
      assert.ok(
        chat.messages.some((m) => m.deletedAt),
        'the deleted message, kept as deleted',
      );
      assert.ok(
        chat.messages.some((m) => m.forwarded && m.text === 'Dinner at nine?'),
        'the forwarded copy of the edited text',
      );
      assert.ok(
        chat.messages.some((m) => m.text === 'Dinner at eight?') === false,
        'no text of a message deleted for everyone',
      );
      await expect(
        async () =>
          /^Exported 1 chat \(\d+ messages\)/.test((await alice.locator('.export-status').textContent()) ?? ''),
        'alice is told the export is done',
      );

      // Bob, phone: Settings → "Your chats" → "Export all chats".
      await bob.getByRole('button', { name: 'Back' }).click();
      await bob.getByRole('button', { name: 'Settings' }).click();
      const card = bob.getByRole('region', { name: 'Your chats' });
      await card.getByRole('button', { name: 'Export all chats' }).scrollIntoViewIfNeeded();
      download = bob.waitForEvent('download');
      await card.getByRole('button', { name: 'Export all chats' }).click();
      const all = join(tmp, 'bob-all.zip');
      await (await download).saveAs(all);
      const manifest = JSON.parse(execFileSync('unzip', ['-p', all, 'export.json'], { encoding: 'utf8' })) as {
        chats: { messages: number }[];
        media: boolean;
      };
      assert.ok(manifest.chats.length >= 1 && manifest.media);
      await expect(
        async () => (await card.getByRole('status').textContent())?.startsWith('Exported') === true,
        'bob is told',
      );
      assert.deepEqual(await axeViolations(bob, ['.settings']), []);
      await bob.screenshot({ path: join(tmpdir(), 'parley-web-export-phone.png') });
    },
  );
});
