/**
 * Scripts never hang (C3, C15): against a server that is not listening, one that takes the TCP
 * connection and never answers, and one that answers HTTP but never completes the WebSocket
 * upgrade, `parley send`, `register` and `receive` end on their own, non-zero, with exactly one
 * catalogued line on stderr, as does `receive` whose connection drops. `receive --follow` instead
 * keeps reconnecting with backoff, says so on stderr, and prints what is sent once the server is back.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ERRORS } from '@parley/protocol';
import { PARLEY_BIN, ROOT, type ServerProcess } from './helpers/server-process.ts';
import { parley, serveWithProfiles, type Run } from './helpers/cli.ts';

/** Short deadlines, so a hang shows up as a killed run (after 30 s) rather than a slow test. */
const QUICK = ['--timeout', '4', '--connect-timeout', '2'];
const KILL_AFTER_MS = 30_000;

/** The run ended by itself, with status 1 and one catalogued error line whose code is in `codes`. */
function failedInOneLine(r: Run, codes: string[], what: string): void {
  assert.equal(r.signal, null, `${what} hung and was killed: ${r.stderr}`);
  assert.equal(r.code, 1, `${what}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${what}: ${r.stderr}`);
  const m = /^parley: ([a-z_]+): \S/.exec(lines[0]!);
  assert.ok(m, `${what}: ${lines[0]}`);
  assert.ok(m[1]! in ERRORS, `${what}: ${m[1]} is catalogued`);
  assert.ok(codes.includes(m[1]!), `${what}: ${lines[0]}`);
}

/** Listen on `port` with `server` (the stopped Parley server's port); returns a closer that drops every connection. */
async function occupy(server: TcpServer, port: number, sockets: Set<Socket>): Promise<() => Promise<void>> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  };
}

/** Takes TCP connections on `port` and never sends a byte. */
function silentServer(port: number): Promise<() => Promise<void>> {
  const sockets = new Set<Socket>();
  return occupy(
    createTcpServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    }),
    port,
    sockets,
  );
}

