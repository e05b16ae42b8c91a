/**
 * Maps anything thrown by a handler to a catalogued error (C19): schema failures become
 * `bad_request` with the offending fields, unknown exceptions become `internal` (logged, never
 * echoed), and 429s carry their wait.
 */
import { ZodError } from 'zod';
import { ParleyError } from '@parley/protocol';
import type { Logger } from 'pino';

/** Turn any thrown value into a ParleyError. */
export function toParleyError(err: unknown, log: Logger, requestId?: string): ParleyError {
  if (err instanceof ParleyError) return err;
  if (err instanceof ZodError) {
    return new ParleyError('bad_request', {
      details: err.issues.slice(0, 20).map((i) => ({ path: i.path.join('.'), problem: i.message })),
    });
  }
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (e?.statusCode === 413 || e?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new ParleyError('payload_too_large');
  if (e?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new ParleyError('unsupported_media_type');
  if (
    e?.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
    e?.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
    err instanceof SyntaxError
  ) {
    return new ParleyError('bad_request', { details: { problem: 'body is not valid JSON' } });
  }
  // Fastify's own refusals of a request (bad URL, bad Content-Length, a body cut short, …) are the
  // client's fault: mapped by status, never reported as `internal`.
  const status = e?.statusCode;
  if (
    typeof e?.code === 'string' &&
    e.code.startsWith('FST_ERR_') &&
    typeof status === 'number' &&
    status >= 400 &&
    status < 500
  ) {
    return byStatus(status, e.message);
  }
  log.error({ err, requestId }, 'unhandled error');
  return new ParleyError('internal');
}

/** The catalogued error for a client error status from the framework or the HTTP parser. */
export function byStatus(status: number, problem?: string): ParleyError {
  switch (status) {
    case 404:
      return new ParleyError('not_found');
    case 408:
      return new ParleyError('request_timeout');
    case 413:
      return new ParleyError('payload_too_large');
    case 415:
      return new ParleyError('unsupported_media_type');
    case 431:
      return new ParleyError('headers_too_large');
    default:
      return new ParleyError('bad_request', problem ? { details: { problem } } : {});
  }
}
