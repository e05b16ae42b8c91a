/**
 * Linking a web device (C1, docs/devices.md), in real Chromium against a real server: Alice uses
 * Parley in one browser and Bob is an SDK contact. Alice opens Settings → Linked devices → "Link a
 * device"; the QR code decoded from a screenshot is the link code shown as text. A second browser
 * (its fake camera plays that screenshot) chooses "Link to an existing device", refuses a pasted
 * code that is not one, then scans the QR code with the camera. The first page names the linked
 * device and both list the same two devices. The first chose "Everything" as history (C16), so the
 * second shows the chat and message from before the link. Bob's next message reaches both
 * browsers, and what the second one sends reaches Bob and shows on the first as Alice's own. Unlinking from the first
 * (after a confirmation) makes the second page say it was unlinked and wipe its local data, and its
 * token is refused with `unauthenticated`. Checked at 360, 390, 768 and 1280 px: no sideways
 * scrolling, and axe-core finds no serious or critical violation.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import type { LocalMessage, ParleyClient, WebSocketCtor } from '@parley/sdk';
import { registerTestClient } from '@parley/sdk/testing';
import { expect } from './helpers/expect.ts';
import { seriousAxeViolations, type AxeViolation } from './helpers/axe.ts';
import { DEV_OUTBOX_TOKEN, ROOT, startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import { closeBrowserSuite, registerInBrowser } from './helpers/web.ts';
import { browserUnavailable, launch, launchWith } from './helpers/browser.ts';
import { decodeQrPng, twoColourPng, writeY4m } from './helpers/images.ts';

const skip = browserUnavailable();
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true } as const;
const WIDTHS = [360, 390, 768, 1280];

/** Violations of these screens (the chat list's known name mismatch is another suite's). */
function ownViolations(found: AxeViolation[]): AxeViolation[] {
  return found.filter((v) => !(v.id === 'label-content-name-mismatch' && v.targets.every((t) => t === '.chat-item')));
}

/** At every width: `shown` shows (scrolled to), nothing scrolls sideways, axe finds nothing serious; a screenshot each. */
async function checkWidths(page: Page, name: string, shown: Locator): Promise<void> {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 800 });
    await expect(() => shown.isVisible(), `${name} at ${width}px`);
    await shown.scrollIntoViewIfNeeded();
    const sideways = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(sideways <= 0, `${name}: no sideways scrolling at ${width}px (${sideways}px too wide)`);
    await page.screenshot({ path: join(tmpdir(), `parley-web-link-${name}-${width}.png`) });
    assert.deepEqual(ownViolations(await seriousAxeViolations(page)), [], `${name}: axe at ${width}px`);
  }
  await page.setViewportSize(PHONE.viewport);
}

/** The device record's token as the page's IndexedDB store keeps it (JSON text under `device`). */
function storedToken(page: Page): Promise<string> {
  return page.evaluate(
    () =>
      new Promise<string>((resolve, reject) => {
        const open = indexedDB.open('parley');
        open.onerror = () => reject(new Error('no store'));
        open.onsuccess = () => {
          const get = open.result.transaction('kv').objectStore('kv').get('device');
          get.onsuccess = () => {
            open.result.close();
            resolve((JSON.parse(String(get.result)) as { token: string }).token);
          };
          get.onerror = () => reject(new Error('no device record'));
        };
      }),
  );
}

