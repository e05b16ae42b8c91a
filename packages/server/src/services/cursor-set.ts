/**
 * The queue cursors a connection has been pushed and has not yet acknowledged (C3 speed). A device
 * holds a handful of them for about a second (clients acknowledge in batches), so a `Set` here
 * would be resized again and again as cursors come and go; every resize allocates a new table that
 * lives long enough to reach the old generation, and at 10,000 messages/s that churn alone means a
 * full GC every few seconds (docs/benchmarks.md). This set keeps its cursors in one typed array
 * that only ever grows (to the delivery window at most) and answers by a linear scan, which over
 * at most a window's worth of numbers costs less than hashing.
 */
export class CursorSet {
  private items: Float64Array;
  private count = 0;

  constructor(initialCapacity = 8) {
    this.items = new Float64Array(initialCapacity);
  }

  /** Number of cursors held. */
  get size(): number {
    return this.count;
  }

  has(cursor: number): boolean {
    return this.indexOf(cursor) >= 0;
  }

  /** Add a cursor (no-op when already held). */
  add(cursor: number): void {
    if (this.indexOf(cursor) >= 0) return;
    if (this.count === this.items.length) {
      const grown = new Float64Array(this.items.length * 2);
      grown.set(this.items);
      this.items = grown;
    }
    this.items[this.count++] = cursor;
  }

  /** Remove a cursor; true when it was held. Order is not kept (the last one takes its place). */
  delete(cursor: number): boolean {
    const i = this.indexOf(cursor);
    if (i < 0) return false;
    this.items[i] = this.items[--this.count]!;
    return true;
  }

  private indexOf(cursor: number): number {
    const items = this.items;
    for (let i = 0; i < this.count; i++) if (items[i] === cursor) return i;
    return -1;
  }
}
