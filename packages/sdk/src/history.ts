/**
 * Local conversation list and message history (C3, C15): what the device has decrypted, kept in the
 * device store so a UI or bot can show it after a restart. The server keeps none of this.
 */
import type { Attachment, BusinessMessage, CallLogContent, GeneratedLabel, LinkPreview, Quote } from '@parley/protocol';
import type { DeviceStore } from './store/types.ts';
import { KeyedLock } from './lock.ts';

export type MessageStatus = 'sending' | 'sent' | 'delivered' | 'read' | 'failed';

/** One text or media message as this device knows it. */
export interface LocalMessage {
  /** Server message id (for outgoing messages before the server answered: the client message id). */
  id: string;
  clientMessageId?: string;
  conversationId: string;
  /** Sender account id. */
  from: string;
  fromDevice: string;
  /** The text; for an attachment its caption ('' when it has none). */
  text: string;
  /** A file, image, voice or video note: open it with `client.downloadMedia(attachment)`. */
  attachment?: Attachment;
  /**
   * A generated image's provenance label (C9), from inside the encrypted content: show
   * `generatedLabelText(generated)` ("AI-generated · <model>") on the image and in its info.
   */
  generated?: GeneratedLabel;
  /** The call a voice or video message answers (missed-call notes), or a call-log entry's call. */
  callId?: string;
  /** A call-log entry (C6, C7): how a call ended, written by the caller's device for every device. */
  callLog?: Omit<CallLogContent, 'type'>;
  /** Sender's clock as written inside the ciphertext. */
  sentAt: number;
  /** Server's clock when it stored the message. */
  serverTime?: number;
  seq?: number;
  outgoing: boolean;
  status: MessageStatus;
  /** Accounts that confirmed delivery / read (outgoing messages). */
  deliveredTo: string[];
  readBy: string[];
  /**
   * Voice and video notes: accounts that played it (outgoing, from 'played' receipts); on an
   * incoming note, this account once `markPlayed` was called. Absent on messages stored before
   * played receipts existed, so read it as `playedBy ?? []`.
   */
  playedBy?: string[];
  /**
   * The message this one replies to, as its sender quoted it (id, sender, excerpt). `deleted` once
   * the quoted message was deleted for everyone: the excerpt is dropped then.
   */
  replyTo?: Quote & { deleted?: true };
  /**
   * The preview of the text's first link, as the sender's device made it (title, description, a
   * small image as bytes): shown as it is, nothing is fetched for it.
   */
  preview?: LinkPreview;
  /**
   * A business message (C10): a location, contact cards, reply buttons or a list, media by link, or
   * a user's tap on a button or row. `text` holds its readable rendering.
   */
  business?: BusinessMessage;
  /** Forwarded from another chat: shown as "Forwarded". */
  forwarded?: true;
  /** Sent by a member this account had blocked (groups only): the chat shows it collapsed. */
  fromBlocked?: true;
  /** One reaction per account, the latest it sent; `at` is the server's time of the reaction. */
  reactions?: MessageReaction[];
  /** Server time of the latest edit applied: the chat shows "edited". `text` is the latest text. */
  editedAt?: number;
  /**
   * Server time of a delete for everyone: the chat shows "This message was deleted". The text,
   * attachment (with its key), quote, reactions and call fields were dropped from the store then.
   */
  deletedAt?: number;
  /**
   * A system line of a group (C15): who renamed it, added, removed, left, changed a role or the
   * description. Recorded by every device from what it received (and by the device that made the
   * change), in the order it learnt of it; `text` is '' and `from` is who made the change.
   */
  system?: GroupEvent;
  /**
   * Disappearing messages (C17): when this message disappears (ms since the epoch, set by its
   * sender inside the ciphertext). Every device deletes it from its history then.
   */
  expiresAt?: number;
}

/** A change to a group, as a system line shows it ("Alice added Bob"). */
export interface GroupEvent {
  kind: 'renamed' | 'described' | 'added' | 'removed' | 'left' | 'made-admin' | 'dismissed-admin' | 'timer';
  /** The account that made the change (for `left`, who left). */
  by: string;
  /** The account added, removed, made admin or dismissed. */
  member?: string;
  /** The new name (`renamed`). */
  name?: string;
  /** The new disappearing-messages timer in seconds, null when turned off (`timer`, C17). */
  seconds?: number | null;
}

