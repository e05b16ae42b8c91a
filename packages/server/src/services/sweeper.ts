/**
 * Periodic clean-up timer (C4 media expiry, C1 verification codes): runs one sweep every interval
 * with the server's clock. Sweeps never overlap within a process; several processes sweeping
 * together is harmless because every deletion a sweep makes is conditional and idempotent.
 */
import type { Logger } from 'pino';

/** What a sweep reports; logged when any count is non-zero. */
export type SweepReport = Record<string, number>;

/** Runs `sweepOnce` every `intervalMs` (unref'd, so it never keeps the process alive). */
export class Sweeper {
  private timer: ReturnType<typeof setInterval> | null = null;
  private running: Promise<void> | null = null;

  constructor(
    /** Names the sweep in log lines (`media`, `verification codes`). */
    private readonly what: string,
    private readonly sweepOnce: () => Promise<SweepReport>,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  /** Start sweeping (the first sweep runs after one interval). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sweep(), this.intervalMs);
    this.timer.unref();
  }

  /** Run one sweep now unless one is already running; errors are logged, never thrown. */
  sweep(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.sweepOnce()
      .then((r) => {
        if (Object.values(r).some((n) => n > 0)) this.log.info(r, `${this.what} swept`);
      })
      .catch((err) => this.log.error({ err }, `${this.what} sweep failed`))
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
