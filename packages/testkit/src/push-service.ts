/**
 * A local Web Push service for tests and the bench (C18): the part of RFC 8030 an application
 * server talks to. It hands out subscriptions (an endpoint plus a P-256 key pair and an auth
 * secret it keeps, standing in for the browser), takes `POST`s to those endpoints, checks what a
 * real push service checks (a `TTL` header, a valid `Urgency`, `Content-Encoding: aes128gcm`, and
 * a VAPID `Authorization` whose ES256 JWT (RFC 8292) verifies under the key it names, for this
 * origin, unexpired), and answers `201 Created` with a `Location`. It then decrypts the body as the
 * browser would (RFC 8291 over RFC 8188) and records the plaintext, so tests can prove the payload
 * is encrypted for the subscription and say exactly what it holds.
 *
 * Real push services are run by browser vendors and cannot be reached here; this one follows the
 * RFCs and is what the server's push tests, the bench and docs/notifications.md rely on.
 */
import { createECDH, createDecipheriv, createHmac, createPublicKey, randomBytes, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A subscription as a browser's `PushSubscription.toJSON()` gives it. */
export interface LocalSubscription {
  endpoint: string;
  expirationTime: null;
  keys: { p256dh: string; auth: string };
}

/** One push the service accepted, decrypted. */
export interface ReceivedPush {
  /** Which subscription it was for (the last path segment of the endpoint). */
  id: string;
  ttl: number;
  urgency: string;
  topic: string | null;
  /** The VAPID public key the request was signed with (base64url). */
  vapidKey: string;
  /** The JWT's claims. */
  claims: { aud: string; exp: number; sub: string };
  /** Bytes on the wire (the encrypted body). */
  bodyBytes: number;
  /** The decrypted payload. */
  plaintext: Buffer;
  receivedAt: number;
}

/** A request the service refused, and why (tests assert that none happened). */
export interface RejectedPush {
  id: string;
  status: number;
  reason: string;
}

/** How the service answers one subscription: normally, `gone` (410), `missing` (404), or `hang` (never). */
export type SubscriptionMode = 'ok' | 'gone' | 'missing' | 'hang';

/** A running local push service. */
export interface LocalPushService {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly received: ReceivedPush[];
  readonly rejected: RejectedPush[];
  /** A new subscription (its private key stays here, to decrypt what arrives for it). */
  subscribe(): LocalSubscription;
  /** Change how the service answers a subscription's endpoint. */
  setMode(endpoint: string, mode: SubscriptionMode): void;
  /** Resolves once `n` pushes were accepted in all, or rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedPush[]>;
  close(): Promise<void>;
}

interface Sub {
  ecdh: ReturnType<typeof createECDH>;
  publicKey: Buffer;
  auth: Buffer;
  mode: SubscriptionMode;
}

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');

/** Start a local push service on 127.0.0.1; `expectKey` (base64url), when given, is the only VAPID key it accepts. */
export async function startLocalPushService(opts: { expectKey?: string } = {}): Promise<LocalPushService> {
  const subs = new Map<string, Sub>();
  const received: ReceivedPush[] = [];
  const rejected: RejectedPush[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const hanging = new Set<ServerResponse>();
  let seq = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  function refuse(res: ServerResponse, id: string, status: number, reason: string): void {
    rejected.push({ id, status, reason });
    res.writeHead(status, { 'content-type': 'text/plain' }).end(reason);
  }

  function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const m = /^\/push\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '');
    const id = m?.[1] ?? '';
    const sub = subs.get(id);
    if (req.method !== 'POST' || !sub) return refuse(res, id, 404, 'no such subscription');
    if (sub.mode === 'gone') return refuse(res, id, 410, 'subscription expired');
    if (sub.mode === 'missing') return refuse(res, id, 404, 'subscription not found');
    if (sub.mode === 'hang') {
      hanging.add(res);
      return;
    }
    // RFC 8030 §5.2: TTL is required.
    const ttlText = req.headers['ttl'];
    if (typeof ttlText !== 'string' || !/^\d+$/.test(ttlText)) return refuse(res, id, 400, 'missing or bad TTL');
    const urgency = (req.headers['urgency'] as string | undefined) ?? 'normal';
    if (!['very-low', 'low', 'normal', 'high'].includes(urgency)) return refuse(res, id, 400, 'bad Urgency');
    const topic = (req.headers['topic'] as string | undefined) ?? null;
    if (topic !== null && !/^[A-Za-z0-9_-]{1,32}$/.test(topic)) return refuse(res, id, 400, 'bad Topic');
    if (req.headers['content-encoding'] !== 'aes128gcm') return refuse(res, id, 415, 'not aes128gcm');
    const vapid = checkVapid(req.headers['authorization'], url, opts.expectKey);
    if (typeof vapid === 'string') return refuse(res, id, vapid.startsWith('key') ? 403 : 401, vapid);
    let plaintext: Buffer;
    try {
      plaintext = decrypt(body, sub);
    } catch (e) {
      return refuse(res, id, 400, `does not decrypt: ${(e as Error).message}`);
    }
    const msgId = `msg${++seq}`;
    received.push({
      id,
      ttl: Number(ttlText),
      urgency,
      topic,
      vapidKey: vapid.key,
      claims: vapid.claims,
      bodyBytes: body.length,
      plaintext,
      receivedAt: Date.now(),
    });
    res.writeHead(201, { location: `${url}/message/${msgId}` }).end();
    for (let i = waiters.length - 1; i >= 0; i--)
      if (received.length >= waiters[i]!.n) waiters.splice(i, 1)[0]!.resolve();
  }

  return {
    url,
    received,
    rejected,
    subscribe() {
      const id = randomBytes(12).toString('base64url');
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const sub: Sub = { ecdh, publicKey: ecdh.getPublicKey(), auth: randomBytes(16), mode: 'ok' };
      subs.set(id, sub);
      return {
        endpoint: `${url}/push/${id}`,
        expirationTime: null,
        keys: { p256dh: b64u(sub.publicKey), auth: b64u(sub.auth) },
      };
    },
    setMode(endpoint, mode) {
      const sub = subs.get(endpoint.slice(endpoint.lastIndexOf('/') + 1));
      if (!sub) throw new Error(`no subscription ${endpoint}`);
      sub.mode = mode;
    },
    waitFor(n, timeoutMs = 10_000) {
      if (received.length >= n) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`push service got ${received.length} of ${n} pushes (${rejected.length} refused)`)),
          timeoutMs,
        );
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve(received);
          },
        });
      });
    },
    async close() {
      for (const r of hanging) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Check an RFC 8292 `vapid t=…, k=…` header; the key and claims, or why it fails. */
function checkVapid(
  header: string | undefined,
  origin: string,
  expectKey: string | undefined,
): { key: string; claims: { aud: string; exp: number; sub: string } } | string {
  const m = /^vapid t=([A-Za-z0-9_.-]+), ?k=([A-Za-z0-9_-]+)$/.exec(header ?? '');
  if (!m) return 'missing vapid Authorization';
  const [, jwt, k] = m as unknown as [string, string, string];
  if (expectKey !== undefined && k !== expectKey) return 'key is not the expected server key';
  const parts = jwt.split('.');
  if (parts.length !== 3) return 'JWT is not three parts';
  const [h, p, s] = parts as [string, string, string];
  let head: { typ?: string; alg?: string };
  let claims: { aud?: unknown; exp?: unknown; sub?: unknown };
  try {
    head = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    return 'JWT does not parse';
  }
  if (head.alg !== 'ES256') return 'JWT alg is not ES256';
  const raw = Buffer.from(k, 'base64url');
  if (raw.length !== 65 || raw[0] !== 4) return 'k is not an uncompressed P-256 key';
  const key = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64u(raw.subarray(1, 33)), y: b64u(raw.subarray(33)) },
    format: 'jwk',
  });
  const ok = verify(
    'sha256',
    Buffer.from(`${h}.${p}`),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(s, 'base64url'),
  );
  if (!ok) return 'JWT signature does not verify';
  if (claims.aud !== origin) return `JWT aud ${String(claims.aud)} is not ${origin}`;
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp !== 'number' || claims.exp <= now || claims.exp > now + 24 * 3600)
    return 'JWT exp is not within the next 24 hours';
  if (typeof claims.sub !== 'string' || !/^(mailto:|https:)/.test(claims.sub))
    return 'JWT sub is not mailto: or https:';
  return { key: k, claims: { aud: claims.aud, exp: claims.exp, sub: claims.sub } };
}

const hmac = (key: Buffer, data: Buffer) => createHmac('sha256', key).update(data).digest();

/** Decrypt an aes128gcm body (RFC 8188) with the keys RFC 8291 derives for this subscription. */
function decrypt(body: Buffer, sub: Sub): Buffer {
  if (body.length < 21) throw new Error('too short');
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20]!;
  if (idlen !== 65) throw new Error('keyid is not a 65-byte public key');
  const asPublic = body.subarray(21, 21 + idlen);
  const ciphertext = body.subarray(21 + idlen);
  if (rs < 18 || ciphertext.length > rs) throw new Error('more than one record');
  const ecdhSecret = sub.ecdh.computeSecret(asPublic);
  const prkKey = hmac(sub.auth, ecdhSecret);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), sub.publicKey, asPublic]);
  const ikm = hmac(prkKey, Buffer.concat([keyInfo, Buffer.from([1])]));
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01')).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01')).subarray(0, 12);
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (end < 0 || padded[end] !== 2) throw new Error('no last-record delimiter');
  return padded.subarray(0, end);
}
