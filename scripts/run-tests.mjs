#!/usr/bin/env node
// The test runner proper, started by scripts/test.mjs as `node --import tsx scripts/run-tests.mjs
// FILE…`: node:test's run() with two files at a time, in the order given. (`node --test FILE…`
// sorts the files by name; run() keeps the order, which lets the long end-to-end suites start
// first.) Each file runs in its own process with this one's --import tsx. The spec reporter's
// summary ends the output, and the exit code is 1 when any test failed.
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

const files = process.argv.slice(2);
const timeout = Number(process.env.PARLEY_TEST_TIMEOUT_MS ?? 300_000);
// forceExit ends a file whose tests are done even when a handle is still open, so one leak cannot
// hang the run; the timeout fails a test that hangs instead of stalling CI.
const stream = run({ files, concurrency: 2, timeout, forceExit: true });
stream.on('test:fail', () => {
  process.exitCode = 1;
});
stream.compose(spec).pipe(process.stdout);
