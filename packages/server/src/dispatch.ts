/**
 * The one dispatcher (C3, C19): HTTP routes and WebSocket frames both reach the handler table
 * (`ops.ts`) through `dispatch`, so every op meets the same checks in the same order whatever
 * carried it: the op is looked up among the table's own properties, an op that needs a device
 * refuses a caller without one, the binary payload is required or refused and held to the op's
 * limit, the input is parsed (or taken as is when the op's `accepts` fast check passes), and the
 * action runs. Transports only turn their bytes into `(caller, op, body, payload)` and the result
 * into an answer.
 *
 * `dispatch` is not `async` on purpose: on the send path it adds no promise and no await of its
 * own, the caller awaits the action's promise directly. A check that fails throws synchronously,
 * which an `await` in the caller's `try` catches like a rejection.
 */
import { LIMITS, ParleyError } from '@parley/protocol';
import type { Caller, ServerContext } from './context.ts';
import { OPS, type OpSpec } from './ops.ts';

/** What `dispatch` resolves to when the op succeeded and asked for no answer (a quiet ack on a socket). */
export const NO_ANSWER: unique symbol = Symbol('no answer');

const EMPTY = new Uint8Array(0);
const noAnswer = (): typeof NO_ANSWER => NO_ANSWER;

/**
 * The op named `name`, or `unknown_op`. Own properties only: `constructor`, `toString`,
 * `__proto__` and the rest that every object inherits are not ops.
 */
export function lookupOp(name: string): OpSpec {
  const spec = Object.hasOwn(OPS, name) ? (OPS as Record<string, OpSpec>)[name] : undefined;
  if (!spec) throw new ParleyError('unknown_op', { details: { op: name } });
  return spec;
}

/**
 * The largest payload `spec` takes from this transport: over HTTP the route's body limit (Fastify
 * enforces it before the body is read), over WebSocket the op's `maxPayload`.
 */
export function payloadLimit(spec: OpSpec, transport: Caller['transport']): number {
  return transport === 'http'
    ? (spec.http?.bodyLimit ?? LIMITS.httpBodyBytes)
    : (spec.maxPayload ?? LIMITS.ciphertextBytes);
}

/**
 * Run op `name` for `caller` with the transport's `body` (unparsed) and binary `payload` (null when
 * the request carried none). Resolves to the action's answer, or `NO_ANSWER` for a request that
 * asked for none; throws or rejects with the error to answer.
 */
export function dispatch(
  ctx: ServerContext,
  caller: Caller,
  name: string,
  body: unknown,
  payload: Uint8Array | null,
): Promise<unknown> {
  const spec = lookupOp(name);
  if (spec.auth && caller.deviceId === undefined) throw new ParleyError('unauthenticated');
  if (spec.payload && !payload) {
    throw caller.transport === 'http'
      ? new ParleyError('unsupported_media_type', {
          message: 'This route takes the bytes as `application/octet-stream`.',
        })
      : new ParleyError('bad_frame', { message: `Op ${name} needs a binary frame with a payload.` });
  }
  if (!spec.payload && payload && payload.length)
    throw new ParleyError('bad_frame', { message: `Op ${name} takes no payload.` });
  if (payload) {
    const maxBytes = payloadLimit(spec, caller.transport);
    if (payload.length > maxBytes) throw new ParleyError('payload_too_large', { details: { op: name, maxBytes } });
  }
  const input: unknown = spec.accepts?.(body) ? body : spec.input.parse(body ?? {});
  const run = spec.run(ctx, caller, input, payload ?? EMPTY);
  // Only a socket can leave a request unanswered: an HTTP request always gets its response.
  return spec.quiet && caller.transport !== 'http' && spec.quiet(input) ? run.then(noAnswer) : run;
}
