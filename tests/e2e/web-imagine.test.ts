/**
 * Image generation in the web client (C9), in Chromium, in a group of a web user (Alice) and two
 * SDK users (Carol, Dave). The server offers one hosted model on a local fake of an
 * OpenAI-compatible image service (answering the documented `/v1/images/generations` shape) and
 * the offline pattern renderer. Alice, by keyboard only, opens "Generate image", sees the
 * first-use notice naming who receives the prompt and acknowledges it, picks the pattern renderer,
 * generates two variants, re-rolls them (new pictures), picks the second and sends it; Carol and
 * Dave receive it with its label. Then the hosted model: progress shows while the provider holds
 * the job, "Stop generating" stops it (nothing charged), a second try sends the image with
 * "AI-generated · Studio Image", and asking for more than the day's quota shows its sentence. At
 * 360, 390, 768 and 1280 px nothing is wider than the screen and axe finds no serious violation.
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
import { SAMPLE_PNG, json, startFake, type Fake } from '@parley/imagegen/testing';
import { expect } from './helpers/expect.ts';
import { DEV_OUTBOX_TOKEN, ROOT, startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import { closeBrowserSuite, registerInBrowser } from './helpers/web.ts';
import { browserUnavailable, launch } from './helpers/browser.ts';
import { seriousAxeViolations, type AxeViolation } from './helpers/axe.ts';

const skip = browserUnavailable();
const WS = WebSocket as unknown as WebSocketCtor;

/** The chat list's rows name more than their text shows (a known, separate finding). */
function ownViolations(found: AxeViolation[]): AxeViolation[] {
  return found.filter((v) => !(v.id === 'label-content-name-mismatch' && v.targets.every((t) => t === '.chat-item')));
}

/** Press Tab until the focused element's accessible name matches `name` (at most 12 presses). */
async function tabTo(page: Page, name: RegExp, back = false): Promise<void> {
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const label = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el) return '';
      const labelled = el.getAttribute('aria-label');
      if (labelled) return labelled;
      const id = el.id;
      const forLabel = id ? document.querySelector(`label[for="${CSS.escape(id)}"]`)?.textContent : null;
      return forLabel ?? el.closest('label')?.textContent ?? el.textContent ?? '';
    });
    if (name.test(label)) return;
  }
  throw new Error(`Tab never reached ${String(name)}`);
}

/** SHA-256 of what the page shows at an object URL, to tell pictures apart. */
function digestOf(page: Page, url: string): Promise<string> {
  return page.evaluate(async (u) => {
    const bytes = await (await fetch(u)).arrayBuffer();
    return [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16)).join('');
  }, url);
}

