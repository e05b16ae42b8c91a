/**
 * Sending (C3, C4): messages as the chat shows them. Records an outgoing message locally, shares
 * the profile key first where needed (writing in a chat accepts it), sends it through the outbox
 * and records the server's answer; media is encrypted and uploaded first. Also the receipts and
 * typing state this device sends.
 */
import {
  ParleyError,
  type BlobRef,
  type CallLogContent,
  type GeneratedLabel,
  type LinkPreview,
  type Quote,
} from '@parley/protocol';
import type { History, LocalMessage } from '../history.ts';
import { newClientMessageId } from '../random.ts';
import { openBlob, prepareAttachment, type SendMediaInput, type TransferOptions } from '../media.ts';
import type { Profiles } from '../profiles.ts';
import { contentOfShown, isNote, shownFields, type ShownContent } from './content.ts';
import type { Conversations } from './conversations.ts';
import type { ContentSender } from './outbox.ts';
import type { Session } from './session.ts';
import type { ClientEventSink } from './types.ts';
import type { Disappearing } from './disappearing.ts';

/** Sends a message as the chat shows it (what replies and forwards go out through). */
export interface ShownSender {
  sendShown(conversationId: string, content: ShownContent): Promise<LocalMessage>;
  /** Encrypt and upload a file, then send it with these fields (a reply's quote). */
  sendMediaWith(conversationId: string, input: SendMediaInput, extras: { replyTo?: Quote }): Promise<LocalMessage>;
}

/** Outgoing messages, receipts and typing of one device. */
export class Sending implements ShownSender {
  constructor(
    private readonly session: Session,
    private readonly history: History,
    private readonly sender: ContentSender,
    private readonly conversations: Conversations,
    private readonly profiles: Profiles,
    private readonly events: ClientEventSink,
    private readonly timers: Disappearing,
  ) {}

  /**
   * Send a text message; resolves once the server has stored it. It is in `messages()` at once as
   * `sending` (a `status` event says so); a send that fails stays there as `failed`. `preview` is
   * the preview of its first link (`makeLinkPreview`), sent inside the encrypted message.
   */
  sendText(conversationId: string, text: string, opts: { preview?: LinkPreview } = {}): Promise<LocalMessage> {
    return this.sendShown(conversationId, { type: 'text', text, ...(opts.preview ? { preview: opts.preview } : {}) });
  }

  /** Encrypt and upload a file, then send its reference; resolves once the server stored the message. */
  sendMedia(conversationId: string, input: SendMediaInput): Promise<LocalMessage> {
    return this.sendAttachment(conversationId, input, undefined);
  }

  /** `sendMedia` with a reply's quote (`MessageActions.replyWithMedia` checks the target first). */
  sendMediaWith(conversationId: string, input: SendMediaInput, extras: { replyTo?: Quote }): Promise<LocalMessage> {
    return this.sendAttachment(conversationId, input, undefined, extras);
  }

  /**
   * Send a generated image with its provenance label inside the encrypted content (C9). The imagine
   * path sends through here only, so no image it made leaves this device unlabelled.
   */
  sendGenerated(conversationId: string, input: SendMediaInput, generated: GeneratedLabel): Promise<LocalMessage> {
    return this.sendAttachment(conversationId, input, generated);
  }

  private async sendAttachment(
    conversationId: string,
    input: SendMediaInput,
    generated: GeneratedLabel | undefined,
    extras: { replyTo?: Quote } = {},
  ): Promise<LocalMessage> {
    this.session.device();
    this.refuseAwaitingRejoin(conversationId);
    // Under a timer the blob disappears with its message: the server gets the same expiry.
    const sentAt = this.timers.now();
    const expiresAt = this.timers.expiryFor(conversationId, sentAt);
    const attachment = await prepareAttachment(this.session.api, {
      ...input,
      ...(expiresAt !== undefined ? { expiresAt } : {}),
    });
    const content: ShownContent = {
      type: 'attachment',
      attachment,
      ...(generated ? { generated } : {}),
      ...(input.caption ? { caption: input.caption } : {}),
      ...(input.callId ? { callId: input.callId } : {}),
      ...(extras.replyTo ? { replyTo: extras.replyTo } : {}),
    };
    return this.sendShown(conversationId, content, sentAt);
  }

  /** Send a call's log entry; it shows in the chat like a message. */
  sendCallLog(conversationId: string, content: CallLogContent): Promise<LocalMessage> {
    return this.sendShown(conversationId, content);
  }

  /** Download an attachment (or its thumbnail), check its size and digest, then decrypt it. */
  downloadMedia(ref: BlobRef, opts: TransferOptions = {}): Promise<Uint8Array> {
    return openBlob(this.session.api, ref, opts);
  }

