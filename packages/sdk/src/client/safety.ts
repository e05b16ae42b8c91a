/**
 * Blocking and reporting (C15). The block list lives on the server, so every linked device honours
 * it: the server stops routing direct messages from a blocked account, and this device keeps a copy
 * (refreshed at each connect and on every change made here) to drop what still arrives from a
 * blocked account (defence in depth) and to mark a blocked member's messages in groups. A report
 * sends the operator what this device decrypted and the user chose to include; nothing else.
 */
import { SAFETY_LIMITS, type ReportCategory, type ReportResult, type ReportedMessage } from '@parley/protocol';
import type { History, LocalMessage } from '../history.ts';
import type { DeviceStore } from '../store/types.ts';
import type { Session } from './session.ts';
import type { ClientEventSink } from './types.ts';

const KEY = 'safety:blocked';

/** What `report` takes: the account, and optionally the chat, its last messages, a reason and a block. */
export interface ReportOptions {
  accountId: string;
  /** The chat the report is about; its last `messages` messages from others are included. */
  conversationId?: string;
  /** How many of the chat's last messages from others to include (default 5; 0 for none). */
  messages?: number;
  category?: ReportCategory;
  reason?: string;
  /** Also block the account. */
  block?: boolean;
}

/** Whether a blocked account's delivery is dropped or kept (collapsed) on this device. */
export type BlockedVerdict = 'drop' | 'hide' | 'keep';

/** The block list of this device's account, and reports. */
export class Safety {
  private blocked = new Set<string>();

  constructor(
    private readonly session: Session,
    private readonly store: DeviceStore,
    private readonly history: History,
    private readonly events: ClientEventSink,
  ) {}

  /** Load the copy this device kept. */
  async load(): Promise<void> {
    this.blocked = new Set((await this.store.get<string[]>(KEY)) ?? []);
  }

  /** True when this account has blocked `accountId` (as this device last learnt). */
  isBlocked(accountId: string): boolean {
    return this.blocked.has(accountId);
  }

  /** Block an account: nothing from it reaches this account's devices until `unblock`. */
  async block(accountId: string): Promise<void> {
    await this.session.api.block(accountId);
    await this.note(accountId, true);
  }

  /** Unblock an account: its messages are delivered again (what it sent meanwhile is not). */
  async unblock(accountId: string): Promise<void> {
    await this.session.api.unblock(accountId);
    await this.note(accountId, false);
  }

  /** The block list as the server holds it, newest first (this device's copy follows it). */
  async blockedAccounts(): Promise<{ accountId: string; blockedAt: number }[]> {
    const { blocked } = await this.session.api.listBlocked();
    const next = new Set(blocked.map((b) => b.accountId));
    const changed = [...next].filter((a) => !this.blocked.has(a)).concat([...this.blocked].filter((a) => !next.has(a)));
    this.blocked = next;
    await this.store.set(KEY, [...next]);
    for (const a of changed) this.events.emit('blocked', { accountId: a, blocked: next.has(a) });
    return blocked;
  }

  /**
   * Report an account to the server's operator. With a conversation, the last `messages` (default
   * 5) messages from others in it are decrypted text on this device and sent in clear with the
   * report: the only way the operator ever sees content.
   */
  async report(opts: ReportOptions): Promise<ReportResult> {
    const included = opts.conversationId ? await this.lastMessages(opts.conversationId, opts.messages ?? 5) : [];
    const result = await this.session.api.fileReport({
      accountId: opts.accountId,
      ...(opts.conversationId ? { conversationId: opts.conversationId } : {}),
      ...(opts.category ? { category: opts.category } : {}),
      ...(opts.reason ? { reason: opts.reason } : {}),
      messages: included,
      block: opts.block ?? false,
    });
    if (result.blocked) await this.note(opts.accountId, true);
    return result;
  }

  /** What this device does with a delivery from `from` in a chat of `kind`. */
  verdict(from: string, kind: 'direct' | 'group' | undefined): BlockedVerdict {
    if (!this.blocked.has(from)) return 'keep';
    return kind === 'group' ? 'hide' : 'drop';
  }

  private async lastMessages(conversationId: string, n: number): Promise<ReportedMessage[]> {
    const count = Math.max(0, Math.min(n, SAFETY_LIMITS.reportMessages));
    if (!count) return [];
    const list = (await this.history.messages(conversationId)).filter((m) => !m.outgoing && m.deletedAt === undefined);
    return list.slice(-count).map((m) => ({
      messageId: m.id,
      sender: m.from,
      sentAt: m.serverTime ?? m.sentAt,
      text: describe(m).slice(0, SAFETY_LIMITS.reportMessageChars),
    }));
  }

  private async note(accountId: string, blocked: boolean): Promise<void> {
    if (blocked === this.blocked.has(accountId)) return;
    if (blocked) this.blocked.add(accountId);
    else this.blocked.delete(accountId);
    await this.store.set(KEY, [...this.blocked]);
    this.events.emit('blocked', { accountId, blocked });
  }
}

/** A message as a report shows it: its text, with the kind of any attachment. */
function describe(m: LocalMessage): string {
  if (!m.attachment) return m.text;
  const kind = m.attachment.kind;
  return m.text ? `[${kind}] ${m.text}` : `[${kind}]`;
}
