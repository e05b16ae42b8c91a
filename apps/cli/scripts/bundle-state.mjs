// Whether apps/cli/dist holds a usable `parley` bundle: `bin/parley.js` runs it only then, and
// setup and the test runner rebuild it when it is not (scripts/build.mjs writes the manifest read here).
import { readFileSync, statSync } from 'node:fs';

/** The bundle's folder. */
export const DIST = new URL('../dist/', import.meta.url);

/**
 * True when `dist` (a folder URL ending in `/`) holds a bundle's manifest and none of the sources it
 * lists changed after it was built; a missing manifest or source means false.
 */
export function bundleIsFresh(dist = DIST) {
  try {
    const { builtAtMs, inputs } = JSON.parse(readFileSync(new URL('manifest.json', dist), 'utf8'));
    return inputs.length > 0 && inputs.every((p) => statSync(new URL(p, dist)).mtimeMs <= builtAtMs);
  } catch {
    return false;
  }
}
