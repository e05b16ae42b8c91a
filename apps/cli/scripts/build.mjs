#!/usr/bin/env node
// Builds the `parley` command, server included, into one minified CommonJS file, apps/cli/dist/parley.cjs,
// plus a V8 code cache of it, so a command starts without compiling TypeScript or even JavaScript:
// `parley --help` takes about a quarter less CPU than from the ESM bundle this replaced and a
// quarter of what it takes from the sources (figures in docs/testing.md). That matters to bots and scripts that run it often, and to the test suite, which runs it
// hundreds of times and starts a server for every end-to-end file.
//
// CommonJS because Node 20 can only reuse compiled code for a script (`vm.Script` with `cachedData`),
// not for an ES module: `bundle-loader.mjs` runs the file as a script with the cache the build made.
// The server's parts stay lazy inside the one file (esbuild wraps what `import()` loads so it runs on
// first use), so a client command evaluates only the client's modules.
//
// Bundled: Parley's own workspaces and the few packages a client command loads on every run (the
// WebSocket client, zod, the MLS and curve libraries, the zip writer). Everything else (the
// server's web framework, database drivers, logging, S3) is loaded from node_modules as usual, since
// several of them find files or workers beside their own code. Parley's server sources that read
// files beside themselves (`import.meta.url`, `import.meta.dirname`: the admin console, the web
// client's folder, the SQLite checkpoint worker) get those paths rewritten to the sources' folders.
//
// `dist/manifest.json` lists every source the bundle was made from and when, and the build's id,
// which names the code cache; `bin/parley.js` uses the bundle only while no source is newer.
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { build } from 'esbuild';

const root = new URL('../../..', import.meta.url).pathname;
const dist = new URL('../dist/', import.meta.url).pathname;
/** Third-party packages compiled into the bundle; any other bare import stays outside. */
const BUNDLED = [/^ws$/, /^zod(\/|$)/, /^ts-mls(\/|$)/, /^@noble\//, /^@hpke\//, /^fflate$/];

/** Keeps third-party imports outside the bundle except the `BUNDLED` ones; Parley's own are bundled. */
const dependencies = {
  name: 'parley-dependencies',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (a) =>
      a.path.startsWith('@parley/') || BUNDLED.some((re) => re.test(a.path))
        ? undefined
        : { path: a.path, external: true },
    );
  },
};

/**
 * Points `import.meta.url` / `import.meta.dirname` in Parley's sources at the source file, not the
 * bundle; a CommonJS bundle has no `import.meta`, so both are built from its `__dirname`.
 */
const sourceLocations = {
  name: 'parley-source-locations',
  setup(b) {
    b.onLoad({ filter: /\/packages\/[^/]+\/src\/.*\.ts$/ }, async (a) => {
      const text = await readFile(a.path, 'utf8');
      if (!text.includes('import.meta.url') && !text.includes('import.meta.dirname')) return undefined;
      const at = (p) => `require('node:path').join(__dirname, ${JSON.stringify(relative(dist, p))})`;
      const fileUrl = `require('node:url').pathToFileURL(${at(a.path)}).href`;
      const contents = text
        .replaceAll('import.meta.url', fileUrl)
        .replaceAll('import.meta.dirname', at(dirname(a.path)));
      return { contents, loader: 'ts' };
    });
  },
};

// Taken before reading any source: a file saved while the build runs makes the bundle stale.
const builtAtMs = Date.now();
await rm(dist, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { parley: `${root}apps/cli/src/main.ts` },
  outdir: dist,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // import() of a package left outside becomes require(): a script run through vm can only import()
  // with an experimental option, which prints a warning (the packages concerned all have a CommonJS build).
  supported: { 'dynamic-import': false },
  // Half the bytes for V8 to read and hash; names stay, since errors and logs show class names.
  minify: true,
  keepNames: true,
  plugins: [dependencies, sourceLocations],
  metafile: true,
  logLevel: 'warning',
});
// The scripts that make and load the bundle count as sources: a change to them needs a new build.
const scripts = ['build.mjs', 'bundle-loader.mjs'].map((f) => relative(dist, new URL(f, import.meta.url).pathname));
const inputs = [...Object.keys(result.metafile.inputs).map((p) => relative(dist, `${root}${p}`)), ...scripts];
const buildId = randomBytes(8).toString('hex');
await writeFile(`${dist}manifest.json`, JSON.stringify({ builtAtMs, buildId, inputs }, null, 1) + '\n');
// The code cache comes from a separate `node` (the flags a command runs with) that evaluates the
// bundle's modules without running a command; a command whose V8 refuses it writes its own.
const cached = spawnSync(
  process.execPath,
  [new URL('./bundle-loader.mjs', import.meta.url).pathname, '--write-cache'],
  {
    stdio: 'inherit',
  },
);
if (cached.status !== 0) process.exit(cached.status ?? 1);
console.error(`parley: built ${relative(root, dist)} from ${inputs.length} sources`);
