/**
 * The service worker of the web client in real Chromium (C18): it is served at `/sw.js` and
 * registered by the app; a push (delivered through the DevTools protocol, as Chromium here cannot
 * reach a vendor's push service: `ServiceWorker.deliverPushMessage`) becomes a notification with
 * the chat's name as the app shows it, "New message" and the actions "Reply" and "Mark as read",
 * and nothing of the message; a muted chat and a device with names hidden are respected; "Mark as
 * read" sends the encrypted read receipt (through a window the worker would open, and through an
 * open page); "Reply" opens the chat with the composer focused. Settings → Notifications has named
 * controls and no serious axe violations at 390 and 1280 px.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, CDPSession, Page, Worker } from 'playwright-core';
import { expect } from './helpers/expect.ts';
import { ROOT, startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import { closeBrowserSuite, openChat, registerInBrowser } from './helpers/web.ts';
import { browserUnavailable, launch } from './helpers/browser.ts';
import { seriousAxeViolations } from './helpers/axe.ts';

const skip = browserUnavailable();

interface Shown {
  title: string;
  body: string;
  tag: string;
  actions: string[];
}

/** The notifications the service worker shows now. */
function shown(sw: Worker): Promise<Shown[]> {
  return sw.evaluate(async () => {
    const reg = (self as unknown as { registration: ServiceWorkerRegistration }).registration;
    const ns = await reg.getNotifications();
    return ns.map((n) => ({
      title: n.title,
      body: n.body,
      tag: n.tag,
      actions: ((n as unknown as { actions?: { title: string }[] }).actions ?? []).map((a) => a.title),
    }));
  });
}

/** Close every notification the worker shows. */
function clearShown(sw: Worker): Promise<void> {
  return sw.evaluate(async () => {
    const reg = (self as unknown as { registration: ServiceWorkerRegistration }).registration;
    for (const n of await reg.getNotifications()) n.close();
  });
}

/** Click an action of a notification for `conversationId` (shown for the purpose), in the worker. */
function click(sw: Worker, conversationId: string, action: string): Promise<void> {
  return sw.evaluate(
    async ([conversationId, action]) => {
      const scope = self as unknown as { registration: ServiceWorkerRegistration } & EventTarget;
      await scope.registration.showNotification('test', { tag: 'click-test', data: { conversationId } });
      const [n] = await scope.registration.getNotifications({ tag: 'click-test' });
      const Ctor = (self as unknown as { NotificationEvent: new (t: string, i: unknown) => Event }).NotificationEvent;
      scope.dispatchEvent(new Ctor('notificationclick', { notification: n, action }));
    },
    [conversationId, action] as const,
  );
}

/** The snapshot the page keeps for the worker (JSON text in the device store). */
function readView(page: Page): Promise<string> {
  return page.evaluate(
    () =>
      new Promise<string>((resolve, reject) => {
        const open = indexedDB.open('parley', 1);
        open.onsuccess = () => {
          const get = open.result.transaction('kv').objectStore('kv').get('notify:view');
          get.onsuccess = () => resolve(String(get.result));
          get.onerror = () => reject(get.error);
        };
      }),
  );
}

