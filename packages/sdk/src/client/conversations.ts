/**
 * Conversations (C2, C3, C12): creating direct chats and groups, membership and roles, names,
 * leaving, the local copy of the server's routing table, and message requests: a chat someone
 * else opened is accepted once this account writes in it, and until then the delivered receipts
 * of its messages are held (their timing would show when this device is online).
 */
import { ParleyError, fromB64, toB64 } from '@parley/protocol';
import type { History, LocalConversation } from '../history.ts';
import { randomBytes } from '../random.ts';
import * as mls from '../mls.ts';
import type { Profiles } from '../profiles.ts';
import type { Groups } from './groups.ts';
import type { ContentSender } from './outbox.ts';
import type { Session } from './session.ts';
import type { Trust } from './trust.ts';
import { reportError, type ClientEventSink } from './types.ts';

/** Most delivered receipts held for a chat not yet accepted (one receipt carries at most 500 ids). */
const MAX_HELD_RECEIPTS = 500;

/** Conversations of one device and their membership. */
export class Conversations {
  constructor(
    private readonly session: Session,
    private readonly history: History,
    private readonly groups: Groups,
    private readonly trust: Trust,
    private readonly sender: ContentSender,
    private readonly profiles: Profiles,
    private readonly events: ClientEventSink,
  ) {}

  /** The direct conversation with an account, created (and the peer invited) if needed. */
  async startDirect(accountId: string): Promise<string> {
    const d = this.session.device();
    const existing = this.history.conversations().find((c) => c.kind === 'direct' && c.peer === accountId && c.active);
    if (existing) return existing.id;
    if (accountId === d.accountId)
      throw new ParleyError('bad_request', { message: 'Cannot start a direct chat with yourself.' });
    return this.create('direct', [accountId]);
  }

  /** Create a group with a name and members (account ids); the creator is admin. */
  async createGroup(name: string, accountIds: string[]): Promise<string> {
    const id = await this.create('group', accountIds);
    await this.rename(id, name);
    return id;
  }

  private async create(kind: 'direct' | 'group', accountIds: string[]): Promise<string> {
    const d = this.session.device();
    const groupId = randomBytes(16);
    const id = toB64(groupId);
    await this.groups.locked(id, async () => {
      const group = await this.groups.create(groupId);
      await this.session.api.createConversation(id, kind);
      await this.groups.adopt(id, group);
    });
    const now = Date.now();
    // Opening a chat is accepting it: the other members' messages get delivered receipts at once.
    const conv: LocalConversation = {
      id,
      kind,
      members: [d.accountId],
      admins: [d.accountId],
      createdAt: now,
      lastActivity: now,
      unread: 0,
      active: true,
      accepted: true,
      ...(kind === 'direct' ? { peer: accountIds[0] } : {}),
    };
    await this.history.saveConversation(conv);
    try {
      await this.addMembers(id, [...new Set([...accountIds, d.accountId])]);
    } catch (e) {
      // Nobody could be added (refused KeyPackage, unknown account…): drop the empty conversation.
      await this.session.api.leave(id).catch(() => undefined);
      await this.history.saveConversation({ ...conv, active: false });
      throw e;
    }
    return id;
  }

  /** Add accounts (all their devices, each checked by `Trust`) to a conversation. */
  async addMembers(conversationId: string, accountIds: string[]): Promise<void> {
    const d = this.session.device();
    await this.groups.locked(conversationId, async () => {
      const claimed = (await this.session.api.claimKeyPackages(accountIds)).keyPackages;
      if (!claimed.length) return;
      await this.trust.verifyClaimed(claimed);
      await this.groups.commitWithRetry(conversationId, async (group) => {
        const r = await mls.add(
          d,
          group,
          claimed.map((k) => fromB64(k.keyPackage)),
        );
        return { ...r, adds: claimed.map((k) => ({ accountId: k.accountId, deviceId: k.deviceId })), removes: [] };
      });
    });
    await this.refresh(conversationId);
    const conv = this.history.conversation(conversationId);
    // New members learn the group name from the encrypted state only: re-send it.
    if (conv?.kind === 'group' && conv.name)
      await this.sender.send(conversationId, { type: 'group-meta', name: conv.name });
  }

  /** Remove an account (all its devices) from a group; admins only. */
  async removeMember(conversationId: string, accountId: string): Promise<void> {
    const d = this.session.device();
    let needsUpdate = false;
    await this.groups.locked(conversationId, async () => {
      await this.groups.commitWithRetry(conversationId, async (group) => {
        const devices = mls.membersOf(group).filter((dev) => dev !== d.deviceId);
        // Devices of a member who already left are no longer routed: ask the account's device list too.
        const info = await this.session.api.getConversation(conversationId);
        const routed = info.members.find((m) => m.accountId === accountId)?.devices ?? [];
        const listed =
          (await this.session.api.getAccount(accountId).catch(() => null))?.devices.map((x) => x.deviceId) ?? [];
        const theirs = new Set([...routed, ...listed]);
        const removes = devices.filter((dev) => theirs.has(dev));
        if (!removes.length) return null;
        const r = await mls.remove(d, group, removes);
        needsUpdate = r.needsKeyUpdate;
        return { commit: r.commit, next: r.next, welcome: undefined, adds: [], removes };
      });
      // A remove without an UpdatePath leaves secrets the removed devices could derive: rotate now.
      if (needsUpdate) {
        await this.groups.commitWithRetry(conversationId, async (group) => ({
          ...(await mls.update(d, group)),
          welcome: undefined,
          adds: [],
          removes: [],
        }));
      }
    });
    await this.refresh(conversationId);
  }

