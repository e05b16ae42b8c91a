/**
 * The processes `npm run bench` measures: a real `parley serve` (embedded default unless a
 * PostgreSQL URL is given) or the bare `ws` relay, each pinned to core 0 with `taskset` while the
 * load generator runs on core 1; and readings of their memory and CPU from `/proc`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './measure.ts';

/** The repository root (the working directory of every process the bench starts). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Resident memory of a process, in MB. */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** A server under test. */
export interface Target {
  kind: 'parley' | 'relay';
  label: string;
  base: string;
  proc: ChildProcess;
  stop(): Promise<void>;
  /** Restart the process on the same data (a fresh heap for memory measurements). */
  restart(): Promise<void>;
}

export async function stopProc(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
}

export async function waitHealthy(url: string, proc: ChildProcess): Promise<void> {
  const end = Date.now() + 120_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited (${proc.exitCode})`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* starting */
    }
    if (Date.now() > end) throw new Error(`${url} not healthy`);
    await sleep(100);
  }
}

/** Runs a shell command line on core 0 with the hard file limit; stdout is piped (read or resume it). */
export function pinned(cmd: string, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn('sh', ['-c', `ulimit -n $(ulimit -Hn) && exec taskset -c 0 ${cmd}`], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/**
 * A target whose process is `cmd` run {@link pinned}, started (and restarted) until `healthUrl`
 * answers; `cleanup` runs after it stopped.
 */
async function pinnedTarget(
  kind: Target['kind'],
  label: string,
  base: string,
  cmd: string,
  env: NodeJS.ProcessEnv,
  healthUrl: string,
  cleanup = () => {},
): Promise<Target> {
  const start = async () => {
    const proc = pinned(cmd, env);
    proc.stdout!.resume();
    await waitHealthy(healthUrl, proc);
    return proc;
  };
  const t: Target = {
    kind,
    label,
    base,
    proc: await start(),
    async stop() {
      await stopProc(t.proc);
      cleanup();
    },
    async restart() {
      await stopProc(t.proc);
      t.proc = await start();
    },
  };
  return t;
}

/**
 * Starts `parley serve` on a fresh data folder, pinned to core 0. `nodeArgs` go to the server's
 * `node` before the script (after `PARLEY_BENCH_NODE_ARGS`), already quoted for the shell.
 */
export async function startParley(
  port: number,
  databaseUrl?: string,
  extraEnv: Record<string, string> = {},
  nodeArgs = '',
): Promise<Target> {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
  // PARLEY_HOST stays unset: the server listens on loopback and its dev outbox answers this machine.
  const env = {
    ...process.env,
    PARLEY_PORT: String(port),
    PARLEY_HOST: '',
    PARLEY_DATA_DIR: dataDir,
    PARLEY_LOG_LEVEL: 'warn',
    PARLEY_REGISTRATION_PER_IP: '1000000',
    PARLEY_REGISTRATION_PER_NUMBER: '1000',
    PARLEY_VERIFY_PER_IP: '1000000',
    ...(databaseUrl ? { PARLEY_DATABASE_URL: databaseUrl } : { PARLEY_DATABASE_URL: '' }),
    // The database outlives the data folder, so the key its server secrets are encrypted under
    // must too: one key file per machine, unless a key is given.
    ...(databaseUrl && !process.env.PARLEY_SECRET_KEY && !process.env.PARLEY_SECRET_KEY_FILE
      ? { PARLEY_SECRET_KEY_FILE: join(tmpdir(), 'parley-bench-secret.key') }
      : {}),
    // From the sources, not the prebuilt bundle: probes preloaded with --import patch the sources' modules.
    PARLEY_CLI_FROM_SOURCE: '1',
    ...extraEnv,
  };
  const base = `http://127.0.0.1:${port}`;
  const cmd = `"${process.execPath}" ${process.env.PARLEY_BENCH_NODE_ARGS ?? ''} ${nodeArgs} apps/cli/bin/parley.js serve`;
  return pinnedTarget(
    'parley',
    databaseUrl ? 'parley-postgres' : 'parley-sqlite',
    base,
    cmd,
    env,
    `${base}/healthz`,
    () => rmSync(dataDir, { recursive: true, force: true }),
  );
}

/** Starts the bare `ws` relay (`bench/src/relay.ts`), pinned to core 0. */
export async function startRelay(port: number): Promise<Target> {
  const base = `http://127.0.0.1:${port}`;
  return pinnedTarget(
    'relay',
    'ws-relay',
    base,
    `"${process.execPath}" --import tsx bench/src/relay.ts ${port}`,
    process.env,
    base,
  );
}
