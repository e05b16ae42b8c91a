/**
 * A webhook receiver for the Business API's tests (C10): answers the verification handshake for
 * its verify token, records each accepted POST's raw bytes and signature header, and can refuse
 * POSTs (any status) or hold them unanswered, to play a receiver that is down.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';

/** A webhook receiver: answers the handshake, records every POST's raw bytes and headers. */
export interface Receiver {
  url: string;
  verifyToken: string;
  posts: { raw: Buffer; signature: string | undefined; json: Record<string, unknown> }[];
  /** Answer POSTs with this status (200 = accept; 0 = never answer). */
  status: number;
  close(): Promise<void>;
}

export async function startReceiver(verifyToken = 'shrub-verify'): Promise<Receiver> {
  const r: Receiver = { url: '', verifyToken, posts: [], status: 200, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET') {
      const ok =
        u.searchParams.get('hub.mode') === 'subscribe' && u.searchParams.get('hub.verify_token') === verifyToken;
      res.writeHead(ok ? 200 : 403).end(ok ? (u.searchParams.get('hub.challenge') ?? '') : 'no');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = r.status;
      if (status === 0) return;
      if (status === 200) {
        const raw = Buffer.concat(chunks);
        const sig = req.headers['x-hub-signature-256'];
        r.posts.push({
          raw,
          signature: typeof sig === 'string' ? sig : undefined,
          json: JSON.parse(raw.toString('utf8')),
        });
      }
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  r.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/hook`;
  r.close = () =>
    new Promise((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    });
  return r;
}

/** Independent check of the signature: HMAC-SHA256 of the received bytes under the app secret. */
export function signatureValid(appSecret: string, raw: Buffer, header: string | undefined): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const want = createHmac('sha256', appSecret).update(raw).digest();
  const got = Buffer.from(header.slice('sha256='.length), 'hex');
  return got.length === want.length && timingSafeEqual(got, want);
}

/** Every value of the webhook posts (`entry[].changes[].value`). */
export function values(r: Receiver): Record<string, unknown>[] {
  return r.posts.flatMap((p) =>
    (p.json.entry as { changes: { value: Record<string, unknown> }[] }[]).flatMap((e) => e.changes.map((c) => c.value)),
  );
}
