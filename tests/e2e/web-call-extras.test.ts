/**
 * Call extras of the web client (C6, C15), in real Chromium with fake media: the ringtone of an
 * incoming call and the ringback of an outgoing one (WebAudio, counted by wrapping
 * `OscillatorNode.prototype.start` as the new-message tone test does) start while the call rings
 * and stop on answer, decline, cancel and timeout, and the Settings switch silences the ringtone;
 * a connected call minimised to a floating bar stays connected (the other side's tone keeps
 * playing) while each person chats and moves around the app, mutes from the bar and returns to
 * the call; the call screen and the top of the chat say the conversation is end-to-end encrypted,
 * and the chat's line opens the safety-number screen. Alice is at desktop width, Bob at phone
 * width; axe-core checks the call screen and the minimised bar.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from './helpers/expect.ts';
import { ROOT, startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import { closeBrowserSuite, openChat, registerInBrowser, soxUnavailable, toneWav } from './helpers/web.ts';
import { browserUnavailable, launchWith } from './helpers/browser.ts';
import { seriousAxeViolations } from './helpers/axe.ts';

const skip = browserUnavailable() || soxUnavailable();
/** Rings this long before the call counts as missed (the default is 30 s). */
const RING_MS = 8000;
/** One ring cycle of the web client (calls/ringtone.ts) and a margin: long enough to see a tone restart. */
const CYCLE_WAIT_MS = 4500;
const TONES = { alice: 440, bob: 660 } as const;
/** The frequencies of the incoming ringtone and of the ringback (calls/ringtone.ts). */
const RINGTONE_HZ = [659, 784];
const RINGBACK_HZ = [440, 480];
const E2E_LINE =
  "Messages and calls are end-to-end encrypted. No one outside this chat, not even Parley's server, can read or listen to them.";

/** Record the frequency of every oscillator the page starts. */
function countTones() {
  const w = window as unknown as { __tones: number[] };
  w.__tones = [];
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (this: OscillatorNode, ...args: [number?]) {
    w.__tones.push(this.frequency.value);
    return start.apply(this, args);
  };
}

/** How many oscillators of the given frequencies the page has started so far. */
const started = (page: Page, hz: number[]) =>
  page.evaluate(
    (list) => (window as unknown as { __tones: number[] }).__tones.filter((f) => list.includes(f)).length,
    hz,
  );

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Assert that no oscillator of `hz` starts on `page` for a whole ring cycle: the tone has stopped. */
async function staysSilent(page: Page, hz: number[], what: string): Promise<void> {
  const before = await started(page, hz);
  await sleep(CYCLE_WAIT_MS);
  assert.equal(await started(page, hz), before, what);
}

/** The dominant frequency and level of the remote call audio, measured on its `<audio>` element's stream. */
function remoteTone(page: Page): Promise<{ frequency: number; rms: number }> {
  return page.evaluate(async () => {
    const el = document.querySelector<HTMLAudioElement>('audio.call-remote-audio');
    const stream = el?.srcObject as MediaStream | null | undefined;
    if (!stream?.getAudioTracks().length) return { frequency: 0, rms: 0 };
    const ctx = new AudioContext();
    await ctx.resume();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 8192;
    analyser.smoothingTimeConstant = 0;
    ctx.createMediaStreamSource(stream).connect(analyser);
    await new Promise((r) => setTimeout(r, 600));
    const bins = new Float32Array(analyser.frequencyBinCount);
    analyser.getFloatFrequencyData(bins);
    let best = -Infinity;
    let index = 0;
    for (let i = 2; i < bins.length; i++) {
      if (bins[i]! > best) {
        best = bins[i]!;
        index = i;
      }
    }
    const wave = new Float32Array(analyser.fftSize);
    analyser.getFloatTimeDomainData(wave);
    let sum = 0;
    for (const v of wave) sum += v * v;
    const frequency = (index * ctx.sampleRate) / analyser.fftSize;
    await ctx.close();
    return { frequency, rms: Math.sqrt(sum / wave.length) };
  });
}

const near = (hz: number, target: number) => Math.abs(hz - target) <= 12;
const history = (page: Page) => page.getByRole('list', { name: 'Message history' });

