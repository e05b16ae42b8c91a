/**
 * The prebuilt `parley` bundle (`scripts/build.mjs`): `bin/parley.js` runs it only while no source it
 * was made from changed, it answers as the sources do, V8 takes the code cache the build wrote and a
 * run replaces one it refuses, and `serve` from it finds the files that sit beside the server's
 * sources (the admin console, the web client).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DIST, bundleIsFresh, freshManifest } from '../scripts/bundle-state.mjs';

const BIN = new URL('../bin/parley.js', import.meta.url).pathname;
const WEB_BUILT = existsSync(new URL('../../web/dist/index.html', import.meta.url));

test('a bundle is fresh only while every source it lists is older than its build', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bundle-'));
  const dist = pathToFileURL(join(dir, 'dist') + '/');
  mkdirSync(join(dir, 'dist'));
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src/a.ts'), '');
  writeFileSync(join(dir, 'src/b.ts'), '');
  assert.equal(bundleIsFresh(dist), false, 'no manifest');
  const builtAtMs = Date.now();
  const past = new Date(builtAtMs - 60_000);
  for (const f of ['a.ts', 'b.ts']) utimesSync(join(dir, 'src', f), past, past);
  writeFileSync(join(dir, 'dist/manifest.json'), JSON.stringify({ builtAtMs, inputs: ['../src/a.ts', '../src/b.ts'] }));
  assert.equal(bundleIsFresh(dist), false, 'a manifest without a build id (an older build)');
  writeFileSync(
    join(dir, 'dist/manifest.json'),
    JSON.stringify({ builtAtMs, buildId: 'b1', inputs: ['../src/a.ts', '../src/b.ts'] }),
  );
  assert.equal(bundleIsFresh(dist), true);
  assert.equal(freshManifest(dist)?.buildId, 'b1');
  const later = new Date(builtAtMs + 1_000);
  utimesSync(join(dir, 'src/b.ts'), later, later);
  assert.equal(bundleIsFresh(dist), false, 'a source saved after the build');
  writeFileSync(
    join(dir, 'dist/manifest.json'),
    JSON.stringify({ builtAtMs, buildId: 'b1', inputs: ['../src/a.ts', '../src/gone.ts'] }),
  );
  assert.equal(bundleIsFresh(dist), false, 'a source that no longer exists');
  writeFileSync(join(dir, 'dist/manifest.json'), '{ not json');
  assert.equal(bundleIsFresh(dist), false, 'a broken manifest');
  rmSync(dir, { recursive: true, force: true });
});

test('the bundle answers as the sources do', () => {
  // The test runner builds the bundle before the suites start (scripts/test.mjs).
  assert.equal(bundleIsFresh(), true, 'the test runner built a fresh bundle');
  const run = (env: Record<string, string>, args: string[]) =>
    execFileSync(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
  const help = run({}, ['--help']);
  assert.match(help, /parley --profile DIR send --to/);
  assert.equal(help, run({ PARLEY_CLI_FROM_SOURCE: '1' }, ['--help']));
});

test('V8 takes the code cache the build wrote; a refused cache is replaced after the run', () => {
  const manifest = freshManifest();
  assert.ok(manifest?.buildId, 'the test runner built a fresh bundle');
  // Each load in a process of its own: within one process V8 reuses what it compiled before and
  // never reads the cache.
  const LOADER = new URL('../scripts/bundle-loader.mjs', import.meta.url).href;
  const load = (id: string) =>
    execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { loadBundle } from ${JSON.stringify(LOADER)};
         const b = loadBundle(new URL(${JSON.stringify(DIST.href)}), ${JSON.stringify(id)});
         b.saveCache();
         console.log(b.cache, typeof b.exports.main);`,
      ],
      { encoding: 'utf8' },
    ).trim();
  assert.equal(load(manifest.buildId), 'used function');
  // Another id names another cache file, so the build's own stays as it is.
  const id = `test-${process.pid}`;
  const file = new URL(`parley-${id}.v8cache`, DIST);
  try {
    assert.equal(load(id), 'none function');
    assert.ok(readFileSync(file).length > 100_000, 'a cache of the whole bundle');
    assert.equal(load(id), 'used function');
    writeFileSync(file, Buffer.alloc(4096, 7));
    assert.equal(load(id), 'rejected function', 'a refused cache still runs the bundle');
    assert.equal(load(id), 'used function');
  } finally {
    rmSync(file, { force: true });
  }
});

test(
  'serve from the bundle finds the admin console and the web client beside the sources',
  { timeout: 60_000 },
  async () => {
    const data = mkdtempSync(join(tmpdir(), 'parley-bundle-serve-'));
    const proc = spawn(process.execPath, [BIN, 'serve'], {
      env: { ...process.env, PARLEY_DATA_DIR: data, PARLEY_PORT: '0', PARLEY_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 45_000);
        proc.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /"url":"([^"]+)"/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        proc.once('exit', (code) => reject(new Error(`serve exited (${code})`)));
      });
      const admin = await fetch(`${url}/admin/`);
      assert.equal(admin.status, 200);
      assert.match(await admin.text(), /<html/i);
      if (WEB_BUILT || process.env.CI) {
        const web = await fetch(`${url}/`);
        assert.equal(web.status, 200);
        assert.match(await web.text(), /<div id="root">|<script type="module"/);
      }
    } finally {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      rmSync(data, { recursive: true, force: true });
    }
  },
);
