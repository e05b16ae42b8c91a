/**
 * The watch layout of the web client (C15), in real Chromium at 198 × 242 (rectangular) and
 * 184 × 224 (round, `?shape=round`). One browser context is the watch; its fake microphone plays a
 * sox-made 440 Hz tone. The other person is an SDK client in this process (werift for its calls).
 * At each size the watch reads a chat (unread count, large type, read receipts), sends a quick
 * reply and a reaction Bob receives, records and sends a voice note, plays one Bob sent with one
 * tap (the decoded sound is the watch's tone, and Bob gets the played receipt), declines Bob's
 * call, and leaves Bob a voice message after a call he did not answer. Every screen is checked to
 * fit (inside the viewport, or inside the circle), to have 44 px touch targets and accessible
 * names, and with axe-core; a screenshot of each is kept in test-artifacts/watch/ (ignored by git).
 * Last, `/watch` gives the watch layout at a phone's width, Chromium finds the app installable, and
 * the manifest's PNG icons are real.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { MediaStreamTrack, RTCPeerConnection as WeriftPeerConnection } from 'werift';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Call, LocalMessage, ParleyClient, PeerConnectionCtor, WebSocketCtor } from '@parley/sdk';
import { registerTestClient } from '@parley/sdk/testing';
import { expect } from './helpers/expect.ts';
import { seriousAxeViolations } from './helpers/axe.ts';
import { DEV_OUTBOX_TOKEN, ROOT, startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import {
  closeBrowserSuite,
  decodedTone,
  recordedSeconds,
  registerInBrowser,
  soxUnavailable,
  toneWav,
} from './helpers/web.ts';
import { browserUnavailable, launchWith } from './helpers/browser.ts';

const skip = browserUnavailable() || soxUnavailable();
/** Screenshots of every watch screen, kept after the run for people to look at. */
const ARTIFACTS = join(ROOT, 'test-artifacts', 'watch');
/** A call the watch places rings this long before it counts as unanswered. */
const RING_MS = 4000;
const SIZES = [
  { width: 198, height: 242, shape: 'rect' },
  { width: 184, height: 224, shape: 'round' },
] as const;
type Size = (typeof SIZES)[number];

/**
 * What of the page's visible controls breaks the watch's rules: smaller than 44 × 44 px, without
 * an accessible name, or (the part not clipped by a scrolling ancestor) outside the viewport, or
 * outside the circle inscribed in it on a round screen.
 */
function layoutProblems(page: Page, round: boolean): Promise<string[]> {
  return page.evaluate((round) => {
    const problems: string[] = [];
    const w = innerWidth;
    const h = innerHeight;
    const r = Math.min(w, h) / 2;
    for (const el of document.querySelectorAll<HTMLElement>('button, [role="button"], a[href], input, select')) {
      const box = el.getBoundingClientRect();
      if (!box.width || !box.height || getComputedStyle(el).visibility === 'hidden') continue;
      const name = (el.getAttribute('aria-label') ?? el.textContent ?? '').trim();
      if (!name) problems.push(`no name: ${el.outerHTML.slice(0, 80)}`);
      if (box.width < 43.5 || box.height < 43.5)
        problems.push(`${name}: ${Math.round(box.width)}×${Math.round(box.height)} px`);
      // The part a person can see: cut by every ancestor that scrolls or clips.
      let [x0, y0, x1, y1] = [box.left, box.top, box.right, box.bottom];
      for (let p = el.parentElement; p; p = p.parentElement) {
        if (getComputedStyle(p).overflowY === 'visible') continue;
        const c = p.getBoundingClientRect();
        [x0, y0, x1, y1] = [Math.max(x0, c.left), Math.max(y0, c.top), Math.min(x1, c.right), Math.min(y1, c.bottom)];
      }
      if (x1 <= x0 || y1 <= y0) continue;
      for (const [x, y] of [
        [x0, y0],
        [x1, y0],
        [x0, y1],
        [x1, y1],
      ] as const)
        // Written out, not a helper function: the page gets this code without the bundler's helpers.
        if (round ? Math.hypot(x - w / 2, y - h / 2) > r + 0.5 : x < -0.5 || y < -0.5 || x > w + 0.5 || y > h + 0.5) {
          problems.push(
            `${name}: corner (${Math.round(x)}, ${Math.round(y)}) outside the ${round ? 'circle' : 'screen'}`,
          );
          break;
        }
    }
    if (document.documentElement.scrollWidth > w)
      problems.push(`page scrolls sideways (${document.documentElement.scrollWidth} px)`);
    return problems;
  }, round);
}

