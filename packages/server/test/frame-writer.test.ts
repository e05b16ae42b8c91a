import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFrame } from '@parley/protocol';
import { encodeBinaryFrame } from '../src/ws/frame-writer.ts';

test('the server frame writer produces the protocol encoder bytes', () => {
  const payload = new Uint8Array(334).map((_, i) => i & 0xff);
  for (const header of [{ event: 'deliver', body: { cursor: 1, text: 'ascii' } }, { event: 'deliver', body: { note: 'ünïcødé 🎉' } }]) {
    assert.deepEqual(new Uint8Array(encodeBinaryFrame(header, payload)), encodeFrame(header, payload));
  }
});
