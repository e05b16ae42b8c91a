/** Real Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright-core. */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium';

/** Flags that keep headless Chromium off the (closed) network and allow fake media. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
];

/** Why browser tests cannot run here, or false. With PARLEY_REQUIRE_SERVICES=1 a missing browser is an error. */
export function browserUnavailable(): string | false {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.PARLEY_REQUIRE_SERVICES === '1')
    throw new Error(`${CHROMIUM} is required (PARLEY_REQUIRE_SERVICES=1): apt-get install chromium`);
  return `${CHROMIUM} not installed`;
}

/** Launch one headless Chromium. */
export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/**
 * Launch one headless Chromium with extra flags, e.g. `--use-file-for-fake-audio-capture=/abs.wav`
 * (the fake microphone is per process, so one browser per participant).
 */
export function launchWith(extraArgs: string[]): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs] });
}
