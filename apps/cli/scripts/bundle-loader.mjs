// Runs the `parley` bundle (dist/parley.cjs, made by build.mjs) as a CommonJS module through
// `vm.Script`, with the V8 code cache beside it: V8 then skips parsing and compiling the 1.3 MB file,
// which Node 20 cannot do for an ES module. `node bundle-loader.mjs --write-cache` (run by the
// build) evaluates the bundle's modules without running a command and writes the cache.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { DIST, freshManifest } from './bundle-state.mjs';

/**
 * What {@link loadBundle} gives: the bundle's exports; whether V8 `used` the code cache, `rejected` it
 * (another V8 version or flags) or found `none`; and `saveCache()`, which writes a cache of
 * everything compiled so far when the one on disk was not used (a folder it cannot write is no error).
 * @typedef {{ exports: Record<string, unknown>, cache: 'used' | 'rejected' | 'none', saveCache(): void }} LoadedBundle
 */

/**
 * Loads `parley.cjs` from `dist` (a folder URL) with the code cache of build `buildId`. The cache
 * is named by the build's id because V8 checks only the source's length, not its text.
 * @returns {LoadedBundle}
 */
export function loadBundle(dist, buildId) {
  const dir = fileURLToPath(dist);
  const file = join(dir, 'parley.cjs');
  const cacheFile = join(dir, `parley-${buildId}.v8cache`);
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    /* none yet: this run writes it */
  }
  const script = new vm.Script(Module.wrap(readFileSync(file, 'utf8')), {
    filename: file,
    cachedData,
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dir);
  const cache = cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'used';
  return {
    exports: module.exports,
    cache,
    saveCache() {
      if (cache === 'used') return;
      try {
        // Written whole then renamed: commands running at the same time never read half a cache.
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch {
        /* a read-only install runs without a cache */
      }
    },
  };
}

if (process.argv[2] === '--write-cache' && process.argv[1] === fileURLToPath(import.meta.url)) {
  const manifest = freshManifest(DIST);
  if (!manifest?.buildId) {
    console.error('parley: no fresh bundle to cache');
    process.exit(1);
  }
  loadBundle(DIST, manifest.buildId).saveCache();
}
