/**
 * `parley block`, `unblock`, `blocked` and `report` (C15). The block list lives on the server, so
 * every device of the account honours it; a report sends the operator the messages this device
 * decrypted and chose to include (`--messages N`, default 5), the only content the operator sees.
 */
import type { ParleyClient } from '@parley/sdk';
import { SAFETY_LIMITS } from '@parley/protocol';
import { need, opt, UsageError, type ParsedArgs } from './args.ts';

/** How the CLI names things it prints and resolves: a number when known, else `account:ID`. */
export interface SafetyAddressing {
  resolveAccount(who: string): Promise<string>;
  addressOfAccount(accountId: string): Promise<string>;
}

/** `block --to WHO` / `unblock --to WHO`: prints `{account, accountId, blocked}`. */
export async function blockCommand(client: ParleyClient, args: ParsedArgs, blocked: boolean, a: SafetyAddressing) {
  const to = need(args, 'to');
  const accountId = await a.resolveAccount(to);
  if (blocked) await client.block(accountId);
  else await client.unblock(accountId);
  return { account: to, accountId, blocked };
}

/** `blocked`: one line per blocked account, newest first: `{account, accountId, blockedAt}`. */
export async function blockedCommand(client: ParleyClient, a: SafetyAddressing) {
  const rows = [];
  for (const b of await client.blockedAccounts())
    rows.push({ account: await a.addressOfAccount(b.accountId), accountId: b.accountId, blockedAt: b.blockedAt });
  return rows;
}

/**
 * `report --to WHO [--reason TEXT] [--messages N] [--block]`: includes the last N (default 5)
 * messages from the direct chat with WHO, as this device shows them; prints the report's id.
 */
export async function reportCommand(client: ParleyClient, args: ParsedArgs, a: SafetyAddressing) {
  const to = need(args, 'to');
  const raw = opt(args, 'messages') ?? '5';
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > SAFETY_LIMITS.reportMessages)
    throw new UsageError(`--messages takes a whole number from 0 to ${SAFETY_LIMITS.reportMessages}`);
  const reason = opt(args, 'reason');
  const accountId = await a.resolveAccount(to);
  const chat = client.conversations().find((c) => c.kind === 'direct' && c.peer === accountId && c.active);
  const r = await client.report({
    accountId,
    ...(chat ? { conversationId: chat.id, messages: n } : {}),
    ...(reason ? { category: 'other' as const, reason } : {}),
    block: args.flags.get('block') === true,
  });
  return { account: to, accountId, reportId: r.reportId, messages: chat ? n : 0, blocked: r.blocked };
}
