/**
 * The link preview inside a text message (C15), as every receiver parses it: http(s) addresses
 * only, title and description within their limits, the image as at most 48 KiB of base64url bytes
 * of an allowed type (never an address); anything else fails the whole text content.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LINK_PREVIEW_LIMITS, contentSchema, toB64 } from '@parley/protocol';

const text = (preview: unknown) => contentSchema.safeParse({ type: 'text', text: 'look', preview }).success;
const base = { url: 'https://example.com/a', title: 'A page' };

test('a preview within its limits is valid content', () => {
  assert.equal(text(base), true);
  assert.equal(text({ ...base, url: 'http://127.0.0.1:8080/x?y=1' }), true);
  assert.equal(text({ ...base, title: 't'.repeat(LINK_PREVIEW_LIMITS.titleChars) }), true);
  assert.equal(text({ ...base, description: 'd'.repeat(LINK_PREVIEW_LIMITS.descriptionChars) }), true);
  const image = { type: 'image/jpeg', data: toB64(new Uint8Array(LINK_PREVIEW_LIMITS.imageBytes)) };
  assert.equal(text({ ...base, image }), true);
  assert.equal(contentSchema.safeParse({ type: 'text', text: 'no preview' }).success, true);
});

test('anything past the limits, another scheme or an image by address fails the text', () => {
  for (const url of [
    'javascript:alert(1)',
    'data:text/html,x',
    'file:///etc/passwd',
    'ftp://example.com/',
    'https://exa mple.com',
    `https://example.com/${'a'.repeat(LINK_PREVIEW_LIMITS.urlChars)}`,
    '',
  ])
    assert.equal(text({ ...base, url }), false, url);
  assert.equal(text({ ...base, title: '' }), false);
  assert.equal(text({ ...base, title: 't'.repeat(LINK_PREVIEW_LIMITS.titleChars + 1) }), false);
  assert.equal(text({ ...base, description: '' }), false);
  assert.equal(text({ ...base, description: 'd'.repeat(LINK_PREVIEW_LIMITS.descriptionChars + 1) }), false);
  const big = toB64(new Uint8Array(LINK_PREVIEW_LIMITS.imageBytes + 3));
  assert.equal(text({ ...base, image: { type: 'image/png', data: big } }), false);
  assert.equal(text({ ...base, image: { type: 'image/svg+xml', data: 'AAAA' } }), false);
  assert.equal(text({ ...base, image: { type: 'text/html', data: 'AAAA' } }), false);
  assert.equal(text({ ...base, image: { type: 'image/png', data: 'https://example.com/i.png' } }), false);
  assert.equal(text({ ...base, image: 'https://example.com/i.png' }), false);
  assert.equal(text('https://example.com'), false);
  assert.equal(text(null), false);
});
