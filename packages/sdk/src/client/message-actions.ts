/**
 * Message actions (C3, C15): reply, react, edit, delete (for this device or for everyone) and
 * forward, all end to end inside the MLS content (`message-actions.ts` in the protocol). The same
 * checks run before this device sends an action and when one arrives: only a member acts, only the
 * sender edits or deletes for everyone and only within the window (server times on both sides), and
 * a deleted or unknown message takes nothing. An action that fails them changes nothing and is
 * reported as an `action-ignored` event with the reason.
 */
import {
  MESSAGE_ACTION_LIMITS,
  ParleyError,
  isSingleEmoji,
  businessMessageSchema,
  businessMessageText,
  type BusinessMessage,
  type DeleteContent,
  type DeliverEvent,
  type EditContent,
  type MessageReactionContent,
  type Quote,
} from '@parley/protocol';
import type { History, LocalMessage } from '../history.ts';
import { reuploadAttachment, type SendMediaInput, type TransferOptions } from '../media.ts';
import type { ShownContent } from './content.ts';
import type { ContentSender } from './outbox.ts';
import type { ShownSender } from './sending.ts';
import type { Session } from './session.ts';
import type { ClientEventSink, MessageActionWindows } from './types.ts';

/** The contents this service applies on receipt. */
export type ActionContent = MessageReactionContent | EditContent | DeleteContent;

/** Who acts on which message, when (the server's time of the action), under which windows. */
interface ActionCheck {
  action: 'reaction' | 'edit' | 'delete' | 'reply' | 'forward';
  from: string;
  at: number;
  members: readonly string[] | undefined;
  windows: MessageActionWindows;
}

/**
 * Why an action on `target` is refused, or null when it may be applied. Pure, so sending and
 * receiving apply exactly the same rule.
 */
export function actionRefusal(target: LocalMessage | undefined, check: ActionCheck): string | null {
  if (!target) return 'unknown target message';
  if (check.members && !check.members.includes(check.from)) return 'sender is not a member of the conversation';
  if (target.deletedAt !== undefined) return 'target message was deleted';
  if (target.serverTime === undefined) return 'target message is not stored by the server yet';
  if (check.action === 'reaction' || check.action === 'reply') return null;
  if (target.callLog) return `a call entry cannot be ${PAST[check.action]}`;
  if (check.action === 'forward') return null;
  if (target.from !== check.from) return `only the sender may ${check.action} a message`;
  const windowMs = check.action === 'edit' ? check.windows.editMs : check.windows.deleteMs;
  if (check.at - target.serverTime > windowMs) return `outside the ${check.action} window (${duration(windowMs)})`;
  return null;
}

const PAST = { edit: 'edited', delete: 'deleted', forward: 'forwarded' } as const;

/** A window as people read it: hours, or seconds for the short ones tests use. */
function duration(ms: number): string {
  return ms >= 3_600_000 ? `${+(ms / 3_600_000).toFixed(1)} h` : `${+(ms / 1000).toFixed(1)} s`;
}

/** The quote a reply carries: the target's id, sender and the start of its text. */
export function quoteOf(target: LocalMessage): Quote {
  // Whole characters only: an emoji is never cut in half.
  let excerpt = '';
  // A call entry has no text: the quote names the call.
  const text = target.callLog ? (target.callLog.media === 'video' ? 'Video call' : 'Voice call') : target.text;
  for (const ch of text) {
    if (excerpt.length + ch.length > MESSAGE_ACTION_LIMITS.excerptChars) break;
    excerpt += ch;
  }
  return {
    messageId: target.id,
    from: target.from,
    excerpt,
    ...(target.attachment ? { kind: target.attachment.kind } : {}),
  };
}

/** Reply, react, edit, delete and forward for one device, and applying them when they arrive. */
export class MessageActions {
  readonly windows: MessageActionWindows;

  constructor(
    private readonly session: Session,
    private readonly history: History,
    private readonly sender: ContentSender,
    private readonly shown: ShownSender,
    private readonly events: ClientEventSink,
    windows: Partial<MessageActionWindows> = {},
  ) {
    this.windows = {
      editMs: windows.editMs ?? MESSAGE_ACTION_LIMITS.editWindowMs,
      deleteMs: windows.deleteMs ?? MESSAGE_ACTION_LIMITS.deleteWindowMs,
    };
  }

  // ---------- this device acts

  /**
   * Send a text replying to `messageId`: it carries the quoted message's id, sender and up to 200
   * characters of its text. `message_not_found` / `message_action_refused` (deleted, not stored yet).
   */
  async reply(conversationId: string, messageId: string, text: string): Promise<LocalMessage> {
    // Receivers refuse an empty or oversized text, so it must not be stored here as sent either.
    if (!text || text.length > 65536)
      throw new ParleyError('bad_request', { message: 'A reply needs 1 to 65,536 characters of text.' });
    const target = await this.checked(conversationId, messageId, 'reply');
    return this.shown.sendShown(conversationId, { type: 'text', text, replyTo: quoteOf(target) });
  }

