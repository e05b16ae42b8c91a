/** SFU event listeners (C6, C8): a throwing listener is isolated so it cannot break media forwarding. */
export class Listeners<A extends unknown[]> {
  private readonly set = new Set<(...args: A) => void>();

  /** Adds a listener; returns the function that removes it. */
  add(listener: (...args: A) => void): () => void {
    this.set.add(listener);
    return () => {
      this.set.delete(listener);
    };
  }

  get size(): number {
    return this.set.size;
  }

  emit(...args: A): void {
    for (const l of this.set) {
      try {
        l(...args);
      } catch {
        // Listeners belong to the embedding server; their failures must not reach the media path.
      }
    }
  }
}
