/**
 * Receiving (C2, C3, C6–C8, C12): what each delivery does. Welcomes join a group (again, after a
 * removal), commits advance it (or record that this device was removed, and by whom), and
 * application messages are decrypted and applied: messages into the history, receipts onto
 * outgoing messages, reactions, edits and deletes onto stored messages (`MessageActions`), typing
 * and profile keys as events, call contents to the call layer.
 * Each delivery is de-duplicated by message id and recorded as seen once its effect is stored;
 * the connection then acknowledges it.
 */
import { ParleyError, envelopeSchema, type DeliverEvent } from '@parley/protocol';
import type { History, LocalMessage } from '../history.ts';
import type { CallLayerContent, CallManager } from '../calls/index.ts';
import type { Profiles } from '../profiles.ts';
import { isNote, shownFields } from './content.ts';
import type { DeliveryHandler } from './connection.ts';
import type { Conversations } from './conversations.ts';
import type { Groups } from './groups.ts';
import type { MessageActions } from './message-actions.ts';
import type { Safety } from './safety.ts';
import type { Session } from './session.ts';
import { reportError, type ClientEventSink } from './types.ts';
import type { Disappearing } from './disappearing.ts';

/** Applies deliveries to one device's state. */
export class Receiving implements DeliveryHandler {
  constructor(
    private readonly session: Session,
    private readonly history: History,
    private readonly groups: Groups,
    private readonly conversations: Conversations,
    private readonly profiles: Profiles,
    private readonly calls: CallManager,
    private readonly actions: MessageActions,
    private readonly safety: Safety,
    private readonly events: ClientEventSink,
    private readonly timers: Disappearing,
  ) {}

  /** Handle one delivery; never throws (an unprocessable one is reported and recorded as seen). */
  async process(event: DeliverEvent, payload: Uint8Array): Promise<void> {
    try {
      if (!event.ephemeral && (await this.history.wasSeen(event.conversationId, event.messageId))) return;
      switch (event.kind) {
        case 'welcome':
          await this.onWelcome(event, payload);
          break;
        case 'commit':
          await this.onCommit(event, payload);
          break;
        case 'application':
          await this.onApplication(event, payload);
          break;
        default: {
          const never: never = event.kind;
          throw new Error(`unknown delivery kind ${String(never)}`);
        }
      }
      if (!event.ephemeral) await this.history.markSeen(event.conversationId, event.messageId);
    } catch (error) {
      // A delivery that cannot be processed now will not be processable later either: record it
      // and acknowledge, so one bad message does not block the queue forever.
      this.events.emit('error', { error, context: `deliver ${event.kind} ${event.messageId}` });
      if (!event.ephemeral) await this.history.markSeen(event.conversationId, event.messageId).catch(() => undefined);
    }
  }

  /** Hand a call content to the call layer, with the sender MLS authenticated. */
  private toCalls(event: DeliverEvent, content: CallLayerContent): Promise<void> {
    return this.calls.receive(
      event.conversationId,
      { accountId: event.sender.accountId, deviceId: event.sender.deviceId },
      content,
      { messageId: event.messageId, serverTime: event.sentAt },
    );
  }

  private async onWelcome(event: DeliverEvent, payload: Uint8Array): Promise<void> {
    const d = this.session.device();
    // The Welcome starts the epoch after the one its commit was built on (the event's epoch). A
    // Welcome not used (a duplicate, or overtaken) changes nothing unless this device is a member.
    const joined = await this.groups.join(event.conversationId, payload, event.epoch + 1);
    if (!joined && !(await this.groups.isMember(event.conversationId))) return;
    // Added (or added back): `refresh` marks the chat active and forgets any earlier removal.
    await this.conversations.refresh(event.conversationId);
    if (joined) await this.conversations.addedBy(event.conversationId, event.sender.accountId, event.sentAt);
    // Another device of this account opened the chat: the account accepted it.
    if (event.sender.accountId === d.accountId) await this.conversations.accept(event.conversationId);
    // A Welcome used up one of this device's KeyPackages.
    void this.session.replenishKeyPackages().catch(reportError(this.events, 'keypackages'));
  }

  private async onCommit(event: DeliverEvent, payload: Uint8Array): Promise<void> {
    this.session.device();
    const r = await this.groups.applyCommit(event, payload);
    if (r.removed)
      await this.conversations.deactivate(event.conversationId, {
        at: event.sentAt,
        // Who removed this device is known when this commit did it (not a commit found catching up).
        ...(r.byThisCommit ? { by: event.sender.accountId } : {}),
      });
    // Members the commit added or removed (as the routing table now says) become system lines.
    else await this.conversations.refresh(event.conversationId, { by: event.sender.accountId, at: event.sentAt });
  }

