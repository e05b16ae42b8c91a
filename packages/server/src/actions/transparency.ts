/**
 * Key-transparency reads (C13, docs/key-transparency.md). Heads, head history and consistency
 * proofs are public so anyone can audit the log without an account (limited per address); an
 * account's binding proof needs a device and is limited per requester and target, like every
 * per-target fetch.
 */
import { ParleyError, KT_HEADS_PAGE, toB64 } from '@parley/protocol';
import type { AuthedCaller, Caller, ServerContext } from '../context.ts';
import type { KtHeadRow } from '../storage/types.ts';
import { enforceLimit } from './limits.ts';

const WINDOW = 10 * 60_000;

/** The wire form of a signed head. */
function headOut(h: KtHeadRow) {
  return { treeSize: h.treeSize, rootHash: toB64(h.rootHash), timestamp: h.timestamp, signature: toB64(h.signature) };
}

function keysOut(ctx: ServerContext) {
  const k = ctx.transparency.publicKeys();
  return { logKey: toB64(k.logKey), labelKey: toB64(k.labelKey) };
}

function publicRead(ctx: ServerContext, caller: Caller): Promise<void> {
  return enforceLimit(ctx, `kt:ip:${caller.ip}`, { limit: ctx.config.ktReadsPerIp, windowMs: WINDOW });
}

/** The newest signed tree head (re-signed at least hourly) with the log and label public keys. */
export async function head(ctx: ServerContext, caller: Caller) {
  await publicRead(ctx, caller);
  return { head: headOut(await ctx.transparency.currentHead()), ...keysOut(ctx) };
}

/** Every published head with treeSize >= from, a page at a time, oldest first. */
export async function heads(ctx: ServerContext, caller: Caller, query: { from: number }) {
  await publicRead(ctx, caller);
  const rows = await ctx.storage.keyTransparency.listKtHeads(query.from, KT_HEADS_PAGE + 1);
  const page = rows.slice(0, KT_HEADS_PAGE);
  return { heads: page.map(headOut), next: rows.length > KT_HEADS_PAGE ? page.at(-1)!.treeSize + 1 : null };
}

/** The RFC 9162 consistency proof from tree size `from` to `to`. */
export async function consistency(ctx: ServerContext, caller: Caller, query: { from: number; to: number }) {
  await publicRead(ctx, caller);
  const proof = await ctx.transparency.consistency(query.from, query.to);
  return { from: query.from, to: query.to, proof: proof.map((p) => toB64(p)) };
}

/** An account's newest binding, its label proof and its inclusion proof against the newest head. */
export async function proof(ctx: ServerContext, caller: AuthedCaller, accountId: string) {
  await enforceLimit(ctx, `kt:proof:${caller.accountId}:${accountId}`, {
    limit: ctx.config.ktProofsPerTarget,
    windowMs: WINDOW,
  });
  if (!(await ctx.storage.accounts.getAccount(accountId))) throw new ParleyError('account_not_found');
  const p = await ctx.transparency.proof(accountId);
  return {
    accountId,
    label: toB64(p.label),
    labelProof: toB64(p.labelProof),
    leaf: { index: p.leaf.index, identityKey: toB64(p.leaf.identityKey), version: p.leaf.version, time: p.leaf.time },
    inclusion: p.inclusion.map((h) => toB64(h)),
    head: headOut(p.head),
    ...keysOut(ctx),
  };
}
