#!/usr/bin/env node
// The `parley` command. Runs the prebuilt bundle in ../dist (with its V8 code cache) when it is newer
// than every source it was made from (set-up and the test runner build it: `npm run build -w
// @parley/cli`); otherwise, or with PARLEY_CLI_FROM_SOURCE=1, it loads the TypeScript sources through tsx.
import { DIST, freshManifest } from '../scripts/bundle-state.mjs';
import { loadBundle } from '../scripts/bundle-loader.mjs';

let main;
let saveCache = () => {};
const manifest = process.env.PARLEY_CLI_FROM_SOURCE === '1' ? null : freshManifest();
if (manifest?.buildId) {
  const bundle = loadBundle(DIST, manifest.buildId);
  ({ main } = bundle.exports);
  saveCache = bundle.saveCache;
} else {
  (await import('tsx/esm/api')).register();
  ({ main } = await import('../src/main.ts'));
}
const code = await main(process.argv.slice(2));
// After the command, so the cache also holds the functions it compiled (only when there was none).
saveCache();
// Exit explicitly: a finished command must not linger on idle sockets or timers.
process.exit(code);
