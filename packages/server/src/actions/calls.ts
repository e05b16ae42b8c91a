/**
 * Call actions (C6, C8): ICE servers for any call, and the signalling of group calls hosted by the
 * SFU in `services/calls.ts`. Inputs arrive parsed by the schemas in `@parley/protocol`
 * (`call-ops.ts`); authorization happens in the service, inside the SFU's admission hook.
 */
import type { z } from 'zod';
import type { callAnswerBody, callCandidateBody, callJoinBody, callLeaveBody } from '@parley/protocol';
import type { AuthedCaller, ServerContext } from '../context.ts';

/** STUN and TURN servers for this device, TURN with credentials that expire after `ttlSeconds`. */
export async function iceServers(ctx: ServerContext, caller: AuthedCaller) {
  return ctx.calls.iceServers(caller);
}

/** Join a conversation's group call; answers the SFU's first offer. */
export async function callJoin(ctx: ServerContext, caller: AuthedCaller, body: z.infer<typeof callJoinBody>) {
  return ctx.calls.join(caller, body);
}

/** Answer the SFU's latest offer. */
export async function callAnswer(ctx: ServerContext, caller: AuthedCaller, body: z.infer<typeof callAnswerBody>) {
  return ctx.calls.answer(caller, body);
}

/** Trickle one ICE candidate to the SFU. */
export async function callCandidate(ctx: ServerContext, caller: AuthedCaller, body: z.infer<typeof callCandidateBody>) {
  return ctx.calls.candidate(caller, body);
}

/** Hang up. */
export async function callLeave(ctx: ServerContext, caller: AuthedCaller, body: z.infer<typeof callLeaveBody>) {
  return ctx.calls.leave(caller, body);
}
