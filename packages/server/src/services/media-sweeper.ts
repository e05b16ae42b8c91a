/**
 * Media expiry timer (C4): runs `sweepExpiredMedia` every PARLEY_MEDIA_SWEEP_SECONDS with the
 * server's clock. Sweeps never overlap within a process; several processes sweeping together is
 * harmless because every deletion is conditional and idempotent.
 */
import type { ServerContext } from '../context.ts';
import { sweepExpiredMedia } from '../actions/media.ts';

/** Periodic deletion of expired blobs and abandoned uploads. */
export class MediaSweeper {
  private timer: ReturnType<typeof setInterval> | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly ctx: ServerContext, private readonly intervalMs: number) {}

  /** Start sweeping (the first sweep runs after one interval). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sweep(), this.intervalMs);
    this.timer.unref();
  }

  /** Run one sweep now unless one is already running; errors are logged, never thrown. */
  sweep(): Promise<void> {
    if (this.running) return this.running;
    this.running = sweepExpiredMedia(this.ctx)
      .then((r) => {
        if (r.expired || r.leftoverParts) this.ctx.log.info(r, 'media swept');
      })
      .catch((err) => this.ctx.log.error({ err }, 'media sweep failed'))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  /** Stop the timer and wait for a sweep in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