  /** Rename a group; the name lives only inside the encrypted state. */
  async rename(conversationId: string, name: string): Promise<void> {
    await this.sender.send(conversationId, { type: 'group-meta', name });
    const conv = this.history.conversation(conversationId);
    if (conv) {
      conv.name = name;
      await this.save(conv);
    }
  }

  /** Make an account admin or member (admins only). */
  async setRole(conversationId: string, accountId: string, role: 'admin' | 'member'): Promise<void> {
    await this.session.api.setRole(conversationId, accountId, role);
    await this.refresh(conversationId);
  }

  /** Leave a conversation: tell the members (encrypted), then stop receiving it. */
  async leave(conversationId: string): Promise<void> {
    await this.sender.send(conversationId, { type: 'leave' });
    await this.session.api.leave(conversationId);
    await this.deactivate(conversationId);
  }

  /**
   * Mark a conversation this device no longer takes part in: it left (no `removal`), or a commit
   * removed it (`removal.at`, and `removal.by` when the remover's account is known).
   */
  async deactivate(conversationId: string, removal?: { at: number; by?: string }): Promise<void> {
    const conv = this.history.conversation(conversationId);
    if (conv) {
      conv.active = false;
      if (removal) {
        conv.removedAt = removal.at;
        if (removal.by) conv.removedBy = removal.by;
        else delete conv.removedBy;
      }
      await this.save(conv);
    }
  }

  /** Store a changed conversation and tell listeners. */
  async save(conv: LocalConversation): Promise<void> {
    await this.history.saveConversation(conv);
    this.events.emit('conversation', conv);
  }

  /** Refresh member accounts and roles from the server's routing table. */
  async refresh(conversationId: string): Promise<LocalConversation | undefined> {
    const d = this.session.device();
    const info = await this.session.api.getConversation(conversationId).catch(() => null);
    if (!info) return undefined;
    const now = Date.now();
    const prev = this.history.conversation(conversationId);
    const members = info.members.map((m) => m.accountId);
    const conv: LocalConversation = {
      id: conversationId,
      kind: info.kind,
      members,
      admins: info.members.filter((m) => m.role === 'admin').map((m) => m.accountId),
      createdAt: prev?.createdAt ?? info.createdAt,
      lastActivity: prev?.lastActivity ?? now,
      unread: prev?.unread ?? 0,
      active: true,
      // A chat first seen here was opened by someone else: not accepted until this account writes.
      ...(prev ? (prev.accepted !== undefined ? { accepted: prev.accepted } : {}) : { accepted: false }),
      ...(prev?.heldReceipts ? { heldReceipts: prev.heldReceipts } : {}),
      ...(prev?.name ? { name: prev.name } : {}),
    };
    if (info.kind === 'direct') {
      const peer = prev?.peer ?? members.find((a) => a !== d.accountId);
      if (peer) conv.peer = peer;
    }
    await this.save(conv);
    return conv;
  }

  /** The conversation as this device holds it, else fetched from the server. */
  async known(conversationId: string): Promise<LocalConversation | undefined> {
    return this.history.conversation(conversationId) ?? (await this.refresh(conversationId));
  }

  // ---------------------------------------------------------------- message requests (C3, C12)

  /** Whether this account accepted the chat (see `LocalConversation.accepted`). */
  private async isAccepted(conv: LocalConversation): Promise<boolean> {
    return conv.accepted ?? (await this.profiles.sharedIn(conv.id));
  }

  /**
   * Whether delivered receipts may go to this conversation now: once this account accepted it, or
   * when every other member is already a contact (a member of another active chat this account
   * accepted). A receipt goes to every member, and its timing shows when this device is online, so
   * a stranger's message request gets none until it is accepted (docs/privacy.md).
   */
  private async mayAcknowledge(conv: LocalConversation): Promise<boolean> {
    if (await this.isAccepted(conv)) return true;
    const contacts = new Set<string>([this.session.device().accountId]);
    for (const c of this.history.conversations()) {
      if (c.id !== conv.id && c.active && (await this.isAccepted(c))) for (const m of c.members) contacts.add(m);
    }
    return conv.members.every((m) => contacts.has(m));
  }

  /** Send the delivered receipt for a received message, or hold it until the chat is accepted. */
  async acknowledge(conv: LocalConversation | undefined, messageId: string): Promise<void> {
    // An unknown conversation (its details could not be fetched) is not known to be accepted.
    if (!conv) return;
    if (!(await this.mayAcknowledge(conv))) {
      conv.heldReceipts = [...(conv.heldReceipts ?? []), messageId].slice(-MAX_HELD_RECEIPTS);
      await this.history.saveConversation(conv);
      return;
    }
    void this.sender
      .send(conv.id, { type: 'receipt', receipt: 'delivered', messageIds: [messageId] })
      .catch(reportError(this.events, 'receipt'));
  }

  /** Record that this account accepted the chat, and send the delivered receipts held until now. */
  async accept(conversationId: string): Promise<void> {
    const conv = this.history.conversation(conversationId);
    if (!conv || (conv.accepted === true && !conv.heldReceipts?.length)) return;
    const held = conv.heldReceipts ?? [];
    conv.accepted = true;
    delete conv.heldReceipts;
    await this.save(conv);
    if (held.length)
      void this.sender
        .send(conversationId, { type: 'receipt', receipt: 'delivered', messageIds: held })
        .catch(reportError(this.events, 'receipt'));
  }
}
