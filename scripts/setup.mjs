#!/usr/bin/env node
// Idempotent set-up used by `npm start` and `npm test`: installs npm packages when the lock file
// changed, builds the web client when its sources changed, and (with --system, as root) installs the
// Debian packages the browser tests need. Safe to run on every start; does nothing when up to date.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const system = process.argv.includes('--system');

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (r.status !== 0) {
    console.error(`setup: ${cmd} ${args.join(' ')} failed (${r.status ?? r.signal})`);
    process.exit(1);
  }
}

function newest(dir) {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}

const has = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;

// 1. Debian packages for browser and call tests — only when asked and missing: chromium, sox and
// espeak-ng (fake microphone files), coturn (the TURN relay of the call tests).
if (system) {
  const want = [
    ['chromium', 'chromium'],
    ['sox', 'sox'],
    ['espeak-ng', 'espeak-ng'],
    ['turnserver', 'coturn'],
  ];
  const missing = want.filter(([bin]) => !has(bin)).map(([, pkg]) => pkg);
  if (missing.length) {
    if (process.getuid?.() !== 0) {
      console.error(`setup: missing ${missing.join(', ')}; install them with apt-get (needs root)`);
      process.exit(1);
    }
    console.error(`setup: installing ${missing.join(', ')} from Debian packages`);
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
}

// 2. npm packages (better-sqlite3 builds from source when no prebuilt binary can be fetched).
const marker = join(root, 'node_modules/.package-lock.json');
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(join(root, 'package-lock.json')).mtimeMs) {
  console.error('setup: installing npm packages (first run builds better-sqlite3, about 2 minutes)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

// 3. The web client, served by the server at /.
const dist = join(root, 'apps/web/dist/index.html');
const sources = Math.max(
  newest(join(root, 'apps/web/src')),
  newest(join(root, 'packages/sdk/src')),
  newest(join(root, 'packages/protocol/src')),
  newest(join(root, 'packages/crypto/src')),
);
if (existsSync(join(root, 'apps/web/index.html')) && (!existsSync(dist) || statSync(dist).mtimeMs < sources)) {
  console.error('setup: building the web client');
  run('npm', ['run', 'build', '--workspace', '@parley/web']);
}

// 4. The `parley` command's bundle (starts in a fraction of the time the TypeScript sources take).
const { bundleIsFresh } = await import('@parley/cli/bundle-state');
if (!bundleIsFresh()) run('npm', ['run', 'build', '--silent', '--workspace', '@parley/cli']);
