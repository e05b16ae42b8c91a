/** A running image job's progress in words (C9), as the sheet's status line reads it. */
import type { ImagineOptions } from '@parley/sdk';

/** One progress report of a job, as the SDK passes it. */
export type Progress = Parameters<NonNullable<ImagineOptions['onProgress']>>[0];

/** "Waiting in the queue (position 2)…", "Generating… 40%", …; null before the first report. */
export function progressText(p: Progress | null): string {
  if (!p) return 'Starting…';
  switch (p.stage) {
    case 'submitted':
      return 'Sent to the image service…';
    case 'queued':
      return p.queuePosition !== undefined
        ? `Waiting in the queue (position ${p.queuePosition})…`
        : 'Waiting in the queue…';
    case 'running':
      return p.fraction !== undefined ? `Generating… ${Math.round(p.fraction * 100)}%` : 'Generating…';
    case 'downloading':
      return 'Fetching the images…';
  }
}