  private async onApplication(event: DeliverEvent, payload: Uint8Array): Promise<void> {
    const d = this.session.device();
    const plaintext = await this.groups.decrypt(event, payload);
    const parsed = envelopeSchema.safeParse(JSON.parse(new TextDecoder().decode(plaintext)));
    if (!parsed.success) throw new ParleyError('bad_request', { message: 'undecodable content' });
    const { content, sentAt, expiresAt } = parsed.data;
    const from = event.sender.accountId;
    // From a blocked account (C15): nothing in a direct chat (the server should not have routed it);
    // in a group only its messages, kept collapsed, and its leaving; no calls, typing, receipts,
    // reactions or profile keys.
    const verdict = this.safety.verdict(from, this.history.conversation(event.conversationId)?.kind);
    if (verdict === 'drop') return;
    if (
      verdict === 'hide' &&
      !['text', 'attachment', 'business', 'leave', 'group-meta', 'edit', 'delete', 'timer'].includes(content.type)
    )
      return;
    switch (content.type) {
      case 'text':
      case 'attachment':
      case 'business':
      case 'call-log': {
        // A disappearing message that expired before it arrived (this device was offline past its
        // expiry, and the server had not swept it yet) is never shown or stored (C17).
        if (this.timers.expired(expiresAt)) {
          if (content.type === 'call-log') await this.toCalls(event, content);
          break;
        }
        const m: LocalMessage = {
          id: event.messageId,
          conversationId: event.conversationId,
          from,
          fromDevice: event.sender.deviceId,
          ...shownFields(content),
          sentAt,
          serverTime: event.sentAt,
          seq: event.seq,
          outgoing: from === d.accountId,
          status: from === d.accountId ? 'sent' : 'delivered',
          deliveredTo: [],
          readBy: [],
          ...(verdict === 'hide' ? { fromBlocked: true as const } : {}),
          ...(expiresAt !== undefined ? { expiresAt } : {}),
        };
        await this.history.upsertMessage(m);
        this.timers.schedule(expiresAt);
        await this.actions.quoteArrived(m);
        const conv = await this.conversations.known(event.conversationId);
        if (conv) {
          conv.lastActivity = Math.max(conv.lastActivity, event.sentAt);
          if (from !== d.accountId && verdict === 'keep') conv.unread++;
          await this.conversations.save(conv);
        }
        this.events.emit('message', m);
        // Another device of this account wrote here: the account accepted the chat.
        if (from === d.accountId) await this.conversations.accept(event.conversationId);
        // A blocked member gets no receipt either.
        else if (verdict === 'keep') await this.conversations.acknowledge(conv, event.messageId);
        if (content.type === 'call-log') await this.toCalls(event, content);
        break;
      }
      case 'call':
      case 'call-key':
      case 'reaction':
        // Call signalling, frame keys and reactions go to the call layer, never into the chat.
        await this.toCalls(event, content);
        break;
      case 'message-reaction':
      case 'edit':
      case 'delete':
        // Checked here as on the sending device: sender, membership, window, target.
        await this.actions.receive(event, content);
        break;
      case 'receipt': {
        if (from === d.accountId) break;
        const changed = await this.history.updateMessages(event.conversationId, content.messageIds, (m) => {
          if (!m.outgoing) return false;
          // Only voice and video notes are played; playing one implies it was delivered and read.
          if (content.receipt === 'played' && !isNote(m)) return false;
          const list =
            content.receipt === 'played' ? (m.playedBy ??= []) : content.receipt === 'read' ? m.readBy : m.deliveredTo;
          if (list.includes(from)) return false;
          list.push(from);
          if (content.receipt === 'played' && !m.readBy.includes(from)) m.readBy.push(from);
          if (content.receipt !== 'delivered' && !m.deliveredTo.includes(from)) m.deliveredTo.push(from);
          m.status = m.readBy.length ? 'read' : 'delivered';
          return true;
        });
        this.events.emit('receipt', {
          conversationId: event.conversationId,
          from,
          receipt: content.receipt,
          messageIds: content.messageIds,
        });
        for (const m of changed) this.events.emit('status', m);
        break;
      }
      case 'typing':
        this.events.emit('typing', { conversationId: event.conversationId, from, typing: content.typing });
        break;
      case 'profile-key':
        if (from === d.accountId) break;
        await this.profiles.rememberKey(from, content.key, content.version, sentAt);
        this.events.emit('profile-key', {
          accountId: from,
          conversationId: event.conversationId,
          version: content.version,
        });
        break;
      case 'group-meta': {
        const conv = await this.conversations.known(event.conversationId);
        if (conv) {
          conv.name = content.name;
          if (content.description !== undefined) conv.description = content.description;
          await this.conversations.save(conv);
          // The timer as the group has it, for a member just added (C17): kept without a line.
          if (content.timer !== undefined && conv.members.includes(from))
            await this.timers.learn(event.conversationId, content.timer);
          if (content.change)
            await this.conversations.metaChanged(
              event.conversationId,
              content.change,
              from,
              event.sentAt,
              content.name,
            );
        }
        break;
      }
      case 'leave': {
        if (from !== d.accountId) await this.conversations.memberLeft(event.conversationId, from, event.sentAt);
        const conv = this.history.conversation(event.conversationId);
        if (conv?.admins.includes(d.accountId) && from !== d.accountId) {
          void this.conversations
            .removeMember(event.conversationId, from)
            .catch(reportError(this.events, 'remove leaver'));
        }
        break;
      }
      case 'timer':
        // Any member may set it; from anyone else (a device the group no longer has) it changes nothing.
        if (this.history.conversation(event.conversationId)?.members.includes(from))
          await this.timers.apply(event.conversationId, from, content.seconds, event.sentAt);
        break;
      default: {
        const never: never = content;
        throw new Error(`unknown content ${JSON.stringify(never)}`);
      }
    }
  }
}
