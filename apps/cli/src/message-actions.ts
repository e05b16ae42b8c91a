/**
 * `parley react`, `edit`, `delete`, `forward` and `send --reply-to` (C15), and what `receive` prints
 * of replies, reactions, edits and deletions. Every action is end to end: the SDK checks it here
 * and every receiving device checks it again.
 */
import { ParleyError, type LocalMessage, type ParleyClient } from '@parley/sdk';
import { need, opt, UsageError, type ParsedArgs } from './args.ts';
import { existingConversation } from './addresses.ts';

/** How main.ts names conversations and accounts on the command line. */
export interface Addressing {
  /** The address `send --to` accepts for a conversation. */
  addressOf(conversationId: string): Promise<string>;
  /** An account from `+E164`, `@name.42`, `account:ID` or a bare id. */
  resolveAccount(who: string): Promise<string>;
  /** A conversation to send into (a direct chat is opened if needed). */
  resolveTarget(to: string): Promise<string>;
}

/** The conversation holding message `id` (run receive first so this device has it). */
async function conversationOf(client: ParleyClient, id: string): Promise<string> {
  for (const c of client.conversations()) if ((await client.messages(c.id)).some((m) => m.id === id)) return c.id;
  throw new ParleyError('message_not_found', { message: `No message ${id} on this device (run receive first).` });
}

/** Who reacted with what, people by number where this device knows it. */
async function reactionsOf(client: ParleyClient, m: LocalMessage) {
  const out: { from: string; fromAccount: string; emoji: string }[] = [];
  for (const r of m.reactions ?? [])
    out.push({ from: (await client.phoneOf(r.from)) ?? `account:${r.from}`, fromAccount: r.from, emoji: r.emoji });
  return out;
}

/** Fields a message line gets for its quote, forward mark, reactions, edit and deletion. */
export async function actionFields(client: ParleyClient, m: LocalMessage): Promise<Record<string, unknown>> {
  return {
    ...(m.replyTo
      ? {
          replyTo: {
            message: m.replyTo.messageId,
            from: (await client.phoneOf(m.replyTo.from)) ?? `account:${m.replyTo.from}`,
            excerpt: m.replyTo.excerpt,
            ...(m.replyTo.deleted ? { deleted: true } : {}),
          },
        }
      : {}),
    ...(m.forwarded ? { forwarded: true } : {}),
    ...(m.reactions?.length ? { reactions: await reactionsOf(client, m) } : {}),
    ...(m.editedAt !== undefined ? { editedAt: m.editedAt } : {}),
    ...(m.deletedAt !== undefined ? { deleted: true, deletedAt: m.deletedAt } : {}),
  };
}

/** What `receive` last printed of a message's changeable state. */
export function stateOf(m: LocalMessage): string {
  const reactions = (m.reactions ?? []).map((r) => `${r.from}:${r.emoji}`).sort();
  return JSON.stringify([reactions, m.editedAt ?? null, m.deletedAt ?? null]);
}

/** The state of a message nothing happened to yet. */
export const UNCHANGED = JSON.stringify([[], null, null]);

/**
 * Lines for what changed since `before` (a `stateOf` value): a deletion says only that; otherwise
 * an edit and a change of reactions each get a line.
 */
export async function changeLines(
  client: ParleyClient,
  m: LocalMessage,
  before: string,
  conversation: string,
): Promise<Record<string, unknown>[]> {
  const [oldReactions, oldEdit, oldDelete] = JSON.parse(before) as [string[], number | null, number | null];
  const [reactions, editedAt, deletedAt] = JSON.parse(stateOf(m)) as [string[], number | null, number | null];
  const where = { message: m.id, conversation, conversationId: m.conversationId };
  if (deletedAt !== null) return oldDelete === null ? [{ change: 'delete', ...where, deletedAt }] : [];
  const lines: Record<string, unknown>[] = [];
  if (editedAt !== oldEdit) lines.push({ change: 'edit', ...where, text: m.text, editedAt });
  if (JSON.stringify(reactions) !== JSON.stringify(oldReactions))
    lines.push({ change: 'reaction', ...where, reactions: await reactionsOf(client, m) });
  return lines;
}

/** `send --reply-to ID`: the message to reply to, checked before anything is sent. */
export function replyToArg(args: ParsedArgs): string | undefined {
  const id = opt(args, 'reply-to');
  if (args.flags.get('reply-to') === true) throw new UsageError('--reply-to needs a message id');
  if (id !== undefined && args.flags.has('file')) throw new UsageError('--reply-to goes with --message, not --file');
  return id;
}

/** `react`, `edit`, `delete` and `forward`; prints one JSON line. */
export async function messageAction(
  client: ParleyClient,
  args: ParsedArgs,
  names: Addressing,
  out: (o: unknown) => void,
): Promise<void> {
  const cmd = args.words[0];
  const id = need(args, 'message');
  if (cmd === 'forward') {
    const from = await conversationOf(client, id);
    const to = await names.resolveTarget(need(args, 'to'));
    const m = await client.forward(from, id, to);
    out({
      id: m.id,
      conversation: await names.addressOf(to),
      conversationId: to,
      forwardedFrom: id,
      sentAt: m.serverTime ?? m.sentAt,
    });
    return;
  }
  const conv = await existingConversation(client, need(args, 'to'), (w) => names.resolveAccount(w));
  const where = { message: id, conversation: await names.addressOf(conv), conversationId: conv };
  if (cmd === 'react') {
    const m = await client.react(conv, id, args.flags.get('remove') === true ? null : need(args, 'emoji'));
    out({ ...where, reactions: await reactionsOf(client, m) });
  } else if (cmd === 'edit') {
    const m = await client.editMessage(conv, id, need(args, 'text'));
    out({ ...where, text: m.text, editedAt: m.editedAt });
  } else {
    const everyone = args.flags.get('for-everyone') === true;
    if (everyone) await client.deleteForEveryone(conv, id);
    else await client.deleteForMe(conv, id);
    out({ ...where, deleted: everyone ? 'for-everyone' : 'for-me' });
  }
}

/** Usage errors of the action commands, found before anything connects. */
export function checkActionArgs(args: ParsedArgs): void {
  const cmd = args.words[0];
  need(args, 'message');
  need(args, 'to');
  if (cmd === 'react') {
    const remove = args.flags.get('remove') === true;
    if (remove === args.flags.has('emoji')) throw new UsageError('react needs --emoji E or --remove (not both)');
    if (!remove) need(args, 'emoji');
  }
  if (cmd === 'edit') need(args, 'text');
}