/** One account's reaction to a message. */
export interface MessageReaction {
  from: string;
  emoji: string;
  at: number;
}

/** One conversation as this device knows it. */
export interface LocalConversation {
  id: string;
  kind: 'direct' | 'group';
  name?: string;
  /** Member account ids (including this account). */
  members: string[];
  admins: string[];
  /** For direct conversations: the other account. */
  peer?: string;
  createdAt: number;
  lastActivity: number;
  unread: number;
  /** False after this account left or was removed; true again once added back. */
  active: boolean;
  /**
   * When a commit removed this device from the group (server time), while it stays removed; gone
   * once it is added back. Absent when it left by itself.
   */
  removedAt?: number;
  /** The account whose commit removed this device, when known (see `removedAt`). */
  removedBy?: string;
  /**
   * Restored from a backup on a device that is not in the group yet (docs/portability.md): the
   * history is here, and a member adding this account again brings the chat back to life. Gone
   * once the device is added (the Welcome's refresh rebuilds the record).
   */
  awaitingRejoin?: true;
  /**
   * Whether this account accepted the chat: it opened it, or one of its devices wrote in it (the
   * server's `accepted_chats`, docs/profiles.md). A chat a stranger opened is a message request
   * until then, and this device holds its delivered receipts. Absent on conversations stored
   * before this was recorded: then the chat counts as accepted once this device wrote in it.
   */
  accepted?: boolean;
  /** Messages whose delivered receipts are held until the chat is accepted (the newest 500). */
  heldReceipts?: string[];
  /** A group's description, end-to-end encrypted like its name (`group-meta`). */
  description?: string;
  /**
   * The admins as the system lines last showed them: a role change reaches a device as a
   * group-meta `roles` announcement, and a commit refresh that picked the new roles up first must
   * not swallow its line.
   */
  adminsShown?: string[];
  /** Members seen leaving by themselves: their removal from the routing table is no "removed" line. */
  left?: string[];
  /** When this device pinned the chat (per device, never sent anywhere); absent when not pinned. */
  pinnedAt?: number;
  /** Archived on this device: listed under "Archived"; new messages keep it there. */
  archived?: boolean;
  /**
   * Muted on this device until this time (ms since the epoch; `MUTED_ALWAYS` until unmuted). Past
   * its time the chat counts as unmuted (`isMuted`); absent when never muted or unmuted.
   */
  mutedUntil?: number;
  /**
   * The disappearing-messages timer in seconds (C17), as the members last set it (end-to-end
   * encrypted); absent when off.
   */
  timer?: number;
  /**
   * This device has applied a `timer` change of this chat (or learnt the timer once from a
   * `group-meta` on joining): later `group-meta` timers, which may be stale, are ignored.
   */
  timerKnown?: true;
}

const MAX_SEEN = 2000;

/** Conversation and message persistence over a DeviceStore. */
export class History {
  private convs = new Map<string, LocalConversation>();
  private loaded = false;
  private seen = new Map<string, string[]>();
  /** Read-modify-write of one conversation's list must not interleave. */
  private readonly lock = new KeyedLock();

  constructor(private readonly store: DeviceStore) {}

  /** Load the conversation index once. */
  async load(): Promise<void> {
    if (this.loaded) return;
    for (const key of await this.store.keys('conv:')) {
      const c = await this.store.get<LocalConversation>(key);
      if (c) this.convs.set(c.id, c);
    }
    this.loaded = true;
  }

  conversations(): LocalConversation[] {
    return [...this.convs.values()].sort((a, b) => b.lastActivity - a.lastActivity);
  }

  conversation(id: string): LocalConversation | undefined {
    return this.convs.get(id);
  }

  async saveConversation(c: LocalConversation): Promise<void> {
    this.convs.set(c.id, c);
    await this.store.set(`conv:${c.id}`, c);
  }

  async messages(conversationId: string): Promise<LocalMessage[]> {
    return (await this.store.get<LocalMessage[]>(`msgs:${conversationId}`)) ?? [];
  }

