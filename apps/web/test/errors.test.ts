/**
 * The web client's sentences for SDK errors (C15): a passed deadline and an unreachable server
 * read as such, with a hint to try again, instead of the SDK's technical message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERRORS, ParleyError, errorCodes } from '@parley/protocol';
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

test('every code of the catalogue has a sentence of its own, not the catalogue text', () => {
  const technical = /schema|docs\/|`|request body|frame|KeyPackage|E\.164|epoch|SDP|\bop\b|details/i;
  for (const code of errorCodes) {
    const said = describeError(new ParleyError(code, { retryAfterMs: 3000 }));
    assert.ok(said.length > 10, `${code}: "${said}"`);
    assert.match(said, /^[A-Z"'‘“]/, `${code} starts a sentence: "${said}"`);
    assert.match(said, /[.!?]$/, `${code} ends a sentence: "${said}"`);
    assert.notEqual(said, ERRORS[code].message, `${code} repeats the catalogue's technical text`);
    assert.doesNotMatch(said, technical, `${code} reads as technical: "${said}"`);
    assert.equal(said, describeError(new ParleyError(code, { message: 'server text', retryAfterMs: 3000 })));
  }
});

test('a schema error reads as words; a rate limit says how long to wait; an unknown code stays readable', () => {
  const schema = new ParleyError('bad_request', { details: [{ path: 'name', problem: 'too long' }] });
  assert.equal(describeError(schema), 'The server did not accept that. Check what you entered and try again.');
  assert.equal(
    describeError(new ParleyError('rate_limited', { retryAfterMs: 2500 })),
    'Too many attempts. Try again in 3 seconds.',
  );
  // A daily quota waits until the next UTC day: hours, not tens of thousands of seconds.
  assert.equal(
    describeError(new ParleyError('image_quota_spent', { retryAfterMs: 79_753_000 })),
    'You have made all the images this model allows for today. Try again in about 22 hours.',
  );
  assert.equal(
    describeError(new ParleyError('rate_limited', { retryAfterMs: 300_000 })),
    'Too many attempts. Try again in 5 minutes.',
  );
  const unknown = describeError(new ParleyError('brand_new_code', { message: 'The request body is odd.' }));
  assert.equal(unknown, 'Something went wrong (brand_new_code). Try again; if it keeps happening, reload the page.');
});
