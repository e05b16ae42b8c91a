/**
 * Steps shared by the web-client scenarios: the dev-outbox code, registration through the UI,
 * opening a 1:1 chat, measuring the tone inside a media element the page decrypted, and closing
 * down what a suite started.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { expect } from './expect.ts';
import { devOutboxCode } from '@parley/sdk/testing';
import { DEV_OUTBOX_TOKEN, type ServerProcess } from './server-process.ts';

/** sox makes the fake-microphone files; browser media tests need it. */
export const SOX = '/usr/bin/sox';

/** Why media browser tests cannot run here (no sox), or false. */
export function soxUnavailable(): string | false {
  return existsSync(SOX) ? false : `${SOX} not installed`;
}

/** The latest verification code the dev outbox holds for a number. */
export async function codeFor(url: string, phone: string): Promise<string> {
  return devOutboxCode(url, phone, fetch, DEV_OUTBOX_TOKEN);
}

/** Open the app (with an optional query string of settings) and register through its UI. */
export async function registerInBrowser(page: Page, url: string, phone: string, query = ''): Promise<void> {
  await page.goto(query ? `${url}/?${query}` : url);
  await page.getByLabel('Phone number').fill(phone);
  await page.getByRole('button', { name: 'Send code' }).click();
  await page.getByLabel('Verification code').waitFor();
  await page.getByLabel('Verification code').fill(await codeFor(url, phone));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(() => page.getByRole('status', { name: 'Connection: online' }).isVisible(), 'online after registration');
}

/** Alice's page starts a chat with Bob's number and sends `text`; Bob's page opens the chat and shows it. */
export async function openChat(alice: Page, bob: Page, bobPhone: string, text: string): Promise<void> {
  await alice.getByRole('button', { name: 'New chat' }).click();
  await alice.getByLabel('Phone number').fill(bobPhone);
  await alice.getByRole('button', { name: 'Start chat' }).click();
  await alice.getByRole('textbox', { name: 'Message' }).fill(text);
  await alice.getByRole('button', { name: 'Send' }).click();
  // The row whose last-message preview is this text: the new chat, wherever the list puts it.
  const chat = bob.getByRole('button', { name: /Open chat/ }).filter({ hasText: text });
  await expect(() => chat.first().isVisible(), 'chat appears for bob');
  await chat.first().click();
  await expect(() => bob.locator('.messages').getByText(text).isVisible(), 'bob sees the first message');
}

/**
 * The end of a browser suite: close its contexts, then its browsers (each even when another fails
 * to close), stop its server and remove its scratch folder.
 */
export async function closeBrowserSuite(parts: {
  contexts?: BrowserContext[];
  browsers?: (Browser | undefined)[];
  server?: ServerProcess;
  tmp: string;
}): Promise<void> {
  for (const c of parts.contexts ?? []) await c.close().catch(() => undefined);
  for (const b of parts.browsers ?? []) await b?.close().catch(() => undefined);
  await parts.server?.kill();
  rmSync(parts.tmp, { recursive: true, force: true });
}

/**
 * Seconds shown by the recording timer inside `scope` (a page, or a dialog such as the missed-call
 * prompt): "Recording voice note, 0:02" gives 2; no timer (yet) gives -1.
 */
export async function recordedSeconds(scope: Page | Locator): Promise<number> {
  const label =
    (await scope
      .getByRole('timer', { name: /^Recording/ })
      .getAttribute('aria-label')
      .catch(() => null)) ?? '';
  const m = /(\d+):(\d\d)$/.exec(label);
  return m ? Number(m[1]) * 60 + Number(m[2]) : -1;
}

/** What `decodedTone` measured: dominant frequency, loudness, length and the blob's MIME type. */
export interface DecodedTone {
  frequency: number;
  rms: number;
  duration: number;
  type: string;
}

/**
 * Fetch a media element's (decrypted, blob: URL) source inside the page, decode its audio and find
 * the dominant frequency between 100 and 2,000 Hz with a Goertzel scan over half a second from the
 * middle, plus the RMS level of that stretch.
 */
export function decodedTone(media: Locator): Promise<DecodedTone> {
  return media.evaluate(async (el: HTMLMediaElement) => {
    const blob = await (await fetch(el.src)).blob();
    const ctx = new OfflineAudioContext(1, 1, 48000);
    const decoded = await ctx.decodeAudioData(await blob.arrayBuffer());
    const data = decoded.getChannelData(0);
    const n = Math.min(24000, data.length);
    const start = Math.floor((data.length - n) / 2);
    const seg = data.subarray(start, start + n);
    let best = 0;
    let frequency = 0;
    for (let f = 100; f <= 2000; f += 2) {
      const c = 2 * Math.cos((2 * Math.PI * f) / 48000);
      let s1 = 0;
      let s2 = 0;
      for (let i = 0; i < seg.length; i++) {
        const s0 = seg[i]! + c * s1 - s2;
        s2 = s1;
        s1 = s0;
      }
      const power = s1 * s1 + s2 * s2 - c * s1 * s2;
      if (power > best) {
        best = power;
        frequency = f;
      }
    }
    let sum = 0;
    for (let i = 0; i < seg.length; i++) sum += seg[i]! * seg[i]!;
    return { frequency, rms: Math.sqrt(sum / seg.length), duration: decoded.duration, type: blob.type };
  });
}

/**
 * Write a fake-microphone WAV (48 kHz mono, 16 bit) with sox: a sine of `hz` at half scale, or
 * silence when `hz` is 0. Chromium loops the file, so `seconds` only has to cover one take.
 */
export function toneWav(path: string, hz: number, seconds: number): void {
  const r = spawnSync(SOX, [
    '-n',
    '-r',
    '48000',
    '-c',
    '1',
    '-b',
    '16',
    path,
    'synth',
    String(seconds),
    'sine',
    String(hz || 440),
    'vol',
    hz ? '0.5' : '0',
  ]);
  if (r.status !== 0) throw new Error(`sox failed: ${r.stderr?.toString()}`);
}
