/**
 * Process entry (C19): load config, build, listen, print the start banner, and shut down
 * gracefully on SIGTERM/SIGINT: drain (no new connections, every frame already taken answered,
 * WebSockets closed with 1012 so clients reconnect elsewhere), write pending batches, close
 * storage, exit 0. Past PARLEY_SHUTDOWN_TIMEOUT_SECONDS it logs what it was doing and exits 1.
 */
import type { Config } from './config/index.ts';
import { loadConfig, retiredConfigWarnings } from './config/index.ts';
import { buildServer, DEFAULT_HOST, type BuildOptions } from './server.ts';
import { DevOutboxSender, type VerificationSender } from './services/sender.ts';

/**
 * The lines printed at start: where the web client is, who can reach the server, and, with the
 * dev-outbox sender, the operator token that reads the codes (nobody else may).
 */
export function startBanner(config: Config, url: string, sender: VerificationSender): string[] {
  const lines = [`Parley is running. Open the web client at ${url}/`];
  lines.push(
    config.host === undefined
      ? `Listening on ${DEFAULT_HOST} only (this machine). Set PARLEY_HOST (e.g. 0.0.0.0) to accept other machines.`
      : `Listening on ${config.host} (PARLEY_HOST).`,
  );
  if (sender instanceof DevOutboxSender) {
    lines.push(
      'Verification codes are not sent by SMS: they go to the dev outbox. Set PARLEY_SMS_SENDER=http for production.',
    );
    lines.push(
      `Read them with the operator token: curl -H 'Authorization: Bearer ${sender.readToken}' ${url}/dev/outbox`,
    );
    lines.push(
      config.host === undefined
        ? 'Requests from this machine need no token while PARLEY_HOST is unset; anything else gets dev_outbox_forbidden.'
        : 'Every request needs the token (PARLEY_HOST is set); anything else gets dev_outbox_forbidden.',
    );
  }
  return lines;
}

/** Start a server from the environment; resolves with its URL and start banner once `/healthz` would answer. */
export async function runServer(
  env: Record<string, string | undefined> = process.env,
  opts: Pick<BuildOptions, 'businessDevices'> = {},
): Promise<{ url: string; banner: string[]; close(): Promise<void> }> {
  const config = loadConfig(env);
  const server = await buildServer(config, opts);
  const url = await server.listen();
  const log = server.ctx.log;
  for (const warning of retiredConfigWarnings(env)) log.warn(warning);
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
      log.error(
        { signal, deadlineMs, connections: server.ctx.delivery.connectionCount, queued: server.ctx.delivery.queued },
        'shutdown deadline passed; exiting before draining finished',
      );
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
  return { url, banner: startBanner(config, url, server.ctx.sender), close: () => server.close() };
}
