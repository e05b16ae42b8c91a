/**
 * Steps shared by the web-client scenarios: the dev-outbox code, registration through the UI, and
 * measuring the tone inside a media element the page decrypted.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Locator, Page } from 'playwright-core';
import { expect } from './expect.ts';

/** sox makes the fake-microphone files; browser media tests need it. */
export const SOX = '/usr/bin/sox';

/** Why media browser tests cannot run here (no sox), or false. */
export function soxUnavailable(): string | false {
  return existsSync(SOX) ? false : `${SOX} not installed`;
}

/** The latest verification code the dev outbox holds for a number. */
export async function codeFor(url: string, phone: string): Promise<string> {
  const res = await fetch(`${url}/dev/outbox?to=${encodeURIComponent(phone)}`);
  return ((await res.json()) as { messages: { code: string }[] }).messages.at(-1)!.code;
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

/** What `decodedTone` measured: dominant frequency, loudness, length and the blob's MIME type. */
export interface DecodedTone { frequency: number; rms: number; duration: number; type: string }

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
  const r = spawnSync(SOX, ['-n', '-r', '48000', '-c', '1', '-b', '16', path, 'synth', String(seconds), 'sine', String(hz || 440), 'vol', hz ? '0.5' : '0']);
  if (r.status !== 0) throw new Error(`sox failed: ${r.stderr?.toString()}`);
}
