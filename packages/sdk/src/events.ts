/** A small typed event emitter (C15): the SDK's events are typed by name. */

/** Listener-map based emitter; `on` returns an unsubscribe function. */
export class Emitter<Events extends Record<string, unknown>> {
  private readonly listeners = new Map<keyof Events, Set<(e: never) => void>>();

  /** Subscribe to one event; returns a function that unsubscribes. */
  on<K extends keyof Events>(name: K, fn: (e: Events[K]) => void): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(fn as (e: never) => void);
    return () => set.delete(fn as (e: never) => void);
  }

  /** Resolve with the next event of this name that passes `filter`. */
  once<K extends keyof Events>(name: K, filter: (e: Events[K]) => boolean = () => true): Promise<Events[K]> {
    return new Promise((resolve) => {
      const off = this.on(name, (e) => {
        if (!filter(e)) return;
        off();
        resolve(e);
      });
    });
  }

  /** Call every listener; a throwing listener does not stop the others. */
  emit<K extends keyof Events>(name: K, e: Events[K]): void {
    for (const fn of this.listeners.get(name) ?? []) {
      try {
        (fn as (e: Events[K]) => void)(e);
      } catch (err) {
        console.error('listener failed', err);
      }
    }
  }
}