describe('web call extras in Chromium: ringtone, minimised call, encryption lines', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-call-extras-'));
  let server: ServerProcess;
  const browsers: Browser[] = [];
  const contexts: BrowserContext[] = [];
  let alice: Page;
  let bob: Page;
  const phones = { alice: '+12025550193', bob: '+12025550194' };

  before(async () => {
    if (!existsSync(join(ROOT, 'apps/web/dist/index.html')))
      throw new Error('web client not built: npm run build --workspace @parley/web');
    for (const [name, hz] of Object.entries(TONES)) toneWav(join(tmp, `${name}.wav`), hz, 20);
    server = await startServerProcess({ PARLEY_DATA_DIR: join(tmp, 'data') });
    browsers.push(await launchWith([`--use-file-for-fake-audio-capture=${join(tmp, 'alice.wav')}`]));
    browsers.push(await launchWith([`--use-file-for-fake-audio-capture=${join(tmp, 'bob.wav')}`]));
    const desktop = await browsers[0]!.newContext({ viewport: { width: 1280, height: 800 } });
    const phone = await browsers[1]!.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    contexts.push(desktop, phone);
    for (const c of contexts) await c.addInitScript(countTones);
    alice = await desktop.newPage();
    bob = await phone.newPage();
    for (const page of [alice, bob]) page.on('pageerror', (e) => console.error('page error:', e.message));
    const query = `ringTimeoutMs=${RING_MS}&audioProcessing=off`;
    await registerInBrowser(alice, server.url, phones.alice, query);
    await registerInBrowser(bob, server.url, phones.bob, query);
    await openChat(alice, bob, phones.bob, 'Call me when you can');
  });

  after(() => closeBrowserSuite({ contexts, browsers, server, tmp }));

  it('heads every chat with the encryption line, which opens the safety number', { timeout: 60_000 }, async () => {
    for (const page of [alice, bob]) {
      const line = history(page).getByRole('button', { name: E2E_LINE });
      await expect(() => line.isVisible(), 'the encryption line shows');
      // After the day separator, before the first message.
      const items = await history(page).getByRole('listitem').allTextContents();
      assert.equal(items[0], 'Today');
      assert.match(items[1] ?? '', /^Messages and calls are end-to-end encrypted\./);
      await line.click();
      const dialog = page.getByRole('dialog', { name: 'Verify safety number' });
      await expect(() => dialog.isVisible(), 'safety-number screen');
      await dialog.getByRole('button', { name: 'Close' }).click();
      await expect(async () => (await dialog.count()) === 0, 'closed');
    }
    await bob.screenshot({ path: join(tmpdir(), 'parley-e2e-line-phone.png') });
  });

  it(
    'rings and rings back until answered; a minimised call stays connected while both keep chatting',
    { timeout: 180_000 },
    async () => {
      await alice.getByRole('button', { name: 'Voice call' }).click();
      const incoming = bob.getByRole('dialog', { name: /^Incoming voice call from / });
      await expect(() => incoming.isVisible(), "bob's phone rings", 30_000);
      await expect(async () => (await started(bob, RINGTONE_HZ)) > 0, 'bob hears the ringtone');
      await expect(async () => (await started(alice, RINGBACK_HZ)) > 0, 'alice hears the ringback');
      assert.equal(await started(alice, RINGTONE_HZ), 0, 'the caller has no ringtone');
      assert.equal(await started(bob, RINGBACK_HZ), 0, 'the callee has no ringback');
      // The ring repeats while nobody answers.
      const first = await started(bob, RINGTONE_HZ);
      await expect(async () => (await started(bob, RINGTONE_HZ)) > first, 'the ringtone repeats', 10_000);
      await expect(() => incoming.getByText('End-to-end encrypted').isVisible(), 'e2e line while ringing');
      await incoming.getByRole('button', { name: 'Accept' }).click();

      const screens = {
        alice: alice.getByRole('dialog', { name: /^Voice call with / }),
        bob: bob.getByRole('dialog', { name: /^Voice call with / }),
      };
      for (const [who, screen] of Object.entries(screens)) {
        await expect(
          async () => /^Connected · \d+:\d\d$/.test((await screen.getByRole('status').textContent()) ?? ''),
          `${who} connected`,
          30_000,
        );
        assert.equal(await screen.getByText('End-to-end encrypted').count(), 1, `${who}: e2e line on the call screen`);
      }
      // Answered: neither tone starts again.
      await staysSilent(bob, RINGTONE_HZ, 'the ringtone stopped on answer');
      await staysSilent(alice, RINGBACK_HZ, 'the ringback stopped on answer');
      assert.deepEqual(await seriousAxeViolations(alice), []);
      await alice.screenshot({ path: join(tmpdir(), 'parley-call-e2e-desktop.png') });

      // Minimise on both sides: the call screens give way to floating bars.
      for (const [who, page] of [
        ['alice', alice],
        ['bob', bob],
      ] as const) {
        await screens[who].getByRole('button', { name: 'Minimise' }).click();
        await expect(async () => (await screens[who].count()) === 0, `${who}: the call screen is gone`);
        const bar = page.getByRole('region', { name: /^Call with / });
        await expect(() => bar.isVisible(), `${who}: the floating bar shows`);
        assert.match((await bar.getByRole('timer').textContent()) ?? '', /^Connected · \d+:\d\d$/);
        for (const name of ['Mute', 'Hang up', 'Return to call'])
          assert.equal(await bar.getByRole('button', { name }).count(), 1, `${who}: ${name} on the bar`);
      }
      const bars = {
        alice: alice.getByRole('region', { name: /^Call with / }),
        bob: bob.getByRole('region', { name: /^Call with / }),
      };

      // Both chat while the call goes on, and each still hears the other.
      await alice.getByRole('textbox', { name: 'Message' }).fill('Texting during the call');
      await alice.getByRole('textbox', { name: 'Message' }).press('Enter');
      await expect(
        () => history(bob).getByText('Texting during the call', { exact: true }).isVisible(),
        'bob reads it',
        20_000,
      );
      await bob.getByRole('textbox', { name: 'Message' }).fill('Me too');
      await bob.getByRole('textbox', { name: 'Message' }).press('Enter');
      await expect(() => history(alice).getByText('Me too', { exact: true }).isVisible(), 'alice reads it', 20_000);
      let heard = { alice: { frequency: 0, rms: 0 }, bob: { frequency: 0, rms: 0 } };
      await expect(
        async () => {
          heard = { alice: await remoteTone(alice), bob: await remoteTone(bob) };
          return near(heard.alice.frequency, TONES.bob) && near(heard.bob.frequency, TONES.alice);
        },
        () => `each side still hears the other while minimised (${JSON.stringify(heard)})`,
        30_000,
      );

      // Moving around the app keeps the bar: Bob back to his chat list and in again, Alice to Settings.
      await bob.getByRole('button', { name: 'Back', exact: true }).click();
      await expect(
        () =>
          bob
            .getByRole('button', { name: /^Open chat / })
            .first()
            .isVisible(),
        'bob in the list',
      );
      assert.equal(await bars.bob.isVisible(), true, "bob's bar stays in the chat list");
      await bob.screenshot({ path: join(tmpdir(), 'parley-call-mini-list-phone.png') });
      await bob
        .getByRole('button', { name: /^Open chat / })
        .first()
        .click();
      await alice.getByRole('button', { name: 'Settings' }).click();
      assert.equal(await bars.alice.isVisible(), true, "alice's bar stays in Settings");
      await alice.getByRole('button', { name: 'Back to chats' }).click();
      const fits = await bob.evaluate(() => ({
        doc: document.documentElement.scrollWidth,
        bar: document.querySelector('.call-mini')!.getBoundingClientRect().right,
      }));
      assert.ok(fits.doc <= 390 && fits.bar <= 390, `the bar fits the phone: ${JSON.stringify(fits)}`);
      assert.deepEqual(await seriousAxeViolations(bob), []);
      assert.deepEqual(await seriousAxeViolations(alice), []);
      await bob.screenshot({ path: join(tmpdir(), 'parley-call-mini-phone.png') });
      await alice.screenshot({ path: join(tmpdir(), 'parley-call-mini-desktop.png') });

      // Mute from the bar: Bob hears silence; unmute: the tone is back.
      await bars.alice.getByRole('button', { name: 'Mute' }).click();
      await expect(async () => (await remoteTone(bob)).rms < 0.005, 'bob hears silence while alice is muted', 15_000);
      await bars.alice.getByRole('button', { name: 'Unmute' }).click();
      await expect(async () => near((await remoteTone(bob)).frequency, TONES.alice), 'bob hears alice again', 15_000);

      // Back to the full call screen, still connected, with the focus in it; then hang up from Bob's bar.
      await bars.alice.getByRole('button', { name: 'Return to call' }).click();
      await expect(() => screens.alice.isVisible(), 'alice back on the call screen');
      assert.match((await screens.alice.getByRole('status').textContent()) ?? '', /^Connected · \d+:\d\d$/);
      assert.equal(
        await alice.evaluate(() => !!document.activeElement?.closest('.call-screen')),
        true,
        'focus in the call screen',
      );
      await bars.bob.getByRole('button', { name: 'Hang up' }).click();
      await expect(
        async () => (await screens.alice.count()) === 0 && (await bars.bob.count()) === 0,
        'the call ends on both sides',
        20_000,
      );
    },
  );

  it('a minimised video call keeps the other camera playing in the bar', { timeout: 120_000 }, async () => {
    await alice.getByRole('button', { name: 'Video call' }).click();
    const incoming = bob.getByRole('dialog', { name: /^Incoming video call from / });
    await expect(() => incoming.isVisible(), 'bob rings for a video call', 30_000);
    await incoming.getByRole('button', { name: 'Accept' }).click();
    const screen = alice.getByRole('dialog', { name: /^Video call with / });
    await expect(
      async () => /^Connected/.test((await screen.getByRole('status').textContent()) ?? ''),
      'alice connected',
      30_000,
    );
    await screen.getByRole('button', { name: 'Minimise' }).click();
    const bar = alice.getByRole('region', { name: /^Call with / });
    await expect(() => bar.isVisible(), 'the bar shows');
    const frames = () =>
      bar
        .locator('video.call-mini-video')
        .evaluate((el: HTMLVideoElement) => (el.videoWidth > 0 ? el.getVideoPlaybackQuality().totalVideoFrames : 0));
    await expect(async () => (await frames()) > 0, "bob's camera plays in alice's bar", 30_000);
    const seen = await frames();
    await expect(async () => (await frames()) > seen, 'and keeps playing', 30_000);
    await alice.screenshot({ path: join(tmpdir(), 'parley-call-mini-video-desktop.png') });
    // Back to full size: the large remote video plays again.
    await bar.getByRole('button', { name: 'Return to call' }).click();
    await expect(
      () =>
        screen
          .locator('video.call-remote-video')
          .evaluate((el: HTMLVideoElement) => el.videoWidth > 0 && el.getVideoPlaybackQuality().totalVideoFrames > 0),
      'the call screen shows the other camera again',
      30_000,
    );
    await screen.getByRole('button', { name: 'Hang up' }).click();
    await expect(async () => (await screen.count()) === 0, 'ended', 20_000);
    await expect(
      async () => (await bob.getByRole('dialog', { name: /^Video call with / }).count()) === 0,
      "bob's screen closes",
      20_000,
    );
  });

  it(
    'the ringtone stops on decline, cancel and timeout, and the Settings switch silences it',
    { timeout: 180_000 },
    async () => {
      const incoming = bob.getByRole('dialog', { name: /^Incoming voice call from / });
      const ringing = async (what: string) => {
        const before = await started(bob, RINGTONE_HZ);
        await alice.getByRole('button', { name: 'Voice call' }).click();
        await expect(() => incoming.isVisible(), `${what}: bob rings`, 30_000);
        await expect(async () => (await started(bob, RINGTONE_HZ)) > before, `${what}: ringtone`);
      };
      const prompt = alice.getByRole('dialog', { name: /^Leave .+ a message$/ });
      const closePrompt = async () => {
        await expect(() => prompt.isVisible(), 'alice is offered to leave a message', 30_000);
        await prompt.getByRole('button', { name: 'Close' }).click();
        await expect(async () => (await prompt.count()) === 0, 'prompt closed');
      };

      // Decline.
      await ringing('decline');
      await incoming.getByRole('button', { name: 'Decline' }).click();
      await expect(async () => (await incoming.count()) === 0, 'declined');
      await closePrompt();
      await staysSilent(bob, RINGTONE_HZ, 'the ringtone stopped on decline');
      await staysSilent(alice, RINGBACK_HZ, 'the ringback stopped on decline');

      // Cancel: Alice hangs up while Bob's phone rings.
      await ringing('cancel');
      await alice
        .getByRole('dialog', { name: /^Voice call with / })
        .getByRole('button', { name: 'Hang up' })
        .click();
      await expect(async () => (await incoming.count()) === 0, "bob's ringing screen closes on cancel", 20_000);
      await staysSilent(bob, RINGTONE_HZ, 'the ringtone stopped on cancel');

      // Timeout: nobody answers.
      await ringing('timeout');
      await expect(async () => (await incoming.count()) === 0, 'the call times out', RING_MS + 20_000);
      await closePrompt();
      await staysSilent(bob, RINGTONE_HZ, 'the ringtone stopped on timeout');
      await staysSilent(alice, RINGBACK_HZ, 'the ringback stopped on timeout');

      // The switch in Settings, kept on the device: the call still shows, silently.
      await bob.getByRole('button', { name: 'Back', exact: true }).click();
      await bob.getByRole('button', { name: 'Settings' }).click();
      const box = bob.getByRole('checkbox', { name: 'Ringtone for incoming calls' });
      assert.equal(await box.isChecked(), true);
      await box.uncheck();
      assert.equal(await bob.evaluate(() => localStorage.getItem('parley:ringtone')), 'off');
      const before = await started(bob, RINGTONE_HZ);
      await alice.getByRole('button', { name: 'Voice call' }).click();
      await expect(() => incoming.isVisible(), 'bob is called with the ringtone off', 30_000);
      await expect(async () => (await started(alice, RINGBACK_HZ)) > 0, 'alice still hears the ringback');
      await staysSilent(bob, RINGTONE_HZ, 'no ringtone while the switch is off');
      assert.equal(await started(bob, RINGTONE_HZ), before);
      await incoming.getByRole('button', { name: 'Decline' }).click();
      await closePrompt();
    },
  );
});