  /** Insert or replace (by id or clientMessageId) one message; returns the stored list. */
  async upsertMessage(m: LocalMessage): Promise<void> {
    await this.lock.run(`msgs:${m.conversationId}`, async () => {
      const list = await this.messages(m.conversationId);
      const i = list.findIndex(
        (x) => x.id === m.id || (m.clientMessageId !== undefined && x.clientMessageId === m.clientMessageId),
      );
      if (i >= 0) list[i] = m;
      else list.push(m);
      await this.store.set(`msgs:${m.conversationId}`, list);
    });
  }

  /**
   * Add messages this device does not hold yet (by id or client message id), e.g. history
   * transferred from a linked device; the list is then put in time order (the server's clock where
   * known). Returns how many were added: importing the same messages again adds none.
   */
  async importMessages(conversationId: string, messages: LocalMessage[]): Promise<number> {
    return this.lock.run(`msgs:${conversationId}`, async () => {
      const list = await this.messages(conversationId);
      const held = new Set(list.flatMap((m) => (m.clientMessageId ? [m.id, m.clientMessageId] : [m.id])));
      const fresh = messages.filter((m) => !held.has(m.id) && !(m.clientMessageId && held.has(m.clientMessageId)));
      if (!fresh.length) return 0;
      const merged = [...list, ...fresh].sort((a, b) => (a.serverTime ?? a.sentAt) - (b.serverTime ?? b.sentAt));
      await this.store.set(`msgs:${conversationId}`, merged);
      return fresh.length;
    });
  }

  /** Apply a change to messages by id; returns those changed. */
  async updateMessages(
    conversationId: string,
    ids: string[],
    change: (m: LocalMessage) => boolean,
  ): Promise<LocalMessage[]> {
    return this.lock.run(`msgs:${conversationId}`, async () => {
      const list = await this.messages(conversationId);
      const want = new Set(ids);
      const changed = list.filter((m) => want.has(m.id) && change(m));
      if (changed.length) await this.store.set(`msgs:${conversationId}`, list);
      return changed;
    });
  }

  /** One message by id (or client message id), if this device holds it. */
  async message(conversationId: string, id: string): Promise<LocalMessage | undefined> {
    return (await this.messages(conversationId)).find((m) => m.id === id || m.clientMessageId === id);
  }

  /** Remove one message from this device (delete for me, discarding a failed send); returns it, or undefined when it was not held. */
  async removeMessage(conversationId: string, id: string): Promise<LocalMessage | undefined> {
    return this.lock.run(`msgs:${conversationId}`, async () => {
      const list = await this.messages(conversationId);
      const i = list.findIndex((m) => m.id === id);
      if (i < 0) return undefined;
      const [removed] = list.splice(i, 1);
      await this.store.set(`msgs:${conversationId}`, list);
      return removed;
    });
  }

  /** Remove the messages whose expiry is at or before `now` (disappearing messages, C17); returns them. */
  async removeExpired(conversationId: string, now: number): Promise<LocalMessage[]> {
    return this.lock.run(`msgs:${conversationId}`, async () => {
      const list = await this.messages(conversationId);
      const gone = list.filter((m) => m.expiresAt !== undefined && m.expiresAt <= now);
      if (gone.length)
        await this.store.set(
          `msgs:${conversationId}`,
          list.filter((m) => !gone.includes(m)),
        );
      return gone;
    });
  }

  /** True if this server message id was already processed (de-duplication across redeliveries). */
  async wasSeen(conversationId: string, messageId: string): Promise<boolean> {
    return (await this.seenList(conversationId)).includes(messageId);
  }

  async markSeen(conversationId: string, messageId: string): Promise<void> {
    await this.lock.run(`seen:${conversationId}`, async () => {
      const list = await this.seenList(conversationId);
      list.push(messageId);
      if (list.length > MAX_SEEN) list.splice(0, list.length - MAX_SEEN);
      await this.store.set(`seen:${conversationId}`, list);
    });
  }

  private async seenList(conversationId: string): Promise<string[]> {
    let list = this.seen.get(conversationId);
    if (!list) {
      list = (await this.store.get<string[]>(`seen:${conversationId}`)) ?? [];
      this.seen.set(conversationId, list);
    }
    return list;
  }
}