describe('web linking in Chromium', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-web-link-'));
  const cameraFile = join(tmp, 'camera.y4m');
  let server: ServerProcess;
  let browser: Browser;
  let cameraBrowser: Browser;
  let first: Page;
  let second: Page;
  let bob: ParleyClient;
  const contexts: BrowserContext[] = [];
  const phones = { alice: '+12025550191', bob: '+12025550192' };

  before(async () => {
    if (!existsSync(join(ROOT, 'apps/web/dist/index.html')))
      throw new Error('web client not built: npm run build --workspace @parley/web');
    server = await startServerProcess({ PARLEY_DATA_DIR: join(tmp, 'data') });
    browser = await launch();
    // The second browser's fake camera plays whatever this file holds when the page starts scanning.
    writeY4m(cameraFile, twoColourPng(64, 64, [255, 255, 255], [255, 255, 255]));
    cameraBrowser = await launchWith([`--use-file-for-fake-video-capture=${cameraFile}`]);
    const one = await browser.newContext(PHONE);
    const two = await cameraBrowser.newContext(PHONE);
    contexts.push(one, two);
    first = await one.newPage();
    second = await two.newPage();
    bob = await registerTestClient(server.url, {
      outboxToken: DEV_OUTBOX_TOKEN,
      phone: phones.bob,
      deviceName: 'node',
      WebSocket: WebSocket as unknown as WebSocketCtor,
    });
  });

  after(async () => {
    await bob?.close().catch(() => undefined);
    await closeBrowserSuite({ contexts, browsers: [browser, cameraBrowser], server, tmp });
  });

  it('links a second browser by its camera, delivers to both, and unlinks it', { timeout: 300_000 }, async () => {
    await registerInBrowser(first, server.url, phones.alice);
    const aliceId = await bob.lookupPhone(phones.alice);
    const direct = await bob.startDirect(aliceId);
    await bob.sendText(direct, 'before the link');
    const chatRow = (page: Page) => page.getByRole('button', { name: /Open chat/ });
    await expect(
      () => chatRow(first).filter({ hasText: 'before the link' }).first().isVisible(),
      'the chat on the first',
    );

    // The first browser shows a link code.
    await first.getByRole('button', { name: 'Settings' }).click();
    const section = first.getByRole('region', { name: 'Linked devices' });
    const list = section.getByRole('list', { name: 'Devices of this account' });
    await expect(() => list.getByText('(this device)').isVisible(), 'the device list names this device');
    assert.equal(await list.getByRole('listitem').count(), 1);
    await section.getByRole('button', { name: 'Link a device' }).click();
    const dialog = first.getByRole('dialog', { name: 'Link a device' });
    const qr = dialog.getByRole('img', { name: 'QR code for linking a new device' });
    await expect(() => qr.isVisible(), 'the QR code shows');
    const code = await dialog.getByRole('textbox', { name: 'Link code' }).inputValue();
    assert.match(code, /^parley:\/\/link\?v=1&/);
    const shot = await qr.screenshot();
    assert.equal(decodeQrPng(shot), code, 'the QR code holds the link code shown as text');
    await checkWidths(first, 'code', qr);

    // The second browser: "Link to an existing device"; a pasted non-code is refused, nothing sent.
    await second.goto(server.url);
    await second.getByRole('button', { name: 'Link to an existing device' }).click();
    const join_ = second.getByRole('form', { name: 'Link to an existing device' });
    await join_.getByRole('textbox', { name: 'Link code' }).fill('parley://link?v=1&id=nothing');
    await join_.getByRole('button', { name: 'Link this device' }).click();
    await expect(
      () => second.getByRole('alert').filter({ hasText: 'not a Parley link code' }).isVisible(),
      'a bad code is refused',
    );
    await checkWidths(second, 'join', join_);
    await join_.getByRole('textbox', { name: 'Name for this device' }).fill('Laptop browser');

    // The first sends everything from before the link (C16), chosen by keyboard.
    const choice = dialog.getByRole('group', { name: 'History for the new device' });
    assert.equal(await choice.getByRole('radio', { name: 'No history' }).isChecked(), true, 'none by default');
    await choice.getByRole('radio', { name: 'No history' }).focus();
    await first.keyboard.press('ArrowRight');
    await first.keyboard.press('ArrowRight');
    assert.equal(await choice.getByRole('radio', { name: 'Everything' }).isChecked(), true);

    // It scans the first one's QR code with its camera (a keyboard press on the named button).
    writeY4m(cameraFile, shot);
    await join_.getByRole('button', { name: 'Scan the code' }).focus();
    await second.keyboard.press('Enter');
    await expect(
      () =>
        dialog
          .getByText(/^Laptop browser is linked and was added to 1 chat, with \d+ messages of history\.$/)
          .isVisible(),
      'the first names the linked device',
      90_000,
    );
    await expect(() => second.getByRole('status', { name: 'Connection: online' }).isVisible(), 'the second is online');
    assert.equal(
      await join_.getByRole('textbox', { name: 'Link code' }).count(),
      0,
      'the second left the link form for the app',
    );
    await dialog.getByRole('button', { name: 'Done' }).click();
    await expect(() => list.getByText('Laptop browser').isVisible(), 'the list shows the new device');
    assert.equal(await list.getByRole('listitem').count(), 2);

    // The history is on the second: the chat from before the link, with its message.
    const earlier = chatRow(second).filter({ hasText: 'before the link' }).first();
    await expect(() => earlier.isVisible(), 'the chat from before the link is on the second');
    await earlier.click();
    await expect(
      () => second.getByRole('list', { name: 'Message history' }).getByText('before the link').isVisible(),
      'the message from before the link on the second',
    );
    await second.screenshot({ path: join(tmpdir(), 'parley-web-link-history-390.png') });
    await second.getByRole('button', { name: 'Back', exact: true }).click();

    // Bob's next message reaches both; the second's reply reaches Bob and shows on the first.
    await expect(() => chatRow(second).first().isVisible(), 'the chat appears on the second');
    await bob.sendText(direct, 'hello both');
    await first.getByRole('button', { name: 'Back to chats' }).click();
    for (const page of [first, second]) {
      const row = chatRow(page).filter({ hasText: 'hello both' }).first();
      await expect(() => row.isVisible(), 'the message in the list');
      await row.click();
      await expect(
        () => page.getByRole('list', { name: 'Message history' }).getByText('hello both').isVisible(),
        'the message in the chat',
      );
    }
    const fromSecond = new Promise<LocalMessage>((resolve) => {
      const off = bob.on('message', (m) => {
        if (m.text === 'from the laptop') {
          off();
          resolve(m);
        }
      });
    });
    await second.getByRole('textbox', { name: 'Message' }).fill('from the laptop');
    await second.getByRole('button', { name: 'Send' }).click();
    assert.equal((await fromSecond).from, aliceId, 'bob gets it from alice');
    await expect(
      () => first.getByRole('list', { name: 'Message history' }).getByText('from the laptop').isVisible(),
      'the first shows what the second sent',
    );

    // The second's settings list the same two devices, itself as this device.
    await second.getByRole('button', { name: 'Back', exact: true }).click();
    await second.getByRole('button', { name: 'Settings' }).click();
    const secondList = second.getByRole('list', { name: 'Devices of this account' });
    await expect(
      () => secondList.getByRole('listitem').filter({ hasText: 'Laptop browser (this device)' }).isVisible(),
      'the second is this device there',
    );
    assert.equal(await secondList.getByRole('listitem').count(), 2);
    const token = await storedToken(second);

    // Unlink from the first, by keyboard, after the confirmation.
    await first.getByRole('button', { name: 'Back', exact: true }).click();
    await first.getByRole('button', { name: 'Settings' }).click();
    await checkWidths(first, 'devices', list.getByText('Laptop browser'));
    await section.getByRole('button', { name: 'Unlink Laptop browser' }).focus();
    await first.keyboard.press('Enter');
    const confirm = first.getByRole('dialog', { name: 'Unlink Laptop browser?' });
    await expect(() => confirm.isVisible(), 'the confirmation');
    assert.deepEqual(ownViolations(await seriousAxeViolations(first)), [], 'axe on the confirmation');
    await confirm.getByRole('button', { name: 'Unlink' }).click();
    await expect(
      () => section.getByText('Laptop browser was unlinked and removed from 1 chat.').isVisible(),
      'the first says it is unlinked',
    );
    assert.equal(await list.getByRole('listitem').count(), 1);

    // The second page says so and wipes what it kept; its token is refused.
    const notice = second.getByRole('heading', { name: 'This device was unlinked' });
    await expect(() => notice.isVisible(), 'the second says it was unlinked');
    await expect(
      () => second.getByText('Everything this browser kept for Parley is deleted.').isVisible(),
      'the second wiped its data',
    );
    const databases = await second.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
    assert.deepEqual(databases, [], `no database left: ${databases.join(', ')}`);
    assert.equal(await second.evaluate(() => localStorage.length), 0);
    await checkWidths(second, 'unlinked', notice);
    const me = await fetch(`${server.url}/v1/accounts/me`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(me.status, 401);
    assert.equal(((await me.json()) as { error: { code: string } }).error.code, 'unauthenticated');
    await second.getByRole('button', { name: 'Start again' }).click();
    await expect(() => second.getByRole('button', { name: 'Send code' }).isVisible(), 'registration again');
  });
});
