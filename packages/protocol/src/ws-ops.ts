/**
 * The ops a client sends over the WebSocket (C3, C6), each with its body and answer schema: the
 * SDK's socket types requests by op name from this table and validates every answer against it,
 * as its HTTP client does with each route's response schema.
 */
import { z } from 'zod';
import {
  ackBody,
  ackResponse,
  commitBody,
  commitResponse,
  helloBody,
  helloResponse,
  pingBody,
  sendBody,
  sendResponse,
} from './frames.ts';
import {
  callAnswerBody,
  callCandidateBody,
  callJoinBody,
  callLeaveBody,
  callOfferSchema,
  callOkResponse,
  iceServersBody,
  iceServersResponse,
} from './call-ops.ts';

/** The answer to `ping`: the server's clock, for skew estimates. */
export const pingResponse = z.object({ serverTime: z.number() });

/** WebSocket ops by name: the body a client sends and the answer it gets. */
export const WS_OPS = {
  hello: { body: helloBody, response: helloResponse },
  send: { body: sendBody, response: sendResponse },
  commit: { body: commitBody, response: commitResponse },
  ack: { body: ackBody, response: ackResponse },
  ping: { body: pingBody, response: pingResponse },
  iceServers: { body: iceServersBody, response: iceServersResponse },
  callJoin: { body: callJoinBody, response: callOfferSchema },
  callAnswer: { body: callAnswerBody, response: callOkResponse },
  callCandidate: { body: callCandidateBody, response: callOkResponse },
  callLeave: { body: callLeaveBody, response: callOkResponse },
} as const satisfies Record<string, { body: z.ZodType; response: z.ZodType }>;

/** The name of an op in `WS_OPS`. */
export type WsOpName = keyof typeof WS_OPS;
/** What a client passes as the body of op `O` (defaults still optional). */
export type WsOpBody<O extends WsOpName> = z.input<(typeof WS_OPS)[O]['body']>;
/** The validated answer to op `O`. */
export type WsOpAnswer<O extends WsOpName> = z.infer<(typeof WS_OPS)[O]['response']>;

/** True when `op` is one of `WS_OPS` (own properties only). */
export function isWsOpName(op: string): op is WsOpName {
  return Object.hasOwn(WS_OPS, op);
}
