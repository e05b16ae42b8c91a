/**
 * The chat list and ambient cues of the web client in real Chromium (C15): the empty state, each
 * row's last-message preview, time and unread badge, the tab title's unread count (and its
 * setting), the new-message tone (and its setting), muting a chat (by keyboard from a row's menu
 * and from the chat's "More options": no tone, no title count, the badge and a "Muted" mark stay;
 * axe on the dialog), day separators in a chat, and dark mode following the system with
 * axe-core's colour-contrast rule passing. One server and one Chromium; Alice at desktop size,
 * Bob at phone size. The day words themselves, and when the next mute ends, are checked in Node
 * against a fixed "now".
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { dayLabel, listTime, nextMuteEnd, previewOf, withDaySeparators } from '@parley/web/testing';
import { MUTED_ALWAYS, type LocalMessage } from '@parley/sdk';
import { expect } from './helpers/expect.ts';
import { ROOT, startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import { closeBrowserSuite, registerInBrowser } from './helpers/web.ts';
import { browserUnavailable, launch } from './helpers/browser.ts';
import { seriousAxeViolations, type AxeViolation } from './helpers/axe.ts';
import { twoColourPng } from './helpers/images.ts';

const skip = browserUnavailable();
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Count every oscillator the page starts (the new-message tone is made with WebAudio). */
function countTones() {
  const w = window as unknown as { __tones: number[]; __toneAt: number };
  w.__tones = [];
  w.__toneAt = 0;
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (this: OscillatorNode, ...args: [number?]) {
    w.__tones.push(this.frequency.value);
    w.__toneAt = Date.now();
    return start.apply(this, args);
  };
}

/**
 * Wait until the page would chime again: a burst of messages chimes once (cues.tsx `MIN_GAP_MS`,
 * 1.5 s), so a tone expected right after another needs this much quiet first.
 */
const afterToneGap = (page: Page) =>
  page.waitForFunction(() => Date.now() - (window as unknown as { __toneAt: number }).__toneAt >= 1500);

const tones = (page: Page) => page.evaluate(() => (window as unknown as { __tones: number[] }).__tones.length);

