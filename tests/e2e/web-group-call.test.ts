/**
 * Group voice chats in the web client (C6, C8), in real Chromium through the server's SFU. Three
 * people, each in their own browser process with a sox-made microphone: Alice's plays a 440 Hz
 * tone, Bob's a 660 Hz tone but Bob joins muted, Carol's is silent. Alice starts the voice chat,
 * Bob and Carol join from the chat's banner; the SFU names Alice the speaker on every screen;
 * Carol's "React" lands on Alice's tile for all three. Then Alice mutes and Bob unmutes: the
 * speaker becomes Bob and Carol's next reaction lands on his tile.
 *
 * End-to-end encryption of the media: every page's frame worker seals and opens frames (the SFU
 * only ever gets frame keys' ciphertext inside MLS, never a key), and a fourth member, a Node
 * device on werift, joins the same call and receives Alice's frames as the SFU forwards them:
 * without Alice's frame key (or with a wrong one) none of them opens, with the key MLS gave it
 * they open to Opus frames.
 *
 * Alice has a profile photo (red left, blue right): Bob's and Carol's tiles of her show that photo,
 * decrypted from her profile, at a phone width (360 px) and a desktop one (1280 px), with no
 * sideways scroll and no serious axe-core violation on the call screen.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { RTCPeerConnection as WeriftPeerConnection } from 'werift';
import type { Browser, Locator, Page } from 'playwright-core';
import {
  GroupFrameCipher,
  type GroupCall,
  type GroupRemoteTrack,
  type ParleyClient,
  type PeerConnectionCtor,
  type WebSocketCtor,
} from '@parley/sdk';
import { registerTestClient } from '@parley/sdk/testing';
import { CLEAR_BYTES, inspectSealedFrame } from '@parley/crypto';
import { expect } from './helpers/expect.ts';
import { seriousAxeViolations } from './helpers/axe.ts';
import { DEV_OUTBOX_TOKEN, ROOT, startServerProcess, type ServerProcess } from './helpers/server-process.ts';
import { closeBrowserSuite, registerInBrowser, soxUnavailable, toneWav } from './helpers/web.ts';
import { browserUnavailable, launchWith } from './helpers/browser.ts';
import { twoColourPng, type Rgb } from './helpers/images.ts';

const skip = browserUnavailable() || soxUnavailable();

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const RED: Rgb = [200, 30, 30];
const BLUE: Rgb = [30, 30, 200];
/** Close to a colour (the avatar is a JPEG, which moves channels a little). */
const near = (got: number[], want: number[]) => got.every((v, i) => Math.abs(v - want[i]!) < 40);

/** What a page shows of an `<img>`: its natural size, a pixel from each half and its source. */
function photoOf(img: Locator) {
  // No named helpers inside: the page runs this function's source as it is.
  return img.evaluate(async (el: HTMLImageElement) => {
    await el.decode();
    const c = document.createElement('canvas');
    c.width = el.naturalWidth;
    c.height = el.naturalHeight;
    const ctx = c.getContext('2d')!;
    ctx.drawImage(el, 0, 0);
    const y = Math.floor(c.height / 2);
    const left = Array.from(ctx.getImageData(Math.floor(c.width / 4), y, 1, 1).data.slice(0, 3));
    const right = Array.from(ctx.getImageData(Math.floor((3 * c.width) / 4), y, 1, 1).data.slice(0, 3));
    return { width: el.naturalWidth, height: el.naturalHeight, left, right, src: el.src };
  });
}

