/**
 * Conversations (C2, C3, C12, C15): creating direct chats and groups, membership and roles, names
 * and descriptions, leaving, the local copy of the server's routing table with the system lines
 * its changes make (`GroupLog`), where this device lists a chat (pinned, archived), its mute, and message
 * requests: a chat someone else opened is accepted once this account writes in it, and until then
 * the delivered receipts of its messages are held (their timing would show when this device is
 * online).
 */
import { ParleyError, fromB64, toB64 } from '@parley/protocol';
import type { History, LocalConversation } from '../history.ts';
import { randomBytes } from '../random.ts';
import { MUTED_ALWAYS } from '../mute.ts';
import * as mls from '../mls.ts';
import type { Profiles } from '../profiles.ts';
import type { Groups } from './groups.ts';
import type { ContentSender } from './outbox.ts';
import type { Session } from './session.ts';
import type { ClaimedKeyPackage, Trust } from './trust.ts';
import { reportError, type ClientEventSink } from './types.ts';
import { membershipChanges, type ChangeSource, type GroupLog } from './group-log.ts';
import type { TimerKeeper } from './disappearing.ts';

/** Most delivered receipts held for a chat not yet accepted (one receipt carries at most 500 ids). */
const MAX_HELD_RECEIPTS = 500;

/** Most chats pinned on one device (as other messengers allow). */
export const MAX_PINNED = 3;

/**
 * Make `target` hold exactly the fields of `next` (dropping those `next` lacks) and return it, so
 * every reference to the held conversation record sees the refreshed state.
 */
