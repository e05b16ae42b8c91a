/**
 * Replies in the web client (C15), in Chromium at desktop (1280×800) and phone (390×844) width
 * against a real server, with Carol an SDK user writing to both pages.
 *
 * - A chat opened by keyboard only (Tab to its row, Enter); a reply's quote leads to the original: a click, or Enter on it from the keyboard, scrolls the
 *   history to the quoted message, highlights it and gives it the focus.
 * - A call entry takes reactions and replies like a message: by keyboard from its "Message
 *   actions" menu (which offers no edit, forward or delete for everyone for it), the reaction and
 *   the reply (quoting "Voice call") reach Carol, and the reply's quote leads back to the entry.
 *   Carol's entry is written through the SDK's own call-log path (the one a finished call takes);
 *   no WebRTC call is set up for it (the call screens have their own suites).
 * - A picture sent while replying is the reply: Carol receives it with the quote.
 * axe-core finds no serious violation with the reply bar open, and nothing is wider than the
 * viewport at 360, 390, 768 and 1280 px (screenshots in the temp folder, `parley-replies-*.png`).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import type { CallLogContent } from '@parley/protocol';
import type { LocalMessage, ParleyClient, WebSocketCtor } from '@parley/sdk';
import { registerTestClient, sendCallLogEntry, until } from '@parley/sdk/testing';
import { expect } from './helpers/expect.ts';
import { DEV_OUTBOX_TOKEN, ROOT, startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import { closeBrowserSuite, registerInBrowser } from './helpers/web.ts';
import { browserUnavailable, launch } from './helpers/browser.ts';
import { seriousAxeViolations } from './helpers/axe.ts';
import { twoColourPng } from './helpers/images.ts';

const skip = browserUnavailable();
const WS = WebSocket as unknown as WebSocketCtor;

/** A bubble (message or call entry) of the open chat holding `text`. */
function bubble(page: Page, text: string | RegExp): Locator {
  return page.locator('li.bubble').filter({ hasText: text });
}

/** True when the bubble with `messageId` is inside the visible part of the history. */
function inView(page: Page, messageId: string): Promise<boolean> {
  return page.getByRole('list', { name: 'Message history' }).evaluate((list, id) => {
    const li = list.querySelector(`[data-message-id="${id}"]`);
    if (!li) return false;
    const a = list.getBoundingClientRect();
    const b = li.getBoundingClientRect();
    return b.top >= a.top - 1 && b.bottom <= a.bottom + 1;
  }, messageId);
}

/** The `data-message-id` of the focused element (the bubble a jump landed on), or null. */
function focusedMessage(page: Page): Promise<string | null> {
  return page.evaluate(() => document.activeElement?.getAttribute('data-message-id') ?? null);
}

/** Scroll the history to its end (away from old messages). */
async function toNewest(page: Page): Promise<void> {
  await page.getByRole('list', { name: 'Message history' }).evaluate((el) => (el.scrollTop = el.scrollHeight));
}

/** No element wider than the viewport at each width; a screenshot per width for a look. */
async function fitsWidths(page: Page, name: string): Promise<void> {
  const original = page.viewportSize()!;
  try {
    for (const width of [360, 390, 768, 1280]) {
      await page.setViewportSize({ width, height: original.height });
      const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(wide <= 0, `${name} at ${width} px is ${wide} px wider than the viewport`);
      await page.screenshot({ path: join(tmpdir(), `parley-replies-${name}-${width}.png`) });
    }
  } finally {
    await page.setViewportSize(original);
  }
}

/** Carol's copy of a message in a chat, once `check` holds for it. */
async function carolsCopy(
  carol: ParleyClient,
  conv: string,
  check: (m: LocalMessage) => boolean,
  what: string,
): Promise<LocalMessage> {
  return until(async () => (await carol.messages(conv)).find(check), 15_000, what);
}

