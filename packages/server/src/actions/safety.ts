/**
 * Blocking and reporting (C15, docs/privacy.md). The block list is its owner's: only the owner's
 * devices read or change it, and a change reaches the send path at once (`ctx.blocks`). A report
 * stores what the reporter's device chose to send: the server never decrypts anything for it.
 */
import { ParleyError, SAFETY_LIMITS, type ReportCategory } from '@parley/protocol';
import type { AuthedCaller, ServerContext } from '../context.ts';
import { DAY, HOUR } from '../durations.ts';
import { newId } from '../ids.ts';
import { enforceLimit } from './limits.ts';

/** The other account must exist and not be the caller. */
async function requireOther(ctx: ServerContext, caller: AuthedCaller, accountId: string): Promise<void> {
  if (accountId === caller.accountId) throw new ParleyError('cannot_block_self');
  if (!(await ctx.storage.accounts.getAccount(accountId))) throw new ParleyError('account_not_found');
}

const blockRule = { limit: SAFETY_LIMITS.blockChangesPerHour, windowMs: HOUR };

/** Add an account to the caller's block list (idempotent). */
export async function block(ctx: ServerContext, caller: AuthedCaller, accountId: string) {
  await enforceLimit(ctx, `block:${caller.accountId}`, blockRule);
  await requireOther(ctx, caller, accountId);
  const blockedAt = ctx.now();
  const ok = await ctx.storage.safety.block(
    { accountId: caller.accountId, blockedAccountId: accountId, createdAt: blockedAt },
    SAFETY_LIMITS.blockedAccounts,
  );
  ctx.blocks.changed(caller.accountId);
  if (!ok) throw new ParleyError('block_list_full');
  return { accountId, blocked: true };
}

/** Remove an account from the caller's block list (idempotent). */
export async function unblock(ctx: ServerContext, caller: AuthedCaller, accountId: string) {
  await enforceLimit(ctx, `block:${caller.accountId}`, blockRule);
  if (accountId === caller.accountId) throw new ParleyError('cannot_block_self');
  await ctx.storage.safety.unblock(caller.accountId, accountId);
  ctx.blocks.changed(caller.accountId);
  return { accountId, blocked: false };
}

/** The caller's block list, newest first: readable by its owner's devices only. */
export async function listBlocked(ctx: ServerContext, caller: AuthedCaller) {
  const rows = await ctx.storage.safety.listBlocked(caller.accountId);
  return { blocked: rows.map((r) => ({ accountId: r.blockedAccountId, blockedAt: r.createdAt })) };
}

/** File a report about an account, with the messages the reporter's device included; optionally block too. */
export async function fileReport(
  ctx: ServerContext,
  caller: AuthedCaller,
  body: {
    accountId: string;
    conversationId?: string | undefined;
    category: ReportCategory;
    reason: string;
    messages: { messageId: string; sender: string; sentAt: number; text: string }[];
    block: boolean;
  },
) {
  await enforceLimit(ctx, `report:${caller.accountId}`, { limit: SAFETY_LIMITS.reportsPerDay, windowMs: DAY });
  await requireOther(ctx, caller, body.accountId);
  if (body.conversationId !== undefined) {
    // A report names a conversation only the reporter's device is in.
    const routing = await ctx.routing.get(body.conversationId);
    if (!routing?.devices.some((d) => d.deviceId === caller.deviceId)) throw new ParleyError('conversation_not_found');
  }
  const createdAt = ctx.now();
  const reportId = newId('rp');
  await ctx.storage.safety.putReport({
    id: reportId,
    reporterAccount: caller.accountId,
    reportedAccount: body.accountId,
    conversationId: body.conversationId ?? null,
    category: body.category,
    reason: body.reason,
    messages: body.messages,
    createdAt,
  });
  let blocked = false;
  if (body.block) {
    blocked = await ctx.storage.safety.block(
      { accountId: caller.accountId, blockedAccountId: body.accountId, createdAt },
      SAFETY_LIMITS.blockedAccounts,
    );
    ctx.blocks.changed(caller.accountId);
  }
  return { reportId, createdAt, blocked };
}
