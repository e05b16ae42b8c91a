import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mintTurnCredentials, turnPassword } from '../src/index.ts';

test('TURN credentials follow the coturn REST-API scheme (known vectors)', () => {
  // Expected passwords computed outside Node (Python hmac + base64) for these exact inputs.
  assert.equal(turnPassword('north-wind', '1700000600:d_abc'), 'aoP6kc9bNjr1AQa3TNp9jhcIvv8=');

  const creds = mintTurnCredentials({
    secret: 'correct horse',
    userId: 'd_Qm9iLWRldmljZQ',
    urls: ['turn:127.0.0.1:3478?transport=udp'],
    now: () => 1_700_000_000_123,
  });
  assert.equal(creds.expiresAt, 1_700_086_400, 'default lifetime is one day, in whole seconds');
  assert.equal(creds.username, '1700086400:d_Qm9iLWRldmljZQ');
  assert.equal(creds.credential, 'DPEVXwA7fYRZGA2m84TvNcXSu5k=');
  // The same value recomputed here with node:crypto, as coturn does on its side.
  assert.equal(creds.credential, createHmac('sha1', 'correct horse').update(creds.username).digest('base64'));
  assert.deepEqual(creds.urls, ['turn:127.0.0.1:3478?transport=udp']);
});

test('TURN credentials honour the lifetime and refuse unusable input', () => {
  const c = mintTurnCredentials({ secret: 's', userId: 'd_x', urls: [], ttlSeconds: 90, now: () => 10_999 });
  assert.equal(c.expiresAt, 10 + 90);
  assert.throws(() => mintTurnCredentials({ secret: '', userId: 'd_x', urls: [] }), RangeError);
  assert.throws(() => mintTurnCredentials({ secret: 's', userId: 'a:b', urls: [] }), RangeError);
  assert.throws(() => mintTurnCredentials({ secret: 's', userId: '', urls: [] }), RangeError);
  assert.throws(() => mintTurnCredentials({ secret: 's', userId: 'd_x', urls: [], ttlSeconds: 0 }), RangeError);
  assert.throws(() => mintTurnCredentials({ secret: 's', userId: 'd_x', urls: [], ttlSeconds: 1.5 }), RangeError);
});
