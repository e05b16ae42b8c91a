/**
 * Acknowledgements that arrive within one event-loop turn, written together (C3 speed). Thousands
 * of devices each acknowledge about once a second; one transaction (and, on PostgreSQL, one
 * statement) for a turn's worth instead of one commit each. Both drivers use it; SQLite's batch
 * transaction also takes whatever is queued along with the messages it writes.
 */

/** One acknowledgement waiting to be written; settled once its deletes are committed. */
export interface QueuedAck {
  deviceId: string;
  cursors: number[];
  /** With how many of `cursors` were still queued for the device (each counted once). */
  resolve: (deleted: number) => void;
  reject: (e: unknown) => void;
}

export class AckQueue {
  private queue: QueuedAck[] = [];
  private scheduled = false;

  /** `write` deletes a non-empty group and settles each of its acks (a throw rejects them all). */
  constructor(private readonly write: (acks: QueuedAck[]) => Promise<void> | void) {}

  /** Queue an acknowledgement for the end of this turn; resolves with the number deleted (0 at once for no cursors). */
  add(deviceId: string, cursors: number[]): Promise<number> {
    if (!cursors.length) return Promise.resolve(0);
    return new Promise((resolve, reject) => {
      this.queue.push({ deviceId, cursors, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        const acks = this.take();
        if (!acks.length) return;
        Promise.resolve()
          .then(() => this.write(acks))
          .catch((e) => acks.forEach((a) => a.reject(e)));
      });
    });
  }

  /** Everything queued so far, now the caller's to write (a write transaction may take it along). */
  take(): QueuedAck[] {
    const q = this.queue;
    this.queue = [];
    return q;
  }
}
