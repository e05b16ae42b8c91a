/**
 * The development outbox route (C1, C19): `GET /dev/outbox` shows the verification codes the
 * `dev-outbox` sender "sent". Whoever reads it can register any number, so it answers only the
 * operator: a request carrying the token printed at start (`Authorization: Bearer <token>`), or a
 * request from this machine while the server listens on loopback by default (PARLEY_HOST unset).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ParleyError } from '@parley/protocol';
import type { Config } from '../config/index.ts';
import type { DevOutboxSender } from '../services/sender.ts';

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;

/** Headers a reverse proxy adds: a loopback request carrying one was relayed from elsewhere. */
const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip'];

function sameToken(given: string, expected: string): boolean {
  // Compare digests so the comparison takes the same time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * True when `req` may read the outbox: it carries the operator token, or it comes straight from
 * loopback (no proxy header) and the listen address was left at its loopback default.
 */
export function mayReadOutbox(req: FastifyRequest, config: Config, token: string): boolean {
  const m = /^Bearer (\S{1,200})$/.exec(req.headers.authorization ?? '');
  if (m?.[1] !== undefined) return sameToken(m[1], token);
  if (config.host !== undefined) return false;
  if (PROXY_HEADERS.some((h) => req.headers[h] !== undefined)) return false;
  return LOOPBACK.test(req.ip);
}

/** Register `GET /dev/outbox[?to=+E164]` for the dev-outbox sender. */
export function registerDevOutbox(app: FastifyInstance, config: Config, outbox: DevOutboxSender): void {
  app.get('/dev/outbox', async (req) => {
    if (!mayReadOutbox(req, config, outbox.readToken)) throw new ParleyError('dev_outbox_forbidden');
    const to = (req.query as Record<string, unknown>).to;
    const entries = typeof to === 'string' ? outbox.entries.filter((e) => e.to === to) : outbox.entries;
    return { messages: entries };
  });
}
