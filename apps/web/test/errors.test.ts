/**
 * The web client's sentences for SDK errors (C15): a passed deadline and an unreachable server
 * read as such, with a hint to try again, instead of the SDK's technical message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParleyError } from '@parley/sdk';
import { describeError } from '../src/errors.ts';

test('timeout and unavailable get sentences that say to try again', () => {
  const timeout = new ParleyError('timeout', {
    message: 'No connection to ws://127.0.0.1:1/v1/ws within 10 s; the request can be retried.',
  });
  assert.equal(describeError(timeout), 'The server did not answer in time. Check your connection and try again.');
  const unavailable = new ParleyError('unavailable', {
    message: 'Cannot reach http://127.0.0.1:1: fetch failed (ECONNREFUSED)',
  });
  assert.equal(describeError(unavailable), 'The server cannot be reached right now. Try again in a moment.');
});