describe('group voice chat in Chromium through the SFU', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-group-call-'));
  let server: ServerProcess;
  const browsers: Browser[] = [];
  const pages: Record<'alice' | 'bob' | 'carol', Page> = {} as never;
  const phones = { alice: '+12025550181', bob: '+12025550182', carol: '+12025550183', dave: '+12025550184' };
  type Who = keyof typeof pages;
  let dave: ParleyClient;
  let conversationId = '';

  const accounts: Partial<Record<Who, string>> = {};
  /**
   * How `viewer` names `who`: "You" on their own screen, else the phone number when the viewer's
   * device knows it, or "Contact" and the start of the account id.
   */
  function nameOf(viewer: Who, who: Who): string {
    return viewer === who ? 'You' : `(?:${escape(phones[who])}|Contact ${escape(accounts[who]!.slice(2, 8))})`;
  }
  /** Someone's tile as `viewer` sees it. */
  function tile(viewer: Who, who: Who): Locator {
    return pages[viewer]
      .getByRole('list', { name: 'Participants' })
      .getByRole('listitem', { name: new RegExp(`^${nameOf(viewer, who)}(,|$)`) })
      .first();
  }
  async function logged(viewer: Who, emoji: string, from: Who, to: Who): Promise<boolean> {
    const line = new RegExp(`^${emoji} from ${nameOf(viewer, from)} to ${nameOf(viewer, to)}$`, 'u');
    return (await pages[viewer].getByRole('log', { name: 'Reactions' }).getByRole('listitem').allTextContents()).some(
      (t) => line.test(t),
    );
  }
  async function isSpeaking(viewer: Who, who: Who): Promise<boolean> {
    return /, speaking$/.test((await tile(viewer, who).getAttribute('aria-label')) ?? '');
  }
  async function reactionsOn(viewer: Who, who: Who): Promise<string[]> {
    return tile(viewer, who)
      .getByRole('list', { name: /^Reactions for/ })
      .getByRole('listitem')
      .allTextContents();
  }
  async function frames(viewer: Who): Promise<{ sealed: number; opened: number }> {
    const section = pages[viewer].locator('section.group-call');
    return {
      sealed: Number(await section.getAttribute('data-frames-sealed')),
      opened: Number(await section.getAttribute('data-frames-opened')),
    };
  }

  before(async () => {
    if (!existsSync(join(ROOT, 'apps/web/dist/index.html')))
      throw new Error('web client not built: npm run build --workspace @parley/web');
    for (const [name, hz] of Object.entries({ alice: 440, bob: 660, carol: 0 }))
      toneWav(join(tmp, `${name}.wav`), hz, 120);
    server = await startServerProcess({ PARLEY_DATA_DIR: join(tmp, 'data') });
    for (const who of ['alice', 'bob', 'carol'] as const) {
      const browser = await launchWith([`--use-file-for-fake-audio-capture=${join(tmp, `${who}.wav`)}`]);
      browsers.push(browser);
      const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
      pages[who] = await context.newPage();
      await registerInBrowser(pages[who], server.url, phones[who]);
    }
    // Dave: a Node device (werift on loopback), member of the group like the others.
    dave = await registerTestClient(server.url, {
      outboxToken: DEV_OUTBOX_TOKEN,
      phone: phones.dave,
      deviceName: 'node',
      WebSocket: WebSocket as unknown as WebSocketCtor,
      calls: {
        RTCPeerConnection: WeriftPeerConnection as unknown as PeerConnectionCtor,
        peerConnectionConfig: { iceAdditionalHostAddresses: ['127.0.0.1'], iceUseIpv6: false },
        gatherTimeoutMs: 1500,
      },
    });
    for (const who of ['alice', 'bob', 'carol'] as const) accounts[who] = await dave.lookupPhone(phones[who]);

    const alice = pages.alice;
    // Alice's profile photo; her first message in the group carries her profile key to the others.
    const photo = join(tmp, 'alice.png');
    writeFileSync(photo, twoColourPng(300, 300, RED, BLUE));
    await alice.getByRole('button', { name: 'Settings' }).click();
    await alice.getByLabel('Choose photo').setInputFiles(photo);
    await expect(() => alice.getByText('Profile photo updated.').isVisible(), 'alice saved a photo');
    await alice.getByRole('button', { name: 'Back to chats' }).click();
    await alice.getByRole('button', { name: 'New group' }).click();
    await alice.getByLabel('Group name').fill('Choir');
    await alice
      .getByLabel('Members (phone numbers, comma separated)')
      .fill([phones.bob, phones.carol, phones.dave].join(', '));
    await alice.getByRole('button', { name: 'Create group' }).click();
    await alice.getByRole('textbox', { name: 'Message' }).fill('Voice chat in a minute');
    await alice.getByRole('button', { name: 'Send' }).click();
    for (const who of ['bob', 'carol'] as const) {
      const chat = pages[who].getByRole('button', { name: /Open chat Choir/ });
      await expect(() => chat.isVisible(), `${who} sees the group`, 30_000);
      await chat.click();
      await expect(
        () => pages[who].locator('.messages').getByText('Voice chat in a minute').isVisible(),
        `${who} sees the message`,
      );
    }
    await expect(() => dave.history.conversations().some((c) => c.name === 'Choir'), 'dave is in the group', 30_000);
    conversationId = dave.history.conversations().find((c) => c.name === 'Choir')!.id;
  });

  after(async () => {
    await dave?.close().catch(() => undefined);
    await closeBrowserSuite({ browsers, server, tmp });
  });

  it(
    "names the speaker from the SFU and puts reactions on the speaker's tile for everyone",
    { timeout: 240_000 },
    async () => {
      const { alice, bob, carol } = pages;
      await alice.getByRole('button', { name: 'Start voice chat' }).click();
      await expect(() => alice.locator('section.group-call').isVisible(), 'alice is in the voice chat');

      // The call was announced inside MLS: the others' chats offer to join.
      await expect(
        () => carol.getByRole('button', { name: 'Join voice chat' }).isVisible(),
        'carol sees the join banner',
        30_000,
      );
      await carol.getByRole('button', { name: 'Join voice chat' }).click();
      await expect(
        () => bob.getByRole('button', { name: 'Join muted' }).isVisible(),
        'bob sees the join banner',
        30_000,
      );
      await bob.getByRole('button', { name: 'Join muted' }).click();

      for (const who of ['alice', 'bob', 'carol'] as const) {
        await expect(
          async () =>
            (await pages[who]
              .getByRole('list', { name: 'Participants' })
              .getByRole('listitem')
              .filter({ has: pages[who].locator('.tile-name') })
              .count()) === 3,
          `${who} sees three tiles`,
          30_000,
        );
        await expect(
          async () => (await pages[who].getByRole('status').filter({ hasText: 'in the call' }).count()) === 1,
          `${who} is connected`,
          30_000,
        );
      }
      // Alice's tile shows her profile photo to the others.
      for (const viewer of ['bob', 'carol'] as const) {
        const img = tile(viewer, 'alice').locator('img.tile-photo');
        await expect(async () => (await img.count()) === 1, `${viewer} sees alice's photo on her tile`, 20_000);
        const shown = await photoOf(img);
        assert.ok(shown.src.startsWith('blob:'), `${viewer}: the photo decrypted on the device (${shown.src})`);
        assert.ok(near(shown.left, RED) && near(shown.right, BLUE), `${viewer}: her picture ${JSON.stringify(shown)}`);
        // Whoever has no photo keeps the fallback (a person outline for a number, else initials).
        const other = viewer === 'bob' ? 'carol' : 'bob';
        assert.equal(await tile(viewer, other).locator('img').count(), 0, `${viewer}: no photo for ${other}`);
        const fallback = tile(viewer, other).locator('.tile-avatar');
        const outline = await fallback.locator('svg').count();
        const initials = ((await fallback.textContent()) ?? '').trim();
        assert.ok(
          (outline === 1 && initials === '') || (outline === 0 && /^\p{Lu}{1,2}$/u.test(initials)),
          `${viewer}: ${other}'s tile shows an outline or initials (${outline} outline, "${initials}")`,
        );
      }
      // At a phone width and a desktop one: the photo in view, nothing wider than the screen, axe.
      for (const [width, height] of [
        [360, 780],
        [1280, 800],
      ] as const) {
        await bob.setViewportSize({ width, height });
        const img = tile('bob', 'alice').locator('img.tile-photo');
        await expect(() => img.isVisible(), `${width}px: alice's photo visible`);
        const box = await img.boundingBox();
        assert.ok(box && box.width > 0 && box.x >= 0 && box.x + box.width <= width, `${width}px: photo inside`);
        assert.ok(
          await bob.evaluate((w) => document.documentElement.scrollWidth <= w, width),
          `${width}px: no sideways scroll`,
        );
        assert.deepEqual(await seriousAxeViolations(bob), [], `axe: voice chat at ${width}px`);
        await bob.screenshot({ path: join(tmpdir(), `parley-group-call-photo-${width}.png`) });
      }
      await bob.setViewportSize({ width: 1100, height: 800 });

      // Bob joined muted: his tile says so everywhere.
      for (const viewer of ['alice', 'carol'] as const) {
        await expect(
          async () => /, muted/.test((await tile(viewer, 'bob').getAttribute('aria-label')) ?? ''),
          `${viewer} sees bob muted`,
        );
      }
      assert.equal(await bob.getByRole('button', { name: 'Unmute' }).count(), 1);

      // Alice's tone wins: the SFU read the audio levels of frames it could not decrypt.
      for (const viewer of ['alice', 'bob', 'carol'] as const) {
        await expect(() => isSpeaking(viewer, 'alice'), `${viewer} sees alice speaking`, 30_000);
        await expect(
          () => tile(viewer, 'alice').getByText('Speaking').isVisible(),
          `${viewer} sees the Speaking badge`,
        );
      }

      // Carol taps React, then an emoji: it goes to whoever speaks now, Alice, on every screen.
      await carol.getByRole('button', { name: 'React', exact: true }).click();
      await carol
        .getByRole('dialog', { name: 'React to the speaker' })
        .getByRole('button', { name: 'React with 👏' })
        .click();
      for (const viewer of ['alice', 'bob', 'carol'] as const) {
        await expect(
          async () => (await reactionsOn(viewer, 'alice')).includes('👏'),
          `${viewer} sees 👏 on alice's tile`,
          20_000,
        );
        assert.deepEqual(await reactionsOn(viewer, 'bob'), [], `${viewer}: nothing on bob's tile`);
      }
      for (const viewer of ['alice', 'bob', 'carol'] as const)
        await expect(() => logged(viewer, '👏', 'carol', 'alice'), `${viewer}'s reaction log`);

      // Every page seals its own frames and opens the others' in its worker.
      for (const who of ['alice', 'bob', 'carol'] as const) {
        await expect(
          async () => {
            const f = await frames(who);
            return f.sealed > 0 && f.opened > 0;
          },
          `${who}'s frame worker seals and opens`,
          20_000,
        );
      }

      // Alice mutes, Bob unmutes: the speaker becomes Bob, and the tiles follow the mute states.
      await alice.getByRole('button', { name: 'Mute', exact: true }).click();
      await bob.getByRole('button', { name: 'Unmute' }).click();
      for (const viewer of ['alice', 'bob', 'carol'] as const) {
        await expect(() => isSpeaking(viewer, 'bob'), `${viewer} sees bob speaking`, 40_000);
        assert.equal(await isSpeaking(viewer, 'alice'), false);
      }
      for (const viewer of ['bob', 'carol'] as const) {
        await expect(
          async () => /, muted/.test((await tile(viewer, 'alice').getAttribute('aria-label')) ?? ''),
          `${viewer} sees alice muted`,
        );
      }
      await expect(
        async () => !/, muted/.test((await tile('carol', 'bob').getAttribute('aria-label')) ?? ''),
        'carol sees bob unmuted',
      );

      await carol.getByRole('button', { name: 'React', exact: true }).click();
      await carol
        .getByRole('dialog', { name: 'React to the speaker' })
        .getByRole('button', { name: 'React with 🎉' })
        .click();
      for (const viewer of ['alice', 'bob', 'carol'] as const) {
        await expect(
          async () => (await reactionsOn(viewer, 'bob')).includes('🎉'),
          `${viewer} sees 🎉 on bob's tile`,
          20_000,
        );
        assert.ok(!(await reactionsOn(viewer, 'alice')).includes('🎉'), `${viewer}: 🎉 not on alice's tile`);
      }

      // "React to…" picks the participant by hand, whoever is speaking.
      await bob.getByRole('button', { name: 'React to…' }).click();
      const pick = bob.getByRole('dialog', { name: 'React to a participant' });
      await pick.getByRole('radio', { name: new RegExp(`^${nameOf('bob', 'carol')}$`) }).check();
      await pick.getByRole('button', { name: 'React with ❤️' }).click();
      for (const viewer of ['alice', 'carol'] as const) {
        await expect(
          async () => (await reactionsOn(viewer, 'carol')).includes('❤️'),
          `${viewer} sees ❤️ on carol's tile`,
          20_000,
        );
      }

      // Alice minimises the call: a bar instead of the screen, the others' audio still playing, and
      // she writes in the chat meanwhile; "Return to voice chat" brings the screen back.
      await alice.getByRole('button', { name: 'Minimise' }).click();
      const bar = alice.getByRole('region', { name: 'Voice chat, minimised' });
      await expect(() => bar.isVisible(), 'the minimised bar');
      assert.equal(await alice.locator('section.group-call').count(), 0, 'no call screen over the chat');
      const played = () =>
        alice.evaluate(() =>
          [...document.querySelectorAll<HTMLAudioElement>('.call-mini audio')].map((a) => a.currentTime),
        );
      const before = await played();
      assert.equal(before.length, 2, "bob's and carol's audio stay on the page");
      await expect(
        async () => (await played()).every((t, i) => t > before[i]!),
        'their audio keeps playing while minimised',
        20_000,
      );
      await alice.getByRole('textbox', { name: 'Message' }).fill('Still here, just reading');
      await alice.keyboard.press('Enter');
      await expect(
        () => carol.getByRole('list', { name: 'Message history' }).getByText('Still here, just reading').isVisible(),
        'a message sent from the minimised call reaches carol',
        20_000,
      );
      assert.deepEqual(await seriousAxeViolations(alice), [], 'axe: minimised voice chat');
      await alice.screenshot({ path: join(tmpdir(), 'parley-group-call-minimised.png') });
      await bar.getByRole('button', { name: 'Return to voice chat' }).click();
      await expect(() => alice.locator('section.group-call').isVisible(), 'the call screen is back');
      assert.equal(await alice.locator('.tile').count(), 3, 'with its three tiles');
    },
  );

  it(
    'forwards only sealed frames: a member without the key opens none, the key from MLS opens them',
    { timeout: 120_000 },
    async () => {
      const call: GroupCall = await dave.calls.joinGroup(conversationId, { callId: await callIdOf(pages.carol) });
      try {
        const bobAccount = await dave.lookupPhone(phones.bob);
        const bobDevice = call.participants.find((p) => p.accountId === bobAccount)?.deviceId;
        // Bob is the one unmuted now; collect what the SFU forwards of his audio.
        const bobsFrames: Buffer[] = [];
        const listen = (t: GroupRemoteTrack) => {
          if (t.kind !== 'audio' || t.participantId !== bobDevice) return;
          (
            t.track as { onReceiveRtp: { subscribe(fn: (p: { payload: Buffer }) => void): unknown } }
          ).onReceiveRtp.subscribe((p) => bobsFrames.push(p.payload));
        };
        call.remoteTracks.forEach(listen);
        call.on('track', listen);
        assert.ok(bobDevice, 'bob is in the call');
        await expect(() => bobsFrames.length > 100, "dave receives bob's forwarded frames", 30_000);
        await expect(() => call.frameKeys.keyIdsOf(bobDevice).length > 0, "dave has bob's frame keys from MLS", 20_000);

        const sample = bobsFrames.slice(-50);
        // Every forwarded frame is sealed: after the Opus TOC byte an SFrame header names one of Bob's
        // frame keys, and Dave (a member) gets each of those keys inside MLS. A frame in clear (no
        // such header, or a key id nobody was given) fails here.
        const sampleKeyIds = new Set(sample.map((f) => inspectSealedFrame(f, CLEAR_BYTES.opus).keyId));
        await expect(
          () => [...sampleKeyIds].every((id) => call.frameKeys.lookup(bobDevice, id) !== undefined),
          `dave holds bob's keys ${[...sampleKeyIds].join(', ')}`,
          20_000,
        );
        // No key at all: nothing opens.
        const keyless = new GroupFrameCipher();
        for (const f of sample) assert.equal(await keyless.open(bobDevice, 'audio', f), null);
        assert.equal(keyless.stats.rejected, sample.length);
        // The right key ids with wrong keys (what a guessing SFU would have): nothing opens either.
        const wrong = new GroupFrameCipher();
        for (const keyId of call.frameKeys.keyIdsOf(bobDevice)) await wrong.addKey(bobDevice, keyId, randomBytes(32));
        for (const f of sample) assert.equal(await wrong.open(bobDevice, 'audio', f), null);
        // The keys MLS delivered: the frames open, to Opus frames whose TOC byte stayed in clear.
        const keyed = new GroupFrameCipher();
        for (const keyId of call.frameKeys.keyIdsOf(bobDevice))
          await keyed.addKey(bobDevice, keyId, call.frameKeys.lookup(bobDevice, keyId)!);
        for (const f of sample) {
          const frame = await keyed.open(bobDevice, 'audio', f);
          assert.ok(frame, 'every forwarded frame opens with the MLS-delivered key');
          assert.equal(frame[0], f[0], 'the Opus TOC byte is the clear prefix');
          assert.ok(frame.length < f.length, 'the sealed frame carries header and tag');
          assert.notDeepEqual(
            Buffer.from(frame.subarray(1)),
            f.subarray(f.length - frame.length + 1),
            'the payload on the wire is not the frame',
          );
        }
        assert.deepEqual(keyed.stats, { sealed: 0, opened: sample.length, unsealed: 0, rejected: 0 });
      } finally {
        await dave.calls.groups.leave(call);
      }
      // Dave left: the browsers are back to three tiles, and media still flows for them.
      for (const who of ['alice', 'bob', 'carol'] as const) {
        await expect(
          async () => (await pages[who].locator('.tile').count()) === 3,
          `${who} back to three tiles`,
          20_000,
        );
      }
      await pages.carol.getByRole('button', { name: 'Leave voice chat' }).click();
      await expect(async () => (await pages.carol.locator('section.group-call').count()) === 0, 'carol left the call');
      await expect(
        async () => (await pages.alice.locator('.tile').count()) === 2,
        'alice sees two tiles after carol left',
        20_000,
      );
    },
  );
});

/** The call id the page is in (the banner's call, from its frame worker's call). */
async function callIdOf(page: Page): Promise<string> {
  const id = await page.locator('section.group-call').getAttribute('data-call-id');
  assert.ok(id, 'the call screen names its call');
  return id;
}