describe('the watch layout in Chromium', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-watch-'));
  let server: ServerProcess;
  let browser: Browser;
  let context: BrowserContext;
  let watch: Page;
  let bob: ParleyClient;
  let carol: ParleyClient;
  let conv: string;
  let watchAccount: string;
  const watchPhone = '+12025550191';
  const incoming: Call[] = [];

  /** Fit, names, touch targets and axe on the screen as it is, and a screenshot named `name`. */
  async function check(size: Size, name: string): Promise<void> {
    const problems = await layoutProblems(watch, size.shape === 'round');
    assert.deepEqual(problems, [], `${name} at ${size.width}×${size.height}`);
    const axe = await seriousAxeViolations(watch);
    assert.deepEqual(axe, [], `axe on ${name} at ${size.width}×${size.height}`);
    await watch.screenshot({ path: join(ARTIFACTS, `${size.width}x${size.height}-${size.shape}-${name}.png`) });
  }

  /** Bob's copy of the newest message the watch sent him that matches. */
  const atBob = (match: (m: LocalMessage) => boolean) => async () =>
    (await bob.messages(conv)).filter((m) => !m.outgoing && match(m)).at(-1);

  before(async () => {
    if (!existsSync(join(ROOT, 'apps/web/dist/index.html')))
      throw new Error('web client not built: npm run build --workspace @parley/web');
    mkdirSync(ARTIFACTS, { recursive: true });
    toneWav(join(tmp, 'watch.wav'), 440, 10);
    server = await startServerProcess({ PARLEY_DATA_DIR: join(tmp, 'data') });
    browser = await launchWith([`--use-file-for-fake-audio-capture=${join(tmp, 'watch.wav')}`]);
    context = await browser.newContext({
      viewport: { width: SIZES[0].width, height: SIZES[0].height },
      isMobile: true,
      hasTouch: true,
      deviceScaleFactor: 2,
    });
    watch = await context.newPage();
    // Registration is the web client's own form, which fits a watch too.
    await watch.goto(server.url);
    await watch.getByRole('button', { name: 'Send code' }).waitFor();
    await watch.screenshot({ path: join(ARTIFACTS, '198x242-rect-register.png') });
    // The watch-sized viewport alone picks the watch layout; the query sets a short ring time.
    await registerInBrowser(watch, server.url, watchPhone, `ringTimeoutMs=${RING_MS}&audioProcessing=off`);
    const peer = (phone: string) =>
      registerTestClient(server.url, {
        outboxToken: DEV_OUTBOX_TOKEN,
        phone,
        WebSocket: WebSocket as unknown as WebSocketCtor,
        calls: {
          RTCPeerConnection: WeriftPeerConnection as unknown as PeerConnectionCtor,
          peerConnectionConfig: { iceAdditionalHostAddresses: ['127.0.0.1'], iceUseIpv6: false },
          gatherTimeoutMs: 1500,
          getLocalMedia: async () => ({ tracks: [new MediaStreamTrack({ kind: 'audio' })] }),
        },
      });
    bob = await peer('+12025550192');
    carol = await peer('+12025550193');
    await bob.setProfile({ name: 'Bob' });
    await carol.setProfile({ name: 'Carol' });
    bob.calls.on('incoming-call', (c) => incoming.push(c));
    watchAccount = await bob.lookupPhone(watchPhone);
    conv = await bob.startDirect(watchAccount);
    await carol.sendText(await carol.startDirect(await carol.lookupPhone(watchPhone)), 'Lunch on Friday?');
    // Both chats are on the watch before the first reload, so no page load races their arrival.
    const rows = watch.getByRole('list', { name: 'Chats' }).getByRole('button');
    await expect(async () => (await rows.count()) === 2, 'the watch lists both chats', 30_000);
  });

  after(async () => {
    await bob?.calls.active?.hangUp().catch(() => undefined);
    await bob?.close().catch(() => undefined);
    await carol?.close().catch(() => undefined);
    await closeBrowserSuite({ contexts: context ? [context] : [], browsers: [browser], server, tmp });
  });

  for (const size of SIZES) {
    it(`works at ${size.width}×${size.height} (${size.shape})`, { timeout: 240_000 }, async () => {
      await watch.setViewportSize({ width: size.width, height: size.height });
      await watch.goto(`${server.url}/?ringTimeoutMs=${RING_MS}&audioProcessing=off&shape=${size.shape}`);
      await expect(async () => (await watch.locator('.watch').count()) === 1, 'the viewport picks the watch layout');
      assert.equal(await watch.locator('body.watch-round').count(), size.shape === 'round' ? 1 : 0);

      // The chat list: Bob's two new messages are counted as unread.
      const tag = `${size.width}`;
      const first = `Are you coming tonight? (${tag})`;
      const second = `Bring the map, it is a long walk to the hut (${tag})`;
      await bob.sendText(conv, first);
      await bob.sendText(conv, second);
      const row = watch.getByRole('button', { name: /^Open chat Bob, 2 unread messages$/ });
      const rows = () =>
        watch
          .getByRole('list', { name: 'Chats' })
          .getByRole('button')
          .evaluateAll((b) => b.map((e) => e.getAttribute('aria-label')));
      let seen: (string | null)[] = [];
      await expect(
        async () => {
          seen = await rows();
          return (await row.count()) === 1;
        },
        () => `the list counts 2 unread from Bob (rows: ${JSON.stringify(seen)})`,
        30_000,
      );
      // Carol's chat is listed too (by elimination: her name may read "Contact …" until her profile is fetched).
      await expect(
        async () => (await watch.getByRole('button', { name: /^Open chat (?!Bob)/ }).count()) === 1,
        "Carol's chat is listed",
      );
      await check(size, 'list');

      // Read the chat: both messages in type large enough to read; Bob sees them read.
      await row.click();
      const history = watch.getByRole('list', { name: 'Messages' });
      for (const text of [first, second])
        await expect(() => history.getByText(text).isVisible(), `the watch shows "${text}"`);
      const fontPx = await history.getByText(second).evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
      assert.ok(fontPx >= 15, `message text is ${fontPx} px`);
      await expect(
        async () =>
          (await bob.messages(conv)).filter((m) => m.outgoing && m.text.endsWith(`(${tag})`) && m.status === 'read')
            .length === 2,
        'Bob sees both messages read',
        30_000,
      );
      await check(size, 'chat');

      // A quick reply: the canned line reaches Bob.
      await watch.getByRole('button', { name: 'Reply', exact: true }).click();
      await expect(() => watch.getByRole('group', { name: 'Quick replies' }).isVisible(), 'quick replies open');
      await check(size, 'quick-replies');
      // By keyboard too: Escape closes the panel and puts the focus back on Reply; Enter opens it
      // again with the focus on the first line, Tab moves on, Enter sends.
      const focused = () => watch.evaluate(() => document.activeElement?.textContent ?? '');
      await watch.keyboard.press('Escape');
      await expect(async () => (await focused()) === 'Reply', 'focus back on Reply');
      await watch.keyboard.press('Enter');
      await expect(async () => (await focused()) === 'OK', 'focus on the first quick reply');
      for (let i = 0; i < 3; i++) await watch.keyboard.press('Tab');
      assert.equal(await focused(), 'On my way');
      await watch.keyboard.press('Enter');
      await expect(
        async () => (await atBob((m) => m.text === 'On my way')()) !== undefined,
        'Bob receives "On my way"',
        30_000,
      );
      // The sent line shows its state: ✓✓ once Bob's device has it.
      const sentLine = history.getByRole('listitem').filter({ hasText: 'On my way' }).last();
      await expect(
        async () => (await sentLine.getByRole('img', { name: /^(Delivered|Read)$/ }).count()) === 1,
        'the watch shows the reply delivered',
        30_000,
      );
      await watch.getByRole('button', { name: 'Reply', exact: true }).click();
      await watch.getByRole('button', { name: 'Send 👍' }).click();
      await expect(async () => (await atBob((m) => m.text === '👍')()) !== undefined, 'Bob receives 👍', 30_000);

      // A reaction on Bob's message reaches Bob.
      await watch.getByRole('button', { name: `React to Bob: ${first}` }).click();
      await expect(() => watch.getByRole('group', { name: 'React to message' }).isVisible(), 'reaction sheet opens');
      await check(size, 'reactions');
      await watch.getByRole('button', { name: 'React with ❤️' }).click();
      await expect(
        async () =>
          (await bob.messages(conv))
            .find((m) => m.text === first)
            ?.reactions?.some((r) => r.emoji === '❤️' && r.from === watchAccount) === true,
        'Bob sees the ❤️ reaction',
        30_000,
      );
      await expect(
        async () =>
          (await history
            .getByRole('listitem')
            .filter({ hasText: first })
            .getByLabel('Reactions: ❤️ by You')
            .count()) === 1,
        'the watch shows its reaction',
      );

      // A voice note recorded on the watch: Bob receives an Opus recording of about that length.
      await watch.getByRole('button', { name: 'Record voice reply' }).click();
      await expect(async () => (await recordedSeconds(watch)) >= 2, 'two seconds recorded', 20_000);
      await check(size, 'recording');
      const voiceNotes = async () =>
        (await bob.messages(conv)).filter((m) => !m.outgoing && m.attachment?.kind === 'voice' && !m.callId);
      const before = (await voiceNotes()).length;
      await watch.getByRole('button', { name: 'Send voice note' }).click();
      await expect(async () => (await voiceNotes()).length === before + 1, 'Bob receives the voice note', 30_000);
      const note = (await voiceNotes()).at(-1)!;
      assert.ok((note.attachment!.durationMs ?? 0) >= 1500, `note length ${note.attachment!.durationMs} ms`);
      const recorded = await bob.downloadMedia(note.attachment!);
      assert.deepEqual([...recorded.subarray(0, 4)], [0x1a, 0x45, 0xdf, 0xa3], 'a WebM file');
      assert.match(note.attachment!.mimeType, /^audio\/webm/);

      // Bob answers with a voice note (the watch's own recording, so its tone is known): one tap plays it.
      const bobsNote = await bob.sendMedia(conv, {
        bytes: recorded,
        mimeType: note.attachment!.mimeType,
        kind: 'voice',
        durationMs: note.attachment!.durationMs ?? 2000,
      });
      const play = watch.getByRole('button', { name: 'Play voice note from Bob' });
      await expect(async () => (await play.count()) >= 1, 'the watch shows Bob’s voice note', 30_000);
      await check(size, 'voice-note');
      await play.last().click();
      await expect(
        async () => (await watch.getByRole('button', { name: 'Pause voice note from Bob' }).count()) === 1,
        'one tap plays it',
      );
      const audio = watch.locator('.watch-note audio').last();
      await expect(() => audio.evaluate((el: HTMLAudioElement) => el.currentTime > 0.2), 'playback advances');
      const heard = await decodedTone(audio);
      assert.ok(
        Math.abs(heard.frequency - 440) <= 10,
        `the note decrypted on the watch is the 440 Hz tone (${heard.frequency} Hz)`,
      );
      await expect(
        async () =>
          ((await bob.messages(conv)).find((m) => m.id === bobsNote.id)?.playedBy ?? []).includes(watchAccount),
        'Bob gets the played receipt',
        30_000,
      );

      // Bob calls; the watch shows accept and decline; declining ends Bob's call as declined.
      const calls = incoming.length;
      const bobCall = await bob.calls.startCall(conv);
      const ringing = watch.getByRole('dialog', { name: 'Incoming voice call from Bob' });
      await expect(() => ringing.isVisible(), 'the watch rings', 30_000);
      assert.equal(await ringing.getByRole('button', { name: 'Accept' }).count(), 1);
      await check(size, 'incoming-call');
      const ended = bobCall.once('ended');
      await ringing.getByRole('button', { name: 'Decline' }).click();
      assert.equal((await ended).outcome, 'declined');
      await expect(async () => (await ringing.count()) === 0, 'the call screen goes');
      assert.equal(incoming.length, calls, 'nothing rang at Bob meanwhile');

      // The watch calls Bob, who does not answer: it leaves him a voice message for that call.
      await watch.getByRole('button', { name: 'Voice call Bob' }).click();
      await expect(async () => incoming.length === calls + 1, 'Bob’s device rings', 30_000);
      const missed = incoming.at(-1)!;
      const prompt = watch.getByRole('dialog', { name: 'Leave Bob a message' });
      await expect(() => prompt.isVisible(), 'the unanswered call offers a message', RING_MS + 30_000);
      await check(size, 'missed-call');
      await prompt.getByRole('button', { name: 'Leave a voice message' }).click();
      await expect(async () => (await recordedSeconds(prompt)) >= 2, 'two seconds of message', 20_000);
      await check(size, 'missed-call-recording');
      await prompt.getByRole('button', { name: 'Send voice message' }).click();
      await expect(async () => (await prompt.count()) === 0, 'the prompt closes once sent', 60_000);
      const left = atBob((m) => m.callId === missed.callId && m.attachment?.kind === 'voice');
      await expect(async () => (await left()) !== undefined, 'Bob receives the message left for the call', 30_000);
      // The chat shows the unanswered call with the message inside, and still offers to leave one.
      const entry = watch.locator('.watch-call').filter({ hasText: 'Unanswered voice call' }).last();
      await expect(
        async () => (await entry.getByRole('button', { name: 'Play voice note from You' }).count()) === 1,
        'the call entry holds the message',
        30_000,
      );
      assert.equal(await entry.getByRole('button', { name: 'Leave a voice message' }).count(), 1);
      await check(size, 'call-entry');

      // Back to the list: Bob's chat has nothing unread.
      await watch.getByRole('button', { name: 'Back to chats' }).click();
      await expect(
        async () => (await watch.getByRole('button', { name: /^Open chat Bob$/ }).count()) === 1,
        'no unread left in Bob’s chat',
      );
    });
  }

  it('serves the watch layout at /watch at any width, and real PNG icons in the manifest', async () => {
    await watch.setViewportSize({ width: 390, height: 844 });
    await watch.goto(`${server.url}/`);
    await expect(() => watch.getByRole('button', { name: 'New chat' }).isVisible(), 'the phone layout at 390 px');
    assert.equal(await watch.locator('.watch').count(), 0);
    await watch.goto(`${server.url}/watch`);
    await expect(async () => (await watch.locator('.watch').count()) === 1, 'the watch layout at /watch');
    assert.equal(await watch.getByRole('heading', { name: 'Chats' }).count(), 1);

    // Chromium's own verdict: the manifest parses and the page is installable as an app.
    const cdp = await context.newCDPSession(watch);
    const parsed = (await cdp.send('Page.getAppManifest')) as { errors: unknown[]; url: string };
    assert.deepEqual(parsed.errors, [], 'the manifest parses without errors');
    const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as {
      installabilityErrors: { errorId: string }[];
    };
    // A test browser context is an incognito profile, where nothing installs; nothing else may stand in the way.
    assert.deepEqual(
      installabilityErrors.map((e) => e.errorId).filter((id) => id !== 'in-incognito'),
      [],
      'Chromium finds nothing else against installing Parley',
    );
    await cdp.detach();

    const manifest = (await (await fetch(`${server.url}/manifest.webmanifest`)).json()) as {
      icons: { src: string; sizes: string; type: string; purpose: string }[];
      display: string;
      start_url: string;
      scope: string;
    };
    assert.equal(manifest.display, 'standalone');
    assert.equal(manifest.scope, '/');
    const png = manifest.icons.filter((i) => i.type === 'image/png');
    for (const want of ['192x192 any', '512x512 any', '512x512 maskable'])
      assert.ok(
        png.some((i) => `${i.sizes} ${i.purpose}` === want),
        `an icon ${want}`,
      );
    for (const icon of png) {
      const res = await fetch(new URL(icon.src, server.url));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/png');
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.deepEqual(
        [...bytes.subarray(0, 8)],
        [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
        `${icon.src} is a PNG`,
      );
      const [w, h] = [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
      assert.equal(`${w}x${h}`, icon.sizes, `${icon.src} is as large as the manifest says`);
    }
  });
});