  /**
   * Reply to a message with a file, picture or note (its caption, if any, is the reply's text):
   * the same quote as a text reply, checked the same way before anything is uploaded.
   */
  async replyWithMedia(conversationId: string, messageId: string, input: SendMediaInput): Promise<LocalMessage> {
    const target = await this.checked(conversationId, messageId, 'reply');
    return this.shown.sendMediaWith(conversationId, input, { replyTo: quoteOf(target) });
  }

  /**
   * Send a business message (C10, docs/business.md): a location, contact cards, reply buttons or a
   * list, media by link; or, to a business, the button or list row the user tapped
   * (`interactive-reply`). Checked against the protocol's bounds before anything is sent; it
   * carries its readable rendering as text and, with `replyTo`, the quote of that message.
   */
  async sendBusiness(
    conversationId: string,
    message: BusinessMessage,
    opts: { replyTo?: string } = {},
  ): Promise<LocalMessage> {
    const parsed = businessMessageSchema.safeParse(message);
    if (!parsed.success) throw new ParleyError('bad_request', { message: 'Not a valid business message.' });
    const target = opts.replyTo ? await this.checked(conversationId, opts.replyTo, 'reply') : null;
    return this.shown.sendShown(conversationId, {
      type: 'business',
      message: parsed.data,
      text: businessMessageText(parsed.data),
      ...(target ? { replyTo: quoteOf(target) } : {}),
    });
  }

  /**
   * Stop (`stop`) or allow again (`resume`) a business's promotional messages (C10, docs/business.md
   * "Opting out"): a `marketing-preference` business message in the direct chat with the business,
   * end-to-end encrypted like any message. Only the business's device reads it; the platform
   * learns it from that device (hosted mode) and then refuses the number's MARKETING templates.
   */
  async setBusinessMarketing(conversationId: string, value: 'stop' | 'resume'): Promise<LocalMessage> {
    return this.sendBusiness(conversationId, { kind: 'marketing-preference', value });
  }

  /**
   * React to any message with exactly one emoji (replacing this account's earlier reaction to it),
   * or take the reaction back with `null`. Resolves with the message as now stored here.
   */
  async react(conversationId: string, messageId: string, emoji: string | null): Promise<LocalMessage> {
    if (emoji !== null && !isSingleEmoji(emoji))
      throw new ParleyError('bad_request', { message: 'A reaction is exactly one emoji.' });
    const target = await this.checked(conversationId, messageId, 'reaction');
    const content: MessageReactionContent = { type: 'message-reaction', messageId: target.id, emoji };
    return this.sendAndApply(conversationId, content);
  }

  /**
   * Replace the text (or caption) of one of this account's messages, within the edit window (24 h
   * after it was stored); every device keeps only the latest text and shows "edited" (`editedAt`).
   */
  async editMessage(conversationId: string, messageId: string, text: string): Promise<LocalMessage> {
    if (!text || text.length > 65536)
      throw new ParleyError('bad_request', { message: 'The new text must be 1 to 65,536 characters.' });
    const target = await this.checked(conversationId, messageId, 'edit');
    return this.sendAndApply(conversationId, { type: 'edit', messageId: target.id, text });
  }

  /**
   * Delete one of this account's messages for everyone, within the delete window: every device
   * replaces it with "This message was deleted" and drops its text and attachment key. Its
   * attachment's blob is deleted from the server too (best effort: only its uploader may).
   */
  async deleteForEveryone(conversationId: string, messageId: string): Promise<LocalMessage> {
    const target = await this.checked(conversationId, messageId, 'delete');
    const deleted = await this.sendAndApply(conversationId, { type: 'delete', messageId: target.id });
    for (const blob of [target.attachment, target.attachment?.thumbnail])
      if (blob) await this.session.api.deleteBlob(blob.id).catch(() => undefined);
    return deleted;
  }

  /** Remove any message from this device only (a `message-removed` event); nothing is sent. */
  async deleteForMe(conversationId: string, messageId: string): Promise<void> {
    const removed = await this.history.removeMessage(conversationId, messageId);
    if (!removed)
      throw new ParleyError('message_not_found', { message: `This device holds no message ${messageId} there.` });
    this.events.emit('message-removed', { conversationId, messageId: removed.id });
  }

  /**
   * Send a copy of a message's text or attachment into another chat, marked "Forwarded". An
   * attachment is fetched, decrypted and uploaded again under a fresh key.
   */
  async forward(
    conversationId: string,
    messageId: string,
    toConversationId: string,
    opts: TransferOptions = {},
  ): Promise<LocalMessage> {
    const target = await this.checked(conversationId, messageId, 'forward');
    if (!this.history.conversation(toConversationId)?.active)
      throw new ParleyError('conversation_not_found', {
        message: `No active conversation ${toConversationId} on this device.`,
      });
    const content: ShownContent = target.attachment
      ? {
          type: 'attachment',
          attachment: await reuploadAttachment(this.session.api, target.attachment, opts),
          ...(target.text ? { caption: target.text } : {}),
          // A generated image stays labelled wherever it is forwarded.
          ...(target.generated ? { generated: target.generated } : {}),
          forwarded: true,
        }
      : { type: 'text', text: target.text, forwarded: true, ...(target.preview ? { preview: target.preview } : {}) };
    return this.shown.sendShown(toConversationId, content);
  }

