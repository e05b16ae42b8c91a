/**
 * Conversation actions (C2): the server as MLS Delivery Service. It keeps who (which devices) is in
 * each group for routing, accepts exactly one commit per epoch (total order), routes Welcomes to
 * added devices, and enforces admin roles for adding and removing other accounts in groups.
 * It never sees group secrets or names: names travel inside the encrypted state.
 */
import { ParleyError, toB64, type DeliverEvent } from '@parley/protocol';
import type { z } from 'zod';
import type { commitBody, createConversationBody } from '@parley/protocol';
import type { AuthedCaller, ServerContext } from '../context.ts';
import { StorageConflict, type ConversationRow, type NewMessage } from '../storage/types.ts';
import { newId } from '../ids.ts';
import { checkExpiry } from './expiry.ts';

async function loadMembership(ctx: ServerContext, caller: AuthedCaller, conversationId: string) {
  const routing = ctx.routing.peek(conversationId) ?? (await ctx.routing.get(conversationId));
  if (!routing || !routing.devices.some((d) => d.deviceId === caller.deviceId))
    throw new ParleyError('conversation_not_found');
  return routing;
}

async function describe(ctx: ServerContext, conv: ConversationRow) {
  const [members, devices] = await Promise.all([
    ctx.storage.conversations.listMembers(conv.id),
    ctx.storage.conversations.listConversationDevices(conv.id),
  ]);
  return {
    conversationId: conv.id,
    kind: conv.kind,
    epoch: conv.epoch,
    createdAt: conv.createdAt,
    members: members.map((m) => ({
      accountId: m.accountId,
      role: m.role,
      devices: devices.filter((d) => d.accountId === m.accountId).map((d) => d.deviceId),
    })),
  };
}

/** Register a new MLS group created by the caller's device at epoch 0. */
export async function createConversation(
  ctx: ServerContext,
  caller: AuthedCaller,
  body: z.infer<typeof createConversationBody>,
) {
  const row: ConversationRow = {
    id: body.conversationId,
    kind: body.kind,
    epoch: 0,
    createdAt: ctx.now(),
    createdBy: caller.accountId,
  };
  try {
    await ctx.storage.conversations.createConversation(row, caller.deviceId);
  } catch (e) {
    if (e instanceof StorageConflict && e.code === 'conversation_exists') throw new ParleyError('conversation_exists');
    throw e;
  }
  return describe(ctx, row);
}

/** Conversations the caller's device is in. */
export async function listConversations(ctx: ServerContext, caller: AuthedCaller) {
  const convs = await ctx.storage.conversations.listConversationsForDevice(caller.deviceId);
  return { conversations: await Promise.all(convs.map((c) => describe(ctx, c))) };
}

/** One conversation, if the caller is in it. */
export async function getConversation(ctx: ServerContext, caller: AuthedCaller, conversationId: string) {
  const { conv } = await loadMembership(ctx, caller, conversationId);
  return describe(ctx, conv);
}

/** The handshake log since an epoch, so a client that fell behind can catch up. */
export async function listCommits(
  ctx: ServerContext,
  caller: AuthedCaller,
  conversationId: string,
  sinceEpoch: number,
) {
  await loadMembership(ctx, caller, conversationId);
  const rows = await ctx.storage.conversations.listCommits(conversationId, sinceEpoch);
  return {
    commits: rows.map((r) => ({
      epoch: r.epoch,
      messageId: r.id,
      senderDevice: r.senderDevice,
      commit: toB64(r.payload),
      sentAt: r.sentAt,
    })),
  };
}

/** Promote or demote a member; admins only, groups only. */
export async function setRole(
  ctx: ServerContext,
  caller: AuthedCaller,
  conversationId: string,
  body: { accountId: string; role: 'admin' | 'member' },
) {
  const { conv } = await loadMembership(ctx, caller, conversationId);
  if (conv.kind !== 'group') throw new ParleyError('forbidden', { message: 'Direct conversations have no roles.' });
  const members = await ctx.storage.conversations.listMembers(conversationId);
  if (members.find((m) => m.accountId === caller.accountId)?.role !== 'admin') throw new ParleyError('not_admin');
  if (!members.some((m) => m.accountId === body.accountId)) throw new ParleyError('account_not_found');
  await ctx.storage.conversations.setRole(conversationId, body.accountId, body.role);
  ctx.routing.invalidate(conversationId);
  return describe(ctx, conv);
}

/**
 * Stop routing the conversation to all of the caller's devices. The client first tells the group
 * (encrypted) that it leaves; the next commit by a remaining member removes its leaves from the tree.
 */
