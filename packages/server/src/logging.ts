/**
 * Structured logs (C19): JSON lines from pino, with secrets and personal data redacted before a
 * line is written. Device and admin tokens, verification codes, PINs and phone numbers must never
 * reach a log file: logs are copied to places (aggregators, tickets, backups) that are far less
 * guarded than the database, and a token in a log is a login.
 *
 * Redaction is by field name, so every log call that passes such a value must use one of the names
 * below (`phone`, `to`, `token`, `code`, `pin`, …). Request logging goes through `reqSerializer`,
 * which keeps the path but blanks sensitive query parameters (the dev outbox takes `?to=<phone>`)
 * and logs no headers at all; `req.headers.authorization` is in the redaction list as well, in case
 * a future serializer adds headers.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

/** What a redacted value is replaced with. */
export const REDACTED = '[Redacted]';

/** Field names whose values are secrets or personal data, at the top level of a log object or one level down. */
const SECRET_FIELDS = [
  'phone',
  'to',
  'token',
  'code',
  'pin',
  'registrationLockPin',
  'authorization',
  'password',
  'secret',
];

/**
 * pino redaction paths: each secret field at the top level and one object down (`body.phone`,
 * `admin.token`), plus request and reply headers that carry credentials. `err.code` is left alone
 * on purpose: it is the error's kind (`ECONNREFUSED`), and `code` one level down would otherwise
 * blank it; a verification code never travels inside an error.
 */
export const REDACT_PATHS: string[] = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.filter((f) => f !== 'code').map((f) => `*.${f}`),
  'body.code',
  'input.code',
  'req.body.code',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'res.headers["set-cookie"]',
];

/** Query parameters whose values are blanked in logged URLs. */
const SECRET_QUERY = new Set(['to', 'phone', 'token', 'code', 'pin']);

/** A URL as it may be logged: the path, and the query with sensitive values replaced. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  const parts: string[] = [];
  for (const [k, v] of params)
    parts.push(`${encodeURIComponent(k)}=${SECRET_QUERY.has(k.toLowerCase()) ? REDACTED : encodeURIComponent(v)}`);
  return `${url.slice(0, q)}?${parts.join('&')}`;
}

/** What Fastify logs of a request: method, redacted URL, client address; never headers or body. */
export function reqSerializer(req: { method?: string; url?: string; ip?: string; socket?: { remotePort?: number } }) {
  return {
    method: req.method,
    url: redactUrl(req.url ?? ''),
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/** The server's root logger: JSON lines at `level` to `destination` (stdout by default), redacted. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { svc: 'parley' },
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    serializers: { req: reqSerializer, err: pino.stdSerializers.err },
  };
  return destination ? pino(options, destination) : pino(options);
}
