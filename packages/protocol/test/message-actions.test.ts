/**
 * The message-action contents (C15) as every receiver parses them: one emoji or null per reaction,
 * a bounded quote excerpt, a non-empty edit, `forwarded` only as `true`, ids of the right form.
 * Anything else fails the envelope, so the receiving SDK applies nothing of it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MESSAGE_ACTION_LIMITS, envelopeSchema } from '../src/index.ts';

const id = 'm_AAAAAAAAAAAAAAAAAAAAAA';
const account = 'a_BBBBBBBBBBBBBBBBBBBBBB';
const parses = (content: unknown) => envelopeSchema.safeParse({ v: 1, content, sentAt: 1 }).success;

test('a reaction is one emoji, or null to take it back', () => {
  assert.equal(parses({ type: 'message-reaction', messageId: id, emoji: '👍' }), true);
  assert.equal(parses({ type: 'message-reaction', messageId: id, emoji: '❤️' }), true);
  assert.equal(parses({ type: 'message-reaction', messageId: id, emoji: null }), true);
  assert.equal(parses({ type: 'message-reaction', messageId: id, emoji: '👍👍' }), false);
  assert.equal(parses({ type: 'message-reaction', messageId: id, emoji: 'ok' }), false);
  assert.equal(parses({ type: 'message-reaction', messageId: id }), false);
  assert.equal(parses({ type: 'message-reaction', messageId: 'not-an-id', emoji: '👍' }), false);
});

test('edits carry 1 to 65,536 characters; deletes only the id', () => {
  assert.equal(parses({ type: 'edit', messageId: id, text: 'new' }), true);
  assert.equal(parses({ type: 'edit', messageId: id, text: '' }), false);
  assert.equal(parses({ type: 'edit', messageId: id, text: 'x'.repeat(65_537) }), false);
  assert.equal(parses({ type: 'delete', messageId: id }), true);
  assert.equal(parses({ type: 'delete', messageId: 'm_short' }), false);
});

test('a reply quotes at most 200 characters, and forwarded is only ever true', () => {
  const quote = { messageId: id, from: account, excerpt: 'x'.repeat(MESSAGE_ACTION_LIMITS.excerptChars) };
  assert.equal(parses({ type: 'text', text: 'yes', replyTo: quote }), true);
  assert.equal(parses({ type: 'text', text: 'yes', replyTo: { ...quote, kind: 'image', excerpt: '' } }), true);
  assert.equal(parses({ type: 'text', text: 'yes', replyTo: { ...quote, excerpt: 'x'.repeat(201) } }), false);
  assert.equal(parses({ type: 'text', text: 'yes', replyTo: { ...quote, from: 'someone' } }), false);
  assert.equal(parses({ type: 'text', text: 'yes', forwarded: true }), true);
  assert.equal(parses({ type: 'text', text: 'yes', forwarded: false }), false);
});