export async function leaveConversation(ctx: ServerContext, caller: AuthedCaller, conversationId: string) {
  await loadMembership(ctx, caller, conversationId);
  const removed = await ctx.storage.conversations.removeAccountFromConversation(conversationId, caller.accountId);
  ctx.routing.invalidate(conversationId);
  return { removedDevices: removed };
}

/** Accept a commit built on the current epoch (plus its Welcome) and route both. */
export async function submitCommit(
  ctx: ServerContext,
  caller: AuthedCaller,
  body: z.infer<typeof commitBody>,
  payload: Uint8Array,
) {
  const { conv, devices } = await loadMembership(ctx, caller, body.conversationId);
  if (body.welcomeLength >= payload.length)
    throw new ParleyError('bad_request', { details: { field: 'welcomeLength', problem: 'leaves no commit bytes' } });
  if (body.adds.length > 0 && body.welcomeLength === 0)
    throw new ParleyError('bad_request', { details: { field: 'welcomeLength', problem: 'adds need a Welcome' } });
  const members = await ctx.storage.conversations.listMembers(conv.id);
  const isAdmin = members.find((m) => m.accountId === caller.accountId)?.role === 'admin';
  const memberAccounts = new Set(members.map((m) => m.accountId));
  const inConv = new Map(devices.map((d) => [d.deviceId, d.accountId]));

  for (const add of body.adds) {
    const dev = await ctx.storage.accounts.getDevice(add.deviceId);
    if (!dev || dev.revokedAt !== null || dev.accountId !== add.accountId)
      throw new ParleyError('device_not_found', { details: { deviceId: add.deviceId } });
    if (inConv.has(add.deviceId)) throw new ParleyError('member_conflict', { details: { deviceId: add.deviceId } });
    const othersAccount = add.accountId !== caller.accountId && !memberAccounts.has(add.accountId);
    if (othersAccount && conv.kind === 'group' && !isAdmin) throw new ParleyError('not_admin');
  }
  if (conv.kind === 'direct') {
    const accounts = new Set([...memberAccounts, ...body.adds.map((a) => a.accountId)]);
    if (accounts.size > 2) throw new ParleyError('forbidden', { message: 'A direct conversation has two accounts.' });
    // A blocked account cannot bring the blocker into a new direct chat (C15, docs/privacy.md).
    const newcomers = [...new Set(body.adds.map((a) => a.accountId))].filter(
      (a) => a !== caller.accountId && !memberAccounts.has(a),
    );
    if ((await ctx.blocks.blockersOf(caller.accountId, newcomers)).length)
      throw new ParleyError('recipient_unavailable');
  }
  // Devices that already left stay in the MLS tree until this commit removes them; only current
  // routing entries are handed to the store.
  const removes: string[] = [];
  for (const r of body.removes) {
    const owner = inConv.get(r);
    if (owner === undefined) continue;
    if (owner !== caller.accountId && conv.kind === 'group' && !isAdmin) {
      const dev = await ctx.storage.accounts.getDevice(r);
      if (dev && dev.revokedAt === null) throw new ParleyError('not_admin');
    }
    if (r === caller.deviceId)
      throw new ParleyError('bad_request', {
        message: 'A device cannot commit its own removal; leave the conversation instead.',
      });
    removes.push(r);
  }

  const now = ctx.now();
  const commitBytes = payload.subarray(0, payload.length - body.welcomeLength);
  const welcomeBytes = body.welcomeLength ? payload.subarray(payload.length - body.welcomeLength) : null;
  const base = {
    conversationId: conv.id,
    epoch: body.epoch,
    senderAccount: caller.accountId,
    senderDevice: caller.deviceId,
    sentAt: now,
  };
  const commit: NewMessage = {
    ...base,
    id: newId('m'),
    kind: 'commit',
    clientMessageId: body.clientMessageId,
    payload: commitBytes,
    recipients: devices.map((d) => d.deviceId).filter((d) => d !== caller.deviceId),
  };
  const welcome: NewMessage | null = welcomeBytes
    ? {
        ...base,
        id: newId('m'),
        kind: 'welcome',
        clientMessageId: `${body.clientMessageId}.w`.slice(0, 64),
        payload: welcomeBytes,
        recipients: body.adds.map((a) => a.deviceId),
      }
    : null;
  let result;
  try {
    result = await ctx.storage.conversations.applyCommit({
      conversationId: conv.id,
      expectedEpoch: body.epoch,
      commit,
      welcome,
      adds: body.adds,
      removes,
    });
    ctx.routing.invalidate(conv.id);
  } catch (e) {
    ctx.routing.invalidate(conv.id);
    if (e instanceof StorageConflict && (e.code === 'stale_epoch' || e.code === 'member_conflict')) {
      throw new ParleyError(e.code, {
        details: { currentEpoch: (await ctx.storage.conversations.getConversation(conv.id))?.epoch },
      });
    }
    throw e;
  }
  const payloads = new Map<string, { payload: Uint8Array }>([
    [commit.id, commit],
    ...(welcome ? ([[welcome.id, welcome]] as const) : []),
  ]);
  await ctx.delivery.dispatch([result.commit, ...(result.welcome ? [result.welcome] : [])], payloads);
  return {
    messageId: result.commit.message.id,
    epoch: result.epoch,
    seq: result.commit.message.seq,
    sentAt: result.commit.message.sentAt,
    duplicate: result.commit.duplicate,
  };
}

