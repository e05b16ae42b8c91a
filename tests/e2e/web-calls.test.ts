/**
 * 1:1 calls and missed-call messages in the web client (C6, C7, C15), in real Chromium. Each
 * participant is its own browser process whose fake microphone plays a sox-made tone (Alice 440 Hz,
 * Bob 660 Hz). A voice call connects and each page hears the other's tone; two calls ring out and
 * Alice leaves a voice and then a video message from the prompt, which Bob finds inside the missed
 * call and plays with one tap; last, a call relayed only through a real coturn.
 *
 * Settings from the page's query string (`apps/web/src/calls/settings.ts`): a short ring timeout,
 * no audio processing (so the received tone can be measured), and relay-only ICE for the TURN test.
 * A script added before the app loads keeps the page's `RTCPeerConnection`s so the test can read
 * their `getStats()`; the app itself is unchanged.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { expect } from './helpers/expect.ts';
import { ROOT, startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import {
  closeBrowserSuite,
  decodedTone,
  openChat,
  recordedSeconds,
  registerInBrowser,
  soxUnavailable,
  toneWav,
} from './helpers/web.ts';
import { browserUnavailable, launchWith } from './helpers/browser.ts';
import { startTurnServer, turnUnavailable } from '@parley/testkit';

const skip = browserUnavailable() || soxUnavailable();
/** Rings this long before the call counts as missed (the default is 30 s). */
const RING_MS = 8000;
const TONES = { alice: 440, bob: 660 } as const;

/** Keeps every RTCPeerConnection the page makes (and its configuration) for `getStats()`. */
function recordPeerConnections(): void {
  const Native = window.RTCPeerConnection;
  const w = window as unknown as { __pcs: RTCPeerConnection[]; __pcConfigs: unknown[] };
  w.__pcs = [];
  w.__pcConfigs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(config?: RTCConfiguration) {
      super(config);
      w.__pcs.push(this);
      w.__pcConfigs.push(JSON.parse(JSON.stringify(config ?? null)));
    }
  } as typeof RTCPeerConnection;
}

/** The dominant frequency and level of the remote audio, measured on the `<audio>` element's stream. */
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

/** The call's inbound audio and the candidate types of the selected ICE pair, from `getStats()`. */
function callStats(
  page: Page,
): Promise<{ audioLevel: number; bytesReceived: number; local?: string; remote?: string; config: unknown }> {
  return page.evaluate(async () => {
    const w = window as unknown as { __pcs: RTCPeerConnection[]; __pcConfigs: unknown[] };
    const pc = w.__pcs.at(-1);
    if (!pc) return { audioLevel: 0, bytesReceived: 0, config: null };
    const stats = await pc.getStats();
    let audioLevel = 0;
    let bytesReceived = 0;
    let local: string | undefined;
    let remote: string | undefined;
    stats.forEach((s: Record<string, unknown>) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        audioLevel = Number(s.audioLevel ?? 0);
        bytesReceived = Number(s.bytesReceived ?? 0);
      }
      if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string') {
        const pair = stats.get(s.selectedCandidatePairId) as
          { localCandidateId: string; remoteCandidateId: string } | undefined;
        if (pair) {
          local = (stats.get(pair.localCandidateId) as { candidateType?: string } | undefined)?.candidateType;
          remote = (stats.get(pair.remoteCandidateId) as { candidateType?: string } | undefined)?.candidateType;
        }
      }
    });
    return { audioLevel, bytesReceived, local, remote, config: w.__pcConfigs.at(-1) };
  });
}

const near = (hz: number, target: number) => Math.abs(hz - target) <= 12;

/** From the "Leave … a message" prompt: record a voice or video message of at least `seconds`, and send it. */
async function leaveMessage(prompt: Locator, kind: 'voice' | 'video', seconds: number): Promise<void> {
  await prompt.getByRole('button', { name: `Leave a ${kind} message` }).click();
  if (kind === 'video')
    await expect(() => prompt.locator('video.video-preview').isVisible(), 'camera preview while recording', 20_000);
  await expect(async () => (await recordedSeconds(prompt)) >= seconds, `${seconds} seconds recorded`, 20_000);
  await prompt.getByRole('button', { name: `Send ${kind} message` }).click();
  await expect(async () => (await prompt.count()) === 0, 'prompt closes once sent', 60_000);
}

