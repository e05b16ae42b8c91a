#!/usr/bin/env node
// Runs every test file with node's built-in runner (tsx for TypeScript). Its summary
// (`# tests`, `# pass`, `# fail`) is the last thing printed, and the exit code is non-zero on any failure.
// Usage: node scripts/test.mjs [path-filter ...]
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const roots = ['packages', 'apps', 'tests', 'bench'];
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(relative(root, p));
  }
}
for (const r of roots) {
  try {
    walk(join(root, r));
  } catch {
    /* folder may not exist yet */
  }
}
const filters = process.argv.slice(2);
// A test that hangs (a socket a failed assertion left open, a browser that never answers) fails
// after this long instead of stalling CI; --test-force-exit ends a file whose tests are done even
// when a handle is still open, so one leak cannot hang the run.
const TEST_TIMEOUT_MS = Number(process.env.PARLEY_TEST_TIMEOUT_MS ?? 300_000);
// The end-to-end suites under tests/ go first (scripts/run-tests.mjs keeps this order): each takes
// 15 s to 2 minutes, most other files a few seconds, and with two files at a time a long suite
// started last would leave one core idle.
const endToEndFirst = (a, b) => Number(!a.startsWith('tests/')) - Number(!b.startsWith('tests/')) || a.localeCompare(b);
const selected = files.filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort(endToEndFirst);
if (selected.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// The CLI suites run `parley` hundreds of times: build its bundle first when a source changed
// (bin/parley.js falls back to the sources when the bundle is stale, so this only saves time).
const { bundleIsFresh } = await import('@parley/cli/bundle-state');
if (!bundleIsFresh()) {
  const built = spawnSync('npm', ['run', 'build', '--silent', '--workspace', '@parley/cli'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
const res = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/run-tests.mjs', ...selected], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, NODE_ENV: 'test', PARLEY_TEST_TIMEOUT_MS: String(TEST_TIMEOUT_MS) },
});
process.exit(res.status ?? 1);
