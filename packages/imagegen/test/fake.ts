/**
 * A local HTTP server for one provider's fake (C9 tests): records every request, answers with the
 * handler, and closes with its sockets (a handler that never answers leaves one open on purpose).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderPattern } from '@parley/imagegen';

/** One request the fake saw. */
export interface Hit {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: unknown;
}

/** A running fake. */
export interface Fake {
  readonly base: string;
  readonly hits: Hit[];
  close(): Promise<void>;
}

export type Handler = (hit: Hit, res: ServerResponse, url: URL, base: string) => unknown;

/** Starts a fake on a free port of 127.0.0.1. */
export async function startFake(handler: Handler): Promise<Fake> {
  const hits: Hit[] = [];
  let base = '';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        /* not JSON: kept as text */
      }
      const url = new URL(req.url ?? '/', base);
      const hit = { method: req.method ?? 'GET', path: url.pathname, headers: req.headers, body };
      hits.push(hit);
      void Promise.resolve(handler(hit, res, url, base)).catch((e: unknown) => {
        res.statusCode = 500;
        res.end(String(e));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Answers JSON. */
export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** A small real PNG standing in for a generated image. */
export const SAMPLE_PNG = renderPattern('fake provider output', 7, 16, 12).bytes;

/** Answers the sample PNG. */
export function png(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(SAMPLE_PNG.length) });
  res.end(Buffer.from(SAMPLE_PNG));
}

/** The scenario a fake plays, chosen by a word in the prompt. */
export type Scenario =
  'ok' | 'refuse' | 'ratelimit' | 'ratelimit-long' | 'garbage' | 'poll-garbage' | 'hang' | 'expire' | 'stall';

export function scenarioOf(prompt: unknown): Scenario {
  const p = String(prompt ?? '');
  for (const s of [
    'ratelimit-long',
    'ratelimit',
    'refuse',
    'poll-garbage',
    'garbage',
    'hang',
    'expire',
    'stall',
  ] as const)
    if (p.includes(s)) return s;
  return 'ok';
}
