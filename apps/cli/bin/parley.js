#!/usr/bin/env node
// The `parley` command. Runs the prebuilt bundle in ../dist when it is newer than every source it
// was made from (set-up and the test runner build it: `npm run build -w @parley/cli`); otherwise,
// or with PARLEY_CLI_FROM_SOURCE=1, it loads the TypeScript sources through tsx.
import { DIST, bundleIsFresh } from '../scripts/bundle-state.mjs';

let main;
if (process.env.PARLEY_CLI_FROM_SOURCE !== '1' && bundleIsFresh())
  ({ main } = await import(new URL('parley.js', DIST).href));
else {
  (await import('tsx/esm/api')).register();
  ({ main } = await import('../src/main.ts'));
}
// Exit explicitly: a finished command must not linger on idle sockets or timers.
process.exit(await main(process.argv.slice(2)));