describe('image generation in the web client', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-web-imagine-'));
  let server: ServerProcess;
  let fake: Fake;
  let browser: Browser;
  let page: Page;
  let carol: ParleyClient;
  let dave: ParleyClient;
  let group = '';
  const contexts: BrowserContext[] = [];
  const phones = { alice: '+12025550171', carol: '+12025550172', dave: '+12025550173' };
  /** The first hosted request is held until the test lets it go (or the server hangs up). */
  let held = 0;
  let heldClosed = false;

  before(async () => {
    if (!existsSync(join(ROOT, 'apps/web/dist/index.html')))
      throw new Error('web client not built: npm run build --workspace @parley/web');
    fake = await startFake((hit, res) => {
      const body = hit.body as { n: number };
      if (hit.headers.authorization !== 'Bearer sk-web') return json(res, 401, { error: { message: 'bad key' } });
      if (++held === 1) {
        // Never answered: only the server's cancel (its request closing) ends it.
        res.on('close', () => (heldClosed = true));
        return undefined;
      }
      json(res, 200, {
        data: Array.from({ length: body.n }, () => ({ b64_json: Buffer.from(SAMPLE_PNG).toString('base64') })),
      });
      return undefined;
    });
    const models = [
      {
        id: 'studio',
        provider: 'openai',
        baseUrl: fake.base,
        apiKey: 'sk-web',
        model: 'image-model-1',
        displayName: 'Studio Image',
        maxVariantsPerJob: 4,
        dailyQuota: 3,
        costPerImage: 0.04,
      },
    ];
    server = await startServerProcess({
      PARLEY_DATA_DIR: join(tmp, 'data'),
      PARLEY_IMAGEGEN_MODELS: JSON.stringify(models),
    });
    browser = await launch();
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    contexts.push(ctx);
    page = await ctx.newPage();
    await registerInBrowser(page, server.url, phones.alice);
    const opts = { WebSocket: WS, outboxToken: DEV_OUTBOX_TOKEN };
    carol = await registerTestClient(server.url, { ...opts, phone: phones.carol });
    dave = await registerTestClient(server.url, { ...opts, phone: phones.dave });
    group = await carol.createGroup('Imagine club', [
      await carol.lookupPhone(phones.alice),
      await carol.lookupPhone(phones.dave),
    ]);
    await carol.sendText(group, 'show us something');
  });
  after(async () => {
    await carol?.close().catch(() => undefined);
    await dave?.close().catch(() => undefined);
    await closeBrowserSuite({ contexts, browsers: [browser], server, tmp });
    await fake?.close();
  });

  /** The labels of the generated images a member holds in the group, oldest first. */
  async function labelsAt(client: ParleyClient): Promise<string[]> {
    return (await client.messages(group)).flatMap((m) =>
      m.generated ? [`${m.generated.provider}:${m.generated.modelName}`] : [],
    );
  }

  it('generates, re-rolls and sends a pattern image and a hosted one', { timeout: 240_000 }, async () => {
    const open = page.getByRole('button', { name: /Open chat Imagine club/ });
    await expect(() => open.isVisible(), 'the group appears');
    await open.click();
    const history = page.getByRole('list', { name: 'Message history' });
    await expect(() => history.getByText('show us something').isVisible(), 'the first message');

    // Keyboard only: from the message box back to "Generate image", Enter opens the sheet.
    await page.getByRole('textbox', { name: 'Message' }).focus();
    await tabTo(page, /^Generate image$/, true);
    await page.keyboard.press('Enter');
    const sheet = page.getByRole('dialog', { name: 'Generate an image for Imagine club' });
    await expect(() => sheet.isVisible(), 'the sheet opens');

    // The notice comes first, naming who receives the prompt; nothing can run before it is acknowledged.
    const notice = sheet.getByRole('note');
    await expect(() => notice.isVisible(), 'the first-use notice');
    const host = new URL(fake.base).host;
    assert.match(
      (await notice.textContent()) ?? '',
      new RegExp(
        `Your prompt leaves end-to-end encryption: this Parley server receives it and sends it to an OpenAI-compatible image service \\(${host.replace('.', '\\.')}\\)`,
      ),
    );
    assert.equal(await sheet.getByRole('button', { name: 'Generate' }).isDisabled(), true);
    assert.match((await sheet.getByRole('group', { name: 'Model' }).textContent()) ?? '', /Pattern — offline, not AI/);
    assert.match((await sheet.getByRole('group', { name: 'Model' }).textContent()) ?? '', /3 left today/);
    assert.deepEqual(ownViolations(await seriousAxeViolations(page)), [], 'axe with the notice');
    await page.screenshot({ path: join(tmpdir(), 'parley-web-imagine-notice-390.png') });
    await tabTo(page, /^I understand$/);
    await page.keyboard.press('Enter');
    await expect(async () => (await notice.count()) === 0, 'the notice goes once acknowledged');

    // The chosen model has the focus: the arrow picks the pattern renderer.
    await expect(
      () => page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.type === 'radio'),
      'focus on the model picker',
    );
    await page.keyboard.press('ArrowDown');
    assert.equal(await sheet.getByRole('radio', { name: /Pattern — offline, not AI/ }).isChecked(), true);
    await tabTo(page, /^Prompt$/);
    await page.keyboard.type('a red fox in the snow');
    await tabTo(page, /^Generate$/);
    await page.keyboard.press('Enter');
    const grid = sheet.getByRole('list', { name: 'Variants' });
    await expect(async () => (await grid.getByRole('button').count()) === 2, 'two variants');
    await expect(() => sheet.getByText('Sent as: Pattern — offline, not AI').isVisible(), 'the label it will carry');
    const firstRoll = await grid.getByRole('img').first().getAttribute('src');

    for (const width of [360, 390, 768, 1280]) {
      await page.setViewportSize({ width, height: 844 });
      const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(wide <= 0, `${width} px: ${wide} px too wide`);
      assert.deepEqual(ownViolations(await seriousAxeViolations(page)), [], `axe at ${width} px`);
      await page.screenshot({ path: join(tmpdir(), `parley-web-imagine-variants-${width}.png`) });
    }
    await page.setViewportSize({ width: 390, height: 844 });

    // "Try again": new seeds, new pictures.
    const before1 = await digestOf(page, firstRoll!);
    await tabTo(page, /^Try again$/);
    await page.keyboard.press('Enter');
    await expect(
      async () =>
        (await grid
          .getByRole('img')
          .first()
          .getAttribute('src')
          .catch(() => null)) !== firstRoll,
      'a new roll',
    );
    await expect(async () => (await grid.getByRole('button').count()) === 2, 'two variants again');
    const after1 = await digestOf(page, (await grid.getByRole('img').first().getAttribute('src'))!);
    assert.notEqual(after1, before1, 'the re-roll drew other pictures');

    // Pick the second by keyboard and send.
    await tabTo(page, /^Variant 2 of 2$/);
    await page.keyboard.press('Enter');
    assert.equal(await grid.getByRole('button', { name: 'Variant 2 of 2' }).getAttribute('aria-pressed'), 'true');
    await tabTo(page, /^Send$/);
    await page.keyboard.press('Enter');
    await expect(async () => (await sheet.count()) === 0, 'the sheet closes after sending');
    await expect(() => history.getByText('Pattern — offline, not AI').isVisible(), "the label on Alice's side");
    for (const member of [carol, dave])
      await expect(
        async () => (await labelsAt(member)).join() === 'pattern:Pattern — offline, not AI',
        'the members receive it with the label',
      );

    // The hosted model: no notice again (acknowledged on this device); progress while the provider holds the job.
    await page.getByRole('button', { name: 'Generate image' }).click();
    await expect(() => sheet.isVisible(), 'the sheet again');
    await expect(() => sheet.getByRole('radio', { name: /Studio Image/ }).isVisible(), 'the models');
    assert.equal(await sheet.getByRole('note').count(), 0, 'the notice is remembered');
    await sheet.getByRole('radio', { name: /Studio Image/ }).check();
    await sheet.getByLabel('Prompt', { exact: true }).fill('a lighthouse at dusk');
    await sheet.getByLabel('Variants', { exact: true }).selectOption('1');
    await sheet.getByRole('button', { name: 'Generate' }).click();
    await expect(() => sheet.getByRole('progressbar', { name: 'Generation progress' }).isVisible(), 'progress');
    await expect(
      async () =>
        /Sent to the image service|Generating/.test((await sheet.getByRole('status').first().textContent()) ?? ''),
      'the stage in words',
    );
    await expect(() => held === 1, 'the provider has the job');
    await page.screenshot({ path: join(tmpdir(), 'parley-web-imagine-progress-390.png') });
    await sheet.getByRole('button', { name: 'Stop generating' }).click();
    await expect(() => sheet.getByText('Stopped. Nothing was sent.').isVisible(), 'stopped');
    await expect(() => heldClosed, 'the server hung up on the provider');

    await sheet.getByRole('button', { name: 'Generate' }).click();
    await expect(() => sheet.getByText('Sent as: AI-generated · Studio Image').isVisible(), 'the hosted variant');
    await sheet.getByRole('button', { name: 'Send' }).click();
    await expect(() => history.getByText('AI-generated · Studio Image').isVisible(), "the AI label on Alice's side");
    for (const member of [carol, dave])
      await expect(
        async () => (await labelsAt(member)).join() === 'pattern:Pattern — offline, not AI,openai:Studio Image',
        'the members receive the hosted image with its label',
      );

    // The stopped job was not charged: one image of three used. Four more is past the quota.
    await page.getByRole('button', { name: 'Generate image' }).click();
    const studio = sheet.getByRole('radio', { name: /Studio Image/ });
    await expect(() => studio.isVisible(), 'the models');
    assert.match((await sheet.getByRole('group', { name: 'Model' }).textContent()) ?? '', /2 left today/);
    await studio.check();
    await sheet.getByLabel('Prompt', { exact: true }).fill('four lighthouses');
    await sheet.getByLabel('Variants', { exact: true }).selectOption('4');
    await sheet.getByRole('button', { name: 'Generate' }).click();
    const alert = sheet.getByRole('alert');
    await expect(() => alert.isVisible(), 'the quota error');
    assert.match(
      (await alert.textContent()) ?? '',
      /^You have made all the images this model allows for today\. Try again in (about \d+ hours?|\d+ minutes)\.$/,
    );
    assert.deepEqual(ownViolations(await seriousAxeViolations(page)), [], 'axe with the error');
    await page.screenshot({ path: join(tmpdir(), 'parley-web-imagine-quota-390.png') });
    await sheet.getByRole('button', { name: 'Cancel' }).click();
    await expect(async () => (await sheet.count()) === 0, 'Cancel closes the sheet');
    assert.equal((await labelsAt(carol)).length, 2, 'nothing more was sent');
    for (const width of [360, 1280]) {
      await page.setViewportSize({ width, height: 844 });
      await page.screenshot({ path: join(tmpdir(), `parley-web-imagine-chat-${width}.png`) });
    }
  });

  it(
    'keeps a provider key on the device only, and the device calls the provider itself',
    { timeout: 180_000 },
    async () => {
      // A provider the page may call from its own origin (CORS), as a device-direct provider must.
      const cors = {
        'access-control-allow-origin': '*',
        'access-control-allow-headers': 'authorization, content-type',
      };
      const direct = await startFake((hit, res) => {
        if (hit.method === 'OPTIONS') {
          res.writeHead(204, cors);
          return res.end();
        }
        if (hit.headers.authorization !== 'Bearer sk-own-key')
          return json(res, 401, { error: { message: 'bad key' } }, cors);
        return json(res, 200, { data: [{ b64_json: Buffer.from(SAMPLE_PNG).toString('base64') }] }, cors);
      });
      const hostedCalls = held;
      try {
        await page.setViewportSize({ width: 1280, height: 844 });
        await page.getByRole('button', { name: 'Settings' }).click();
        const keys = page.getByRole('region', { name: 'Image generation keys' });
        await expect(() => keys.getByText('No keys on this device.').isVisible(), 'the keys section');
        assert.match((await keys.textContent()) ?? '', /stored on this device only/);
        await keys.getByLabel('Service', { exact: true }).selectOption('openai');
        await keys.getByLabel('Service address').fill(direct.base);
        await keys.getByLabel('API key').fill('sk-own-key');
        await keys.getByLabel('Model at the service').fill('own-model');
        await keys.getByLabel('Name to show').fill('My Own Images');
        await keys.getByRole('button', { name: 'Add key' }).click();
        await expect(
          () => keys.getByRole('button', { name: 'Remove key for My Own Images' }).isVisible(),
          'the key listed',
        );
        assert.ok(!(await page.content()).includes('sk-own-key'), 'the key is not shown again');
        assert.deepEqual(ownViolations(await seriousAxeViolations(page)), [], 'axe in Settings');
        await page.screenshot({ path: join(tmpdir(), 'parley-web-imagine-keys-1280.png') });
        await page.getByRole('button', { name: 'Back to chats' }).click();

        await page.getByRole('button', { name: 'Generate image' }).click();
        const sheet = page.getByRole('dialog', { name: 'Generate an image for Imagine club' });
        const own = sheet.getByRole('radio', { name: /My Own Images/ });
        await expect(() => own.isVisible(), 'the device model in the picker');
        await own.check();
        // Another recipient, another sentence: the notice comes again before its first use.
        const notice = sheet.getByRole('note');
        await expect(() => notice.isVisible(), 'the notice for the device model');
        assert.match(
          (await notice.textContent()) ?? '',
          /this device sends it with your key straight to an OpenAI-compatible image service .*; the Parley server never sees it\./,
        );
        await notice.getByRole('button', { name: 'I understand' }).click();
        await sheet.getByLabel('Prompt', { exact: true }).fill('my own harbour');
        await sheet.getByLabel('Variants', { exact: true }).selectOption('1');
        await sheet.getByRole('button', { name: 'Generate' }).click();
        await expect(() => sheet.getByText('Sent as: AI-generated · My Own Images').isVisible(), 'the device variant');
        const post = direct.hits.find((h) => h.method === 'POST');
        assert.equal(
          (post?.body as { prompt?: string }).prompt,
          'my own harbour',
          'the provider got the prompt from the page',
        );
        assert.equal(post?.headers.origin, server.url, 'straight from the page');
        assert.equal(held, hostedCalls, 'the server made no call for it');
        await sheet.getByRole('button', { name: 'Cancel' }).click();

        await page.getByRole('button', { name: 'Settings' }).click();
        await keys.getByRole('button', { name: 'Remove key for My Own Images' }).click();
        await expect(() => keys.getByText('No keys on this device.').isVisible(), 'the key removed');
        await expect(() => keys.getByText('Key for My Own Images removed from this device.').isVisible(), 'said');
      } finally {
        await direct.close();
      }
    },
  );
  it(
    'offers the offline pattern alone, and says why, when the model list cannot be fetched',
    { timeout: 120_000 },
    async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      await contexts[0]!.setOffline(true);
      try {
        await page.getByRole('button', { name: 'Generate image' }).click();
        const sheet = page.getByRole('dialog', { name: 'Generate an image for Imagine club' });
        await expect(() => sheet.getByText(/Only the offline pattern can be made until then\./).isVisible(), 'why');
        assert.equal(await sheet.getByRole('radio').count(), 1, 'only the pattern');
        assert.equal(await sheet.getByRole('radio', { name: 'Pattern — offline, not AI' }).isChecked(), true);
        await sheet.getByLabel('Prompt', { exact: true }).fill('offline waves');
        await sheet.getByRole('button', { name: 'Generate' }).click();
        await expect(
          async () => (await sheet.getByRole('list', { name: 'Variants' }).getByRole('button').count()) === 2,
          'variants made offline',
        );
        assert.deepEqual(ownViolations(await seriousAxeViolations(page)), [], 'axe offline');
        await page.screenshot({ path: join(tmpdir(), 'parley-web-imagine-offline-390.png') });
        await sheet.getByRole('button', { name: 'Cancel' }).click();
        await expect(async () => (await sheet.count()) === 0, 'closed');
      } finally {
        await contexts[0]!.setOffline(false);
      }
    },
  );
});
