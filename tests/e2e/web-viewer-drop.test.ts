/**
 * The media viewer, drag-and-drop and paste of files in the web client (C4, C15), in real
 * Chromium. Alice (desktop, 1280 px) sends three pictures; she opens one in the viewer and uses it
 * by mouse and keyboard (counter, zoom buttons, wheel, double click, arrow keys, Tab staying
 * inside, download, forward, Escape giving the focus back to the thumbnail). Bob (phone, 360 px,
 * touch) opens the same pictures and swipes, pinches and double-taps with pointer events
 * dispatched on the viewer's stage. Then Alice drops a file on the chat (a DataTransfer dispatched
 * in the page) and Bob pastes a picture into his composer (a ClipboardEvent): each goes through
 * the preview with its caption and arrives on the other side. axe-core checks the viewer and the
 * preview at both widths.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { expect } from './helpers/expect.ts';
import { ROOT, startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import { closeBrowserSuite, openChat, registerInBrowser } from './helpers/web.ts';
import { browserUnavailable, launch } from './helpers/browser.ts';
import { seriousAxeViolations } from './helpers/axe.ts';
import { twoColourPng } from './helpers/images.ts';

const skip = browserUnavailable();
const history = (page: Page) => page.getByRole('list', { name: 'Message history' });
const viewerOf = (page: Page) => page.getByRole('dialog', { name: /^Image viewer: / });
const counter = async (viewer: Locator) => (await viewer.locator('.viewer-count').textContent())?.replace(/\s+/g, ' ');
const zoom = async (viewer: Locator) =>
  Number(/Zoom (\d+)%/.exec((await viewer.locator('.viewer-zoom').getAttribute('aria-label')) ?? '')?.[1] ?? NaN);

/** Dispatch pointer events on the viewer's stage: each step is [type, pointerId, x, y] in client px. */
async function pointers(page: Page, steps: [string, number, number, number][]): Promise<void> {
  await page.evaluate((list) => {
    const stage = document.querySelector('.viewer-stage')!;
    for (const [type, pointerId, x, y] of list)
      stage.dispatchEvent(
        new PointerEvent(type, {
          pointerId,
          pointerType: 'touch',
          isPrimary: pointerId === 1,
          clientX: x,
          clientY: y,
          button: 0,
          buttons: type === 'pointerup' ? 0 : 1,
          bubbles: true,
          cancelable: true,
        }),
      );
  }, steps);
}