describe(
  'web replies: quotes lead to the original, call entries take replies and reactions, replies with a picture',
  { skip },
  () => {
    const tmp = mkdtempSync(join(tmpdir(), 'parley-replies-'));
    let server: ServerProcess;
    let browser: Browser;
    let carol: ParleyClient;
    const contexts: BrowserContext[] = [];
    const people: { page: Page; phone: string; label: string; conv: string; accountId: string }[] = [];

    before(async () => {
      if (!existsSync(join(ROOT, 'apps/web/dist/index.html')))
        throw new Error('web client not built: npm run build --workspace @parley/web');
      server = await startServerProcess({ PARLEY_DATA_DIR: join(tmp, 'data') });
      browser = await launch();
      const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
      contexts.push(desktop, phone);
      carol = await registerTestClient(server.url, { WebSocket: WS, outboxToken: DEV_OUTBOX_TOKEN });
      await carol.setProfile({ name: 'Carol' });
      for (const [context, phoneNumber, label] of [
        [desktop, '+12025550391', 'desktop'],
        [phone, '+12025550392', 'phone'],
      ] as const) {
        const page = await context.newPage();
        await registerInBrowser(page, server.url, phoneNumber);
        const accountId = await carol.lookupPhone(phoneNumber);
        const conv = await carol.startDirect(accountId);
        people.push({ page, phone: phoneNumber, label, conv, accountId });
      }
    });

    after(async () => {
      await carol?.close().catch(() => undefined);
      await closeBrowserSuite({ contexts, browsers: [browser], server, tmp });
    });

    it(
      'a click or Enter on a quote scrolls to the original, highlights it and focuses it',
      { timeout: 240_000 },
      async () => {
        for (const { page, label, conv } of people) {
          const original = await carol.sendText(conv, `Where do we meet, ${label}?`);
          for (let i = 1; i <= 30; i++) await carol.sendText(conv, `filler ${i} for ${label}`);
          await carol.reply(conv, original.id, `At the bridge, ${label}`);
          // Opened by keyboard only: Tab from the top of the page to the chat's row, then Enter.
          await page.locator('body').focus();
          await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
          let reached = false;
          for (let i = 0; i < 40 && !reached; i++) {
            await page.keyboard.press('Tab');
            reached = /^Open chat Carol/.test(
              await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? ''),
            );
          }
          assert.ok(reached, `${label}: Tab reaches the chat's row`);
          await page.keyboard.press('Enter');
          const answer = bubble(page, `At the bridge, ${label}`);
          await expect(() => answer.isVisible(), `${label}: the reply is shown`);
          assert.equal(await inView(page, original.id), false, `${label}: the original starts out of view`);
          const quote = answer.getByRole('button', { name: 'Go to the quoted message' });

          // Every bubble that gets the highlight class is noted (the class goes once its animation ends).
          await page.evaluate(() => {
            const w = window as unknown as { flashed: string[] };
            w.flashed = [];
            new MutationObserver((records) => {
              for (const r of records) {
                const el = r.target as HTMLElement;
                if (el.classList.contains('flash')) w.flashed.push(el.getAttribute('data-message-id') ?? '');
              }
            }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['class'] });
          });

          // By pointer.
          await quote.click();
          await expect(() => inView(page, original.id), `${label}: the original scrolled into view`);
          assert.equal(await focusedMessage(page), original.id, `${label}: the original has the focus`);
          assert.ok(
            (await page.evaluate(() => (window as unknown as { flashed: string[] }).flashed)).includes(original.id),
            `${label}: the original was highlighted`,
          );
          await page.screenshot({ path: join(tmpdir(), `parley-replies-jumped-${label}.png`) });

          // By keyboard.
          await toNewest(page);
          await expect(async () => !(await inView(page, original.id)), `${label}: back at the newest`);
          await quote.focus();
          await page.keyboard.press('Enter');
          await expect(() => inView(page, original.id), `${label}: Enter on the quote shows the original`);
          assert.equal(await focusedMessage(page), original.id);
        }
      },
    );

    it(
      'a call entry takes a reaction and a reply by keyboard, and the reply leads back to it',
      { timeout: 240_000 },
      async () => {
        for (const { page, label, conv, accountId } of people) {
          // The entry Carol's device writes when a call to this person rang out (the call manager's path).
          const entry: CallLogContent = {
            type: 'call-log',
            callId: `missed-${label}-call`,
            media: 'audio',
            outcome: 'missed',
            durationMs: 0,
            startedAt: Date.now(),
            caller: carol.self.accountId,
          };
          const logged = await sendCallLogEntry(carol, conv, entry);
          const call = bubble(page, 'Missed voice call');
          await expect(() => call.isVisible(), `${label}: the call entry is shown`);

          // React by keyboard: the menu button, Enter, the first item (👍), Enter.
          const menuButton = call.getByRole('button', { name: 'Message actions' });
          await menuButton.focus();
          await page.keyboard.press('Enter');
          const menu = page.getByRole('menu');
          await expect(() => menu.isVisible(), `${label}: the call entry's menu opens`);
          const names = await menu
            .getByRole('menuitem')
            .evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? e.textContent));
          assert.ok(names.includes('Reply'), `${label}: Reply offered (${names.join(', ')})`);
          for (const refused of ['Edit', 'Forward', 'Delete for everyone', 'Report'])
            assert.ok(!names.includes(refused), `${label}: no ${refused} on a call entry`);
          assert.equal(
            await page.evaluate(
              () => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent,
            ),
            'React with 👍',
          );
          await page.keyboard.press('Enter');
          await expect(
            () => call.getByRole('button', { name: /^👍 1: You/ }).isVisible(),
            `${label}: the chip on the entry`,
          );
          await carolsCopy(
            carol,
            conv,
            (m) => m.id === logged.id && !!m.reactions?.some((r) => r.emoji === '👍' && r.from === accountId),
            `${label}: Carol sees the reaction on her call entry`,
          );

          // Reply by keyboard: menu, End/arrows to "Reply", Enter, then type.
          await menuButton.focus();
          await page.keyboard.press('Enter');
          await expect(() => menu.isVisible(), `${label}: the menu opens again`);
          for (let i = 0; i < 20; i++) {
            const focused = await page.evaluate(
              () => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent,
            );
            if (focused === 'Reply') break;
            await page.keyboard.press('ArrowDown');
          }
          await page.keyboard.press('Enter');
          const bar = page.getByRole('group', { name: 'Reply' });
          await expect(() => bar.isVisible(), `${label}: the reply bar`);
          assert.match((await bar.textContent()) ?? '', /Voice call/);
          assert.equal(
            await page.evaluate(() => document.activeElement?.id),
            'composer',
            `${label}: focus in the message box`,
          );
          assert.deepEqual(await seriousAxeViolations(page), [], `${label}: axe with the reply bar on a call entry`);
          await fitsWidths(page, `call-reply-${label}`);
          await page.keyboard.type(`Sorry I missed you, ${label}`);
          await page.keyboard.press('Enter');
          const reply = await carolsCopy(
            carol,
            conv,
            (m) => m.text === `Sorry I missed you, ${label}`,
            `${label}: Carol receives the reply`,
          );
          assert.equal(reply.replyTo?.messageId, logged.id, `${label}: it quotes the call entry`);
          assert.equal(reply.replyTo?.excerpt, 'Voice call');

          // The quote leads back to the entry.
          for (let i = 1; i <= 20; i++) await carol.sendText(conv, `later ${i} for ${label}`);
          await expect(() => bubble(page, `later 20 for ${label}`).isVisible(), `${label}: later messages shown`);
          await toNewest(page);
          const mine = bubble(page, `Sorry I missed you, ${label}`);
          await mine.getByRole('button', { name: 'Go to the quoted message' }).click();
          await expect(() => inView(page, logged.id), `${label}: the call entry scrolled into view`);
          assert.equal(await focusedMessage(page), logged.id);
        }
      },
    );

    it('a picture sent while replying reaches the other side as the reply', { timeout: 240_000 }, async () => {
      const picture = join(tmp, 'bridge.png');
      writeFileSync(picture, twoColourPng(64, 48, [30, 140, 60], [240, 200, 40]));
      for (const { page, label, conv } of people) {
        const ask = await carol.sendText(conv, `Send me a photo of it, ${label}`);
        const asked = bubble(page, `Send me a photo of it, ${label}`);
        await expect(() => asked.isVisible(), `${label}: the question is shown`);
        await asked.getByRole('button', { name: 'Message actions' }).click();
        await page.getByRole('menuitem', { name: 'Reply' }).click();
        await expect(() => page.getByRole('group', { name: 'Reply' }).isVisible(), `${label}: the reply bar`);
        await page.getByLabel('Choose files to send').setInputFiles(picture);
        const got = await carolsCopy(
          carol,
          conv,
          (m) => m.attachment?.fileName === 'bridge.png' && m.replyTo?.messageId === ask.id,
          `${label}: Carol receives the picture as a reply`,
        );
        assert.equal(got.attachment?.kind, 'image');
        const sent = page.locator('li.bubble', { has: page.getByRole('img', { name: 'bridge.png' }) }).last();
        await expect(() => sent.isVisible(), `${label}: the sent picture is shown`);
        assert.equal(
          await sent.locator('blockquote').getAttribute('aria-label'),
          `Reply to Carol: Send me a photo of it, ${label}`,
        );
        assert.equal(await page.getByRole('group', { name: 'Reply' }).count(), 0, `${label}: the reply bar is gone`);
      }
    });
  },
);
