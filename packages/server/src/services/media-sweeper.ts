/**
 * Media expiry timer (C4): runs `sweepExpiredMedia` every PARLEY_MEDIA_SWEEP_SECONDS with the
 * server's clock (see services/sweeper.ts for overlap and multi-process behaviour).
 */
import type { ServerContext } from '../context.ts';
import { sweepExpiredMedia } from '../actions/media.ts';
import { Sweeper } from './sweeper.ts';

/** Periodic deletion of expired blobs and abandoned uploads. */
export class MediaSweeper extends Sweeper {
  constructor(ctx: ServerContext, intervalMs: number) {
    super('media', () => sweepExpiredMedia(ctx), intervalMs, ctx.log);
  }
}
