/**
 * A real coturn `turnserver` on loopback for call tests: TURN REST API credentials
 * (`use-auth-secret` with a static secret, the scheme the Parley server mints), UDP only, loopback
 * peers allowed (coturn answers 403 Forbidden IP otherwise). Ready once it answers a STUN Binding
 * request; its log goes to a file in the given folder. Used by the browser call tests and by the
 * server's own relay test (packages/server/test/calls-relay.test.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

export const TURNSERVER = process.env.PARLEY_TURNSERVER ?? '/usr/bin/turnserver';

/** Why TURN tests cannot run here, or false. With PARLEY_REQUIRE_SERVICES=1 a missing coturn is an error. */
export function turnUnavailable(): string | false {
  if (existsSync(TURNSERVER)) return false;
  if (process.env.PARLEY_REQUIRE_SERVICES === '1')
    throw new Error(`${TURNSERVER} is required (PARLEY_REQUIRE_SERVICES=1): apt-get install coturn`);
  return `${TURNSERVER} not installed`;
}

/** A free UDP port on 127.0.0.1 (bound, read, released). */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** True when a STUN Binding request to 127.0.0.1:port gets a Binding success answer within 300 ms. */
export function answersStun(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    // RFC 5389 Binding request: type 0x0001, length 0, magic cookie, 12-byte transaction id.
    const request = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]), randomBytes(12)]);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 300);
    sock.on('message', (msg) =>
      done(msg.length >= 20 && msg.readUInt16BE(0) === 0x0101 && msg.subarray(8, 20).equals(request.subarray(8, 20))),
    );
    sock.on('error', () => done(false));
    sock.send(request, port, '127.0.0.1');
  });
}

/** A running turnserver. */
export interface TurnServer {
  port: number;
  secret: string;
  /** The URL to hand to clients (`PARLEY_TURN_URLS`). */
  url: string;
  proc: ChildProcess;
  /** What coturn logged so far. */
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Start coturn on 127.0.0.1 with a static auth secret; resolves once it listens. `args` adds
 * turnserver options (e.g. `--verbose`, or a relay port range).
 */
export async function startTurnServer(opts: {
  dir: string;
  secret: string;
  port?: number;
  args?: string[];
}): Promise<TurnServer> {
  const port = opts.port ?? (await freeUdpPort());
  const logFile = join(opts.dir, 'turnserver.log');
  const proc = spawn(
    TURNSERVER,
    [
      '--listening-ip=127.0.0.1',
      `--listening-port=${port}`,
      '--relay-ip=127.0.0.1',
      '--allow-loopback-peers',
      '--use-auth-secret',
      `--static-auth-secret=${opts.secret}`,
      '--realm=parley',
      '--fingerprint',
      '--no-cli',
      '--no-tls',
      '--no-dtls',
      '--no-tcp-relay',
      '--no-multicast-peers',
      `--userdb=${join(opts.dir, 'turndb')}`,
      `--pidfile=${join(opts.dir, 'turnserver.pid')}`,
      `--log-file=${logFile}`,
      '--simple-log',
      ...(opts.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  proc.stdout!.on('data', (d) => (output += d.toString()));
  proc.stderr!.on('data', (d) => (output += d.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const logs = () => output + (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const deadline = Date.now() + 15_000;
  while (!(await answersStun(port))) {
    if (proc.exitCode !== null) throw new Error(`turnserver exited early (${proc.exitCode}): ${logs()}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`turnserver did not answer STUN on 127.0.0.1:${port}: ${logs()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    secret: opts.secret,
    url: `turn:127.0.0.1:${port}?transport=udp`,
    proc,
    logs,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}