/** The callee's one "Missed voice/video call" entry, once the message left for it shows inside, and that message's play button. */
async function missedCallWithMessage(page: Page, kind: 'voice' | 'video'): Promise<{ entry: Locator; play: Locator }> {
  const entry = page.locator('li.call-entry').filter({ hasText: `Missed ${kind} call` });
  await expect(async () => (await entry.count()) === 1, `the callee sees "Missed ${kind} call"`, 30_000);
  const play = entry.getByRole('button', { name: `Play ${kind} note` });
  await expect(async () => (await play.count()) === 1, `the ${kind} message is inside the missed call`, 30_000);
  return { entry, play };
}

describe('web client 1:1 calls in Chromium', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-calls-'));
  let server: ServerProcess;
  const browsers: Browser[] = [];
  const contexts: BrowserContext[] = [];
  let alice: Page;
  let bob: Page;
  const phones = { alice: '+12025550191', bob: '+12025550192' };

  /** A desktop page in Alice's browser and a phone page in Bob's, both recording their peer connections. */
  async function pagesFor(): Promise<[Page, Page]> {
    const desktop = await browsers[0]!.newContext({ viewport: { width: 1280, height: 800 } });
    const phone = await browsers[1]!.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    contexts.push(desktop, phone);
    await desktop.addInitScript(recordPeerConnections);
    await phone.addInitScript(recordPeerConnections);
    const pages: [Page, Page] = [await desktop.newPage(), await phone.newPage()];
    // Page errors go to the test output: a failure then says why the page stopped.
    for (const page of pages) page.on('pageerror', (e) => console.error('page error:', e.message));
    return pages;
  }

  before(async () => {
    if (!existsSync(join(ROOT, 'apps/web/dist/index.html')))
      throw new Error('web client not built: npm run build --workspace @parley/web');
    for (const [name, hz] of Object.entries(TONES)) toneWav(join(tmp, `${name}.wav`), hz, 20);
    server = await startServerProcess({ PARLEY_DATA_DIR: join(tmp, 'data') });
    browsers.push(await launchWith([`--use-file-for-fake-audio-capture=${join(tmp, 'alice.wav')}`]));
    browsers.push(await launchWith([`--use-file-for-fake-audio-capture=${join(tmp, 'bob.wav')}`]));
    [alice, bob] = await pagesFor();
    const query = `ringTimeoutMs=${RING_MS}&audioProcessing=off`;
    await registerInBrowser(alice, server.url, phones.alice, query);
    await registerInBrowser(bob, server.url, phones.bob, query);
    await openChat(alice, bob, phones.bob, 'Can I call you?');
  });

  after(() => closeBrowserSuite({ contexts, browsers, server, tmp }));

  it(
    "a voice call connects, carries each side's tone to the other, and leaves a call-log entry with its duration",
    { timeout: 120_000 },
    async () => {
      await alice.getByRole('button', { name: 'Voice call' }).click();
      const outgoing = alice.getByRole('dialog', { name: /^Voice call with / });
      await expect(() => outgoing.isVisible(), 'alice sees her call screen');
      const incoming = bob.getByRole('dialog', { name: /^Incoming voice call from / });
      await expect(() => incoming.isVisible(), "bob's phone rings", 30_000);
      await expect(
        async () => (await outgoing.getByRole('status').textContent()) === 'Ringing…',
        'alice sees Ringing…',
      );
      assert.equal(await incoming.getByRole('status').textContent(), 'Incoming voice call');
      await incoming.getByRole('button', { name: 'Accept' }).click();

      const call = bob.getByRole('dialog', { name: /^Voice call with / });
      for (const [who, screen] of [
        ['alice', outgoing],
        ['bob', call],
      ] as const) {
        await expect(
          async () => /^Connected · \d+:\d\d$/.test((await screen.getByRole('status').textContent()) ?? ''),
          `${who} connected`,
          30_000,
        );
        for (const name of ['Mute', 'Hang up'])
          assert.equal(await screen.getByRole('button', { name }).count(), 1, `${who} has ${name}`);
      }

      // Each page hears the other's microphone: Alice 660 Hz (Bob's), Bob 440 Hz (Alice's).
      let heard = { alice: { frequency: 0, rms: 0 }, bob: { frequency: 0, rms: 0 } };
      await expect(
        async () => {
          heard = { alice: await remoteTone(alice), bob: await remoteTone(bob) };
          return (
            near(heard.alice.frequency, TONES.bob) &&
            near(heard.bob.frequency, TONES.alice) &&
            heard.alice.rms > 0.01 &&
            heard.bob.rms > 0.01
          );
        },
        () => `each side hears the other's tone (${JSON.stringify(heard)})`,
        30_000,
      );
      for (const page of [alice, bob]) {
        await expect(async () => (await callStats(page)).audioLevel > 0, 'inbound audio level above zero');
      }

      await alice.screenshot({ path: join(tmpdir(), 'parley-calls-voice-desktop.png') });
      await bob.screenshot({ path: join(tmpdir(), 'parley-calls-voice-phone.png') });

      // Mute sends silence: Bob's level of Alice's audio falls; unmuting brings the tone back.
      await outgoing.getByRole('button', { name: 'Mute' }).click();
      await expect(async () => (await remoteTone(bob)).rms < 0.005, 'bob hears silence while alice is muted', 15_000);
      await outgoing.getByRole('button', { name: 'Unmute' }).click();
      await expect(
        async () => near((await remoteTone(bob)).frequency, TONES.alice),
        'bob hears alice again after unmute',
        15_000,
      );

      await new Promise((r) => setTimeout(r, 1000)); // a call of at least a couple of seconds
      await outgoing.getByRole('button', { name: 'Hang up' }).click();
      await expect(
        async () => (await outgoing.count()) === 0 && (await call.count()) === 0,
        'both call screens close',
        20_000,
      );
      const aliceEntry = alice.locator('li.call-entry').filter({ hasText: /^Outgoing voice call · \d+:\d\d/ });
      const bobEntry = bob.locator('li.call-entry').filter({ hasText: /^Incoming voice call · \d+:\d\d/ });
      await expect(async () => (await aliceEntry.count()) === 1, 'alice sees "Outgoing voice call · m:ss"', 20_000);
      await expect(async () => (await bobEntry.count()) === 1, 'bob sees "Incoming voice call · m:ss"', 20_000);
      const text = (await bobEntry.locator('.call-log-text').textContent()) ?? '';
      const [, mm, ss] = /(\d+):(\d\d)$/.exec(text)!;
      assert.ok(Number(mm) * 60 + Number(ss) >= 2, `call lasted at least 2 s: ${text}`);
      assert.equal(
        (await aliceEntry.locator('.call-log-text').textContent())?.replace('Outgoing', 'Incoming'),
        text,
        'both entries show the same duration',
      );
      // The microphone is released once the call is over, on both sides.
      for (const page of [alice, bob]) {
        const live = await page.evaluate(
          () =>
            (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs
              .at(-1)!
              .getSenders()
              .filter((s) => s.track?.readyState === 'live').length,
        );
        assert.equal(live, 0, 'no live local track after hang-up');
      }
    },
  );

  it(
    'a video call shows the remote video and a preview; camera off, swap and grid view work',
    { timeout: 120_000 },
    async () => {
      await bob.getByRole('button', { name: 'Video call' }).click();
      const incoming = alice.getByRole('dialog', { name: /^Incoming video call from / });
      await expect(() => incoming.isVisible(), 'alice rings for a video call', 30_000);
      await incoming.getByRole('button', { name: 'Accept' }).click();
      const screens = {
        alice: alice.getByRole('dialog', { name: /^Video call with / }),
        bob: bob.getByRole('dialog', { name: /^Video call with / }),
      };
      for (const [who, screen] of Object.entries(screens)) {
        await expect(
          async () => /^Connected/.test((await screen.getByRole('status').textContent()) ?? ''),
          `${who} connected`,
          30_000,
        );
        // The remote camera arrives with frames, and this device's own camera shows in the preview.
        const remote = screen.locator('video.call-remote-video');
        await expect(
          () =>
            remote.evaluate(
              (el: HTMLVideoElement) => el.videoWidth > 0 && el.getVideoPlaybackQuality().totalVideoFrames > 5,
            ),
          `${who} sees the other camera`,
          30_000,
        );
        await expect(
          () => screen.locator('video.call-local-video').evaluate((el: HTMLVideoElement) => el.videoWidth > 0),
          `${who} sees the preview`,
        );
      }
      await bob.screenshot({ path: join(tmpdir(), 'parley-calls-video-phone.png') });

      // Swap: the preview becomes the large picture and back.
      const area = (l: Locator) => l.boundingBox().then((b) => (b ? b.width * b.height : 0));
      const remote = screens.bob.locator('video.call-remote-video');
      const local = screens.bob.locator('video.call-local-video');
      assert.ok((await area(remote)) > (await area(local)), 'remote video is large in speaker view');
      await screens.bob.getByRole('button', { name: 'Swap videos' }).click();
      await expect(async () => (await area(local)) > (await area(remote)), 'preview is large after swapping');
      // Grid view: both the same size; the button switches back to speaker view.
      await screens.bob.getByRole('button', { name: 'Grid view' }).click();
      await expect(async () => Math.abs((await area(local)) - (await area(remote))) < 1, 'grid view shows both alike');
      await screens.bob.getByRole('button', { name: 'Speaker view' }).click();
      await expect(
        async () => (await screens.bob.getByRole('button', { name: 'Grid view' }).count()) === 1,
        'back to speaker view',
      );

      // Camera off: Alice receives black frames from Bob; on again, the picture returns.
      const brightness = () =>
        screens.alice.locator('video.call-remote-video').evaluate((el: HTMLVideoElement) => {
          const canvas = document.createElement('canvas');
          canvas.width = 64;
          canvas.height = 48;
          const g = canvas.getContext('2d')!;
          g.drawImage(el, 0, 0, 64, 48);
          const d = g.getImageData(0, 0, 64, 48).data;
          let sum = 0;
          for (let i = 0; i < d.length; i += 4) sum += d[i]! + d[i + 1]! + d[i + 2]!;
          return sum / (d.length / 4) / 3;
        });
      await expect(async () => (await brightness()) > 20, "bob's picture is visible");
      await screens.bob.getByRole('button', { name: 'Turn camera off' }).click();
      await expect(async () => (await brightness()) < 3, "black frames while bob's camera is off", 15_000);
      await screens.bob.getByRole('button', { name: 'Turn camera on' }).click();
      await expect(async () => (await brightness()) > 20, "bob's picture is back", 15_000);

      await screens.alice.getByRole('button', { name: 'Hang up' }).click();
      await expect(
        async () =>
          (await bob
            .locator('li.call-entry')
            .filter({ hasText: /^Outgoing video call · \d+:\d\d/ })
            .count()) === 1,
        'bob sees "Outgoing video call · m:ss"',
        20_000,
      );
      await expect(
        async () =>
          (await alice
            .locator('li.call-entry')
            .filter({ hasText: /^Incoming video call · \d+:\d\d/ })
            .count()) === 1,
        'alice sees "Incoming video call · m:ss"',
        20_000,
      );
    },
  );

  it(
    'a call that rings out offers "Leave a voice message"; the callee plays it inside the missed call',
    { timeout: 120_000 },
    async () => {
      await alice.getByRole('button', { name: 'Voice call' }).click();
      const incoming = bob.getByRole('dialog', { name: /^Incoming voice call from / });
      await expect(() => incoming.isVisible(), "bob's phone rings", 30_000);
      // Nobody answers: after the ring timeout Alice's screen turns into the prompt.
      const prompt = alice.getByRole('dialog', { name: /^Leave .+ a message$/ });
      await expect(() => prompt.isVisible(), 'alice gets the prompt', RING_MS + 20_000);
      assert.equal(await prompt.getByRole('status').textContent(), 'No answer');
      for (const name of ['Leave a voice message', 'Leave a video message', 'Close'])
        assert.equal(await prompt.getByRole('button', { name }).count(), 1, name);
      await expect(async () => (await incoming.count()) === 0, "bob's phone stops ringing", 20_000);

      await leaveMessage(prompt, 'voice', 2);

      // Bob: the missed call with the message inline, playable with one tap.
      const { entry, play } = await missedCallWithMessage(bob, 'voice');
      assert.equal(await entry.getByRole('button', { name: 'Call back' }).count(), 1);
      const audio = entry.locator('.note-voice audio');
      await expect(async () => (await audio.count()) === 1, "message decrypted in bob's page", 30_000);
      const tone = await decodedTone(audio);
      assert.ok(near(tone.frequency, TONES.alice), `dominant frequency ${tone.frequency} Hz`);
      assert.ok(tone.rms > 0.01, `not silent (rms ${tone.rms})`);
      assert.ok(tone.duration >= 1.5, `decoded duration ${tone.duration}s`);
      await play.click();
      await expect(
        async () => (await entry.getByRole('button', { name: 'Pause voice note' }).count()) === 1,
        'plays with one tap',
      );
      await expect(() => audio.evaluate((el: HTMLAudioElement) => el.currentTime > 0.2), 'playback advances');

      // Alice: her unanswered call shows her message, and offers another message or calling back.
      const mine = alice.locator('li.call-entry').filter({ hasText: 'Unanswered voice call' });
      await expect(
        async () => (await mine.getByRole('button', { name: 'Play voice note' }).count()) === 1,
        'alice sees her message in the entry',
        30_000,
      );
      for (const name of ['Leave a voice message', 'Leave a video message', 'Call back'])
        assert.equal(await mine.getByRole('button', { name }).count(), 1, name);
      // No stray bubble: the message is shown only inside the call entry.
      assert.equal(await bob.locator('.note-voice').count(), 1);
      await alice.screenshot({ path: join(tmpdir(), 'parley-calls-entry-desktop.png') });
      await bob.screenshot({ path: join(tmpdir(), 'parley-calls-entry-phone.png') });
    },
  );

  it(
    'a declined call turns into the prompt; a cancelled recording sends nothing; both chats say "Declined call"',
    { timeout: 90_000 },
    async () => {
      await alice.getByRole('button', { name: 'Voice call' }).click();
      const incoming = bob.getByRole('dialog', { name: /^Incoming voice call from / });
      await expect(() => incoming.isVisible(), "bob's phone rings", 30_000);
      await incoming.getByRole('button', { name: 'Decline' }).click();
      const prompt = alice.getByRole('dialog', { name: /^Leave .+ a message$/ });
      await expect(() => prompt.isVisible(), 'alice gets the prompt at once', 20_000);
      assert.equal(await prompt.getByRole('status').textContent(), 'Call declined');
      await prompt.getByRole('button', { name: 'Leave a voice message' }).click();
      await expect(async () => (await recordedSeconds(prompt)) >= 1, 'recording', 20_000);
      await prompt.getByRole('button', { name: 'Cancel' }).click();
      await expect(
        async () => (await prompt.getByRole('button', { name: 'Leave a voice message' }).count()) === 1,
        'back to the prompt',
      );
      await prompt.getByRole('button', { name: 'Close' }).click();
      await expect(async () => (await prompt.count()) === 0, 'prompt closed');
      for (const page of [alice, bob]) {
        const entry = page.locator('li.call-entry').filter({ hasText: 'Declined call' });
        await expect(async () => (await entry.count()) === 1, 'entry "Declined call"', 20_000);
        assert.equal(await entry.locator('.note').count(), 0, 'no message was sent');
      }
      assert.equal(await bob.locator('.note').count(), 1, 'bob has only the earlier voice message');
    },
  );

  it(
    'a video call that rings out takes a video message; the callee plays it and it has frames and the tone',
    { timeout: 150_000 },
    async () => {
      await alice.getByRole('button', { name: 'Video call' }).click();
      const incoming = bob.getByRole('dialog', { name: /^Incoming video call from / });
      await expect(() => incoming.isVisible(), "bob's phone rings for a video call", 30_000);
      assert.equal(await incoming.getByRole('button', { name: 'Accept' }).count(), 1);
      assert.equal(await incoming.getByRole('button', { name: 'Decline' }).count(), 1);
      const outgoing = alice.getByRole('dialog', { name: /^Video call with / });
      assert.equal(await outgoing.getByRole('button', { name: 'Turn camera off' }).count(), 1);
      const prompt = alice.getByRole('dialog', { name: /^Leave .+ a message$/ });
      await expect(() => prompt.isVisible(), 'alice gets the prompt', RING_MS + 20_000);

      await alice.screenshot({ path: join(tmpdir(), 'parley-calls-prompt-desktop.png') });
      await leaveMessage(prompt, 'video', 3);

      const { entry, play } = await missedCallWithMessage(bob, 'video');
      await play.click();
      const video = entry.locator('.note-video video');
      await expect(
        () => video.evaluate((el: HTMLVideoElement) => el.videoWidth > 0 && el.currentTime > 0.3),
        'the video plays with frames',
        30_000,
      );
      const frames = await video.evaluate((el: HTMLVideoElement) => el.getVideoPlaybackQuality().totalVideoFrames);
      assert.ok(frames > 0, `frames decoded: ${frames}`);
      const tone = await decodedTone(video);
      assert.ok(near(tone.frequency, TONES.alice), `dominant frequency of the video's audio ${tone.frequency} Hz`);
      assert.ok(tone.rms > 0.01, `audio not silent (rms ${tone.rms})`);
    },
  );

  it(
    'a call relayed only through coturn: the selected ICE pair is relay on both sides and audio flows',
    { timeout: 150_000, skip: turnUnavailable() },
    async () => {
      const dir = join(tmp, 'turn');
      mkdirSync(dir);
      const secret = 'parley-test-turn-secret-0123456789';
      const turn = await startTurnServer({ dir, secret });
      let relayed: ServerProcess | undefined;
      try {
        relayed = await startServerProcess({
          PARLEY_DATA_DIR: join(tmp, 'data-turn'),
          PARLEY_TURN_URLS: turn.url,
          PARLEY_TURN_SECRET: secret,
        });
        const [a, b] = await pagesFor();
        const query = 'iceTransportPolicy=relay&audioProcessing=off';
        await registerInBrowser(a, relayed.url, '+12025550193', query);
        await registerInBrowser(b, relayed.url, '+12025550194', query);
        await openChat(a, b, '+12025550194', 'Through the relay');

        await a.getByRole('button', { name: 'Voice call' }).click();
        const incoming = b.getByRole('dialog', { name: /^Incoming voice call from / });
        await expect(() => incoming.isVisible(), 'callee rings', 30_000);
        await incoming.getByRole('button', { name: 'Accept' }).click();
        for (const page of [a, b]) {
          await expect(
            async () =>
              /^Connected/.test(
                (await page
                  .getByRole('dialog', { name: /^Voice call with / })
                  .getByRole('status')
                  .textContent()) ?? '',
              ),
            'connected through TURN',
            40_000,
          );
        }
        for (const [page, tone] of [
          [a, TONES.bob],
          [b, TONES.alice],
        ] as const) {
          let stats = await callStats(page);
          await expect(
            async () => {
              stats = await callStats(page);
              return (
                stats.local === 'relay' && stats.remote === 'relay' && stats.bytesReceived > 0 && stats.audioLevel > 0
              );
            },
            () => `relay pair with audio (${JSON.stringify(stats)})`,
            30_000,
          );
          // The page used relay-only ICE with the TURN credentials the Parley server minted.
          const config = stats.config as {
            iceTransportPolicy?: string;
            iceServers?: { urls: string[]; username?: string; credential?: string }[];
          };
          assert.equal(config.iceTransportPolicy, 'relay');
          const server = config.iceServers?.find((s) => s.urls.includes(turn.url));
          assert.ok(
            server?.username && server.credential,
            `TURN credentials from the server: ${JSON.stringify(config.iceServers)}`,
          );
          assert.match(server.username, /^\d+:/);
          await expect(
            async () => near((await remoteTone(page)).frequency, tone),
            `hears ${tone} Hz through the relay`,
            30_000,
          );
        }
        await a
          .getByRole('dialog', { name: /^Voice call with / })
          .getByRole('button', { name: 'Hang up' })
          .click();
        await expect(
          async () =>
            (await a
              .locator('li.call-entry')
              .filter({ hasText: /^Outgoing voice call · / })
              .count()) === 1,
          'call-log entry after the relayed call',
          20_000,
        );
      } finally {
        await relayed?.kill();
        await turn.stop();
      }
    },
  );
});
