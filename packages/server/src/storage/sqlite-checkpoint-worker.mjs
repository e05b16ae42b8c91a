// @ts-check
/**
 * The SQLite checkpoint worker (C19 embedded default): copies the WAL back into the database file
 * on its own thread and connection, so the fsyncs of a checkpoint never stop the event loop. The
 * `Checkpointer` in `sqlite.ts` starts it and decides when the WAL must start over; this file only
 * runs checkpoints and reports how many frames the WAL holds.
 *
 * It is JavaScript checked by `tsc` (`// @ts-check`, JSDoc types) rather than TypeScript because
 * Node 20 does not apply tsx's loader hooks to worker threads: a `.ts` worker would have to load
 * tsx and start esbuild in every worker, which measured about 200 ms more CPU and 400 ms more wall
 * time for each database opened, where this file starts in about 30 ms.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/**
 * What the worker is started with.
 * @typedef {object} CheckpointWorkerData
 * @property {string} file the database file (the worker opens its own connection to it)
 * @property {number} intervalMs how often it runs a checkpoint unasked
 */

/**
 * What the worker posts after each checkpoint.
 * @typedef {object} CheckpointReport
 * @property {number} frames frames left in the WAL, or -1 when an asked-for checkpoint failed
 * @property {number} reset the id of the reset this checkpoint answers, 0 for a periodic one
 */

/**
 * A message to the worker: run one checkpoint now and answer with this reset id.
 * @typedef {number} CheckpointRequest
 */

if (!parentPort) throw new Error('sqlite-checkpoint-worker runs as a worker thread');
const port = parentPort;
const { file, intervalMs } = /** @type {CheckpointWorkerData} */ (workerData);
const db = new Database(file);
// The writer holds its lock only briefly; waiting for it beats failing a pass.
db.pragma('busy_timeout = 5000');

/**
 * One PASSIVE checkpoint (it never blocks the writer), then a report.
 * @param {number} reset the reset it answers, 0 for a periodic pass
 */
function pass(reset) {
  /** @type {CheckpointReport} */
  let report;
  try {
    const [r] = /** @type {{ log: number }[]} */ (db.pragma('wal_checkpoint(PASSIVE)'));
    if (!r) throw new Error('wal_checkpoint returned no row');
    report = { frames: r.log, reset };
  } catch {
    // A failed periodic pass is retried by the next one; a reset must hear back so writes go on.
    if (!reset) return;
    report = { frames: -1, reset };
  }
  port.postMessage(report);
}

setInterval(() => pass(0), intervalMs);
port.on('message', (/** @type {CheckpointRequest} */ id) => pass(id));
