import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERRORS, ParleyError, errorCodes, fromB64, toB64 } from '../src/index.ts';

test('every catalogued error code is documented in docs/errors.md', () => {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  const missing = errorCodes.filter((c) => !doc.includes('`' + c + '`'));
  assert.deepEqual(missing, []);
});

test('rate-limited errors expose retryAfterMs and survive the wire', () => {
  const e = new ParleyError('rate_limited', { retryAfterMs: 1500 });
  const back = ParleyError.fromBody(JSON.parse(JSON.stringify(e.toBody())), 429);
  assert.equal(back.isRateLimited(), true);
  assert.equal(back.retryAfterMs(), 1500);
  assert.equal(back.status, ERRORS.rate_limited.status);
});

test('base64url round-trips arbitrary bytes and rejects foreign characters', () => {
  const bytes = new Uint8Array(70000).map((_, i) => (i * 31) & 255);
  assert.deepEqual(fromB64(toB64(bytes)), bytes);
  assert.throws(() => fromB64('ab+c'));
});

test('timeout is catalogued and retryable; errors that need a different request are not', () => {
  const e = ParleyError.fromBody(JSON.parse(JSON.stringify(new ParleyError('timeout').toBody())), 504);
  assert.equal(e.code, 'timeout');
  assert.equal(e.message, ERRORS.timeout.message);
  assert.equal(e.isRetryable(), true);
  for (const code of ['unavailable', 'rate_limited', 'internal'] as const)
    assert.equal(new ParleyError(code).isRetryable(), true, code);
  for (const code of ['bad_request', 'account_not_found', 'unauthenticated', 'code_invalid'] as const)
    assert.equal(new ParleyError(code).isRetryable(), false, code);
});
