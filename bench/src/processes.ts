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

/** The repository root (the working directory of every process the bench starts). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
  return spawn('sh', ['-c', `ulimit -n $(ulimit -Hn) && exec taskset -c 0 ${cmd}`], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
}

/**
 * Starts `parley serve` on a fresh data folder, pinned to core 0. `nodeArgs` go to the server's
 * `node` before the script (after `PARLEY_BENCH_NODE_ARGS`), already quoted for the shell.
 */
export async function startParley(port: number, databaseUrl?: string, extraEnv: Record<string, string> = {}, nodeArgs = ''): Promise<Target> {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
  const env = {
    ...process.env, PARLEY_PORT: String(port), PARLEY_HOST: '127.0.0.1', PARLEY_DATA_DIR: dataDir, PARLEY_LOG_LEVEL: 'warn',
    PARLEY_REGISTRATION_PER_IP: '1000000', PARLEY_REGISTRATION_PER_NUMBER: '1000', PARLEY_VERIFY_PER_NUMBER: '1000',
    ...(databaseUrl ? { PARLEY_DATABASE_URL: databaseUrl } : { PARLEY_DATABASE_URL: '' }),
    ...extraEnv,
  };
  const spawnServer = async () => {
    const proc = pinned(`"${process.execPath}" ${process.env.PARLEY_BENCH_NODE_ARGS ?? ''} ${nodeArgs} apps/cli/bin/parley.js serve`, env);
    proc.stdout!.resume();
    await waitHealthy(`${base}/healthz`, proc);
    return proc;
  };
  const base = `http://127.0.0.1:${port}`;
  const t: Target = {
    kind: 'parley', label: databaseUrl ? 'parley-postgres' : 'parley-sqlite', base, proc: await spawnServer(),
    async stop() {
      await stopProc(t.proc);
      rmSync(dataDir, { recursive: true, force: true });
    },
    async restart() {
      await stopProc(t.proc);
      t.proc = await spawnServer();
    },
  };
  return t;
}

/** Starts the bare `ws` relay (`bench/src/relay.ts`), pinned to core 0. */
export async function startRelay(port: number): Promise<Target> {
  const base = `http://127.0.0.1:${port}`;
  const spawnRelay = async () => {
    const proc = pinned(`"${process.execPath}" --import tsx bench/src/relay.ts ${port}`, process.env);
    proc.stdout!.resume();
    await waitHealthy(base, proc);
    return proc;
  };
  const t: Target = {
    kind: 'relay', label: 'ws-relay', base, proc: await spawnRelay(),
    stop: () => stopProc(t.proc),
    async restart() {
      await stopProc(t.proc);
      t.proc = await spawnRelay();
    },
  };
  return t;
}