/** Answers HTTP requests on `port` (404, a JSON body) but leaves every WebSocket upgrade hanging. */
function noUpgradeServer(port: number): Promise<() => Promise<void>> {
  const sockets = new Set<Socket>();
  const server = createHttpServer((_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{}'));
  server.on('upgrade', (_req, s: Socket) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  return occupy(server, port, sockets);
}

describe('parley never hangs on an unreachable or silent server', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-cli-timeout-'));
  let server: ServerProcess;
  const alice = join(tmp, 'alice');
  const bob = join(tmp, 'bob');
  const phones = { alice: '+12025550161', bob: '+12025550162', newcomer: '+12025550163' };

  before(async () => {
    server = await serveWithProfiles(join(tmp, 'data'), [
      [alice, phones.alice],
      [bob, phones.bob],
    ]);
    // Alice knows Bob before the server goes away, so `send` gets as far as connecting.
    const first = await parley(['--profile', alice, 'send', '--to', phones.bob, '--message', 'before']);
    assert.equal(first.code, 0, first.stderr);
    const got = await parley(['--profile', bob, 'receive', '--timeout', '1']);
    assert.equal(got.code, 0, got.stderr);
    await server.kill();
  });
  after(async () => {
    await server?.kill();
    rmSync(tmp, { recursive: true, force: true });
  });

  const send = () =>
    parley(['--profile', alice, 'send', '--to', phones.bob, '--message', 'x', ...QUICK], undefined, KILL_AFTER_MS);
  const register = () =>
    parley(
      ['--profile', join(tmp, 'newcomer'), 'register', '--server', server.url, '--phone', phones.newcomer, ...QUICK],
      undefined,
      KILL_AFTER_MS,
    );
  const receive = () =>
    parley(['--profile', bob, 'receive', '--timeout', '1', '--connect-timeout', '2'], undefined, KILL_AFTER_MS);

  it('nothing listening: send, register and receive fail with one line', { timeout: 120_000 }, async () => {
    const [s, r, g] = await Promise.all([send(), register(), receive()]);
    failedInOneLine(s, ['timeout'], 'send');
    assert.match(s.stderr, /ECONNREFUSED/);
    assert.equal(s.stdout, '');
    failedInOneLine(r, ['unavailable'], 'register');
    assert.match(r.stderr, /ECONNREFUSED/);
    assert.equal(r.stdout, '');
    failedInOneLine(g, ['timeout'], 'receive');
  });

  it(
    'a server that takes the connection and never answers: send, register and receive time out',
    { timeout: 120_000 },
    async () => {
      const close = await silentServer(server.port);
      try {
        const [s, r, g] = await Promise.all([send(), register(), receive()]);
        for (const [run, what] of [
          [s, 'send'],
          [r, 'register'],
          [g, 'receive'],
        ] as const)
          failedInOneLine(run, ['timeout'], what);
        assert.equal(s.stdout, '');
        assert.equal(r.stdout, '');
      } finally {
        await close();
      }
    },
  );

  it(
    'a server that answers HTTP but never completes the WebSocket upgrade: send and receive time out',
    { timeout: 120_000 },
    async () => {
      const close = await noUpgradeServer(server.port);
      try {
        const [s, g] = await Promise.all([send(), receive()]);
        failedInOneLine(s, ['timeout'], 'send');
        failedInOneLine(g, ['timeout'], 'receive');
        assert.match(g.stderr, /No connection to ws:\/\/127\.0\.0\.1:\d+\/v1\/ws/);
      } finally {
        await close();
      }
    },
  );

  it(
    'receive --follow with a time limit and no server: reconnecting lines, then one timeout line',
    { timeout: 120_000 },
    async () => {
      const r = await parley(['--profile', bob, 'receive', '--follow', '--timeout', '3'], undefined, KILL_AFTER_MS);
      assert.equal(r.signal, null, r.stderr);
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.match(lines.at(-1)!, /^parley: timeout: No connection to /);
      assert.ok(lines.length >= 2, r.stderr);
      for (const l of lines.slice(0, -1))
        assert.match(
          l,
          /^parley: reconnecting to http:\/\/127\.0\.0\.1:\d+ in \d+\.\d s \(attempt \d+\): .*ECONNREFUSED/,
        );
    },
  );

  it(
    'receive --follow keeps reconnecting with backoff, says so, and receives once the server is back',
    { timeout: 180_000 },
    async () => {
      const proc = spawn(process.execPath, [PARLEY_BIN, '--profile', bob, 'receive', '--follow'], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      proc.stdout.on('data', (d) => (stdout += d.toString()));
      proc.stderr.on('data', (d) => (stderr += d.toString()));
      const waitFor = async (check: () => boolean, what: string) => {
        const end = Date.now() + 90_000;
        while (!check()) {
          assert.equal(proc.exitCode, null, `receive --follow exited: ${stderr}`);
          assert.ok(Date.now() < end, `timed out waiting for ${what}: ${stderr}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      try {
        await waitFor(() => (stderr.match(/reconnecting to/g) ?? []).length >= 3, 'three reconnecting lines');
        server = await server.restart();
        await waitFor(() => /connected to /.test(stderr), 'the reconnection');
        const sent = await parley(['--profile', alice, 'send', '--to', phones.bob, '--message', 'back again']);
        assert.equal(sent.code, 0, sent.stderr);
        await waitFor(() => stdout.includes('back again'), 'the message');
      } finally {
        proc.kill();
      }
      const lines = stderr.trim().split('\n');
      const attempts = lines
        .filter((l) => !l.startsWith('parley: connected to '))
        .map((l) => {
          const m = /^parley: reconnecting to http:\/\/127\.0\.0\.1:\d+ in (\d+\.\d) s \(attempt (\d+)\): \S/.exec(l);
          assert.ok(m, l);
          return Number(m[2]);
        });
      assert.deepEqual(
        attempts,
        attempts.map((_, i) => i + 1),
        'attempts counted up while the server was away',
      );
      assert.equal(lines.at(-1), `parley: connected to ${server.url}`);
      const line = stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { text?: string })
        .find((l) => l.text === 'back again');
      assert.ok(line, stdout);
    },
  );

  it('receive without --follow ends with one line when its connection drops', { timeout: 120_000 }, async () => {
    // The server is back after the --follow test; run alone, this test brings it back itself.
    if (server.proc.exitCode !== null || server.proc.signalCode !== null) server = await server.restart();
    const sent = await parley(['--profile', alice, 'send', '--to', phones.bob, '--message', 'just before the drop']);
    assert.equal(sent.code, 0, sent.stderr);
    const proc = spawn(process.execPath, [PARLEY_BIN, '--profile', bob, 'receive', '--timeout', '60'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d.toString()));
    proc.stderr.on('data', (d) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    try {
      // The message comes over the connection, so once it is printed the connection is up.
      const end = Date.now() + 60_000;
      while (!stdout.includes('just before the drop')) {
        assert.ok(Date.now() < end && proc.exitCode === null, `no message: ${stdout} ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await server.kill();
      assert.equal(await exited, 1, stderr);
    } finally {
      proc.kill();
    }
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0]!, /^parley: unavailable: The connection to http:\/\/127\.0\.0\.1:\d+ was lost/);
  });
});
