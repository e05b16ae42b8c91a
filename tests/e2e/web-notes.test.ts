/**
 * Media and voice/video notes in the web client (C4, C5, C15), in real Chromium. Each participant
 * is its own browser process whose fake microphone plays a sox-made tone: Alice (desktop) records a
 * voice note by tapping and by holding the microphone, Bob (phone) plays it, the test decodes what
 * Bob's page decrypted and finds Alice's 440 Hz tone in it, and Alice sees "Played". Then an image
 * and a file travel the other way round, and Bob sends a video note Alice plays inline. Last, the
 * SDK's played receipts on their own, including a receipt that names a text message.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { WebSocketCtor } from '@parley/sdk';
import { registerTestClient } from '@parley/sdk/testing';
import { expect } from './helpers/expect.ts';
import { DEV_OUTBOX_TOKEN, ROOT, startServerProcess, type ServerProcess } from './helpers/server-process.ts';
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

const skip = browserUnavailable() || soxUnavailable();

/** Every file under a folder, recursively. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('web client media and notes in Chromium', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-notes-'));
  const dataDir = join(tmp, 'data');
  let server: ServerProcess;
  const browsers: Browser[] = [];
  const contexts: BrowserContext[] = [];
  let alice: Page;
  let bob: Page;
  const phones = { alice: '+12025550171', bob: '+12025550172' };

  before(async () => {
    if (!existsSync(join(ROOT, 'apps/web/dist/index.html')))
      throw new Error('web client not built: npm run build --workspace @parley/web');
    // One tone per microphone: Alice's notes must carry 440 Hz, Bob's 660 Hz.
    for (const [name, hz] of [
      ['alice', 440],
      ['bob', 660],
    ] as const)
      toneWav(join(tmp, `${name}.wav`), hz, 10);
    server = await startServerProcess({ PARLEY_DATA_DIR: dataDir });
    const aliceBrowser = await launchWith([`--use-file-for-fake-audio-capture=${join(tmp, 'alice.wav')}`]);
    const bobBrowser = await launchWith([`--use-file-for-fake-audio-capture=${join(tmp, 'bob.wav')}`]);
    browsers.push(aliceBrowser, bobBrowser);
    const desktop = await aliceBrowser.newContext({ viewport: { width: 1280, height: 800 } });
    const phone = await bobBrowser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    contexts.push(desktop, phone);
    alice = await desktop.newPage();
    bob = await phone.newPage();
    await registerInBrowser(alice, server.url, phones.alice);
    await registerInBrowser(bob, server.url, phones.bob);
    await openChat(alice, bob, phones.bob, 'Listen to this');
  });

  after(() => closeBrowserSuite({ contexts, browsers, server, tmp }));

  it(
    'records a voice note by tap and by hold; the receiver plays the sender\'s tone; "Played" comes back',
    { timeout: 180_000 },
    async () => {
      // Tap to start, tap again to send.
      await alice.getByRole('button', { name: 'Record voice note' }).click();
      await expect(async () => (await recordedSeconds(alice)) >= 2, 'two seconds recorded');
      await alice.getByRole('button', { name: 'Send voice note' }).click();
      await expect(
        async () => (await alice.getByRole('button', { name: 'Play voice note' }).count()) === 1,
        'alice sees her voice note',
      );

      const play = bob.getByRole('button', { name: 'Play voice note' });
      await expect(async () => (await play.count()) === 1, 'bob sees the voice note', 30_000);
      const audio = bob.locator('.note-voice audio');
      await expect(async () => (await audio.count()) === 1, "voice note decrypted in bob's page", 30_000);

      // The duration and waveform were measured on Alice's device and travelled in the attachment.
      const total =
        (await bob.getByRole('slider', { name: 'Position in voice note' }).getAttribute('aria-valuemax')) ?? '';
      assert.ok(Number(total) >= 2 && Number(total) <= 6, `announced duration ${total}s`);
      assert.ok((await bob.locator('.note-voice .waveform rect').count()) === 64, 'waveform of 64 peaks drawn');

      // Decode exactly what Bob's page decrypted and find its dominant frequency (Goertzel scan).
      const heard = await decodedTone(audio);
      assert.ok(Math.abs(heard.frequency - 440) <= 10, `dominant frequency ${heard.frequency} Hz`);
      assert.ok(heard.rms > 0.01, `the note is not silent (rms ${heard.rms})`);
      assert.ok(heard.duration >= 1.8 && heard.duration <= 6, `decoded duration ${heard.duration}s`);
      assert.match(heard.type, /^audio\/webm/);

      // Play: the button turns into Pause and the playhead moves.
      await play.click();
      await expect(
        async () => (await bob.getByRole('button', { name: 'Pause voice note' }).count()) === 1,
        'pause button while playing',
      );
      await expect(() => audio.evaluate((el: HTMLAudioElement) => el.currentTime > 0.2), 'playback advances');

      // The speed button cycles 1× → 1.5× → 2× → 1× and sets the element's rate.
      const speed = bob.locator('.note-voice .note-speed');
      assert.equal(await speed.getAttribute('aria-label'), 'Playback speed 1×');
      for (const rate of [1.5, 2, 1]) {
        await speed.click();
        await expect(
          async () => (await speed.getAttribute('aria-label')) === `Playback speed ${rate}×`,
          `speed button says ${rate}×`,
        );
        await expect(
          async () => (await audio.evaluate((el: HTMLAudioElement) => el.playbackRate)) === rate,
          `playing at ${rate}×`,
        );
      }

      // The first play sent a played receipt: Alice's bubble says so.
      await expect(
        async () => (await alice.getByRole('img', { name: 'Played' }).count()) === 1,
        'alice sees Played',
        30_000,
      );

      // Hold to record, release to send.
      const mic = alice.getByRole('button', { name: 'Record voice note' });
      const box = (await mic.boundingBox())!;
      await alice.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await alice.mouse.down();
      await expect(async () => (await recordedSeconds(alice)) >= 1, 'holding records');
      await alice.mouse.up();
      await expect(
        async () => (await alice.getByRole('button', { name: 'Play voice note' }).count()) === 2,
        'held note sent',
      );

      // A cancelled recording sends nothing: after it, a text arrives with still two notes before it.
      await alice.getByRole('button', { name: 'Record voice note' }).click();
      await expect(async () => (await recordedSeconds(alice)) >= 1, 'recording to cancel');
      await alice.getByRole('button', { name: 'Cancel recording' }).click();
      await expect(
        () => alice.getByRole('button', { name: 'Record voice note' }).isVisible(),
        'composer back after cancel',
      );
      await alice.getByRole('textbox', { name: 'Message' }).fill('That was all');
      await alice.getByRole('button', { name: 'Send' }).click();
      await expect(
        () => bob.locator('.messages').getByText('That was all').isVisible(),
        'bob sees the text after the notes',
      );
      assert.equal(
        await bob
          .getByRole('button', { name: /voice note$/ })
          .and(bob.locator('.note-play'))
          .count(),
        2,
      );
    },
  );

  it(
    'sends an image and a file; the other side shows the decrypted image and downloads the file',
    { timeout: 120_000 },
    async () => {
      // An 800×600 PNG, left half crimson and right half blue, made in Bob's page.
      const png = await bob.evaluate(async () => {
        const canvas = document.createElement('canvas');
        canvas.width = 800;
        canvas.height = 600;
        const g = canvas.getContext('2d')!;
        g.fillStyle = 'rgb(220, 20, 60)';
        g.fillRect(0, 0, 400, 600);
        g.fillStyle = 'rgb(20, 60, 220)';
        g.fillRect(400, 0, 400, 600);
        return canvas.toDataURL('image/png').split(',')[1]!;
      });
      let chooser = bob.waitForEvent('filechooser');
      await bob.getByRole('button', { name: 'Attach file' }).click();
      await (
        await chooser
      ).setFiles({ name: 'pattern.png', mimeType: 'image/png', buffer: Buffer.from(png, 'base64') });

      const img = alice.getByRole('img', { name: 'pattern.png' });
      await expect(
        async () =>
          (await img.count()) === 1 &&
          (await img.evaluate(
            (el: HTMLImageElement) => el.complete && el.naturalWidth === 800 && !el.classList.contains('preview'),
          )),
        'alice sees the full image',
        30_000,
      );
      const pixels = await img.evaluate((el: HTMLImageElement) => {
        const canvas = document.createElement('canvas');
        canvas.width = el.naturalWidth;
        canvas.height = el.naturalHeight;
        const g = canvas.getContext('2d')!;
        g.drawImage(el, 0, 0);
        return {
          w: el.naturalWidth,
          h: el.naturalHeight,
          left: [...g.getImageData(100, 300, 1, 1).data],
          right: [...g.getImageData(700, 300, 1, 1).data],
        };
      });
      assert.deepEqual([pixels.w, pixels.h], [800, 600]);
      assert.deepEqual(pixels.left, [220, 20, 60, 255]);
      assert.deepEqual(pixels.right, [20, 60, 220, 255]);

      // A file with a caption typed before attaching it.
      const text = 'hello parley, these are the meeting notes';
      await bob.getByRole('textbox', { name: 'Message' }).fill('Notes attached');
      chooser = bob.waitForEvent('filechooser');
      await bob.getByRole('button', { name: 'Attach file' }).click();
      await (await chooser).setFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from(text) });
      const link = alice.getByRole('button', { name: `Download notes.txt, ${text.length} B` });
      await expect(async () => (await link.count()) === 1, 'alice sees the file', 30_000);
      // In the bubble (the live region that announces new messages holds the text for a moment too).
      const history = alice.getByRole('list', { name: 'Message history' });
      assert.ok(await history.getByText('Notes attached').isVisible(), 'caption shown');
      const download = alice.waitForEvent('download');
      await link.click();
      const saved = await (await download).path();
      assert.equal(readFileSync(saved, 'utf8'), text);

      // The server's blob folder holds ciphertext only.
      const stored = filesUnder(join(dataDir, 'media'));
      assert.ok(stored.length >= 3, `blobs stored: ${stored.length}`);
      for (const f of stored) {
        const bytes = readFileSync(f);
        assert.ok(!bytes.includes(Buffer.from('meeting notes')), `${f} holds plaintext`);
        assert.ok(!bytes.includes(Buffer.from('\x89PNG')), `${f} holds a plaintext PNG`);
        assert.ok(!bytes.includes(Buffer.from('webm')), `${f} holds a plaintext WebM`);
      }
    },
  );

  it('records a video note on the phone; the desktop plays it inline', { timeout: 120_000 }, async () => {
    await bob.getByRole('button', { name: 'Record video note' }).click();
    await expect(() => bob.locator('video.video-preview').isVisible(), 'camera preview shown');
    await expect(async () => (await recordedSeconds(bob)) >= 2, 'two seconds of video');
    await bob.getByRole('button', { name: 'Send video note' }).click();

    const play = alice.getByRole('button', { name: 'Play video note' });
    await expect(async () => (await play.count()) === 1, 'alice sees the video note', 30_000);
    const video = alice.locator('.note-video video');
    // The thumbnail made from the first frame is the poster before anything is downloaded.
    await expect(
      async () => ((await video.getAttribute('poster')) ?? '').startsWith('blob:'),
      'poster from the thumbnail',
    );
    await play.click();
    await expect(
      () => video.evaluate((el: HTMLVideoElement) => el.videoWidth > 0 && el.currentTime > 0.2),
      'video plays inline',
      30_000,
    );
    await expect(async () => (await bob.getByRole('img', { name: 'Played' }).count()) === 1, 'bob sees Played', 30_000);
    await alice.screenshot({ path: join(tmpdir(), 'parley-notes-desktop.png') });
    await bob.screenshot({ path: join(tmpdir(), 'parley-notes-phone.png') });
  });

  it('SDK: played receipts mark notes only, once per account', { timeout: 60_000 }, async () => {
    const make = (phone: string) =>
      registerTestClient(server.url, {
        outboxToken: DEV_OUTBOX_TOKEN,
        phone,
        WebSocket: WebSocket as unknown as WebSocketCtor,
      });
    const sender = await make('+12025550181');
    const listener = await make('+12025550182');
    try {
      const conv = await sender.startDirect(listener.self.accountId);
      const note = await sender.sendMedia(conv, {
        bytes: new Uint8Array(2000).fill(7),
        mimeType: 'audio/webm;codecs=opus',
        kind: 'voice',
        durationMs: 1200,
      });
      const text = await sender.sendText(conv, 'not a note');
      const arrived = async (id: string) => (await listener.messages(conv)).find((m) => m.id === id);
      await expect(async () => Boolean((await arrived(note.id)) && (await arrived(text.id))), 'both arrive');

      // A played receipt naming a text message changes nothing there; the note is marked.
      await listener.markPlayed(conv, [text.id, note.id]);
      await listener.markPlayed(conv, [note.id]);
      await listener.markPlayed(conv, []);
      await expect(
        async () => ((await sender.messages(conv)).find((m) => m.id === note.id)?.playedBy ?? []).length > 0,
        'sender sees played',
      );
      // A text the listener sends after the receipts reaches the sender after them: once it is
      // there, a second receipt for the note (the repeated markPlayed) would have been counted too.
      const later = await listener.sendText(conv, 'after the receipts');
      await expect(
        async () => (await sender.messages(conv)).some((m) => m.id === later.id),
        'sender has all the listener sent',
      );
      const mine = await sender.messages(conv);
      const sentNote = mine.find((m) => m.id === note.id)!;
      assert.deepEqual(sentNote.playedBy, [listener.self.accountId]);
      assert.ok(sentNote.readBy.includes(listener.self.accountId), 'played implies read');
      assert.equal(sentNote.status, 'read');
      assert.equal(mine.find((m) => m.id === text.id)!.playedBy, undefined);
      // The listener's own copy remembers that it played the note.
      assert.deepEqual((await arrived(note.id))!.playedBy, [listener.self.accountId]);
    } finally {
      await sender.close();
      await listener.close();
    }
  });
});
