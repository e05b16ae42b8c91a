/**
 * Finding things and reading them (C15, issue 21) in Chromium: Alice at desktop size (1280×800),
 * Bob at phone size (390×844), Carol an SDK client in this process who writes to both. Search
 * across chats from the chat list (chats by name and messages by text, ignoring case and accents,
 * matched words marked; a result opens its chat at the message), search within a chat (count,
 * older / newer, Escape gives the focus back), formatting (*bold*, _italic_, ~strike~, `code`,
 * ``` blocks; "2 * 3 * 4" stays plain; markup stays text) and links (http, https and www. open in
 * a new tab without opener or referrer; no other scheme is a link). Keyboard only where a person
 * would use it, axe-core on every new screen, and no screen wider than the phone.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { LocalMessage, ParleyClient, WebSocketCtor } from '@parley/sdk';
import { registerTestClient } from '@parley/sdk/testing';
import { expect } from './helpers/expect.ts';
import { DEV_OUTBOX_TOKEN, ROOT, startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import { closeBrowserSuite, registerInBrowser } from './helpers/web.ts';
import { browserUnavailable, launch } from './helpers/browser.ts';
import { seriousAxeViolations } from './helpers/axe.ts';

const skip = browserUnavailable();
const WS = WebSocket as unknown as WebSocketCtor;

/** The open chat's message history. */
const history = (page: Page) => page.getByRole('list', { name: 'Message history' });

/** The bubble (list item) holding `text` in the open chat. */
const bubble = (page: Page, text: string) => history(page).getByRole('listitem').filter({ hasText: text });

/** True when the bubble with `text` is inside the visible part of the message list. */
function inView(page: Page, text: string): Promise<boolean> {
  return history(page).evaluate((list, t) => {
    const li = [...list.querySelectorAll('li')].find((x) => x.textContent?.includes(t));
    if (!li) return false;
    const a = list.getBoundingClientRect();
    const b = li.getBoundingClientRect();
    return b.top >= a.top - 1 && b.bottom <= a.bottom + 1;
  }, text);
}

/** Nothing on the page is wider than the viewport at each width; a screenshot of each to /tmp. */
async function fitsWidths(page: Page, name: string, widths: number[]): Promise<void> {
  const original = page.viewportSize()!;
  try {
    for (const width of widths) {
      await page.setViewportSize({ width, height: original.height });
      const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(wide <= 0, `${name} at ${width} px is ${wide} px wider than the viewport`);
      await page.screenshot({ path: join(tmpdir(), `parley-find-${name}-${width}.png`) });
    }
  } finally {
    await page.setViewportSize(original);
  }
}

