/**
 * Real server processes for cross-process tests: `parley serve` started exactly as an operator
 * starts it (environment variables only), on a free port, killed and restarted at will.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The `parley` command's entry script. */
export const PARLEY_BIN = fileURLToPath(new URL('../../../apps/cli/bin/parley.js', import.meta.url));

/**
 * The dev outbox's operator token (PARLEY_DEV_OUTBOX_TOKEN) of every server this process starts:
 * they listen on an explicit PARLEY_HOST, so the outbox answers only requests that carry it.
 */
export const DEV_OUTBOX_TOKEN = randomBytes(24).toString('base64url');

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/** A `parley serve` child process. */
export interface ServerProcess {
  url: string;
  port: number;
  proc: ChildProcess;
  /** Everything the process wrote to stderr (for failure messages). */
  logs(): string;
  /** Everything the process wrote to stdout (its JSON log lines). */
  output(): string;
  /** Send a signal and wait for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Start again with the same environment (same port and data). */
  restart(): Promise<ServerProcess>;
}

/** Start `parley serve` with the given environment and wait for `/healthz`. */
export async function startServerProcess(env: Record<string, string>, port?: number): Promise<ServerProcess> {
  const p = port ?? (await freePort());
  const fullEnv = {
    ...process.env,
    PARLEY_HOST: '127.0.0.1',
    PARLEY_DEV_OUTBOX_TOKEN: DEV_OUTBOX_TOKEN,
    PARLEY_LOG_LEVEL: 'warn',
    ...env,
    PARLEY_PORT: String(p),
  };
  const proc = spawn(process.execPath, [PARLEY_BIN, 'serve'], {
    cwd: ROOT,
    env: fullEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stderr!.on('data', (d) => (log += d.toString()));
  let out = '';
  proc.stdout!.on('data', (d) => (out += d.toString()));
  const url = `http://127.0.0.1:${p}`;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`parley serve exited early (${proc.exitCode}): ${log}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok && ((await res.json()) as { status: string }).status === 'ok') break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`parley serve did not become healthy: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port: p,
    proc,
    logs: () => log,
    output: () => out,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
    restart: () => startServerProcess(env, p),
  };
}