/** In a direct chat, the account other than `sender` (null while it is alone). */
function otherAccount(sender: string, devices: readonly { accountId: string }[]): string | null {
  for (const d of devices) if (d.accountId !== sender) return d.accountId;
  return null;
}

/** Store an application message and queue it for every other device in the conversation. */
export async function sendMessage(
  ctx: ServerContext,
  caller: AuthedCaller,
  body: {
    conversationId: string;
    clientMessageId: string;
    ephemeral?: boolean | undefined;
    accept?: true | undefined;
    expiresAt?: number | undefined;
  },
  payload: Uint8Array,
) {
  if (payload.length === 0)
    throw new ParleyError('bad_request', { details: { field: 'payload', problem: 'empty ciphertext' } });
  const { conv, devices } = await loadMembership(ctx, caller, body.conversationId);
  // Only a member gets this far: a non-member's expiry (or timer) changes nothing (C17).
  checkExpiry(body.expiresAt, ctx.now());
  const recipients: string[] = [];
  for (const d of devices) if (d.deviceId !== caller.deviceId) recipients.push(d.deviceId);
  // A direct chat's other member who blocked the sender gets nothing from it (C15): the message is
  // stored for the sender's own devices and acknowledged as usual, so the sender sees it accepted
  // and never delivered, and learns nothing more (docs/privacy.md).
  const peer = conv.kind === 'direct' ? otherAccount(caller.accountId, devices) : null;
  if (peer !== null) {
    // The cached answer costs no await; a list not in memory yet is read once.
    const blocked = ctx.blocks.peek(peer, caller.accountId) ?? (await ctx.blocks.hasBlocked(peer, caller.accountId));
    if (blocked) {
      recipients.length = 0;
      for (const d of devices) if (d.deviceId !== caller.deviceId && d.accountId !== peer) recipients.push(d.deviceId);
    }
  }
  const now = ctx.now();
  if (body.ephemeral) {
    const id = newId('m');
    const event: DeliverEvent = {
      cursor: 0,
      messageId: id,
      conversationId: conv.id,
      kind: 'application',
      seq: 0,
      epoch: conv.epoch,
      sender: { accountId: caller.accountId, deviceId: caller.deviceId },
      sentAt: now,
      ephemeral: true,
    };
    await ctx.delivery.ephemeral(event, payload, recipients);
    return { messageId: id, seq: 0, sentAt: now, duplicate: false };
  }
  // The sender's own writing accepts the chat: its members become the sender's contacts (C12).
  if (body.accept) await ctx.profiles.noteAccepted(caller.accountId, conv.id);
  const res = await ctx.delivery.submit({
    id: newId('m'),
    conversationId: conv.id,
    kind: 'application',
    epoch: conv.epoch,
    senderAccount: caller.accountId,
    senderDevice: caller.deviceId,
    clientMessageId: body.clientMessageId,
    payload,
    sentAt: now,
    recipients,
    ...(body.expiresAt !== undefined ? { expiresAt: body.expiresAt } : {}),
  });
  return { messageId: res.message.id, seq: res.message.seq, sentAt: res.message.sentAt, duplicate: res.duplicate };
}

/** Acknowledge deliveries on the caller's queue. */
export async function ackDeliveries(ctx: ServerContext, caller: AuthedCaller, body: { cursors: number[] }) {
  return { acked: await ctx.delivery.ack(caller.deviceId, body.cursors) };
}

/**
 * The sweeper's work for disappearing messages (C17; every PARLEY_MESSAGE_SWEEP_SECONDS, safe on
 * several nodes at once): the ciphertext of every message past its expiry leaves every queue and
 * the database, in batches.
 */
export async function sweepExpiredMessages(
  ctx: ServerContext,
  now = ctx.now(),
): Promise<{ messages: number; deliveries: number }> {
  const BATCH = 500;
  const total = { messages: 0, deliveries: 0 };
  for (;;) {
    const r = await ctx.storage.conversations.expireMessages(now, BATCH);
    total.messages += r.messages;
    total.deliveries += r.deliveries;
    if (r.messages < BATCH) return total;
  }
}