describe('web search, formatting and links in Chromium', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-find-'));
  let server: ServerProcess;
  let browser: Browser;
  let alice: Page;
  let bob: Page;
  let carol: ParleyClient;
  const contexts: BrowserContext[] = [];
  const phones = { alice: '+12025550181', bob: '+12025550182' };
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
    const aliceId = await carol.lookupPhone(phones.alice);
    const bobId = await carol.lookupPhone(phones.bob);
    const group = await carol.createGroup('Café team', [aliceId]);
    await carol.sendText(group, 'hello team');
    carolToAlice = await carol.startDirect(aliceId);
    carolToBob = await carol.startDirect(bobId);
    await carol.sendText(carolToAlice, 'Meet at the Café Müller at 6');
    for (let i = 1; i <= 30; i++) await carol.sendText(carolToAlice, `filler ${i} for Alice`);
    await carol.sendText(carolToAlice, '*bold* and _italic_ and ~gone~ and `npm test` but 2 * 3 * 4 and snake_case');
    await carol.sendText(carolToAlice, '```\nconst x = *y*;\n```');
    await carol.sendText(
      carolToAlice,
      'links: https://example.com/a_b, www.example.org. javascript:alert(1) data:text/html,x',
    );
    await carol.sendText(carolToAlice, '<img src=x onerror="window.pwned=1"> <b>not bold</b>');
    for (const text of ['apple one', 'banana', 'Apple two', 'pear']) await carol.sendText(carolToBob, text);
    for (let i = 1; i <= 20; i++) await carol.sendText(carolToBob, `filler ${i} for Bob`);
    await carol.sendText(carolToBob, 'APPLÉ three');
  });

  after(async () => {
    await carol?.close().catch(() => undefined);
    await closeBrowserSuite({ contexts, browsers: [browser], server, tmp });
  });

  it(
    'searches chats and messages from the chat list and opens a result at its message',
    { timeout: 180_000 },
    async () => {
      await expect(
        async () => (await alice.getByRole('button', { name: /Open chat/ }).count()) === 2,
        'both chats listed for Alice',
      );
      const field = alice.getByRole('searchbox', { name: 'Search chats and messages' });
      // Keyboard: the search field is reached with Tab from the chat list's actions.
      await alice.getByRole('button', { name: 'New group' }).focus();
      await alice.keyboard.press('Tab');
      await expect(() => field.evaluate((el) => el === document.activeElement), 'Tab reaches the search field');
      await alice.keyboard.type('CAFE');
      const results = alice.getByRole('region', { name: 'Search results' });
      const chats = results.getByRole('list', { name: 'Chats' });
      const messages = results.getByRole('list', { name: 'Messages' });
      await expect(() => chats.getByRole('button', { name: 'Café team' }).isVisible(), 'the group by name');
      await expect(() => messages.getByRole('button').first().isVisible(), 'a message hit');
      assert.equal(await messages.getByRole('button').count(), 1);
      const hit = messages.getByRole('button').first();
      assert.match(
        (await hit.getAttribute('aria-label')) ?? '',
        /in Contact [\w-]+, \d{1,2}:\d\d.*: Meet at the Café Müller at 6/,
      );
      assert.deepEqual(await results.locator('mark').allTextContents(), ['Café', 'Café']);
      // The chat list gives way to the results, and comes back when the field is cleared.
      assert.equal(await alice.getByRole('button', { name: /Open chat/ }).count(), 0);
      assert.deepEqual(await seriousAxeViolations(alice), [], 'axe: search results');
      await alice.screenshot({ path: join(tmpdir(), 'parley-find-desktop-results.png') });
      await field.press('Escape');
      await expect(async () => (await alice.getByRole('button', { name: /Open chat/ }).count()) === 2, 'Escape clears');
      await field.fill('müller');
      // Keyboard: Tab to the message result, Enter opens the chat at it, highlighted.
      await expect(() => messages.getByRole('button').first().isVisible(), 'the hit again');
      await field.press('Tab');
      await expect(
        () =>
          messages
            .getByRole('button')
            .first()
            .evaluate((el) => el === document.activeElement),
        'focus',
      );
      await alice.keyboard.press('Enter');
      await expect(() => bubble(alice, 'Meet at the Café Müller at 6').isVisible(), 'the chat opens');
      await expect(() => inView(alice, 'Meet at the Café Müller at 6'), 'scrolled to the message');
      assert.equal(await inView(alice, 'filler 30 for Alice'), false, 'not at the end of the chat');
      await alice.screenshot({ path: join(tmpdir(), 'parley-find-desktop-opened.png') });
      await field.fill('');

      // A phone: the same search, and its results fit the screen.
      await expect(
        () =>
          bob
            .getByRole('button', { name: /Open chat/ })
            .first()
            .isVisible(),
        'Bob has the chat',
      );
      await bob.getByRole('searchbox', { name: 'Search chats and messages' }).fill('banana');
      const bobHit = bob.getByRole('region', { name: 'Search results' }).getByRole('list', { name: 'Messages' });
      await expect(() => bobHit.getByRole('button').first().isVisible(), 'Bob finds banana');
      assert.deepEqual(await seriousAxeViolations(bob), [], 'axe: results on a phone');
      await fitsWidths(bob, 'phone-results', [360, 390]);
      await bobHit.getByRole('button').first().click();
      await expect(() => bubble(bob, 'banana').isVisible(), 'Bob opened at banana');
      await expect(() => inView(bob, 'banana'), 'banana in view');
    },
  );

  it('searches within a chat: count, older and newer, marks, Escape returns focus', { timeout: 120_000 }, async () => {
    // Bob's chat with Carol is open (previous test). Keyboard: More options → Search in chat.
    const more = bob.getByRole('button', { name: 'More options' });
    await more.focus();
    await bob.keyboard.press('Enter');
    await bob.getByRole('menuitem', { name: 'Search in chat' }).waitFor();
    await bob.getByRole('menuitem', { name: 'Search in chat' }).focus();
    await bob.keyboard.press('Enter');
    const box = bob.getByRole('searchbox', { name: 'Search messages in this chat' });
    await expect(() => box.evaluate((el) => el === document.activeElement), 'focus in the search box');
    await bob.keyboard.type('apple');
    const count = bob.getByRole('search', { name: 'Search in this chat' }).getByRole('status');
    await expect(
      async () => (await count.textContent()) === '1 of 3',
      () => 'count 1 of 3',
    );
    const current = () => history(bob).locator('.search-current').textContent();
    await expect(async () => (await current())?.includes('APPLÉ three') === true, 'the newest match first');
    assert.deepEqual(await history(bob).locator('mark').allTextContents(), ['apple', 'Apple', 'APPLÉ']);
    assert.deepEqual(await seriousAxeViolations(bob), [], 'axe: in-chat search');
    await fitsWidths(bob, 'phone-chat-search', [360, 390]);

    await box.press('Enter');
    await expect(async () => (await count.textContent()) === '2 of 3', '2 of 3');
    await expect(async () => (await current())?.includes('Apple two') === true, 'older: Apple two');
    await expect(() => inView(bob, 'Apple two'), 'Apple two in view');
    // Only the history scrolls: the phone's chat header stays on screen.
    const back = await bob.getByRole('button', { name: 'Back' }).boundingBox();
    assert.ok(back && back.y >= 0, `the header is in view (${JSON.stringify(back)})`);
    await box.press('ArrowUp');
    await expect(async () => (await count.textContent()) === '3 of 3', '3 of 3');
    await expect(() => inView(bob, 'apple one'), 'apple one in view');
    assert.equal(await bob.getByRole('button', { name: 'Older match' }).isDisabled(), true);
    await box.press('Shift+Enter');
    await expect(async () => (await count.textContent()) === '2 of 3', 'newer: 2 of 3');
    await bob.getByRole('button', { name: 'Newer match' }).click();
    await expect(async () => (await count.textContent()) === '1 of 3', 'newer: 1 of 3');
    await box.fill('kiwi');
    await expect(async () => (await count.textContent()) === 'No matches', 'no matches');
    await box.press('Escape');
    await expect(async () => !(await box.isVisible()), 'Escape closes the bar');
    await expect(() => more.evaluate((el) => el === document.activeElement), 'focus back on More options');
    assert.equal(await history(bob).locator('mark').count(), 0);

    // Desktop: the same from the mouse.
    await alice.getByRole('button', { name: 'More options' }).click();
    await alice.getByRole('menuitem', { name: 'Search in chat' }).click();
    await alice.getByRole('searchbox', { name: 'Search messages in this chat' }).fill('filler 2');
    const aliceCount = alice.getByRole('search', { name: 'Search in this chat' }).getByRole('status');
    // "filler 2", "filler 20" … "filler 29": eleven messages.
    await expect(
      async () => (await aliceCount.textContent()) === '1 of 11',
      () => 'Alice: 1 of 11',
    );
    await alice.screenshot({ path: join(tmpdir(), 'parley-find-desktop-chat-search.png') });
    assert.deepEqual(await seriousAxeViolations(alice), [], 'axe: in-chat search on desktop');
    await alice.getByRole('button', { name: 'Close search' }).click();
  });

  it('formats messages and makes links of http, https and www only', { timeout: 60_000 }, async () => {
    const fmt = bubble(alice, 'but 2 * 3 * 4 and snake_case');
    await expect(() => fmt.isVisible(), 'the formatted message');
    assert.equal(await fmt.locator('strong').textContent(), 'bold');
    assert.equal(await fmt.locator('em').textContent(), 'italic');
    assert.equal(await fmt.locator('s').textContent(), 'gone');
    assert.equal(await fmt.locator('code').textContent(), 'npm test');
    assert.match((await fmt.locator('.text').textContent()) ?? '', /but 2 \* 3 \* 4 and snake_case$/);
    assert.equal(await bubble(alice, 'const x = *y*;').locator('pre').textContent(), 'const x = *y*;');

    const links = bubble(alice, 'links:');
    const a = links.getByRole('link', { name: 'https://example.com/a_b' });
    assert.equal(await a.getAttribute('href'), 'https://example.com/a_b');
    assert.equal(await a.getAttribute('target'), '_blank');
    assert.equal(await a.getAttribute('rel'), 'noopener noreferrer');
    const www = links.getByRole('link', { name: 'www.example.org' });
    assert.equal(await www.getAttribute('href'), 'https://www.example.org/');
    assert.equal(await links.getByRole('link').count(), 2, 'javascript: and data: stay text');
    assert.match((await links.textContent()) ?? '', /javascript:alert\(1\) data:text\/html,x/);

    const hostile = bubble(alice, 'onerror=');
    assert.equal(await hostile.locator('img, b').count(), 0);
    assert.equal(await alice.evaluate(() => (window as unknown as { pwned?: number }).pwned), undefined);
    assert.match((await hostile.textContent()) ?? '', /<img src=x onerror="window.pwned=1"> <b>not bold<\/b>/);
    await fmt.scrollIntoViewIfNeeded();
    await alice.screenshot({ path: join(tmpdir(), 'parley-find-desktop-formatting.png') });
    assert.deepEqual(await seriousAxeViolations(alice), [], 'axe: formatted messages and links');
  });

  it('picks emoji into the composer at the caret and reacts with any emoji', { timeout: 90_000 }, async () => {
    const box = alice.getByRole('textbox', { name: 'Message' });
    await box.fill('Hi there');
    // The caret after "Hi ", then the picker by keyboard.
    await box.press('Home');
    for (let i = 0; i < 3; i++) await box.press('ArrowRight');
    const button = alice.getByRole('button', { name: 'Emoji', exact: true });
    await button.focus();
    await alice.keyboard.press('Enter');
    const picker = alice.getByRole('dialog', { name: 'Emoji' });
    const search = picker.getByRole('searchbox', { name: 'Search emoji' });
    await expect(() => search.evaluate((el) => el === document.activeElement), 'focus in the emoji search');
    assert.deepEqual(await seriousAxeViolations(alice), [], 'axe: emoji picker');
    await alice.screenshot({ path: join(tmpdir(), 'parley-find-desktop-emoji.png') });
    // Categories, and the arrows in the grid.
    await picker.getByRole('button', { name: 'Food and drink' }).click();
    await expect(() => picker.getByRole('button', { name: '🍌' }).isVisible(), 'food shown');
    await search.focus();
    await search.press('ArrowDown');
    const focused = () => alice.evaluate(() => document.activeElement?.textContent ?? '');
    assert.equal(await focused(), '🍏');
    await alice.keyboard.press('ArrowRight');
    assert.equal(await focused(), '🍎');
    await alice.keyboard.press('ArrowDown');
    assert.equal(await focused(), '🍒');
    await alice.keyboard.press('End');
    assert.equal(await focused(), '🍸');
    // Search (accents and case ignored), then Enter on the first result.
    await search.fill('THUMBS');
    await search.press('ArrowDown');
    assert.equal(await focused(), '👍');
    await alice.keyboard.press('Enter');
    await expect(async () => (await box.inputValue()) === 'Hi 👍there', 'the emoji at the caret');
    await alice.keyboard.press('Escape');
    await expect(async () => !(await picker.isVisible()), 'Escape closes the picker');
    await expect(() => button.evaluate((el) => el === document.activeElement), 'focus back on the Emoji button');
    await alice.getByRole('button', { name: 'Send' }).click();
    await expect(() => bubble(alice, 'Hi 👍there').isVisible(), 'sent with the emoji');
    // Recent emoji come first next time, kept on this device.
    await button.click();
    await expect(
      async () => (await picker.getByRole('button', { name: 'Recent' }).getAttribute('aria-pressed')) === 'true',
      'Recent is the first category',
    );
    assert.equal(await picker.getByRole('group', { name: 'Recent' }).getByRole('button').first().textContent(), '👍');
    await button.click();
    await expect(async () => !(await picker.isVisible()), 'the button closes it again');

    // More reactions: any emoji from the picker.
    const target = bubble(alice, 'Meet at the Café Müller at 6');
    await target.scrollIntoViewIfNeeded();
    await target.getByRole('button', { name: 'Message actions' }).click();
    await alice.getByRole('menuitem', { name: 'More reactions' }).click();
    const reactions = alice.getByRole('dialog', { name: 'More reactions' });
    await reactions.getByRole('searchbox', { name: 'Search emoji' }).fill('partying');
    await reactions.getByRole('searchbox', { name: 'Search emoji' }).press('Enter');
    await expect(async () => !(await reactions.isVisible()), 'the reaction picker closes after one pick');
    await expect(() => target.getByRole('button', { name: /^🥳 1: You/ }).isVisible(), 'the reaction chip');
    await expect(
      async () =>
        (await carol.messages(carolToAlice)).some((m) =>
          m.reactions?.some((r) => r.emoji === '🥳' && r.from !== carol.self.accountId),
        ),
      'Carol has the reaction',
    );

    // A phone: the picker fits the screen.
    await bob.getByRole('button', { name: 'Emoji', exact: true }).click();
    await bob.getByRole('dialog', { name: 'Emoji' }).getByRole('searchbox').waitFor();
    assert.deepEqual(await seriousAxeViolations(bob), [], 'axe: emoji picker on a phone');
    await fitsWidths(bob, 'phone-emoji', [360, 390]);
    await bob.keyboard.press('Escape');
  });

  it('makes link previews on the sending device, only where the site allows it', { timeout: 120_000 }, async () => {
    // Local pages: one a browser may read (CORS), one it may not, and one too big.
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
      'base64',
    );
    const served: string[] = [];
    const site: Server = createServer((req, res) => {
      served.push(req.url ?? '');
      const cors = { 'access-control-allow-origin': '*' };
      if (req.url?.startsWith('/cors'))
        return res
          .writeHead(200, { ...cors, 'content-type': 'text/html' })
          .end(
            '<head><meta property="og:title" content="Lake trail"><meta property="og:description" content="Ten km round the lake">' +
              '<meta property="og:image" content="/img.png"></head>',
          );
      if (req.url === '/img.png') return res.writeHead(200, { ...cors, 'content-type': 'image/png' }).end(png);
      if (req.url === '/nocors')
        return res.writeHead(200, { 'content-type': 'text/html' }).end('<title>Private</title>');
      if (req.url === '/big') {
        res.writeHead(200, { ...cors, 'content-type': 'text/html' });
        res.write('<title>Big</title>');
        return res.end('x'.repeat(700 * 1024));
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    const received = (text: string) =>
      expect(async () => (await carol.messages(carolToAlice)).some((m) => m.text === text), `Carol has "${text}"`).then(
        async () => (await carol.messages(carolToAlice)).find((m) => m.text === text) as LocalMessage,
      );
    try {
      const box = alice.getByRole('textbox', { name: 'Message' });
      const card = alice
        .getByRole('group', { name: 'Link preview to send' })
        .getByRole('link', { name: /^Link preview: Lake trail/ });
      // Written, the link is fetched by this page and its preview shown above the composer.
      await box.fill(`Walk? ${base}/cors`);
      await expect(() => card.isVisible(), 'the preview above the composer');
      assert.deepEqual(await seriousAxeViolations(alice), [], 'axe: composer with a link preview');
      await alice.screenshot({ path: join(tmpdir(), 'parley-find-desktop-composer-preview.png') });
      // Removed, it stays away for that link, and the message goes without it.
      await alice.getByRole('button', { name: 'Remove link preview' }).click();
      await expect(async () => !(await card.isVisible()), 'the preview removed');
      await box.press('End');
      await box.pressSequentially(' ok');
      await box.press('Enter');
      assert.equal((await received(`Walk? ${base}/cors ok`)).preview, undefined);

      // Another link: sent with its preview, image bytes and all.
      await box.fill(`Or this one ${base}/cors?day=2`);
      await expect(() => card.isVisible(), 'the second preview');
      await box.press('Enter');
      const sent = await received(`Or this one ${base}/cors?day=2`);
      assert.equal(sent.preview?.title, 'Lake trail');
      assert.equal(sent.preview?.description, 'Ten km round the lake');
      assert.equal(sent.preview?.url, `${base}/cors?day=2`);
      assert.ok(sent.preview?.image?.data, 'the image travels as bytes');
      const inBubble = bubble(alice, 'Or this one').getByRole('link', { name: /^Link preview: Lake trail/ });
      await expect(() => inBubble.isVisible(), 'the card in the sent bubble');
      assert.equal(await inBubble.getAttribute('rel'), 'noopener noreferrer');
      assert.match((await inBubble.locator('img').getAttribute('src')) ?? '', /^data:image\/(jpeg|png);base64,/);
      await inBubble.scrollIntoViewIfNeeded();
      await alice.screenshot({ path: join(tmpdir(), 'parley-find-desktop-bubble-preview.png') });

      // A site that refuses the cross-origin read, and a page over the size cap: no preview, nothing said.
      for (const path of ['/nocors', '/big']) {
        await box.fill(`see ${base}${path}`);
        await expect(() => served.includes(path), `the page fetched ${path}`);
        await box.press('Enter');
        assert.equal((await received(`see ${base}${path}`)).preview, undefined, path);
        assert.equal(await card.count(), 0);
      }

      // Settings → "Generate link previews" off: no fetch at all.
      await alice.getByRole('button', { name: 'Settings' }).click();
      const setting = alice.getByRole('checkbox', { name: 'Generate link previews' });
      assert.equal(await setting.isChecked(), true, 'on by default');
      await setting.uncheck();
      await alice.getByRole('button', { name: 'Back to chats' }).click();
      const fetched = served.length;
      await box.fill(`quiet ${base}/cors?off=1`);
      await box.press('Enter');
      assert.equal((await received(`quiet ${base}/cors?off=1`)).preview, undefined);
      assert.equal(served.length, fetched, 'the page was not fetched');
      await alice.getByRole('button', { name: 'Settings' }).click();
      await alice.getByRole('checkbox', { name: 'Generate link previews' }).check();
      await alice.getByRole('button', { name: 'Back to chats' }).click();
    } finally {
      site.closeAllConnections();
      await new Promise((r) => site.close(r));
    }
  });
});
