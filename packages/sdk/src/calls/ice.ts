/** ICE plumbing shared by 1:1 calls (`call.ts`) and group calls (`group.ts`). */
import type { IceCandidateJson } from '@parley/protocol';
import type { IceCandidateLike } from './types.ts';

/**
 * Resolve once `pc` finished ICE gathering, or after `timeoutMs`: the candidates found by then
 * travel inside the local description, later ones trickle.
 */
export async function iceGathered(pc: { readonly iceGatheringState: string }, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (pc.iceGatheringState !== 'complete' && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}

/** A local candidate as it is sent: the `RTCIceCandidate.toJSON()` fields, absent ones as null. */
export function candidateJson(c: IceCandidateLike): IceCandidateJson {
  return { candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null };
}
