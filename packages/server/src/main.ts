/**
 * Process entry (C19): load config, build, listen, print the web client URL, and shut down
 * gracefully on SIGTERM/SIGINT: drain (no new connections, every frame already taken answered,
 * WebSockets closed with 1012 so clients reconnect elsewhere), write pending batches, close
 * storage, exit 0. Past PARLEY_SHUTDOWN_TIMEOUT_SECONDS it logs what it was doing and exits 1.
 */
import { loadConfig } from './config/index.ts';
import { buildServer } from './server.ts';

/** Start a server from the environment; resolves with its URL once `/healthz` would answer. */
export async function runServer(env: Record<string, string | undefined> = process.env): Promise<{ url: string; close(): Promise<void> }> {
  const config = loadConfig(env);
  const server = await buildServer(config);
  const url = await server.listen();
  const log = server.ctx.log;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'already shutting down; waiting for the shutdown deadline');
      return;
    }
    stopping = true;
    const deadlineMs = config.shutdownTimeoutSeconds * 1000;
    log.info({ signal, deadlineMs }, 'shutting down: draining connections');
    // A shutdown that hangs (a database that stopped answering) must still end the process, and
    // non-zero, so a supervisor sees that in-flight work may not have been written.
    const deadline = setTimeout(() => {
      log.error({ signal, deadlineMs, connections: server.ctx.delivery.connectionCount, queued: server.ctx.delivery.queued }, 'shutdown deadline passed; exiting before draining finished');
      process.exit(1);
    }, deadlineMs);
    try {
      await server.close();
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
    clearTimeout(deadline);
    log.info({ signal }, 'shut down');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  return { url, close: () => server.close() };
}
