import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  binaryFramePayloadStart,
  decodeBinaryFrame,
  encodeBinaryFrame,
  encodeFrame,
  portableUtf8,
  isRequestHeader,
  isSendBody,
  requestHeaderSchema,
  sendBody,
} from '../src/index.ts';

test('the fast request-header check agrees with the schema', () => {
  const cases: unknown[] = [
    { id: 1, op: 'send', body: { a: 1 } },
    { id: 0, op: 'ping' },
    { id: 2, op: 'x', body: undefined },
    { id: -1, op: 'send' },
    { id: 1.5, op: 'send' },
    { id: 2 ** 53, op: 'send' },
    { id: '1', op: 'send' },
    { id: 1, op: '' },
    { id: 1, op: 'x'.repeat(65) },
    { id: 1, op: 'x'.repeat(64) },
    { id: 1 },
    { op: 'send' },
    { id: 1, op: 'send', extra: true },
    JSON.parse('{"id":1,"op":"send","__proto__":{}}'),
    [1, 'send'],
    null,
    'send',
    7,
  ];
  for (const c of cases) assert.equal(isRequestHeader(c), requestHeaderSchema.safeParse(c).success, JSON.stringify(c));
});

test('the fast send-body check accepts only what the schema accepts unchanged', () => {
  const conv = 'AAAAAAAAAAAAAAAAAAAAAA';
  const cm = '00000000a-run-1';
  const cases: unknown[] = [
    { conversationId: conv, clientMessageId: cm },
    { conversationId: conv, clientMessageId: cm, ephemeral: true },
    { conversationId: conv, clientMessageId: cm, ephemeral: false, accept: true },
    { conversationId: conv, clientMessageId: 'x'.repeat(64) },
    { conversationId: conv, clientMessageId: 'x'.repeat(65) },
    { conversationId: conv, clientMessageId: 'short' },
    { conversationId: conv.slice(1), clientMessageId: cm },
    { conversationId: conv + 'A', clientMessageId: cm },
    { conversationId: conv.replace('A', '+'), clientMessageId: cm },
    { conversationId: conv, clientMessageId: cm + '\n' },
    { conversationId: conv, clientMessageId: cm, accept: false },
    { conversationId: conv, clientMessageId: cm, ephemeral: 'yes' },
    { conversationId: conv, clientMessageId: cm, extra: 1 },
    { conversationId: conv },
    { clientMessageId: cm },
    { conversationId: 7, clientMessageId: cm },
    JSON.parse(`{"conversationId":"${conv}","clientMessageId":"${cm}","__proto__":{"x":1}}`),
    Object.assign(Object.create(null), { conversationId: conv, clientMessageId: cm }),
    [conv, cm],
    null,
    undefined,
    'send',
    {},
  ];
  for (const c of cases) {
    const parsed = sendBody.safeParse(c);
    if (isSendBody(c)) assert.deepEqual(parsed.data, c, `schema returns the body unchanged: ${JSON.stringify(c)}`);
    else if (c !== null && typeof c === 'object' && Object.getPrototypeOf(c) === Object.prototype)
      assert.equal(parsed.success, false, `schema rejects it too: ${JSON.stringify(c)}`);
  }
  assert.ok(isSendBody({ conversationId: conv, clientMessageId: cm }), 'an ordinary send body takes the fast path');
});

test('binary frames round-trip header and payload', () => {
  const payload = new Uint8Array([0, 1, 2, 255]);
  const frame = encodeFrame({ id: 3, op: 'send', body: { text: 'é€' } }, payload) as Uint8Array;
  const { header, payload: out } = decodeBinaryFrame(frame);
  assert.deepEqual(header, { id: 3, op: 'send', body: { text: 'é€' } });
  assert.deepEqual([...out], [...payload]);
});

test('the portable UTF-8 length agrees with TextEncoder, lone surrogates included', () => {
  for (const text of ['', 'ascii', 'é€', '🎉x', 'a\ud800b', '\udc00', 'end\ud83c', '\u07ff\u0800\uffff']) {
    assert.equal(portableUtf8.byteLength(text), new TextEncoder().encode(text).length, JSON.stringify(text));
  }
});

test('binary frames: the length prefix is checked, the payload is a view, an empty payload is allowed', () => {
  assert.throws(() => binaryFramePayloadStart(new Uint8Array([0, 0, 0])), /too short/);
  assert.throws(() => binaryFramePayloadStart(new Uint8Array([0, 0, 0, 5, 0x7b, 0x7d])), /exceeds/);
  assert.throws(
    () => binaryFramePayloadStart(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0])),
    /exceeds/,
    'a length above 2^31 is unsigned, not negative',
  );
  const frame = encodeBinaryFrame({ event: 'deliver' }, new Uint8Array(0));
  const { header, payload } = decodeBinaryFrame(frame);
  assert.deepEqual(header, { event: 'deliver' });
  assert.equal(payload.length, 0);
  const withPayload = encodeBinaryFrame({ a: 1 }, new Uint8Array([7, 8]));
  const out = decodeBinaryFrame(withPayload).payload;
  assert.equal(out.buffer, withPayload.buffer, 'no copy of the payload');
  assert.equal(binaryFramePayloadStart(withPayload), withPayload.length - 2);
});
