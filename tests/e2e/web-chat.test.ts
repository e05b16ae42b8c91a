/**
 * The web client in real Chromium (C15): two browser contexts, one at phone size and one at
 * desktop size, register through the UI, chat 1:1 with ticks and typing, then chat with a CLI user
 * and all three share a group.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from './helpers/expect.ts';
import { ROOT, startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import { parley, registerProfile } from './helpers/cli.ts';
import { closeBrowserSuite, openChat, registerInBrowser } from './helpers/web.ts';
import { browserUnavailable, launch } from './helpers/browser.ts';

const skip = browserUnavailable();

describe('web client in Chromium', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-web-'));
  let server: ServerProcess;
  let browser: Browser;
  let alice: Page;
  let bob: Page;
  const contexts: BrowserContext[] = [];
  const phones = { alice: '+12025550161', bob: '+12025550162', cli: '+12025550163' };
  const cliProfile = join(tmp, 'cli');

  before(async () => {
    if (!existsSync(join(ROOT, 'apps/web/dist/index.html')))
      throw new Error('web client not built: npm run build --workspace @parley/web');
    server = await startServerProcess({ PARLEY_DATA_DIR: join(tmp, 'data') });
    browser = await launch();
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(phone, desktop);
    alice = await desktop.newPage();
    bob = await phone.newPage();
  });

  after(() => closeBrowserSuite({ contexts, browsers: [browser], server, tmp }));

  it('registers two browsers and chats 1:1 with ticks and typing', { timeout: 120_000 }, async () => {
    await registerInBrowser(alice, server.url, phones.alice);
    await registerInBrowser(bob, server.url, phones.bob);

    // Alice writes; Bob (phone layout) sees the chat in his list and opens it; Alice's tick turns to read.
    await openChat(alice, bob, phones.bob, 'Hi Bob, this is Alice');
    await expect(
      () => alice.locator('.messages').getByText('Hi Bob, this is Alice').isVisible(),
      'alice sees her message',
    );
    await expect(() => alice.getByRole('img', { name: 'Read' }).first().isVisible(), 'read tick for alice');

    // Typing indicator while Alice types.
    await alice.getByRole('textbox', { name: 'Message' }).pressSequentially('typing…', { delay: 30 });
    await expect(async () => /is typing/.test((await bob.locator('.typing').textContent()) ?? ''), 'bob sees typing');

    await bob.getByRole('textbox', { name: 'Message' }).fill('Hello Alice!');
    await bob.getByRole('textbox', { name: 'Message' }).press('Enter');
    await expect(() => alice.locator('.messages').getByText('Hello Alice!').isVisible(), 'alice sees the reply');
    await expect(
      () =>
        bob
          .getByRole('img', { name: /Delivered|Read/ })
          .first()
          .isVisible(),
      'delivered tick for bob',
    );

    // On a phone, the chat replaces the list and Back returns to it.
    assert.equal(await bob.getByRole('navigation', { name: 'Chats' }).isVisible(), false);
    await bob.getByRole('button', { name: 'Back' }).click();
    await expect(() => bob.getByRole('navigation', { name: 'Chats' }).isVisible(), 'list is back');
    await alice.screenshot({ path: join(tmpdir(), 'parley-web-desktop.png') });
    await bob.screenshot({ path: join(tmpdir(), 'parley-web-phone.png') });
  });

  it('chats with a CLI user and shares a group with both browsers', { timeout: 180_000 }, async () => {
    await registerProfile(server.url, cliProfile, phones.cli);

    const s = await parley([
      '--profile',
      cliProfile,
      'send',
      '--to',
      phones.alice,
      '--message',
      'Hello from the terminal',
    ]);
    assert.equal(s.code, 0, s.stderr);
    await expect(
      () =>
        alice
          .getByRole('button', { name: /Open chat Contact/ })
          .first()
          .isVisible(),
      'cli chat appears for alice',
    );
    await alice
      .getByRole('button', { name: /Open chat Contact/ })
      .first()
      .click();
    await expect(
      () => alice.locator('.messages').getByText('Hello from the terminal').isVisible(),
      'alice sees the CLI message',
    );
    await alice.getByRole('textbox', { name: 'Message' }).fill('Hello terminal, from the browser');
    await alice.getByRole('textbox', { name: 'Message' }).press('Enter');
    await expect(() => alice.locator('.messages').getByText('Hello terminal, from the browser').isVisible(), 'sent');
    const r = await parley(['--profile', cliProfile, 'receive', '--timeout', '3']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      r.lines.some((l) => l.text === 'Hello terminal, from the browser'),
      r.stdout,
    );

    // Alice makes a group with Bob and the CLI user.
    await alice.getByRole('button', { name: 'New group' }).click();
    await alice.getByLabel('Group name').fill('Weekend plans');
    await alice.getByLabel('Members (phone numbers, comma separated)').fill(`${phones.bob},${phones.cli}`);
    await alice.getByRole('button', { name: 'Create group' }).click();
    await expect(() => alice.getByRole('heading', { name: 'Weekend plans' }).isVisible(), 'group open for alice');
    await alice.getByRole('textbox', { name: 'Message' }).fill('Group hello from Alice');
    await alice.getByRole('textbox', { name: 'Message' }).press('Enter');
    await expect(
      () => bob.getByRole('button', { name: /Open chat Weekend plans/ }).isVisible(),
      'group appears for bob',
    );
    await bob.getByRole('button', { name: /Open chat Weekend plans/ }).click();
    await expect(
      () => bob.locator('.messages').getByText('Group hello from Alice').isVisible(),
      'bob sees the group message',
    );
    const g = await parley(['--profile', cliProfile, 'receive', '--timeout', '3']);
    const hello = g.lines.find((l) => l.text === 'Group hello from Alice');
    assert.ok(hello, g.stdout);
    const reply = await parley([
      '--profile',
      cliProfile,
      'send',
      '--to',
      String(hello.conversation),
      '--message',
      'CLI says hi to the group',
    ]);
    assert.equal(reply.code, 0, reply.stderr);
    await expect(
      () => bob.locator('.messages').getByText('CLI says hi to the group').isVisible(),
      'bob sees the CLI group message',
    );
    await expect(
      () => alice.locator('.messages').getByText('CLI says hi to the group').isVisible(),
      'alice sees the CLI group message',
    );
  });
});