  /**
   * Record an outgoing message locally and show it at once as `sending` (a `status` event), then
   * send it and record the server's answer (texts, media, replies and forwards all come here).
   * While the socket is down the send waits for it, up to the request deadline; a send that fails
   * is kept as `failed` (another `status` event) for `retrySend` or `discardFailed`, and the error
   * is thrown. Under a disappearing-messages timer it carries its expiry: `sentAt` (default now)
   * plus the timer (C17).
   */
  async sendShown(conversationId: string, content: ShownContent, sentAt?: number): Promise<LocalMessage> {
    const d = this.session.device();
    this.refuseAwaitingRejoin(conversationId);
    const clientMessageId = newClientMessageId();
    const at = sentAt ?? this.timers.now();
    const expiresAt = this.timers.expiryFor(conversationId, at);
    const local: LocalMessage = {
      id: clientMessageId,
      clientMessageId,
      conversationId,
      from: d.accountId,
      fromDevice: d.deviceId,
      ...shownFields(content),
      sentAt: at,
      outgoing: true,
      status: 'sending',
      deliveredTo: [],
      readBy: [],
      ...(expiresAt !== undefined ? { expiresAt } : {}),
    };
    return this.deliver(local, content);
  }

  /**
   * A chat restored from a backup that this device has not been added back to (docs/portability.md)
   * has no MLS state here: refuse with `not_member` before anything is recorded as sending.
   */
  private refuseAwaitingRejoin(conversationId: string): void {
    if (this.history.conversation(conversationId)?.awaitingRejoin)
      throw new ParleyError('not_member', {
        message: 'This chat was restored from a backup; a member must add this account back before it can send.',
      });
  }

  /** Send a recorded outgoing message (first try or retry) and keep its outcome. */
  private async deliver(local: LocalMessage, content: ShownContent): Promise<LocalMessage> {
    const { conversationId, clientMessageId } = local;
    await this.history.upsertMessage(local);
    this.events.emit('status', local);
    let res;
    try {
      // Writing in a chat accepts it: its members get our profile key (end to end, once per key).
      const members = this.history.conversation(conversationId)?.members ?? [];
      await this.profiles.shareKey(conversationId, members);
      // The same client id on a retry: a first try the server stored after all is not stored twice.
      res = await this.sender.send(conversationId, content, {
        clientMessageId,
        sentAt: local.sentAt,
        ...(local.expiresAt !== undefined ? { expiresAt: local.expiresAt } : {}),
      });
    } catch (e) {
      const failed: LocalMessage = { ...local, status: 'failed' };
      await this.history.upsertMessage(failed);
      this.events.emit('status', failed);
      throw e;
    }
    // Writing accepted the chat; the receipts held until now follow the message, which shows the
    // other members that this device is online anyway.
    await this.conversations.accept(conversationId);
    const stored: LocalMessage = { ...local, id: res.messageId, seq: res.seq, serverTime: res.sentAt, status: 'sent' };
    await this.history.upsertMessage(stored);
    const conv = this.history.conversation(conversationId);
    if (conv) {
      conv.lastActivity = res.sentAt;
      await this.history.saveConversation(conv);
    }
    this.events.emit('status', stored);
    this.timers.schedule(stored.expiresAt);
    return stored;
  }

  /** This device's failed outgoing message `messageId`, or a `not_found`-style error. */
  private async failedMessage(conversationId: string, messageId: string): Promise<LocalMessage> {
    const m = (await this.history.messages(conversationId)).find((x) => x.id === messageId);
    if (!m || !m.outgoing || m.status !== 'failed')
      throw new ParleyError('bad_request', {
        message: 'Only a message that failed to send can be retried or discarded.',
      });
    return m;
  }

  /**
   * Send a message whose send failed (status `failed`) again, with its content and client message
   * id (the server stores it once even if an earlier try reached it); shows `sending`, then `sent`
   * or `failed` again. `bad_request` for any other message.
   */
  async retrySend(conversationId: string, messageId: string): Promise<LocalMessage> {
    const m = await this.failedMessage(conversationId, messageId);
    return this.deliver({ ...m, status: 'sending' }, contentOfShown(m));
  }

  /** Remove a message whose send failed from this device's history (`bad_request` for any other message). */
  async discardFailed(conversationId: string, messageId: string): Promise<void> {
    const m = await this.failedMessage(conversationId, messageId);
    await this.history.removeMessage(conversationId, m.id);
    this.events.emit('status', m);
  }

  /** Mark messages as read and tell their senders (encrypted read receipt). */
  async markRead(conversationId: string, messageIds: string[]): Promise<void> {
    if (!messageIds.length) return;
    await this.sender.send(conversationId, { type: 'receipt', receipt: 'read', messageIds });
    const conv = this.history.conversation(conversationId);
    if (conv && conv.unread) {
      conv.unread = 0;
      await this.conversations.save(conv);
    }
  }

  /** Tell the senders of voice or video notes that this account played them, once per note. */
  async markPlayed(conversationId: string, messageIds: string[]): Promise<void> {
    const d = this.session.device();
    if (!messageIds.length) return;
    await this.sender.send(conversationId, { type: 'receipt', receipt: 'played', messageIds });
    await this.history.updateMessages(conversationId, messageIds, (m) => {
      if (m.outgoing || !isNote(m) || m.playedBy?.includes(d.accountId)) return false;
      m.playedBy = [...(m.playedBy ?? []), d.accountId];
      return true;
    });
  }

  /** Tell the other members this device is (not) typing; never stored by the server. */
  async setTyping(conversationId: string, typing: boolean): Promise<void> {
    await this.sender.send(conversationId, { type: 'typing', typing }, { ephemeral: true });
  }
}