/** Violations of axe-core's colour-contrast rule on the page as it is now. */
async function contrastViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (o: unknown) => Promise<{ violations: AxeViolation[] }> } }).axe;
    type AxeViolation = { id: string; nodes: { target: string[]; failureSummary: string }[] };
    const r = await axe.run({ runOnly: { type: 'rule', values: ['color-contrast'] } });
    return r.violations.flatMap((v) => v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`));
  });
}

/** Violations on the mute screens (the chat list's known name mismatch is another suite's). */
function ownViolations(found: AxeViolation[]): AxeViolation[] {
  return found.filter((v) => !(v.id === 'label-content-name-mismatch' && v.targets.every((t) => t === '.chat-item')));
}

/** Whether the focused element is inside the open mute dialog. */
const focusInDialog = (page: Page) => page.evaluate(() => !!document.activeElement?.closest('dialog.mute-dialog'));

/** Send `text` in the open chat. */
async function send(page: Page, text: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('textbox', { name: 'Message' }).press('Enter');
  await expect(() => page.locator('.bubble.out').getByText(text, { exact: true }).isVisible(), `sent ${text}`);
}

describe('web chat list and ambient cues in Chromium', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-web-list-'));
  let server: ServerProcess;
  let browser: Browser;
  let alice: Page;
  let bob: Page;
  const contexts: BrowserContext[] = [];
  const phones = { alice: '+12025550171', bob: '+12025550172' };
  /** Bob's row in his list, whatever its unread count. */
  const bobsRow = () => bob.getByRole('button', { name: /^Open chat / }).first();

  before(async () => {
    if (!existsSync(join(ROOT, 'apps/web/dist/index.html')))
      throw new Error('web client not built: npm run build --workspace @parley/web');
    server = await startServerProcess({ PARLEY_DATA_DIR: join(tmp, 'data') });
    browser = await launch();
    const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await phone.addInitScript(countTones);
    contexts.push(desktop, phone);
    alice = await desktop.newPage();
    bob = await phone.newPage();
  });

  after(() => closeBrowserSuite({ contexts, browsers: [browser], server, tmp }));

  it(
    'shows the empty state, then previews, times and unread counts in the list and the title',
    {
      timeout: 150_000,
    },
    async () => {
      await registerInBrowser(alice, server.url, phones.alice);
      await registerInBrowser(bob, server.url, phones.bob);
      for (const page of [alice, bob]) {
        await expect(() => page.getByText('No chats yet').isVisible(), 'empty state');
        assert.equal(await page.title(), 'Parley');
      }
      await bob.screenshot({ path: join(tmpdir(), 'parley-list-empty-phone.png') });

      // The empty state's action opens the new-chat form.
      await alice.getByRole('button', { name: 'Start a chat' }).click();
      // The form takes the focus, so the number can be typed straight away.
      await expect(
        () => alice.evaluate(() => document.activeElement?.id === 'new-number'),
        'focus in the number field',
      );
      await alice.keyboard.type(phones.bob);
      await alice.getByRole('button', { name: 'Start chat' }).click();
      await send(alice, 'Hi Bob');

      // Bob's list (no chat open): preview, time of day, "1 unread message", title and a tone.
      await expect(() => bob.getByRole('button', { name: /, 1 unread message$/ }).isVisible(), 'bob has 1 unread');
      await expect(async () => (await bobsRow().locator('.chat-preview').textContent()) === 'Hi Bob', 'preview');
      assert.match((await bobsRow().locator('.chat-time').textContent()) ?? '', /^\d{1,2}:\d{2}/);
      await expect(async () => (await bob.title()) === '(1) Parley', 'title (1) Parley');
      await expect(async () => (await tones(bob)) > 0, 'a tone for the new message');

      // Two more, the second a photo: the preview says "Photo" and the count is 3.
      await send(alice, 'Are you there?');
      const photo = join(tmp, 'photo.png');
      writeFileSync(photo, twoColourPng(64, 48, [200, 30, 30], [30, 30, 200]));
      await alice.getByLabel('Choose files to send').setInputFiles(photo);
      await expect(() => bob.getByRole('img', { name: '3 unread messages' }).isVisible(), 'badge: 3 unread messages');
      await expect(async () => (await bobsRow().locator('.chat-preview').textContent()) === 'Photo', 'Photo preview');
      await expect(async () => (await bob.title()) === '(3) Parley', 'title (3) Parley');
      assert.match((await bobsRow().getAttribute('aria-label')) ?? '', /^Open chat .+, 3 unread messages$/);
      // Alice's own row speaks for her: "You: …" (the photo's row is hers).
      await expect(
        async () => (await alice.locator('.chat-preview').first().textContent()) === 'You: Photo',
        'You: Photo',
      );
      await bob.screenshot({ path: join(tmpdir(), 'parley-list-unread-phone.png') });

      // Opening the chat reads it: badge and title count go.
      await bobsRow().click();
      await expect(() => bob.locator('.bubble').getByText('Are you there?').isVisible(), 'bob sees the messages');
      await expect(async () => (await bob.title()) === 'Parley', 'title back to Parley');
      // A day separator heads the history, read as one of its list items before the first message.
      const items = bob.getByRole('list', { name: 'Message history' }).getByRole('listitem');
      assert.equal(await items.first().textContent(), 'Today');
      assert.equal(await bob.locator('.day-separator').count(), 1, 'one day, one separator');

      const before = await tones(bob);
      await send(bob, 'Hello Alice');
      await bob.getByRole('button', { name: 'Back' }).click();
      await expect(
        async () => (await bobsRow().locator('.chat-preview').textContent()) === 'You: Hello Alice',
        'own preview',
      );
      assert.equal(await bob.getByRole('img', { name: /unread message/ }).count(), 0, 'no badge after reading');
      assert.match((await bobsRow().getAttribute('aria-label')) ?? '', /^Open chat [^,]+$/);
      assert.equal(await tones(bob), before, 'no tone for an own message');
      // Alice has the chat open and focused: no unread count for her.
      await expect(() => alice.locator('.bubble').getByText('Hello Alice').isVisible(), 'alice sees the reply');
      // The count can show for a moment between the message arriving and the open chat reading it.
      await expect(async () => (await alice.title()) === 'Parley', 'alice title back to Parley');
      await alice.screenshot({ path: join(tmpdir(), 'parley-list-desktop.png') });
    },
  );

  it(
    'plays the tone for a chat not on screen, not for the open focused chat, and not once turned off',
    { timeout: 90_000 },
    async () => {
      // Chat open and the tab focused: the message is on screen, so it stays quiet.
      await bobsRow().click();
      await expect(() => bob.getByRole('textbox', { name: 'Message' }).isVisible(), 'chat open');
      await bob.bringToFront();
      assert.equal(await bob.evaluate(() => document.hasFocus()), true, 'bob has focus');
      let count = await tones(bob);
      await send(alice, 'While you watch');
      await expect(() => bob.locator('.bubble').getByText('While you watch').isVisible(), 'bob sees it');
      assert.equal(await tones(bob), count, 'no tone for the open, focused chat');

      // Back in the list: a tone, at 880 and 1320 Hz.
      await bob.getByRole('button', { name: 'Back' }).click();
      // Only once the chat is off screen does a message count as unseen.
      await expect(async () => (await bob.getByRole('textbox', { name: 'Message' }).count()) === 0, 'back in the list');
      await afterToneGap(bob);
      await send(alice, 'While you are away');
      await expect(async () => (await tones(bob)) > count, 'tone for the list');
      const freqs = await bob.evaluate(() => (window as unknown as { __tones: number[] }).__tones.slice(-2));
      assert.deepEqual(freqs, [880, 1320]);

      // Turned off in Settings, kept on the device: silence.
      await bob.getByRole('button', { name: 'Settings' }).click();
      const box = bob.getByRole('checkbox', { name: 'Sound for new messages while Parley is open' });
      assert.equal(await box.isChecked(), true);
      await box.uncheck();
      await bob.getByRole('button', { name: 'Back to chats' }).click();
      count = await tones(bob);
      await send(alice, 'Quietly now');
      await expect(
        async () => (await bobsRow().locator('.chat-preview').textContent()) === 'Quietly now',
        'bob has the message',
      );
      assert.equal(await tones(bob), count, 'no tone when the sound is off');
      assert.equal(await bob.evaluate(() => localStorage.getItem('parley:message-sound')), 'off');
    },
  );

  it(
    'mutes a chat by keyboard: no tone, no title count, badge and muted mark kept; unmuting brings the tone back',
    { timeout: 120_000 },
    async () => {
      // The sound back on (the test before turned it off).
      await bob.getByRole('button', { name: 'Settings' }).click();
      await bob.getByRole('checkbox', { name: 'Sound for new messages while Parley is open' }).check();
      await bob.getByRole('button', { name: 'Back to chats' }).click();
      await expect(() => bobsRow().isVisible(), 'bob in the list');
      await expect(async () => /^\(\d+\) Parley$/.test(await bob.title()), 'unread messages in the title');

      // The row's menu by keyboard: ArrowUp opens it at its last item, "Mute notifications…".
      const menuButton = bob.getByRole('button', { name: /^Chat options for / }).first();
      const openMuteDialog = async () => {
        await menuButton.focus();
        await bob.keyboard.press('ArrowUp');
        await expect(
          async () => (await bob.evaluate(() => document.activeElement?.textContent)) === 'Mute notifications…',
          'the mute item focused',
        );
        await bob.keyboard.press('Enter');
        await expect(() => bob.getByRole('dialog', { name: 'Mute notifications' }).isVisible(), 'mute dialog');
      };
      await openMuteDialog();
      const dialog = bob.getByRole('dialog', { name: 'Mute notifications' });
      for (const length of ['8 hours', '1 week', 'Always', 'Cancel'])
        assert.equal(await dialog.getByRole('button', { name: length }).count(), 1, length);
      await expect(() => focusInDialog(bob), 'focus in the dialog');
      // Focus stays in the dialog however far Tab goes.
      for (let i = 0; i < 6; i++) {
        await bob.keyboard.press('Tab');
        assert.equal(await focusInDialog(bob), true, `Tab ${i + 1} stays in the dialog`);
      }
      await bob.keyboard.press('Shift+Tab');
      assert.equal(await focusInDialog(bob), true, 'Shift+Tab stays in the dialog');
      await bob.screenshot({ path: join(tmpdir(), 'parley-mute-dialog-phone.png') });
      assert.deepEqual(ownViolations(await seriousAxeViolations(bob)), [], 'axe on the mute dialog at 390px');
      // Escape closes it without muting, and focus goes back to the menu button.
      await bob.keyboard.press('Escape');
      await expect(async () => (await dialog.count()) === 0, 'dialog closed');
      await expect(() => menuButton.evaluate((el) => el === document.activeElement), 'focus back on the menu button');
      assert.equal(await bobsRow().getByRole('img', { name: 'Muted' }).count(), 0, 'not muted by Escape');

      // Muted always: the first choice has the focus; Tab twice reaches "Always".
      await openMuteDialog();
      await expect(
        async () => (await bob.evaluate(() => document.activeElement?.textContent)) === '8 hours',
        'focus on 8 hours',
      );
      await bob.keyboard.press('Tab');
      await bob.keyboard.press('Tab');
      assert.equal(await bob.evaluate(() => document.activeElement?.textContent), 'Always');
      await bob.keyboard.press('Enter');
      await expect(() => bobsRow().getByRole('img', { name: 'Muted' }).isVisible(), 'muted mark on the row');
      assert.match(
        (await bobsRow().getAttribute('aria-label')) ?? '',
        /^Open chat [^,]+, muted, \d+ unread messages?$/,
      );
      await expect(async () => (await bob.title()) === 'Parley', 'the muted chat leaves the title count');

      // A new message: counted on the row's badge, but no tone and no title count.
      const quiet = await tones(bob);
      const unread = Number((await bobsRow().locator('.badge').textContent()) ?? '0');
      await send(alice, 'While muted');
      await expect(
        async () => (await bobsRow().locator('.chat-preview').textContent()) === 'While muted',
        'bob has the message',
      );
      await expect(
        () => bob.getByRole('img', { name: `${unread + 1} unread messages` }).isVisible(),
        'the badge still counts it',
      );
      assert.equal(await tones(bob), quiet, 'no tone for a muted chat');
      assert.equal(await bob.title(), 'Parley', 'no title count for a muted chat');
      await bob.screenshot({ path: join(tmpdir(), 'parley-mute-row-phone.png') });

      // Unmute from the same menu (its last item is now "Unmute"): the count and the tone are back.
      await menuButton.focus();
      await bob.keyboard.press('ArrowUp');
      await expect(
        async () => (await bob.evaluate(() => document.activeElement?.textContent)) === 'Unmute',
        'the unmute item focused',
      );
      await bob.keyboard.press('Enter');
      await expect(async () => (await bobsRow().getByRole('img', { name: 'Muted' }).count()) === 0, 'mark gone');
      await expect(async () => (await bob.title()) === `(${unread + 1}) Parley`, 'title counts it again');
      await afterToneGap(bob);
      await send(alice, 'Loud again');
      await expect(async () => (await tones(bob)) > quiet, 'a tone once unmuted');
      await expect(async () => (await bob.title()) === `(${unread + 2}) Parley`, 'title counts the new one');

      // Settings can leave the count out of the title altogether, on this device; and back.
      await bob.getByRole('button', { name: 'Settings' }).click();
      const titleBox = bob.getByRole('checkbox', { name: 'Show unread count in the tab title' });
      assert.equal(await titleBox.isChecked(), true);
      await titleBox.uncheck();
      await expect(async () => (await bob.title()) === 'Parley', 'no count in the title');
      assert.equal(await bob.evaluate(() => localStorage.getItem('parley:title-count')), 'off');
      await bob
        .getByRole('region', { name: 'Notifications', exact: true })
        .screenshot({ path: join(tmpdir(), 'parley-notifications-setting-phone.png') });
      await titleBox.check();
      await expect(async () => (await bob.title()) === `(${unread + 2}) Parley`, 'the count is back');
      await bob.getByRole('button', { name: 'Back to chats' }).click();

      // Desktop: the chat's "More options" offers the same dialog; 8 hours, then Unmute there.
      const more = alice.getByRole('button', { name: 'More options' });
      await more.focus();
      await alice.keyboard.press('ArrowUp');
      await expect(() => alice.getByRole('menuitem', { name: 'Mute notifications…' }).isVisible(), 'header item');
      await alice.getByRole('menuitem', { name: 'Mute notifications…' }).focus();
      await alice.keyboard.press('Enter');
      const desk = alice.getByRole('dialog', { name: 'Mute notifications' });
      await expect(() => desk.isVisible(), 'dialog on desktop');
      assert.deepEqual(ownViolations(await seriousAxeViolations(alice)), [], 'axe on the mute dialog at 1280px');
      await alice.screenshot({ path: join(tmpdir(), 'parley-mute-dialog-desktop.png') });
      await alice.keyboard.press('Enter');
      const alicesRow = alice.getByRole('button', { name: /^Open chat / }).first();
      await expect(() => alicesRow.getByRole('img', { name: 'Muted' }).isVisible(), 'alice: muted mark');
      await more.click();
      await alice.getByRole('menuitem', { name: 'Unmute' }).click();
      await expect(async () => (await alicesRow.getByRole('img', { name: 'Muted' }).count()) === 0, 'alice: unmuted');
    },
  );

  it(
    'follows the system into dark mode with readable contrast in the list and a chat',
    {
      timeout: 90_000,
    },
    async () => {
      for (const page of [alice, bob]) {
        const name = page === alice ? 'desktop' : 'phone';
        for (const scheme of ['light', 'dark'] as const) {
          await page.emulateMedia({ colorScheme: scheme });
          if (page === bob && (await bob.getByRole('button', { name: 'Back' }).isVisible()))
            await bob.getByRole('button', { name: 'Back' }).click();
          await expect(() => page.getByRole('navigation', { name: 'Chats' }).isVisible(), 'list shown');
          const background = await page.evaluate(
            () => getComputedStyle(document.querySelector('.sidebar')!).backgroundColor,
          );
          assert.equal(background, scheme === 'dark' ? 'rgb(32, 44, 51)' : 'rgb(255, 255, 255)', `${scheme} sidebar`);
          assert.deepEqual(await contrastViolations(page), [], `${scheme} ${name} list contrast`);
          await page.screenshot({ path: join(tmpdir(), `parley-list-${scheme}-${name}.png`) });
          await page
            .getByRole('button', { name: /^Open chat / })
            .first()
            .click();
          await expect(() => page.getByRole('list', { name: 'Message history' }).isVisible(), 'chat shown');
          await expect(() => page.locator('.day-separator').first().isVisible(), 'separator shown');
          assert.deepEqual(await contrastViolations(page), [], `${scheme} ${name} chat contrast`);
          await page.screenshot({ path: join(tmpdir(), `parley-chat-${scheme}-${name}.png`) });
          const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          assert.ok(wide <= 0, `${name} ${scheme}: ${wide}px wider than the viewport`);
        }
      }
      // Dark Settings (the sound switch) reads as well; the list fits at 360 and 768 px too.
      await bob.getByRole('button', { name: 'Back' }).click();
      await bob.getByRole('button', { name: 'Settings' }).click();
      await expect(() => bob.getByRole('checkbox', { name: /Sound for new messages/ }).isVisible(), 'settings');
      assert.deepEqual(await contrastViolations(bob), [], 'dark settings contrast');
      await bob.screenshot({ path: join(tmpdir(), 'parley-settings-dark-phone.png'), fullPage: true });
      await bob.getByRole('button', { name: 'Back to chats' }).click();
      for (const width of [360, 768]) {
        await bob.setViewportSize({ width, height: 800 });
        await expect(() => bob.getByRole('navigation', { name: 'Chats' }).isVisible(), `list at ${width}`);
        const wide = await bob.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(wide <= 0, `${width}px: ${wide}px wider than the viewport`);
        await bob.screenshot({ path: join(tmpdir(), `parley-list-dark-${width}.png`) });
      }
    },
  );
});

describe('chat list words for messages and days', () => {
  // Local times, so the test holds in any time zone: Wednesday 10 June 2026, 15:00.
  const now = new Date(2026, 5, 10, 15, 0).getTime();
  const at = (day: number, hour = 9) => new Date(2026, 5, day, hour, 30).getTime();
  const me = 'a_me';
  const msg = (id: string, time: number, extra: Partial<LocalMessage> = {}): LocalMessage => ({
    id,
    conversationId: 'c1',
    from: 'a_other',
    fromDevice: 'd1',
    text: id,
    sentAt: time,
    serverTime: time,
    outgoing: false,
    status: 'delivered',
    deliveredTo: [],
    readBy: [],
    ...extra,
  });

  it('names days as Today, Yesterday, a weekday within a week, else a date', () => {
    assert.equal(dayLabel(at(10), now), 'Today');
    assert.equal(dayLabel(at(9, 23), now), 'Yesterday');
    assert.equal(dayLabel(at(6), now), new Date(at(6)).toLocaleDateString([], { weekday: 'long' }));
    assert.match(dayLabel(at(1), now), /June|Jun/);
    assert.match(dayLabel(new Date(2025, 11, 24).getTime(), now), /2025/);
    assert.match(listTime(at(10), now), /\d{1,2}:30/);
    assert.equal(listTime(at(9), now), 'Yesterday');
    assert.equal(listTime(at(5), now), new Date(at(5)).toLocaleDateString([], { weekday: 'long' }));
    assert.doesNotMatch(listTime(at(1), now), /day$/);
  });

  it('puts a separator before the first message and wherever the day changes', () => {
    const list = [msg('m1', at(1)), msg('m2', at(1, 11)), msg('m3', at(9)), msg('m4', at(10)), msg('m5', at(10, 12))];
    const out = withDaySeparators(list, (m) => m.id, now);
    const words = out.map((x) =>
      typeof x === 'string'
        ? x
        : (x as { props: { children: { props: { children: string } } } }).props.children.props.children,
    );
    assert.deepEqual(words, [dayLabel(at(1), now), 'm1', 'm2', 'Yesterday', 'm3', 'Today', 'm4', 'm5']);
  });

  it('finds when the next mute ends: the soonest still to come, never "always" or one past', () => {
    const now = 1_000_000;
    assert.equal(nextMuteEnd([], now), null);
    assert.equal(
      nextMuteEnd([{}, { mutedUntil: MUTED_ALWAYS }, { mutedUntil: now - 1 }, { mutedUntil: now }], now),
      null,
    );
    assert.equal(
      nextMuteEnd([{ mutedUntil: now + 5000 }, { mutedUntil: MUTED_ALWAYS }, { mutedUntil: now + 2000 }, {}], now),
      now + 2000,
    );
  });

  it('previews text, attachments and own messages', () => {
    const t = at(10);
    const blob = { blobId: 'b', key: 'k', digest: 'd', size: 1, mimeType: 'image/png' };
    assert.equal(previewOf(msg('Hello\nthere', t), me), 'Hello there');
    const kinds = { image: 'Photo', voice: 'Voice message', video: 'Video message', file: 'File' } as const;
    for (const [kind, word] of Object.entries(kinds)) {
      const attachment = { ...blob, kind } as unknown as LocalMessage['attachment'];
      assert.equal(previewOf(msg('', t, { attachment }), me), word);
      assert.equal(previewOf(msg('', t, { attachment, from: me }), me), `You: ${word}`);
    }
    const attachment = { ...blob, kind: 'image' } as unknown as LocalMessage['attachment'];
    assert.equal(previewOf(msg('At the beach', t, { attachment }), me), 'Photo: At the beach');
  });
});