  /** The target, or the error that says why this device may not act on it. */
  private async checked(
    conversationId: string,
    messageId: string,
    action: ActionCheck['action'],
  ): Promise<LocalMessage> {
    const d = this.session.device();
    const target = await this.history.message(conversationId, messageId);
    if (!target)
      throw new ParleyError('message_not_found', { message: `This device holds no message ${messageId} there.` });
    const reason = actionRefusal(target, {
      action,
      from: d.accountId,
      at: Date.now(),
      members: this.history.conversation(conversationId)?.members,
      windows: this.windows,
    });
    if (reason) throw new ParleyError('message_action_refused', { message: `Refused: ${reason}.` });
    return target;
  }

  /** Send an action, then apply it here with the server's time of the send (as receivers do). */
  private async sendAndApply(conversationId: string, content: ActionContent): Promise<LocalMessage> {
    const d = this.session.device();
    const res = await this.sender.send(conversationId, content);
    const outcome = await this.apply(conversationId, content, d.accountId, res.sentAt);
    if (typeof outcome === 'string')
      throw new ParleyError('message_action_refused', { message: `Sent, but refused here: ${outcome}.` });
    return outcome;
  }

  // ---------- an action arrives

  /** Apply a reaction, edit or delete that arrived; a refused one changes nothing and is reported. */
  async receive(event: DeliverEvent, content: ActionContent): Promise<void> {
    const outcome = await this.apply(event.conversationId, content, event.sender.accountId, event.sentAt);
    if (typeof outcome === 'string')
      this.events.emit('action-ignored', {
        conversationId: event.conversationId,
        messageId: event.messageId,
        from: event.sender.accountId,
        type: content.type,
        target: content.messageId,
        reason: outcome,
      });
  }

  /** A reply arrived: if this device knows the quoted message was deleted, drop the excerpt. */
  async quoteArrived(m: LocalMessage): Promise<void> {
    if (!m.replyTo) return;
    const quoted = await this.history.message(m.conversationId, m.replyTo.messageId);
    if (quoted?.deletedAt === undefined) return;
    const [changed] = await this.history.updateMessages(m.conversationId, [m.id], (x) => dropQuote(x));
    if (changed) Object.assign(m, changed);
  }

  /** Apply one action by `from` at server time `at`; the changed message, or why nothing changed. */
  private async apply(
    conversationId: string,
    content: ActionContent,
    from: string,
    at: number,
  ): Promise<LocalMessage | string> {
    const action = content.type === 'message-reaction' ? 'reaction' : content.type;
    const members = this.history.conversation(conversationId)?.members;
    let reason: string | null = 'unknown target message';
    const [changed] = await this.history.updateMessages(conversationId, [content.messageId], (m) => {
      reason = actionRefusal(m, { action, from, at, members, windows: this.windows });
      if (reason) return false;
      switch (content.type) {
        case 'message-reaction': {
          const earlier = m.reactions?.find((r) => r.from === from);
          // Deliveries come in order; this only keeps a late copy from undoing a newer choice.
          if (earlier && earlier.at > at) {
            reason = 'a newer reaction from the sender is applied';
            return false;
          }
          const rest = (m.reactions ?? []).filter((r) => r.from !== from);
          m.reactions = content.emoji === null ? rest : [...rest, { from, emoji: content.emoji, at }];
          if (!m.reactions.length) delete m.reactions;
          return true;
        }
        case 'edit':
          if ((m.editedAt ?? 0) > at) {
            reason = 'a newer edit is applied';
            return false;
          }
          m.text = content.text;
          m.editedAt = at;
          return true;
        case 'delete':
          m.text = '';
          m.deletedAt = at;
          for (const k of [
            'attachment',
            'generated',
            'replyTo',
            'reactions',
            'editedAt',
            'forwarded',
            'callId',
            'callLog',
            'preview',
          ] as const)
            delete m[k];
          return true;
        default: {
          const never: never = content;
          throw new Error(`unknown action ${JSON.stringify(never)}`);
        }
      }
    });
    if (!changed) return reason ?? 'unknown target message';
    this.events.emit('message-changed', { message: changed, change: action });
    if (content.type === 'delete') await this.dropQuotesOf(conversationId, changed.id);
    return changed;
  }

  /** Replies quoting a message deleted for everyone lose its excerpt too. */
  private async dropQuotesOf(conversationId: string, messageId: string): Promise<void> {
    const ids = (await this.history.messages(conversationId))
      .filter((m) => m.replyTo?.messageId === messageId && !m.replyTo.deleted)
      .map((m) => m.id);
    if (!ids.length) return;
    for (const m of await this.history.updateMessages(conversationId, ids, dropQuote))
      this.events.emit('message-changed', { message: m, change: 'quote' });
  }
}

/** Keep who and what was quoted, but not its words. */
function dropQuote(m: LocalMessage): boolean {
  if (!m.replyTo || m.replyTo.deleted) return false;
  m.replyTo = { messageId: m.replyTo.messageId, from: m.replyTo.from, excerpt: '', deleted: true };
  return true;
}
