#!/usr/bin/env node
// The static checks `npm test` runs before the test files: both type checks, ESLint and Prettier's
// check. They are independent and each keeps about one core busy, so they run side by side (as many
// at a time as there are cores, the longest first) and each one's output is printed whole when it
// ends. Exits non-zero, naming the failed checks, when any fails; `npm run typecheck`, `lint` and
// `format:check` still run one alone.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
/** Each check's command, in the order they start: the type check of the whole tree takes longest. */
const CHECKS = [
  ['typecheck', 'tsc', ['-p', 'tsconfig.json']],
  ['format:check', 'prettier', ['--check', '--log-level', 'warn', '.']],
  ['lint', 'eslint', ['.']],
  ['typecheck (browser)', 'tsc', ['-p', 'tsconfig.browser.json']],
];

/** Runs one check with its output collected; resolves to its exit status. */
function runCheck([name, bin, args]) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(`${root}node_modules/.bin/${bin}`, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', (err) => (output += `${err.message}\n`));
    child.on('close', (code, signal) => {
      const status = code ?? 1;
      const took = ((Date.now() - started) / 1000).toFixed(1);
      process.stdout.write(`checks: ${name} ${status === 0 ? 'passed' : `failed (${signal ?? code})`} in ${took} s\n`);
      if (output) process.stdout.write(output.endsWith('\n') ? output : `${output}\n`);
      resolve(status);
    });
  });
}

const queue = [...CHECKS];
const failed = [];
async function worker() {
  for (let check = queue.shift(); check; check = queue.shift())
    if ((await runCheck(check)) !== 0) failed.push(check[0]);
}
await Promise.all(Array.from({ length: Math.max(1, Math.min(availableParallelism(), CHECKS.length)) }, worker));
if (failed.length > 0) {
  console.error(`checks: failed: ${failed.join(', ')}`);
  process.exit(1);
}
