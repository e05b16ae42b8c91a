/**
 * Process entry (C19): load config, build, listen, print the web client URL, and shut down
 * gracefully on SIGINT/SIGTERM (pending batches are flushed before exit).
 */
import { loadConfig } from './config/index.ts';
import { buildServer } from './server.ts';

/** Start a server from the environment; resolves with its URL once `/healthz` would answer. */
export async function runServer(env: Record<string, string | undefined> = process.env): Promise<{ url: string; close(): Promise<void> }> {
  const config = loadConfig(env);
  const server = await buildServer(config);
  const url = await server.listen();
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.ctx.log.info({ signal }, 'shutting down');
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  return { url, close: () => server.close() };
}
