import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBinaryFrame, encodeFrame, isRequestHeader, requestHeaderSchema } from '../src/index.ts';

test('the fast request-header check agrees with the schema', () => {
  const cases: unknown[] = [
    { id: 1, op: 'send', body: { a: 1 } }, { id: 0, op: 'ping' }, { id: 2, op: 'x', body: undefined },
    { id: -1, op: 'send' }, { id: 1.5, op: 'send' }, { id: 2 ** 53, op: 'send' }, { id: '1', op: 'send' },
    { id: 1, op: '' }, { id: 1, op: 'x'.repeat(65) }, { id: 1, op: 'x'.repeat(64) }, { id: 1 }, { op: 'send' },
    { id: 1, op: 'send', extra: true }, JSON.parse('{"id":1,"op":"send","__proto__":{}}'), [1, 'send'], null, 'send', 7,
  ];
  for (const c of cases) assert.equal(isRequestHeader(c), requestHeaderSchema.safeParse(c).success, JSON.stringify(c));
});

test('binary frames round-trip header and payload', () => {
  const payload = new Uint8Array([0, 1, 2, 255]);
  const frame = encodeFrame({ id: 3, op: 'send', body: { text: 'é€' } }, payload) as Uint8Array;
  const { header, payload: out } = decodeBinaryFrame(frame);
  assert.deepEqual(header, { id: 3, op: 'send', body: { text: 'é€' } });
  assert.deepEqual([...out], [...payload]);
});
