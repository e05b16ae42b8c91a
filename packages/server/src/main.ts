/**
 * Process entry (C19): load config, build, listen, print the start banner, and shut down
 * gracefully on SIGINT/SIGTERM (pending batches are flushed before exit).
 */
import type { Config } from './config/index.ts';
import { loadConfig } from './config/index.ts';
import { buildServer, DEFAULT_HOST } from './server.ts';
import { DevOutboxSender, type VerificationSender } from './services/sender.ts';

/**
 * The lines printed at start: where the web client is, who can reach the server, and, with the
 * dev-outbox sender, the operator token that reads the codes (nobody else may).
 */
export function startBanner(config: Config, url: string, sender: VerificationSender): string[] {
  const lines = [`Parley is running. Open the web client at ${url}/`];
  lines.push(config.host === undefined
    ? `Listening on ${DEFAULT_HOST} only (this machine). Set PARLEY_HOST (e.g. 0.0.0.0) to accept other machines.`
    : `Listening on ${config.host} (PARLEY_HOST).`);
  if (sender instanceof DevOutboxSender) {
    lines.push('Verification codes are not sent by SMS: they go to the dev outbox. Set PARLEY_SMS_SENDER=http for production.');
    lines.push(`Read them with the operator token: curl -H 'Authorization: Bearer ${sender.readToken}' ${url}/dev/outbox`);
    lines.push(config.host === undefined
      ? 'Requests from this machine need no token while PARLEY_HOST is unset; anything else gets dev_outbox_forbidden.'
      : 'Every request needs the token (PARLEY_HOST is set); anything else gets dev_outbox_forbidden.');
  }
  return lines;
}

/** Start a server from the environment; resolves with its URL and start banner once `/healthz` would answer. */
export async function runServer(env: Record<string, string | undefined> = process.env): Promise<{ url: string; banner: string[]; close(): Promise<void> }> {
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
  return { url, banner: startBanner(config, url, server.ctx.sender), close: () => server.close() };
}
