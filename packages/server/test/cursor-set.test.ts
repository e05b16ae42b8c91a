/**
 * The in-flight cursor set of a connection behaves as a set of numbers, past its first growth and
 * with cursors beyond 32-bit range, checked against a reference `Set` over a random workload.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CursorSet } from '../src/services/cursor-set.ts';

test('the cursor set agrees with a reference Set over random adds and deletes', () => {
  const ours = new CursorSet(2);
  const ref = new Set<number>();
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let i = 0; i < 20_000; i++) {
    // Cursors near 2^40 too: a queue's cursor outgrows 32 bits on a long-lived server.
    const c = rnd(2) ? rnd(300) : 2 ** 40 + rnd(300);
    if (rnd(3) === 0) assert.equal(ours.delete(c), ref.delete(c), `delete ${c}`);
    else {
      ours.add(c);
      ref.add(c);
    }
    assert.equal(ours.size, ref.size);
    const probe = rnd(2) ? rnd(300) : 2 ** 40 + rnd(300);
    assert.equal(ours.has(probe), ref.has(probe), `has ${probe}`);
  }
  for (const c of ref) assert.ok(ours.has(c));
});

test('the cursor set grows past its initial capacity and keeps every cursor', () => {
  const s = new CursorSet(1);
  for (let c = 1; c <= 256; c++) s.add(c);
  s.add(17);
  assert.equal(s.size, 256);
  for (let c = 1; c <= 256; c++) assert.ok(s.has(c));
  assert.equal(s.delete(1), true);
  assert.equal(s.delete(1), false);
  assert.equal(s.has(256), true);
  assert.equal(s.size, 255);
});
