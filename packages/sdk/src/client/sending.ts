/**
 * Sending (C3, C4): messages as the chat shows them. Records an outgoing message locally, shares
 * the profile key first where needed (writing in a chat accepts it), sends it through the outbox
 * and records the server's answer; media is encrypted and uploaded first. Also the receipts and
 * typing state this device sends.
 */
import type { BlobRef, CallLogContent } from '@parley/protocol';
import type { History, LocalMessage } from '../history.ts';
import { newClientMessageId } from '../random.ts';
import { openBlob, prepareAttachment, type SendMediaInput, type TransferOptions } from '../media.ts';
import type { Profiles } from '../profiles.ts';
import { isNote, shownFields, type ShownContent } from './content.ts';
import type { Conversations } from './conversations.ts';
import type { ContentSender } from './outbox.ts';
import type { Session } from './session.ts';
import type { ClientEventSink } from './types.ts';

/** Sends a message as the chat shows it (what replies and forwards go out through). */
export interface ShownSender {
  sendShown(conversationId: string, content: ShownContent): Promise<LocalMessage>;
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
  ) {}

  /** Send a text message; resolves once the server has stored it. */
  sendText(conversationId: string, text: string): Promise<LocalMessage> {
    return this.sendShown(conversationId, { type: 'text', text });
  }

  /** Encrypt and upload a file, then send its reference; resolves once the server stored the message. */
  async sendMedia(conversationId: string, input: SendMediaInput): Promise<LocalMessage> {
    this.session.device();
    const attachment = await prepareAttachment(this.session.api, input);
    const content: ShownContent = {
      type: 'attachment',
      attachment,
      ...(input.caption ? { caption: input.caption } : {}),
      ...(input.callId ? { callId: input.callId } : {}),
    };
    return this.sendShown(conversationId, content);
  }

  /** Send a call's log entry; it shows in the chat like a message. */
  sendCallLog(conversationId: string, content: CallLogContent): Promise<LocalMessage> {
    return this.sendShown(conversationId, content);
  }

  /** Download an attachment (or its thumbnail), check its size and digest, then decrypt it. */
  downloadMedia(ref: BlobRef, opts: TransferOptions = {}): Promise<Uint8Array> {
    return openBlob(this.session.api, ref, opts);
  }

  /** Record an outgoing message locally, send it, and record the server's answer (replies and forwards too). */
  async sendShown(conversationId: string, content: ShownContent): Promise<LocalMessage> {
    const d = this.session.device();
    // Writing in a chat accepts it: its members get our profile key (end to end, once per key).
    const members = this.history.conversation(conversationId)?.members ?? [];
    await this.profiles.shareKey(conversationId, members);
    const clientMessageId = newClientMessageId();
    const sentAt = Date.now();
    const local: LocalMessage = {
      id: clientMessageId,
      clientMessageId,
      conversationId,
      from: d.accountId,
      fromDevice: d.deviceId,
      ...shownFields(content),
      sentAt,
      outgoing: true,
      status: 'sending',
      deliveredTo: [],
      readBy: [],
    };
    await this.history.upsertMessage(local);
    const res = await this.sender.send(conversationId, content, { clientMessageId, sentAt });
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
    return stored;
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
