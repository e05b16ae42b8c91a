/**
 * Numbers as people type them and avatar initials (C1, C12, C15), in Node: `normalisePhone` reads
 * national and international forms into E.164 with the same library and metadata the server
 * checks with, and says in words what is wrong with an impossible number; `initialsOf` takes the
 * first letters of the first and last words and leaves numbers to a person outline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserRegion, normalisePhone } from '../src/contacts/phone.ts';
import { initialsOf } from '../src/contacts/initials.ts';

test('numbers typed as people do become E.164', async () => {
  const cases: [string, string | undefined, string][] = [
    ['202 555 0101', 'US', '+12025550101'],
    ['(202) 555-0101', 'US', '+12025550101'],
    ['+1 (202) 555-0101', 'GB', '+12025550101'],
    ['+1.202.555.0101', undefined, '+12025550101'],
    ['001 202 555 0101', 'DE', '+12025550101'],
    ['020 7946 0958', 'GB', '+442079460958'],
    ['+44 20 7946 0958', 'US', '+442079460958'],
    ['030 901820', 'DE', '+4930901820'],
  ];
  for (const [typed, region, e164] of cases) {
    const r = await normalisePhone(typed, region);
    assert.deepEqual(r.ok && r.e164, e164, `${typed} in ${region}: ${JSON.stringify(r)}`);
  }
});

test('impossible numbers and missing countries are explained, never sent', async () => {
  const short = await normalisePhone('202 555 01', 'US');
  assert.equal(short.ok, false);
  assert.match(!short.ok ? short.error : '', /^202 555 01 is not a possible phone number in United States \(\+1\)\./);
  const noCountry = await normalisePhone('202 555 0101', undefined);
  assert.equal(
    !noCountry.ok && noCountry.error,
    'Choose the country of this number, or type it with + and the country code.',
  );
  const letters = await normalisePhone('call me', 'US');
  assert.match(!letters.ok ? letters.error : '', /is not a phone number/);
  const badCode = await normalisePhone('+999 1234 5678', 'US');
  assert.equal(badCode.ok, false);
});

test('the browser region comes from the first language with one', () => {
  assert.equal(browserRegion(['en-GB', 'de-DE']), 'GB');
  assert.equal(browserRegion(['de', 'en-US']), 'DE', 'a bare language gets its likely region');
  assert.equal(browserRegion(['x-bogus!']), undefined);
});

test('initials come from the start of the first and last words; numbers get none', () => {
  assert.equal(initialsOf('Ada Lovelace'), 'AL');
  assert.equal(initialsOf('Ada Byron Lovelace'), 'AL');
  assert.equal(initialsOf('ada lovelace'), 'AL');
  assert.equal(initialsOf('Ada (work)'), 'AW');
  assert.equal(initialsOf('Weekend plans 🎉'), 'WP');
  assert.equal(initialsOf('Éowyn'), 'É');
  assert.equal(initialsOf('@queen_of_hearts.77'), 'QH');
  assert.equal(initialsOf('@sam.42'), 'S');
  assert.equal(initialsOf('+1 202 555 0101'), '');
  assert.equal(initialsOf('+12025550101'), '');
  assert.equal(initialsOf('Contact 3f9a2b'), '');
  // The fallback name of an unnamed contact is six characters of a base64url id: '-' and '_' too.
  assert.equal(initialsOf('Contact Rmf-zl'), '');
  assert.equal(initialsOf('Contact a_B9x-'), '');
  assert.equal(initialsOf('🎉'), '');
  assert.equal(initialsOf(''), '');
});