function adoptInPlace(target: LocalConversation, next: LocalConversation): LocalConversation {
  const t = target as unknown as Record<string, unknown>;
  for (const key of Object.keys(t)) if (!(key in next)) delete t[key];
  Object.assign(target, next);
  return target;
}

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
    private readonly log: GroupLog,
    private readonly timers: TimerKeeper,
  ) {}

  /** The direct conversation with an account, created (and the peer invited) if needed. */
  async startDirect(accountId: string): Promise<string> {
    const d = this.session.device();
    const existing = this.history.conversations().find((c) => c.kind === 'direct' && c.peer === accountId && c.active);
    if (existing) return existing.id;
    // A chat restored from a backup is joined again by the peer adding this account back; a second
    // chat with the same peer would split the history (docs/portability.md).
    if (this.history.conversations().some((c) => c.kind === 'direct' && c.peer === accountId && c.awaitingRejoin))
      throw new ParleyError('not_member', {
        message: 'This chat was restored from a backup; the other person must add this account back.',
      });
    if (accountId === d.accountId)
      throw new ParleyError('bad_request', { message: 'Cannot start a direct chat with yourself.' });
    return this.create('direct', [accountId]);
  }

  /** Create a group with a name and members (account ids); the creator is admin. */
  async createGroup(name: string, accountIds: string[]): Promise<string> {
    const id = await this.create('group', accountIds);
    // Naming a new group is no rename: the members get the name without a line for it.
    await this.sendMeta(id, { name });
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
      // The record as it is now (a refresh may have updated it meanwhile), not the first one.
      const current = this.history.conversation(id) ?? conv;
      current.active = false;
      await this.history.saveConversation(current);
      throw e;
    }
    // The device's default timer for new chats (C17): set like any change, so everyone sees the line.
    await this.timers.applyDefault(id);
    return id;
  }

  /**
   * Commit the addition of claimed KeyPackages' devices (each checked by `Trust` first); the
   * caller holds the conversation's lock.
   */
  private async commitAdds(conversationId: string, claimed: ClaimedKeyPackage[]): Promise<void> {
    const d = this.session.device();
    await this.trust.verifyClaimed(claimed);
    await this.groups.commitWithRetry(conversationId, async (group) => {
      const r = await mls.add(
        d,
        group,
        claimed.map((k) => fromB64(k.keyPackage)),
      );
      return { ...r, adds: claimed.map((k) => ({ accountId: k.accountId, deviceId: k.deviceId })), removes: [] };
    });
  }

  /** Add accounts (all their devices, each checked by `Trust`) to a conversation. */
  async addMembers(conversationId: string, accountIds: string[]): Promise<void> {
    const d = this.session.device();
    await this.groups.locked(conversationId, async () => {
      const claimed = (await this.session.api.claimKeyPackages(accountIds)).keyPackages;
      if (!claimed.length) return;
      await this.commitAdds(conversationId, claimed);
    });
    await this.refresh(conversationId, { by: d.accountId, at: Date.now() });
    const conv = this.history.conversation(conversationId);
    // New members learn the group name and description from the encrypted state only: re-send them.
    if (conv?.kind === 'group' && conv.name) await this.sendMeta(conversationId, {});
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
    await this.refresh(conversationId, { by: d.accountId, at: Date.now() });
  }

  /**
   * Add one newly linked device of this account to a conversation (C1): its KeyPackage is claimed
   * for that device alone and checked like any other (certificate under the identity key). False
   * when this device is not a live member or the device is in the group already.
   */
  async addOwnDevice(conversationId: string, deviceId: string): Promise<boolean> {
    const d = this.session.device();
    if (!(await this.groups.isMember(conversationId))) return false;
    let added = false;
    await this.groups.locked(conversationId, async () => {
      if (mls.membersOf(await this.groups.state(conversationId)).includes(deviceId)) return;
      const claimed = (await this.session.api.claimKeyPackages([d.accountId], [deviceId])).keyPackages;
      if (!claimed.length) return;
      await this.commitAdds(conversationId, claimed);
      added = true;
    });
    const conv = this.history.conversation(conversationId);
    // The new device learns a group's name and description from the encrypted state only.
    if (added && conv?.kind === 'group' && conv.name) await this.sendMeta(conversationId, {});
    return added;
  }

  /**
   * Take unlinked devices of this account out of a conversation's group (C1; their credentials are
   * already revoked). False when none of them was in it.
   */
  async removeOwnDevices(conversationId: string, deviceIds: string[]): Promise<boolean> {
    const d = this.session.device();
    if (!(await this.groups.isMember(conversationId))) return false;
    let removed = false;
    let needsUpdate = false;
    await this.groups.locked(conversationId, async () => {
      await this.groups.commitWithRetry(conversationId, async (group) => {
        const removes = mls.membersOf(group).filter((dev) => dev !== d.deviceId && deviceIds.includes(dev));
        if (!removes.length) return null;
        const r = await mls.remove(d, group, removes);
        needsUpdate = r.needsKeyUpdate;
        removed = true;
        return { commit: r.commit, next: r.next, welcome: undefined, adds: [], removes };
      });
      // As in removeMember: without an UpdatePath the removed devices could derive the next secrets.
      if (needsUpdate) {
        await this.groups.commitWithRetry(conversationId, async (group) => ({
          ...(await mls.update(d, group)),
          welcome: undefined,
          adds: [],
          removes: [],
        }));
      }
    });
    return removed;
  }

  /**
   * Rename a group; the name lives only inside the encrypted state. Any member may (as the
   * receivers accept it from any member); every device shows "… renamed the group to …".
   */
  async rename(conversationId: string, name: string): Promise<void> {
    await this.sendMeta(conversationId, { name, change: 'name' });
    await this.log.record(conversationId, { kind: 'renamed', by: this.session.device().accountId, name }, Date.now());
  }

  /**
   * Set a group's description ('' clears it), end-to-end encrypted like its name: the server never
   * sees it. Any member may, as with the name; every device shows "… changed the description".
   */
  async describe(conversationId: string, description: string): Promise<void> {
    await this.sendMeta(conversationId, { description, change: 'description' });
    await this.log.record(conversationId, { kind: 'described', by: this.session.device().accountId }, Date.now());
  }

  /**
   * Send the group's name and description to its members (with what changed, if anything), and
   * keep what was sent on this device.
   */
  private async sendMeta(
    conversationId: string,
    update: { name?: string; description?: string; change?: 'name' | 'description' | 'roles' },
  ): Promise<void> {
    const conv = this.history.conversation(conversationId);
    if (conv?.kind !== 'group')
      throw new ParleyError('conversation_not_found', { message: 'No group with this id on this device.' });
    const name = update.name ?? conv.name;
    if (!name) throw new ParleyError('bad_request', { message: 'Name the group first.' });
    const description = update.description ?? conv.description;
    await this.sender.send(conversationId, {
      type: 'group-meta',
      name,
      ...(description !== undefined ? { description } : {}),
      ...(update.change ? { change: update.change } : {}),
      // Members added later learn the disappearing-messages timer here (C17).
      timer: conv.timer ?? null,
    });
    // Read the record again: a delivery handled during the send may have updated it.
    const now = this.history.conversation(conversationId) ?? conv;
    now.name = name;
    if (description !== undefined) now.description = description;
    await this.save(now);
  }

  /** Make an account admin or member (admins only); the members are told, and show a line for it. */
  async setRole(conversationId: string, accountId: string, role: 'admin' | 'member'): Promise<void> {
    await this.session.api.setRole(conversationId, accountId, role);
    await this.refresh(conversationId, { by: this.session.device().accountId, at: Date.now(), roles: true });
    // The roles are the server's: the others read them from it when told that they changed.
    await this.sendMeta(conversationId, { change: 'roles' });
  }

  /**
   * Pin a chat to the top of this device's list (`pinned` false: unpin). Kept on this device
   * only; at most `MAX_PINNED` (3) at once, else `pin_limit`.
   */
  async pin(conversationId: string, pinned = true): Promise<void> {
    const conv = this.history.conversation(conversationId);
    if (!conv) throw new ParleyError('conversation_not_found', { message: 'No such chat on this device.' });
    if (pinned) {
      if (conv.pinnedAt !== undefined) return;
      const count = this.history.conversations().filter((c) => c.pinnedAt !== undefined).length;
      if (count >= MAX_PINNED) throw new ParleyError('pin_limit');
      conv.pinnedAt = Date.now();
    } else delete conv.pinnedAt;
    await this.save(conv);
  }

  /**
   * Archive a chat on this device (`archived` false: back to the list). Kept on this device only;
   * new messages leave it archived. An archived chat is not pinned.
   */
  async archive(conversationId: string, archived = true): Promise<void> {
    const conv = this.history.conversation(conversationId);
    if (!conv) throw new ParleyError('conversation_not_found', { message: 'No such chat on this device.' });
    if (archived) {
      conv.archived = true;
      delete conv.pinnedAt;
    } else delete conv.archived;
    await this.save(conv);
  }

  /**
   * Mute a chat on this device until `until` (ms since the epoch), `'always'` (until unmuted), or
   * unmute it (`null`). Kept on this device only; a mute past its time counts as unmuted.
   */
  async mute(conversationId: string, until: number | 'always' | null): Promise<void> {
    const conv = this.history.conversation(conversationId);
    if (!conv) throw new ParleyError('conversation_not_found', { message: 'No such chat on this device.' });
    if (typeof until === 'number' && !Number.isSafeInteger(until))
      throw new ParleyError('bad_request', { message: 'A mute ends at a time in milliseconds.' });
    if (until === null || (typeof until === 'number' && until <= Date.now())) delete conv.mutedUntil;
    else conv.mutedUntil = until === 'always' ? MUTED_ALWAYS : until;
    await this.save(conv);
  }

  /** A member announced that it leaves: a line for it, and no "removed" line when it is taken out. */
  async memberLeft(conversationId: string, accountId: string, at: number): Promise<void> {
    const conv = this.history.conversation(conversationId);
    if (conv?.kind !== 'group' || !conv.members.includes(accountId)) return;
    conv.left = [...new Set([...(conv.left ?? []), accountId])];
    await this.save(conv);
    await this.log.record(conversationId, { kind: 'left', by: accountId }, at);
  }

  /** Lines for a group-meta content that said what changed (the caller applied its fields). */
  async metaChanged(
    conversationId: string,
    change: 'name' | 'description' | 'roles',
    by: string,
    at: number,
    name: string,
  ): Promise<void> {
    if (change === 'roles') await this.refresh(conversationId, { by, at, roles: true });
    else
      await this.log.record(
        conversationId,
        change === 'name' ? { kind: 'renamed', by, name } : { kind: 'described', by },
        at,
      );
  }

  /** A Welcome added this device: "… added you", unless this account added itself (another device). */
  async addedBy(conversationId: string, by: string, at: number): Promise<void> {
    const self = this.session.device().accountId;
    const conv = this.history.conversation(conversationId);
    if (by === self || conv?.kind !== 'group') return;
    await this.log.record(conversationId, { kind: 'added', by, member: self }, at);
  }

  /** Leave a conversation: tell the members (encrypted), then stop receiving it. */
  async leave(conversationId: string): Promise<void> {
    await this.sender.send(conversationId, { type: 'leave' });
    // An admin's device takes a leaver's devices out as soon as the "leave" reaches it, and that
    // commit may land before this call: then the server no longer lists this device, which is
    // what leaving asked for.
    await this.session.api.leave(conversationId).catch((e: unknown) => {
      if (!(e instanceof ParleyError && e.code === 'conversation_not_found')) throw e;
    });
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

  /**
   * Refresh member accounts and roles from the server's routing table. With `source` (who changed
   * the group, when), the changes from what this device held become system lines.
   */
  async refresh(conversationId: string, source?: ChangeSource): Promise<LocalConversation | undefined> {
    const d = this.session.device();
    const info = await this.session.api.getConversation(conversationId).catch(() => null);
    if (!info) return undefined;
    const now = Date.now();
    const prev = this.history.conversation(conversationId);
    // A role change is told by a message, membership by commits, each in the queue's order. The
    // server's table may already hold a later commit's members when a role message is read: take
    // only the roles then, so the commit's own refresh shows its "added"/"removed" line after the
    // role line, in the order every other member sees.
    const rolesOnly = source?.roles === true && prev?.active === true && info.kind === 'group';
    const members = rolesOnly ? prev.members : info.members.map((m) => m.accountId);
    const conv: LocalConversation = {
      id: conversationId,
      kind: info.kind,
      members,
      admins: info.members.filter((m) => m.role === 'admin' && members.includes(m.accountId)).map((m) => m.accountId),
      createdAt: prev?.createdAt ?? info.createdAt,
      lastActivity: prev?.lastActivity ?? now,
      unread: prev?.unread ?? 0,
      active: true,
      // A chat first seen here was opened by someone else: not accepted until this account writes.
      ...(prev ? (prev.accepted !== undefined ? { accepted: prev.accepted } : {}) : { accepted: false }),
      ...(prev?.heldReceipts ? { heldReceipts: prev.heldReceipts } : {}),
      ...(prev?.name ? { name: prev.name } : {}),
      ...(prev?.description !== undefined ? { description: prev.description } : {}),
      ...(prev?.pinnedAt !== undefined ? { pinnedAt: prev.pinnedAt } : {}),
      ...(prev?.archived ? { archived: true as const } : {}),
      ...(prev?.mutedUntil !== undefined ? { mutedUntil: prev.mutedUntil } : {}),
      ...(prev?.timer !== undefined ? { timer: prev.timer } : {}),
      ...(prev?.timerKnown ? { timerKnown: true as const } : {}),
    };
    // Role lines compare with the admins they last showed (see `adminsShown`).
    const shown = prev?.adminsShown ?? prev?.admins;
    if (info.kind === 'group') conv.adminsShown = source?.roles || !shown ? conv.admins : shown;
    // Leavers are remembered until the routing table no longer lists them.
    const left = (prev?.left ?? []).filter((a) => members.includes(a));
    if (left.length) conv.left = left;
    if (info.kind === 'direct') {
      const peer = prev?.peer ?? members.find((a) => a !== d.accountId);
      if (peer) conv.peer = peer;
    }
    // Update the held record in place rather than replacing it: code that read it before this
    // refresh and saves it afterwards (a received message's unread count, a receipt held, a mark
    // read) then saves this state with its own change, never an older copy over a newer one, which
    // a reload would bring back (a lost chat or unread count).
    const before = prev ? { ...prev } : undefined;
    const kept = prev ? adoptInPlace(prev, conv) : conv;
    await this.save(kept);
    // Only changes seen by a live member: a device just added back has nothing to compare with.
    if (source && before?.active && info.kind === 'group')
      for (const e of membershipChanges({ ...before, admins: shown ?? before.admins }, kept, source))
        await this.log.record(conversationId, e, source.at);
    return kept;
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
