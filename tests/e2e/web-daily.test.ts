/**
 * The web client as a daily driver (C15, issue 21): one server and one Chromium for the suite; Alice
 * at desktop size (1280×800), Bob at phone size (390×844), Carol an SDK client in this process who
 * writes fast. A chat opens at its newest message, follows new ones, and counts them behind a "new
 * messages" button once the reader scrolled up; a message written offline shows at once as
 * "Sending" and gets its ticks when the browser is back online, with the connection pill saying
 * offline meanwhile; a send the server refuses keeps its text with "Retry" and "Delete"; a socket
 * that stops answering is found by the heartbeat; only new messages are announced, each message
 * says who wrote it, the header's parts are separate words, and a skip link leads to the composer.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import { decodeBinaryFrame } from '@parley/protocol';
import type { ParleyClient, WebSocketCtor } from '@parley/sdk';
import { registerTestClient } from '@parley/sdk/testing';
import { expect } from './helpers/expect.ts';
import { DEV_OUTBOX_TOKEN, ROOT, startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import { closeBrowserSuite, openChat, registerInBrowser } from './helpers/web.ts';
import { browserUnavailable, launch } from './helpers/browser.ts';
import { seriousAxeViolations } from './helpers/axe.ts';

const skip = browserUnavailable();
const WS = WebSocket as unknown as WebSocketCtor;

/** Where the message list stands: pixels left below what is shown, and the scroll offset. */
function listPosition(page: Page): Promise<{ below: number; top: number; scrollable: boolean }> {
  return page.getByRole('list', { name: 'Message history' }).evaluate((el) => ({
    below: el.scrollHeight - el.scrollTop - el.clientHeight,
    top: el.scrollTop,
    scrollable: el.scrollHeight > el.clientHeight + 200,
  }));
}

/**
 * At each width (the page's height kept), nothing on the page is wider than the viewport; a
 * screenshot per width goes to /tmp for a look. The page is left at its original size.
 */
async function fitsWidths(page: Page, name: string, widths = [360, 390, 768, 1280]): Promise<void> {
  const original = page.viewportSize()!;
  try {
    for (const width of widths) {
      await page.setViewportSize({ width, height: original.height });
      const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(wide <= 0, `${name} at ${width} px is ${wide} px wider than the viewport`);
      await page.screenshot({ path: join(tmpdir(), `parley-daily-${name}-${width}.png`) });
    }
  } finally {
    await page.setViewportSize(original);
  }
}

/** The bubble text `text` in the open chat's message list. */
function shown(page: Page, text: string) {
  return page.getByRole('list', { name: 'Message history' }).getByText(text, { exact: true });
}

/** From an open chat, start the one with `phone`, wait until it is open, and send `text`; `other` opens it. */
async function startChat(page: Page, other: Page, phone: string, text: string): Promise<void> {
  const before = await page.getByRole('heading', { level: 2 }).textContent();
  await page.getByRole('button', { name: 'New chat' }).click();
  await page.getByLabel('Phone number').fill(phone);
  await page.getByRole('button', { name: 'Start chat' }).click();
  await expect(async () => (await page.getByRole('heading', { level: 2 }).textContent()) !== before, 'new chat open');
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('textbox', { name: 'Message' }).press('Enter');
  const chat = other.getByRole('button', { name: /Open chat/ });
  await expect(() => chat.first().isVisible(), 'chat appears for the other side');
  await chat.first().click();
  await expect(() => shown(other, text).isVisible(), 'the other side sees the first message');
}

/** True when the bubble with `text` is inside the visible part of the message list. */
function inView(page: Page, text: string): Promise<boolean> {
  return page.getByRole('list', { name: 'Message history' }).evaluate((list, t) => {
    const li = [...list.querySelectorAll('li')].find((x) => x.textContent?.includes(t));
    if (!li) return false;
    const a = list.getBoundingClientRect();
    const b = li.getBoundingClientRect();
    return b.top >= a.top - 1 && b.bottom <= a.bottom + 1;
  }, text);
}