describe('web push service worker in Chromium', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-web-push-'));
  let server: ServerProcess;
  let browser: Browser;
  let alice: Page;
  let bob: Page;
  let bobCtx: BrowserContext;
  let cdp: CDPSession;
  const contexts: BrowserContext[] = [];
  const phones = { alice: '+12025550181', bob: '+12025550182' };
  let conv = '';
  let title = '';
  let registrationId = '';
  let sw: Worker;

  /** A wake-up as the server sends it, delivered to Bob's worker. */
  const push = async (conversationId: string) => {
    const data = JSON.stringify({
      v: 1,
      t: 'message',
      conversationId,
      messageId: 'm_AAAAAAAAAAAAAAAAAAAAAA',
      from: 'a_AAAAAAAAAAAAAAAAAAAAAA',
      sentAt: Date.now(),
    });
    await cdp.send('ServiceWorker.deliverPushMessage', { origin: server.url, registrationId, data });
  };

  before(async () => {
    if (!existsSync(join(ROOT, 'apps/web/dist/sw.js')))
      throw new Error('web client not built: npm run build --workspace @parley/web');
    server = await startServerProcess({ PARLEY_DATA_DIR: join(tmp, 'data') });
    browser = await launch();
    const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    bobCtx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await bobCtx.grantPermissions(['notifications'], { origin: server.url });
    contexts.push(desktop, bobCtx);
    alice = await desktop.newPage();
    bob = await bobCtx.newPage();
  });

  after(() => closeBrowserSuite({ contexts, browsers: [browser], server, tmp }));

  it(
    'serves /sw.js, which the app registers; Settings → Notifications is named and accessible',
    { timeout: 120_000 },
    async () => {
      const res = await fetch(`${server.url}/sw.js`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /javascript/);
      assert.equal(res.headers.get('cache-control'), 'no-cache', 'a stable URL, checked on each use');
      await registerInBrowser(alice, server.url, phones.alice);
      await registerInBrowser(bob, server.url, phones.bob);
      await openChat(alice, bob, phones.bob, 'hello bob');
      assert.equal(
        await bob.evaluate(async () => (await navigator.serviceWorker.ready).active?.scriptURL),
        `${server.url}/sw.js`,
      );
      cdp = await bobCtx.newCDPSession(bob);
      const found = new Promise<string>((resolve) =>
        cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => {
          const r = e.registrations.find((x) => x.scopeURL === `${server.url}/` && !x.isDeleted);
          if (r) resolve(r.registrationId);
        }),
      );
      await cdp.send('ServiceWorker.enable');
      registrationId = await found;
      await expect(() => bobCtx.serviceWorkers().length > 0, 'the worker is visible to the test');
      sw = bobCtx.serviceWorkers()[0]!;

      // The chat's id and the title the list shows, from the snapshot the page keeps for the worker.
      const view = await readView(bob);
      const chats = (JSON.parse(view) as { chats: Record<string, { name: string }> }).chats;
      conv = Object.keys(chats)[0] ?? '';
      title = chats[conv]?.name ?? '';
      assert.ok(conv && title && title !== 'Parley', `a chat with a title: ${view}`);

      for (const [page, width] of [
        [bob, 390],
        [alice, 1280],
      ] as const) {
        if (page === bob) await bob.getByRole('button', { name: 'Back', exact: true }).click();
        await page.getByRole('button', { name: 'Settings' }).click();
        const card = page.getByRole('region', { name: 'Push notifications' });
        await card.scrollIntoViewIfNeeded();
        for (const name of [
          'Notifications on this device',
          'Mentions still notify in muted chats',
          'Show chat names in notifications',
        ])
          assert.equal(await card.getByRole('checkbox', { name }).count(), 1, name);
        await page.screenshot({ path: join(tmpdir(), `parley-notification-settings-${width}.png`) });
        assert.deepEqual(await seriousAxeViolations(page), [], `axe on Settings at ${width}px`);
        await page.getByRole('button', { name: 'Back to chats' }).click();
      }
    },
  );

  it(
    'shows a content-free notification with Reply and Mark as read while no page is open',
    { timeout: 120_000 },
    async () => {
      await bob.goto('about:blank');
      await alice.getByRole('textbox', { name: 'Message' }).fill('secret while away');
      await alice.getByRole('textbox', { name: 'Message' }).press('Enter');
      await push(conv);
      await expect(async () => (await shown(sw)).length === 1, 'a notification');
      const [n] = await shown(sw);
      assert.deepEqual(n, { title, body: 'New message', tag: `chat:${conv}`, actions: ['Reply', 'Mark as read'] });

      // "Mark as read" with no page open: the worker opens the app on this URL, which marks the chat read.
      await clearShown(sw);
      await bob.goto(`${server.url}/?chat=${conv}&do=read`);
      const lastTick = alice.locator('.bubble.out').last().getByRole('img');
      await expect(async () => (await lastTick.getAttribute('aria-label')) === 'Read', 'alice sees the read receipt');
      await expect(async () => new URL(bob.url()).search === '', 'the intent is cleared from the address bar');
    },
  );

  it('respects hidden names and muted chats', { timeout: 120_000 }, async () => {
    await bob.getByRole('button', { name: 'Settings' }).click();
    await bob.getByRole('checkbox', { name: 'Show chat names in notifications' }).uncheck();
    await expect(() => bob.getByRole('checkbox', { name: 'Show chat names in notifications' }).isEnabled(), 'saved');
    await bob.getByRole('button', { name: 'Back to chats' }).click();
    await bob.goto('about:blank');
    await push(conv);
    await expect(async () => (await shown(sw)).some((x) => x.tag === `chat:${conv}`), 'a notification');
    assert.equal((await shown(sw)).find((x) => x.tag === `chat:${conv}`)?.title, 'Parley', 'no chat name');
    await clearShown(sw);

    // Mute the chat "Always" from its row's menu, then a push for it shows nothing, while one for
    // another chat (pushed after it) still shows.
    await bob.goto(server.url);
    await bob.getByRole('button', { name: 'Settings' }).click();
    await bob.getByRole('checkbox', { name: 'Show chat names in notifications' }).check();
    await bob.getByRole('button', { name: 'Back to chats' }).click();
    const menuButton = bob.getByRole('button', { name: /^Chat options for / }).first();
    await menuButton.click();
    await bob.getByRole('menuitem', { name: 'Mute notifications…' }).click();
    await bob.getByRole('dialog', { name: 'Mute notifications' }).getByRole('button', { name: 'Always' }).click();
    await expect(
      () =>
        bob
          .getByRole('button', { name: /^Open chat / })
          .first()
          .getByRole('img', { name: 'Muted' })
          .isVisible(),
      'muted',
    );
    await expect(async () => {
      const v = JSON.parse(await readView(bob)) as { chats: Record<string, { mutedUntil?: number }> };
      return (v.chats[conv]?.mutedUntil ?? 0) > Date.now();
    }, 'the snapshot has the mute');
    await bob.goto('about:blank');
    const other = 'BBBBBBBBBBBBBBBBBBBBBB';
    await push(conv);
    await push(other);
    await expect(async () => (await shown(sw)).some((x) => x.tag === `chat:${other}`), 'the other chat notifies');
    assert.equal((await shown(sw)).filter((x) => x.tag === `chat:${conv}`).length, 0, 'the muted chat stays silent');
    await clearShown(sw);
  });

  it(
    'Reply opens the chat at the composer; Mark as read on an open page sends the receipt',
    { timeout: 120_000 },
    async () => {
      await bob.goto(server.url);
      await expect(() => bob.getByRole('status', { name: 'Connection: online' }).isVisible(), 'bob online');
      await click(sw, conv, 'reply');
      await expect(() => bob.evaluate(() => document.activeElement?.id === 'composer'), 'composer focused');
      // Back to the list (phone width): the chat is not open, so nothing marks it read by itself.
      await bob.getByRole('button', { name: 'Back', exact: true }).click();
      await expect(
        () =>
          bob
            .getByRole('button', { name: /^Open chat / })
            .first()
            .isVisible(),
        'the list',
      );

      await alice.getByRole('textbox', { name: 'Message' }).fill('read me from the notification');
      await alice.getByRole('textbox', { name: 'Message' }).press('Enter');
      await expect(
        () =>
          bob
            .getByRole('button', { name: /^Open chat / })
            .filter({ hasText: 'read me from the notification' })
            .isVisible(),
        'bob has it, unread, in his list',
      );
      const lastTick = alice.locator('.bubble.out').last().getByRole('img');
      assert.notEqual(await lastTick.getAttribute('aria-label'), 'Read');
      await click(sw, conv, 'read');
      await expect(async () => (await lastTick.getAttribute('aria-label')) === 'Read', 'read receipt');
    },
  );
});
