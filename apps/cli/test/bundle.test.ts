/**
 * The prebuilt `parley` bundle (`scripts/build.mjs`): `bin/parley.js` runs it only while no source it
 * was made from changed, it answers as the sources do, and the commands that load the server are
 * left to the sources.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleIsFresh } from '../scripts/bundle-state.mjs';
import { needsServer } from '../src/entry.ts';

const BIN = new URL('../bin/parley.js', import.meta.url).pathname;

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
  assert.equal(bundleIsFresh(dist), true);
  const later = new Date(builtAtMs + 1_000);
  utimesSync(join(dir, 'src/b.ts'), later, later);
  assert.equal(bundleIsFresh(dist), false, 'a source saved after the build');
  writeFileSync(
    join(dir, 'dist/manifest.json'),
    JSON.stringify({ builtAtMs, inputs: ['../src/a.ts', '../src/gone.ts'] }),
  );
  assert.equal(bundleIsFresh(dist), false, 'a source that no longer exists');
  writeFileSync(join(dir, 'dist/manifest.json'), '{ not json');
  assert.equal(bundleIsFresh(dist), false, 'a broken manifest');
});

test('serve and admin load the server, so they run from the sources', () => {
  assert.equal(needsServer(['serve']), true);
  assert.equal(needsServer(['--profile', '/p', 'admin', 'list']), true);
  assert.equal(needsServer(['--profile', '/p', 'send', '--to', '+12025550101', '--message', 'serve']), false);
  assert.equal(needsServer(['--no-such-option']), false);
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