/** The stage's centre in client px. */
async function stageCentre(page: Page): Promise<{ x: number; y: number }> {
  const box = (await page.locator('.viewer-stage').boundingBox())!;
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

describe('web media viewer, drop and paste in Chromium', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-web-viewer-'));
  let server: ServerProcess;
  let browser: Browser;
  let alice: Page;
  let bob: Page;
  const contexts: BrowserContext[] = [];
  const phones = { alice: '+12025550181', bob: '+12025550182' };
  const pictures = ['red.png', 'green.png', 'blue.png'];

  before(async () => {
    if (!existsSync(join(ROOT, 'apps/web/dist/index.html')))
      throw new Error('web client not built: npm run build --workspace @parley/web');
    server = await startServerProcess({ PARLEY_DATA_DIR: join(tmp, 'data') });
    browser = await launch();
    const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
    contexts.push(desktop, phone);
    alice = await desktop.newPage();
    bob = await phone.newPage();
    for (const page of [alice, bob]) page.on('pageerror', (e) => console.error('page error:', e.message));
    await registerInBrowser(alice, server.url, phones.alice);
    await registerInBrowser(bob, server.url, phones.bob);
    await openChat(alice, bob, phones.bob, 'Pictures coming');
    const colours: [number, number, number][] = [
      [200, 30, 30],
      [30, 160, 30],
      [30, 30, 200],
    ];
    pictures.forEach((name, i) => writeFileSync(join(tmp, name), twoColourPng(320, 240, colours[i]!, [240, 240, 240])));
    for (const name of pictures) {
      await alice.getByLabel('Choose files to send').setInputFiles(join(tmp, name));
      await expect(
        () =>
          history(bob)
            .getByRole('button', { name: `Open image ${name}` })
            .isVisible(),
        `bob has ${name}`,
        30_000,
      );
    }
  });

  after(() => closeBrowserSuite({ contexts, browsers: [browser], server, tmp }));

  it('opens a picture full screen and works by mouse and keyboard at desktop width', { timeout: 90_000 }, async () => {
    const thumb = history(alice).getByRole('button', { name: 'Open image green.png' });
    await thumb.click();
    const viewer = viewerOf(alice);
    await expect(() => viewer.isVisible(), 'viewer open');
    assert.equal(await counter(viewer), '2 of 3');
    await expect(async () => (await viewer.locator('img.viewer-media:not(.preview)').count()) === 1, 'full picture');
    assert.equal(await zoom(viewer), 100);

    // Zoom: buttons, the wheel about the cursor, a double click back to fitted.
    await viewer.getByRole('button', { name: 'Zoom in' }).click();
    assert.equal(await zoom(viewer), 150);
    await viewer.getByRole('button', { name: 'Zoom out' }).click();
    assert.equal(await zoom(viewer), 100);
    const c = await stageCentre(alice);
    await alice.mouse.move(c.x, c.y);
    await alice.mouse.wheel(0, -300);
    await expect(async () => (await zoom(viewer)) > 100, 'wheel zooms in');
    // Dragging while zoomed pans the picture rather than changing item.
    await alice.mouse.down();
    await alice.mouse.move(c.x + 150, c.y, { steps: 5 });
    await alice.mouse.up();
    assert.equal(await counter(viewer), '2 of 3', 'a drag while zoomed pans');
    assert.notEqual(await viewer.locator('img.viewer-media').evaluate((el) => el.style.transform), '');
    await alice.mouse.dblclick(c.x, c.y);
    await expect(async () => (await zoom(viewer)) === 100, 'double click fits again');
    await alice.mouse.dblclick(c.x, c.y);
    await expect(async () => (await zoom(viewer)) === 250, 'double click zooms to 250%');
    await alice.keyboard.press('0');
    assert.equal(await zoom(viewer), 100);

    // Arrow keys and the side buttons move through the chat's media.
    await alice.keyboard.press('ArrowRight');
    assert.equal(await counter(viewer), '3 of 3');
    assert.equal(await viewer.getByRole('button', { name: 'Next' }).count(), 0, 'no Next on the last');
    await alice.keyboard.press('ArrowLeft');
    await alice.keyboard.press('ArrowLeft');
    assert.equal(await counter(viewer), '1 of 3');
    await viewer.getByRole('button', { name: 'Next' }).click();
    assert.equal(await counter(viewer), '2 of 3');
    // Pressing Next onto the last item removes that button: focus moves to Previous, not the page.
    await viewer.getByRole('button', { name: 'Next' }).focus();
    await alice.keyboard.press('Enter');
    assert.equal(await counter(viewer), '3 of 3');
    await expect(
      () => alice.evaluate(() => document.activeElement?.getAttribute('aria-label') === 'Previous'),
      'focus moves to Previous at the last item',
    );
    await alice.keyboard.press('ArrowLeft');
    assert.equal(await counter(viewer), '2 of 3');

    // Tab stays inside the dialog.
    for (let i = 0; i < 12; i++) {
      await alice.keyboard.press('Tab');
      assert.equal(
        await alice.evaluate(() => !!document.activeElement?.closest('.viewer')),
        true,
        'focus stays in the viewer',
      );
    }
    assert.deepEqual(await seriousAxeViolations(alice), []);
    await alice.screenshot({ path: join(tmpdir(), 'parley-viewer-desktop.png') });

    // Download saves the decrypted picture under its name.
    const [download] = await Promise.all([
      alice.waitForEvent('download'),
      viewer.getByRole('button', { name: 'Download green.png' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'green.png');

    // Escape closes and gives the focus to the thumbnail of the picture on screen.
    await alice.keyboard.press('Escape');
    await expect(async () => (await viewer.count()) === 0, 'viewer closed');
    await expect(
      async () => (await thumb.evaluate((el) => el === document.activeElement)) === true,
      'focus back on the thumbnail',
    );

    // Forward: the viewer closes and the chat's forward dialog opens for that message.
    await thumb.press('Enter');
    await expect(() => viewer.isVisible(), 'viewer open again by keyboard');
    await viewer.getByRole('button', { name: 'Forward' }).click();
    const forward = alice.getByRole('dialog', { name: 'Forward message' });
    await expect(() => forward.isVisible(), 'forward dialog');
    await forward.getByRole('button', { name: 'Cancel' }).click();

    // The close button also returns the focus to the thumbnail, after moving on to another item.
    await thumb.click();
    await alice.keyboard.press('ArrowRight');
    await viewer.getByRole('button', { name: 'Close viewer' }).click();
    const last = history(alice).getByRole('button', { name: 'Open image blue.png' });
    await expect(
      async () => (await last.evaluate((el) => el === document.activeElement)) === true,
      'focus on the thumbnail of the item last shown',
    );
  });

  it('swipes, pinches and double-taps with pointer events at a 360 px phone width', { timeout: 90_000 }, async () => {
    await history(bob).getByRole('button', { name: 'Open image red.png' }).click();
    const viewer = viewerOf(bob);
    await expect(() => viewer.isVisible(), 'viewer open on the phone');
    assert.equal(await counter(viewer), '1 of 3');
    const width = await bob.evaluate(() => ({
      doc: document.documentElement.scrollWidth,
      viewer: document.querySelector('.viewer')!.getBoundingClientRect().width,
      bar: document.querySelector('.viewer-bar')!.scrollWidth,
    }));
    assert.ok(width.doc <= 360 && width.viewer <= 360 && width.bar <= 360, `fits 360 px: ${JSON.stringify(width)}`);
    assert.deepEqual(await seriousAxeViolations(bob), []);
    await bob.screenshot({ path: join(tmpdir(), 'parley-viewer-phone.png') });

    const { x, y } = await stageCentre(bob);
    // Swipe left: the next picture.
    await pointers(bob, [
      ['pointerdown', 1, x + 100, y],
      ['pointermove', 1, x + 20, y + 4],
      ['pointermove', 1, x - 60, y + 6],
      ['pointerup', 1, x - 60, y + 6],
    ]);
    assert.equal(await counter(viewer), '2 of 3', 'swipe left shows the next');
    // Swipe right: back.
    await pointers(bob, [
      ['pointerdown', 1, x - 100, y],
      ['pointermove', 1, x, y],
      ['pointermove', 1, x + 60, y],
      ['pointerup', 1, x + 60, y],
    ]);
    assert.equal(await counter(viewer), '1 of 3', 'swipe right shows the previous');

    // Pinch out with two fingers: zoomed in, and a one-finger drag now pans instead of swiping.
    await pointers(bob, [
      ['pointerdown', 1, x - 20, y],
      ['pointerdown', 2, x + 20, y],
      ['pointermove', 1, x - 50, y],
      ['pointermove', 2, x + 50, y],
      ['pointerup', 1, x - 50, y],
      ['pointerup', 2, x + 50, y],
    ]);
    const pinched = await zoom(viewer);
    assert.ok(pinched >= 240 && pinched <= 260, `pinch to about 250%: ${pinched}`);
    await pointers(bob, [
      ['pointerdown', 1, x, y],
      ['pointermove', 1, x - 80, y],
      ['pointerup', 1, x - 80, y],
    ]);
    assert.equal(await counter(viewer), '1 of 3', 'a drag while zoomed pans');
    // Double tap: back to fitted; again: 250%.
    const tap: [string, number, number, number][] = [
      ['pointerdown', 1, x, y],
      ['pointerup', 1, x, y],
    ];
    await pointers(bob, [...tap, ...tap]);
    assert.equal(await zoom(viewer), 100, 'double tap fits');
    await pointers(bob, [...tap, ...tap]);
    assert.equal(await zoom(viewer), 250, 'double tap zooms');
    await bob.screenshot({ path: join(tmpdir(), 'parley-viewer-phone-zoomed.png') });
    await viewer.getByRole('button', { name: 'Close viewer' }).click();
    await expect(async () => (await viewer.count()) === 0, 'viewer closed');
  });

  it(
    'sends a file dropped on the chat after the preview, with the composer text as caption',
    { timeout: 90_000 },
    async () => {
      await alice.getByRole('textbox', { name: 'Message' }).fill('Dropped with a caption');
      // A drag carrying a file over the chat shows the drop target.
      await alice.evaluate(async () => {
        const res = await fetch('/favicon.svg').catch(() => null);
        const bytes = res?.ok ? await res.arrayBuffer() : new Uint8Array([1, 2, 3]);
        const file = new File([bytes], 'dropped.txt', { type: 'text/plain' });
        const dt = new DataTransfer();
        dt.items.add(file);
        (window as unknown as { __dt: DataTransfer }).__dt = dt;
        const chat = document.querySelector('section.chat')!;
        chat.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }));
        chat.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      });
      await expect(() => alice.getByText(/^Drop to send to /).isVisible(), 'drop target shows');
      await alice.screenshot({ path: join(tmpdir(), 'parley-drop-target-desktop.png') });
      await alice.evaluate(() => {
        const dt = (window as unknown as { __dt: DataTransfer }).__dt;
        document
          .querySelector('.messages')!
          .dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      });
      assert.equal(await alice.getByText(/^Drop to send to /).count(), 0, 'drop target gone after the drop');
      const preview = alice.getByRole('dialog', { name: /^Send file to / });
      await expect(() => preview.isVisible(), 'preview dialog');
      assert.equal(await preview.getByRole('textbox', { name: 'Caption' }).inputValue(), 'Dropped with a caption');
      assert.equal(await preview.getByRole('list', { name: 'Files to send' }).getByText('dropped.txt').count(), 1);
      assert.deepEqual(await seriousAxeViolations(alice), []);
      await preview.getByRole('button', { name: 'Send' }).click();
      await expect(async () => (await preview.count()) === 0, 'preview closes');
      await expect(
        () => history(bob).getByText('Dropped with a caption', { exact: true }).isVisible(),
        'bob receives the dropped file with its caption',
        30_000,
      );
      assert.equal(
        await history(bob)
          .getByRole('button', { name: /^Download dropped\.txt/ })
          .count(),
        1,
      );
      assert.equal(await alice.getByRole('textbox', { name: 'Message' }).inputValue(), '', 'composer emptied');
    },
  );

  it('opens a video sent as a file in the viewer, where it plays', { timeout: 90_000 }, async () => {
    // A one-second WebM recorded in the page from a painted canvas, then dropped on the chat.
    await alice.evaluate(async () => {
      const canvas = document.createElement('canvas');
      canvas.width = 160;
      canvas.height = 120;
      const g = canvas.getContext('2d')!;
      const stream = canvas.captureStream(15);
      const recorder = new MediaRecorder(stream, { mimeType: 'video/webm' });
      const parts: Blob[] = [];
      recorder.ondataavailable = (e) => parts.push(e.data);
      const done = new Promise((r) => (recorder.onstop = r));
      recorder.start();
      for (let i = 0; i < 15; i++) {
        g.fillStyle = i % 2 ? '#c33' : '#33c';
        g.fillRect(0, 0, 160, 120);
        await new Promise((r) => setTimeout(r, 66));
      }
      recorder.stop();
      await done;
      const dt = new DataTransfer();
      dt.items.add(new File(parts, 'clip.webm', { type: 'video/webm' }));
      const chat = document.querySelector('section.chat')!;
      chat.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }));
      chat.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    const preview = alice.getByRole('dialog', { name: /^Send file to / });
    await expect(() => preview.isVisible(), 'preview of the clip');
    await preview.getByRole('button', { name: 'Send' }).click();
    const play = history(bob).getByRole('button', { name: 'Play video clip.webm' });
    await expect(() => play.isVisible(), 'bob has the clip', 30_000);
    await play.click();
    const viewer = bob.getByRole('dialog', { name: 'Video viewer: clip.webm' });
    await expect(() => viewer.isVisible(), 'video viewer open');
    const [at, of] = ((await counter(viewer)) ?? '').split(' of ');
    assert.equal(at, of, 'the newest item is the last of the chat');
    await expect(
      () =>
        viewer
          .locator('video.viewer-media')
          .evaluate((el: HTMLVideoElement) => el.readyState >= 2 && el.videoWidth === 160),
      'the decrypted clip loads in the viewer',
      30_000,
    );
    await viewer.locator('video.viewer-media').evaluate((el: HTMLVideoElement) => el.play());
    await expect(
      () => viewer.locator('video.viewer-media').evaluate((el: HTMLVideoElement) => el.currentTime > 0),
      'the clip plays',
    );
    assert.deepEqual(await seriousAxeViolations(bob), []);
    await bob.keyboard.press('Escape');
    await expect(async () => (await viewer.count()) === 0, 'closed');
    await expect(
      async () => (await play.evaluate((el) => el === document.activeElement)) === true,
      'focus back on the video button',
    );
  });

  it('pastes a picture into the composer on a phone, previews it and sends it', { timeout: 90_000 }, async () => {
    const composer = bob.getByRole('textbox', { name: 'Message' });
    await composer.click();
    const png = twoColourPng(64, 48, [250, 200, 0], [0, 0, 0]).toString('base64');
    await composer.evaluate((el, b64) => {
      const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
      el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    }, png);
    const preview = bob.getByRole('dialog', { name: /^Send photo to / });
    await expect(() => preview.isVisible(), 'preview after paste');
    await expect(
      () => preview.getByRole('img', { name: 'Preview of image.png' }).isVisible(),
      'the pasted picture is previewed',
    );
    assert.equal(await composer.inputValue(), '', 'nothing pasted as text');
    const fits = await bob.evaluate(() => document.querySelector('dialog.send-preview')!.getBoundingClientRect().width);
    assert.ok(fits <= 360, `preview fits 360 px: ${fits}`);
    assert.deepEqual(await seriousAxeViolations(bob), []);
    await bob.screenshot({ path: join(tmpdir(), 'parley-paste-preview-phone.png') });

    // Cancel sends nothing; a second paste with a caption is sent.
    await preview.getByRole('button', { name: 'Cancel' }).click();
    await expect(async () => (await preview.count()) === 0, 'preview closed');
    await composer.evaluate((el, b64) => {
      const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
      el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    }, png);
    await expect(() => preview.isVisible(), 'preview again');
    await preview.getByRole('textbox', { name: 'Caption' }).fill('Pasted from the clipboard');
    await preview.getByRole('button', { name: 'Send' }).click();
    await expect(
      () => history(alice).getByText('Pasted from the clipboard', { exact: true }).isVisible(),
      'alice receives the pasted picture',
      30_000,
    );
    await expect(
      () => history(alice).getByRole('button', { name: 'Open image image.png' }).isVisible(),
      'as a picture that opens in the viewer',
      30_000,
    );
    assert.equal(
      await history(alice).getByRole('button', { name: 'Open image image.png' }).count(),
      1,
      'only the confirmed paste was sent',
    );
  });
});
