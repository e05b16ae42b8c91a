// Whether apps/cli/dist holds a usable `parley` bundle: `bin/parley.js` runs it only then, and
// setup and the test runner rebuild it when it is not (scripts/build.mjs writes the manifest read here).
// Every command runs this check, so it stats plain paths (no URL per source).
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The bundle's folder. */
export const DIST = new URL('../dist/', import.meta.url);

/**
 * The manifest of the bundle in `dist` (a folder URL ending in `/`) when none of the sources it lists
 * (the build script among them) changed after it was built; null when one did, or the manifest, its
 * build id (which older builds lacked) or a source is missing.
 * @returns {{ builtAtMs: number, buildId?: string, inputs: string[] } | null}
 */
export function freshManifest(dist = DIST) {
  try {
    const dir = fileURLToPath(dist);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    const { builtAtMs, buildId, inputs } = manifest;
    const fresh =
      typeof buildId === 'string' &&
      inputs.length > 0 &&
      inputs.every((p) => statSync(join(dir, p)).mtimeMs <= builtAtMs);
    return fresh ? manifest : null;
  } catch {
    return null;
  }
}

/** True when {@link freshManifest} finds the bundle in `dist` usable. */
export function bundleIsFresh(dist = DIST) {
  return freshManifest(dist) !== null;
}
