/**
 * Drive the `parley` command as a user would: one child process per call, stdout parsed as JSON
 * lines, profile registration through the server's dev outbox, and the set-up the CLI suites
 * share (a server and registered profiles).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { devOutboxCode } from '@parley/sdk/testing';
import { DEV_OUTBOX_TOKEN, PARLEY_BIN, ROOT, startServerProcess, type ServerProcess } from './server-process.ts';

/** Exit status, raw output and stdout parsed line by line as JSON; `signal` is set when the run had to be killed. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  lines: Record<string, unknown>[];
  signal: NodeJS.Signals | null;
}

/**
 * Run `parley ARGS…` from the repository root; `env` adds to this process's environment (e.g. an
 * operator's `PARLEY_DATA_DIR`). A run still going after `killAfterMs` (default 60 s) is killed,
 * which `signal` shows.
 */
export function parley(args: string[], env?: Record<string, string>, killAfterMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [PARLEY_BIN, ...args],
      { cwd: ROOT, timeout: killAfterMs, ...(env ? { env: { ...process.env, ...env } } : {}) },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        const lines = stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        resolve({ code, stdout, stderr, lines, signal: (err as { signal?: NodeJS.Signals } | null)?.signal ?? null });
      },
    );
  });
}

/** `register` (with `extra` flags) then `verify` a profile with the code the dev outbox holds for `phone`. */
export async function registerProfile(
  serverUrl: string,
  profile: string,
  phone: string,
  extra: string[] = [],
): Promise<void> {
  const r1 = await parley(['--profile', profile, 'register', '--server', serverUrl, '--phone', phone, ...extra]);
  assert.equal(r1.code, 0, r1.stderr);
  assert.equal(r1.lines[0]?.status, 'code_sent');
  // The profile keeps the request's session id for `verify`, which runs as another process.
  assert.match(String(r1.lines[0]?.sessionId), /^r_[A-Za-z0-9_-]{22}$/);
  const code = await devOutboxCode(serverUrl, phone, fetch, DEV_OUTBOX_TOKEN);
  const r2 = await parley(['--profile', profile, 'verify', '--code', code]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(String(r2.lines[0]?.accountId), /^a_/);
}

/**
 * Start `parley serve` with its data in `dataDir` (plus `env`), then `register` and `verify` one
 * profile per `[profile folder, phone]` pair, in order.
 */
export async function serveWithProfiles(
  dataDir: string,
  profiles: [string, string][],
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const server = await startServerProcess({ PARLEY_DATA_DIR: dataDir, ...env });
  for (const [profile, phone] of profiles) await registerProfile(server.url, profile, phone);
  return server;
}

/** What {@link cliSuite} sets up: a profile folder and a phone number per name, and the server. */
export interface CliSuite<N extends string> {
  /** The suite's temporary folder (the server's data is in `data/` under it). */
  tmp: string;
  profiles: Record<N, string>;
  phones: Record<N, string>;
  /** The running server; only once the suite's `before` hook ran. */
  server: () => ServerProcess;
}

/**
 * The hooks most CLI suites share; call it inside `describe`. `before`: a `parley serve` with its
 * data in a temporary folder, and one registered profile per entry of `phones`, in order. `after`:
 * the server stopped and the folder removed.
 */
export function cliSuite<N extends string>(
  name: string,
  phones: Record<N, string>,
  env: Record<string, string> = {},
): CliSuite<N> {
  const tmp = mkdtempSync(join(tmpdir(), `parley-cli-${name}-`));
  const profiles = Object.fromEntries(Object.keys(phones).map((n) => [n, join(tmp, n)])) as Record<N, string>;
  let server: ServerProcess | undefined;
  before(async () => {
    const pairs = (Object.keys(phones) as N[]).map((n): [string, string] => [profiles[n], phones[n]]);
    server = await serveWithProfiles(join(tmp, 'data'), pairs, env);
  });
  after(async () => {
    await server?.kill();
    rmSync(tmp, { recursive: true, force: true });
  });
  return {
    tmp,
    profiles,
    phones,
    server: () => {
      if (!server) throw new Error('cliSuite: the server starts in the suite’s before hook');
      return server;
    },
  };
}

/** `parley ARGS…` that must succeed: asserts exit 0, naming the command and its stderr. */
export async function parleyOk(args: string[]): Promise<Run> {
  const r = await parley(args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r;
}