describe('web client as a daily driver in Chromium', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-daily-'));
  let server: ServerProcess;
  let browser: Browser;
  let alice: Page;
  let bob: Page;
  let carol: ParleyClient;
  const contexts: BrowserContext[] = [];
  const phones = { alice: '+12025550171', bob: '+12025550172', dana: '+12025550174' };
  let carolToAlice = '';
  let carolToBob = '';

  before(async () => {
    if (!existsSync(join(ROOT, 'apps/web/dist/index.html')))
      throw new Error('web client not built: npm run build --workspace @parley/web');
    server = await startServerProcess({ PARLEY_DATA_DIR: join(tmp, 'data') });
    browser = await launch();
    const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    contexts.push(desktop, phone);
    alice = await desktop.newPage();
    bob = await phone.newPage();
    await registerInBrowser(alice, server.url, phones.alice);
    await registerInBrowser(bob, server.url, phones.bob);
    carol = await registerTestClient(server.url, { WebSocket: WS, outboxToken: DEV_OUTBOX_TOKEN });
  });

  after(async () => {
    await carol?.close().catch(() => undefined);
    await closeBrowserSuite({ contexts, browsers: [browser], server, tmp });
  });

  it(
    'a long chat opens at its newest message and follows new ones, sent or received',
    { timeout: 180_000 },
    async () => {
      carolToAlice = await carol.startDirect(await carol.lookupPhone(phones.alice));
      carolToBob = await carol.startDirect(await carol.lookupPhone(phones.bob));
      for (let i = 1; i <= 40; i++) {
        await carol.sendText(carolToAlice, `history ${i} for Alice`);
        await carol.sendText(carolToBob, `history ${i} for Bob`);
      }
      for (const [page, who] of [
        [alice, 'Alice'],
        [bob, 'Bob'],
      ] as const) {
        await expect(
          () =>
            page
              .getByRole('button', { name: /Open chat/ })
              .first()
              .isVisible(),
          `chat listed for ${who}`,
        );
        await page
          .getByRole('button', { name: /Open chat/ })
          .first()
          .click();
        await expect(() => shown(page, `history 40 for ${who}`).isVisible(), `${who} sees the newest`);
        // More messages than fit, opened at the end: the newest in view, the oldest scrolled away.
        await expect(async () => (await listPosition(page)).below <= 2, `${who}'s chat opens at its end`);
        const pos = await listPosition(page);
        assert.ok(
          pos.scrollable && pos.top > 0,
          `${who}: the history is longer than the screen (${JSON.stringify(pos)})`,
        );
        assert.equal(await inView(page, `history 40 for ${who}`), true);
        assert.equal(await inView(page, `history 1 for ${who}`), false);

        // A message from Carol while at the end: followed.
        await carol.sendText(who === 'Alice' ? carolToAlice : carolToBob, `new while at the end for ${who}`);
        await expect(() => inView(page, `new while at the end for ${who}`), `${who} follows a received message`);
        // Own messages too.
        await page.getByRole('textbox', { name: 'Message' }).fill(`${who} answers`);
        await page.getByRole('textbox', { name: 'Message' }).press('Enter');
        await expect(() => inView(page, `${who} answers`), `${who} follows a sent message`);
        await expect(async () => (await listPosition(page)).below <= 2, `${who} at the end after sending`);
      }
      for (const page of [alice, bob]) assert.deepEqual(await seriousAxeViolations(page), [], 'axe: a long chat');
      await alice.screenshot({ path: join(tmpdir(), 'parley-daily-desktop-end.png') });
      await bob.screenshot({ path: join(tmpdir(), 'parley-daily-phone-end.png') });
    },
  );

  it('scrolled up, new messages are counted on a button that scrolls to the newest', { timeout: 120_000 }, async () => {
    for (const [page, who, conv] of [
      [alice, 'Alice', carolToAlice],
      [bob, 'Bob', carolToBob],
    ] as const) {
      const list = page.getByRole('list', { name: 'Message history' });
      // Scroll up the way a person does: the wheel over the list (a touch drag on the phone moves it the same way).
      await list.hover();
      await page.mouse.wheel(0, -1500);
      // Mobile emulation may ignore the wheel: scroll the list itself then, as a finger would.
      if ((await listPosition(page)).below <= 300) await list.evaluate((el) => el.scrollBy(0, -1500));
      await expect(async () => (await listPosition(page)).below > 300, `${who} scrolled up`);
      const before = (await listPosition(page)).top;
      await carol.sendText(conv, `first unseen for ${who}`);
      await expect(() => page.getByRole('button', { name: '1 new message' }).isVisible(), `${who}: 1 new message`);
      await carol.sendText(conv, `second unseen for ${who}`);
      const button = page.getByRole('button', { name: '2 new messages' });
      await expect(() => button.isVisible(), `${who}: 2 new messages`);
      // The reader was left where they were.
      assert.equal((await listPosition(page)).top, before);
      assert.equal(await inView(page, `second unseen for ${who}`), false);
      await page.screenshot({ path: join(tmpdir(), `parley-daily-${who}-new-messages.png`) });
      assert.deepEqual(await seriousAxeViolations(page), [], 'axe: with the new-messages button');
      if (page === bob) await fitsWidths(page, 'new-messages');
      await button.click();
      await expect(() => inView(page, `second unseen for ${who}`), `${who} taken to the newest`);
      await expect(async () => !(await button.isVisible()), `${who}: the button goes`);
    }
  });

  it(
    'screen readers: each message says who wrote it and only new messages are announced',
    { timeout: 60_000 },
    async () => {
      const list = alice.getByRole('list', { name: 'Message history' });
      assert.equal(await list.getAttribute('aria-live'), null, 'the history is not a live region');
      const tree = await list.ariaSnapshot();
      assert.match(tree, /listitem:\s+- text: "You: Alice answers/, tree);
      assert.match(tree, /listitem:(\s+- text:)? "Contact [\w-]+: history 40 for Alice/, tree);
      // The live region holds only what arrived while the chat was open, never the history.
      const live = alice.locator('[aria-live="polite"][aria-atomic="true"]');
      await carol.sendText(carolToAlice, 'announce me');
      let said = '';
      await expect(
        async () => /announce me/.test((said = (await live.textContent()) ?? '')),
        'the new message is announced',
      );
      assert.match(said, /^Contact [\w-]+: announce me$/);
      // Emptied again after a few seconds: the bubble stays the one copy of the text.
      await expect(async () => (await live.textContent()) === '', 'the announcement is cleared');
    },
  );

  it('headings read their parts as separate words', { timeout: 60_000 }, async () => {
    await alice.getByRole('button', { name: 'Verify safety number' }).click();
    await alice.getByRole('button', { name: 'Mark as verified' }).click();
    await alice.getByRole('button', { name: 'Close' }).first().click();
    await expect(
      () => alice.getByRole('heading', { level: 2, name: /^Contact [\w-]+ Safety number verified$/ }).isVisible(),
      'the verified badge is a separate word in the heading',
    );
    // The sub line ("online", shown once Carol's presence is fetched) is a separate word too.
    await expect(
      async () => /^Contact [\w-]+ ✓ online$/.test((await alice.locator('.chat-head-title').textContent()) ?? ''),
      'the heading and the sub line are separate words',
    );
  });

  it('a skip link leads a keyboard to the composer, visible when focused', { timeout: 60_000 }, async () => {
    for (const page of [alice, bob]) {
      // Start from the top of the page, as after loading it.
      await page.evaluate(() => {
        document.body.tabIndex = -1;
        document.body.focus();
        document.body.removeAttribute('tabindex');
      });
      await page.keyboard.press('Tab');
      const link = page.getByRole('link', { name: 'Skip to message composer' });
      assert.equal(await link.evaluate((el) => el === document.activeElement), true, 'the first tab stop');
      const box = await link.boundingBox();
      assert.ok(box && box.y >= 0 && box.height > 10, `visible when focused: ${JSON.stringify(box)}`);
      await page.screenshot({ path: join(tmpdir(), `parley-daily-skip-${page === alice ? 'desktop' : 'phone'}.png`) });
      await page.keyboard.press('Enter');
      assert.equal(
        await page.getByRole('textbox', { name: 'Message' }).evaluate((el) => el === document.activeElement),
        true,
        'focus is in the composer',
      );
      await page.keyboard.type('typed after the skip link');
      await page.keyboard.press('Enter');
      await expect(() => inView(page, 'typed after the skip link'), 'sent from the keyboard');
    }
  });

  it(
    'offline: the pill says so, a message shows as sending, and gets its ticks once back',
    { timeout: 120_000 },
    async () => {
      // Alice and Bob in one chat, both open.
      await bob.getByRole('button', { name: 'Back' }).click();
      await startChat(alice, bob, phones.bob, 'Alice to Bob, online');
      for (const [page, other, who] of [
        [alice, bob, 'Alice'],
        [bob, alice, 'Bob'],
      ] as const) {
        const context = page.context();
        await context.setOffline(true);
        // The chat says so at every width; the pill in the list's header too where the list is shown.
        const notice = page.getByText(/^Offline\. Messages you write are sent when the connection is back\.$/);
        await expect(() => notice.isVisible(), `${who}: the chat says offline`);
        if (page === alice)
          assert.equal(
            await page.getByRole('status', { name: 'Connection: offline' }).isVisible(),
            true,
            'pill offline',
          );
        await page.getByRole('textbox', { name: 'Message' }).fill(`${who} writes offline`);
        await page.getByRole('textbox', { name: 'Message' }).press('Enter');
        const bubble = page
          .getByRole('list', { name: 'Message history' })
          .getByRole('listitem')
          .filter({ hasText: `${who} writes offline` });
        await expect(() => bubble.isVisible(), `${who}: the message shows at once`);
        await expect(() => bubble.getByRole('img', { name: 'Sending' }).isVisible(), `${who}: clock while offline`);
        assert.equal(
          await bubble.getByRole('img', { name: 'Sending' }).locator('svg').count(),
          1,
          'the clock is an icon',
        );
        await page.screenshot({ path: join(tmpdir(), `parley-daily-${who}-offline.png`) });
        assert.deepEqual(await seriousAxeViolations(page), [], 'axe: offline, a message sending');
        if (page === bob) await fitsWidths(page, 'offline');
        await context.setOffline(false);
        await expect(async () => !(await page.locator('.conn-notice').isVisible()), `${who}: online again`);
        if (page === alice)
          assert.equal(await page.getByRole('status', { name: 'Connection: online' }).isVisible(), true, 'pill online');
        await expect(
          () => bubble.getByRole('img', { name: /^(Sent|Delivered|Read)$/ }).isVisible(),
          `${who}: ticks once back`,
        );
        await expect(() => shown(other, `${who} writes offline`).isVisible(), `the other side gets ${who}'s message`);
        await expect(
          () => bubble.getByRole('img', { name: /^(Delivered|Read)$/ }).isVisible(),
          `${who}: delivered once back`,
        );
      }
    },
  );

  it(
    'a send the server refuses keeps its text with Retry and Delete; a silent socket is found by the heartbeat',
    { timeout: 180_000 },
    async () => {
      // Dana's page talks to the server through a WebSocket route that can refuse sends or go silent.
      const context = await browser.newContext({
        viewport: { width: 390, height: 844 },
        isMobile: true,
        hasTouch: true,
      });
      contexts.push(context);
      const dana = await context.newPage();
      let refuseSends = false;
      let silent = false;
      await dana.routeWebSocket(/\/v1\/ws$/, (ws: WebSocketRoute) => {
        const upstream = ws.connectToServer();

        ws.onMessage((message) => {
          if (refuseSends && typeof message !== 'string') {
            const { header } = decodeBinaryFrame(new Uint8Array(message));
            const h = header as { id?: number; op?: string };
            if (h.op === 'send') {
              ws.send(
                JSON.stringify({
                  id: h.id,
                  status: 403,
                  body: { error: { code: 'not_member', message: 'This device is not a member of the conversation.' } },
                }),
              );
              return;
            }
          }
          upstream.send(message);
        });
        // Silent: nothing from the server reaches the page any more, yet nothing is closed.
        upstream.onMessage((message) => {
          if (!silent) ws.send(message);
        });
      });
      await registerInBrowser(dana, server.url, phones.dana);
      await openChat(dana, alice, phones.alice, 'Dana says hello');

      refuseSends = true;
      for (const text of ['Dana: please retry me', 'Dana: please delete me']) {
        await dana.getByRole('textbox', { name: 'Message' }).fill(text);
        await dana.getByRole('textbox', { name: 'Message' }).press('Enter');
      }
      const history = dana.getByRole('list', { name: 'Message history' });
      const retryMe = history.getByRole('listitem').filter({ hasText: 'Dana: please retry me' });
      const deleteMe = history.getByRole('listitem').filter({ hasText: 'Dana: please delete me' });
      for (const b of [retryMe, deleteMe]) {
        await expect(() => b.getByRole('img', { name: 'Not sent' }).isVisible(), 'marked not sent');
        assert.equal(await b.getByRole('button', { name: 'Retry' }).isVisible(), true);
        assert.equal(await b.getByRole('button', { name: 'Delete' }).isVisible(), true);
      }
      await dana.screenshot({ path: join(tmpdir(), 'parley-daily-failed.png') });
      assert.deepEqual(await seriousAxeViolations(dana), [], 'axe: failed messages with Retry and Delete');
      await fitsWidths(dana, 'failed');
      refuseSends = false;
      await retryMe.getByRole('button', { name: 'Retry' }).click();
      await expect(() => retryMe.getByRole('img', { name: /^(Sent|Delivered|Read)$/ }).isVisible(), 'sent on retry');
      await expect(() => shown(alice, 'Dana: please retry me').isVisible(), 'alice gets the retried message');
      assert.equal(await retryMe.getByRole('button', { name: 'Retry' }).count(), 0);
      await deleteMe.getByRole('button', { name: 'Delete' }).click();
      await expect(async () => (await deleteMe.count()) === 0, 'deleted');
      assert.equal(await shown(alice, 'Dana: please delete me').count(), 0);

      // The socket goes silent without closing: the heartbeat (every 15 s, 10 s to answer) finds it,
      // the pill leaves "online", and the new connection brings a waiting message through.
      silent = true;
      const wentSilent = Date.now();
      // Dana is on a phone with the chat open: the chat's own line says the connection is not up.
      await expect(
        () => dana.locator('.conn-notice').isVisible(),
        'the chat leaves online once the heartbeat goes unanswered',
        40_000,
      );
      const noticedMs = Date.now() - wentSilent;
      silent = false;
      await expect(async () => !(await dana.locator('.conn-notice').isVisible()), 'online again', 30_000);
      console.log(`# heartbeat noticed a silent socket after ${(noticedMs / 1000).toFixed(1)} s`);
      await dana.getByRole('textbox', { name: 'Message' }).fill('Dana after the heartbeat');
      await dana.getByRole('textbox', { name: 'Message' }).press('Enter');
      await expect(() => shown(alice, 'Dana after the heartbeat').isVisible(), 'alice gets it over the new socket');
    },
  );
});
