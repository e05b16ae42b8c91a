/**
 * The `parley` command (C1–C3, C19): runs the server (`serve`) and acts as a scriptable client for
 * operators and bots, one device profile per folder. Every command prints JSON lines on stdout;
 * failures print one line on stderr and exit non-zero (2 for usage errors, 1 otherwise). No
 * command that talks to the server waits for ever: see `deadlines.ts`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import WebSocket from 'ws';
import {
  ParleyClient,
  ParleyError,
  makeLinkPreview,
  previewableLink,
  generatedLabelText,
  type GeneratedLabel,
  type LinkPreview,
  type LocalMessage,
  type SendMediaInput,
} from '@parley/sdk';
import { fromB64 } from '@parley/protocol';
import { FileStore } from '@parley/sdk/node';
import type { WebSocketCtor } from '@parley/sdk';
import { parseArgs, need, opt, requireRegistered, usage, UsageError, type ParsedArgs } from './args.ts';
import { discoverFile } from './discovery.ts';
import { profile, settings } from './privacy.ts';
import { auditLogOptions, auditServerLog, logKeyArg } from './audit-log.ts';
import { describeAttachment, findAttachmentMessage, mediaTypeOf } from './media.ts';
import { imagineAndSend, imagineArgs, modelLine } from './imagine.ts';
import { imagineKeys } from './imagine-keys.ts';
import { admin } from './admin.ts';
import { business } from './business.ts';
import { exportCommand } from './export.ts';
import { backupCreate, backupRestore } from './backup.ts';
import { existingConversation } from './addresses.ts';
import { muteCommand, mutedUntilOf } from './mute.ts';
import { defaultTimerCommand, durationArg, setTimerCommand, timerUsage } from './timer.ts';
import { devicesCommand, linkCommand } from './devices.ts';
import { blockCommand, blockedCommand, reportCommand, type SafetyAddressing } from './safety.ts';
import {
  UNCHANGED,
  actionFields,
  changeLines,
  checkActionArgs,
  messageAction,
  replyToArg,
  stateOf,
  type Addressing,
} from './message-actions.ts';
import { commandDeadlines, listenSeconds, receiveDeadlines, withinDeadline, type Deadlines } from './deadlines.ts';

function out(obj: unknown): void {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

/** Where a profile keeps the key-transparency log key given at `register --log-key`. */
const PROFILE_LOG_KEY = 'cli-kt-log-key';

/** The deadlines that apply to this command line. */
function deadlinesOf(args: ParsedArgs): Deadlines {
  return args.words[0] === 'receive' ? receiveDeadlines(args) : commandDeadlines(args);
}

async function openClient(args: ParsedArgs): Promise<ParleyClient> {
  const store = new FileStore(need(args, 'profile'));
  const { requestMs, connectMs } = deadlinesOf(args);
  // A log key given at registration is the profile's `ktLogKey`; without one the SDK pins the first it sees.
  const ktLogKey = await store.get<string>(PROFILE_LOG_KEY);
  return ParleyClient.open({
    store,
    WebSocket: WebSocket as unknown as WebSocketCtor,
    timeouts: { requestMs, connectMs },
    ...(ktLogKey ? { ktLogKey } : {}),
  });
}

async function connected(args: ParsedArgs): Promise<ParleyClient> {
  const client = await openClient(args);
  requireRegistered(client);
  await client.connect();
  await client.drain();
  return client;
}

/** How a conversation is addressed on the command line (what `send --to` accepts). */
async function addressOf(client: ParleyClient, conversationId: string): Promise<string> {
  const conv = client.history.conversation(conversationId);
  if (!conv || conv.kind === 'group' || !conv.peer) return `group:${conversationId}`;
  return (await client.phoneOf(conv.peer)) ?? `account:${conv.peer}`;
}

/** How an account is shown on the command line: its number when known, else `account:ID`. */
async function addressOfAccount(client: ParleyClient, accountId: string): Promise<string> {
  return (await client.phoneOf(accountId)) ?? `account:${accountId}`;
}

async function resolveTarget(client: ParleyClient, to: string): Promise<string> {
  if (to.startsWith('group:')) {
    const id = to.slice(6);
    const conv = client.history.conversation(id);
    if (conv && !conv.active && conv.removedAt !== undefined) {
      const by = conv.removedBy ? ` by ${await addressOfAccount(client, conv.removedBy)}` : '';
      throw new ParleyError('not_member', {
        message: `This device was removed from group ${id}${by}; an admin of the group can add it back.`,
      });
    }
    if (conv?.awaitingRejoin)
      throw new ParleyError('not_member', {
        message: `Group ${id} was restored from a backup; a member of the group must add this account back.`,
      });
    if (!conv || !conv.active)
      throw new ParleyError('conversation_not_found', { message: `No active group ${id} on this device.` });
    return id;
  }
  return client.startDirect(await resolveAccount(client, to));
}

/** An account from `+E164` (discovery), `@name.42` (username), `account:ID` or a bare account id. */
async function resolveAccount(client: ParleyClient, who: string): Promise<string> {
  if (who.startsWith('@')) return client.lookupUsername(who);
  if (who.startsWith('account:')) return who.slice(8);
  if (who.startsWith('a_')) return who;
  return client.lookupPhone(who);
}

async function resolveMembers(client: ParleyClient, list: string): Promise<string[]> {
  const out: string[] = [];
  for (const m of list
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean))
    out.push(await resolveAccount(client, m));
  return out;
}

async function printMessage(client: ParleyClient, m: LocalMessage): Promise<void> {
  out({
    id: m.id,
    conversation: await addressOf(client, m.conversationId),
    conversationId: m.conversationId,
    from: (await client.phoneOf(m.from)) ?? `account:${m.from}`,
    fromAccount: m.from,
    text: m.text,
    sentAt: m.serverTime ?? m.sentAt,
    ...(m.attachment ? { attachment: describeAttachment(m.attachment) } : {}),
    ...labelFields(m),
    ...(m.callId ? { callId: m.callId } : {}),
    ...(m.preview ? { preview: describePreview(m.preview) } : {}),
    ...(m.expiresAt !== undefined ? { expiresAt: m.expiresAt } : {}),
    // A business message (C10): its structure as sent (location, contacts, buttons, list, media link).
    ...(m.business ? { business: m.business } : {}),
    ...(await actionFields(client, m)),
  });
}

/** A generated image's provenance (C9): the line clients show, and the label it came from. */
export function labelFields(m: LocalMessage): { label?: string; generated?: GeneratedLabel } {
  return m.generated ? { label: generatedLabelText(m.generated), generated: m.generated } : {};
}

/**
 * `send --link-preview`: the preview of the message's first link, fetched by this device (the site
 * sees its address; the server fetches nothing). No link, or no preview to be had: none.
 */
async function previewArg(args: ParsedArgs): Promise<{ preview?: LinkPreview }> {
  if (args.flags.get('link-preview') !== true) return {};
  const url = previewableLink(need(args, 'message'));
  const preview = url ? await makeLinkPreview(url) : null;
  return preview ? { preview } : {};
}

/** A preview on the command line: its words, and the image's type and size instead of its bytes. */
function describePreview(p: LinkPreview): Record<string, unknown> {
  return {
    url: p.url,
    title: p.title,
    ...(p.description ? { description: p.description } : {}),
    ...(p.image ? { image: { type: p.image.type, bytes: fromB64(p.image.data).byteLength } } : {}),
  };
}

/** How message actions name conversations and accounts: as `send` does. */
function addressing(client: ParleyClient): Addressing {
  return {
    addressOf: (id) => addressOf(client, id),
    resolveAccount: (who) => resolveAccount(client, who),
    resolveTarget: (to) => resolveTarget(client, to),
  };
}

const KINDS = ['image', 'file', 'voice', 'video'] as const;

/** What `send --file` sends, read and checked before anything connects or changes. */
async function mediaFromArgs(args: ParsedArgs): Promise<SendMediaInput> {
  const path = need(args, 'file');
  const guessed = mediaTypeOf(path);
  const kind = opt(args, 'kind') ?? guessed.kind;
  if (!(KINDS as readonly string[]).includes(kind)) throw new UsageError('--kind must be image, file, voice or video');
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new UsageError(`cannot read --file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const caption = opt(args, 'message');
  return {
    bytes,
    mimeType: opt(args, 'mime') ?? guessed.mimeType,
    kind: kind as (typeof KINDS)[number],
    fileName: guessed.fileName,
    ...(caption ? { caption } : {}),
  };
}

/** `download`: fetch an attachment received earlier, check its digest, decrypt it to a file. */
async function download(args: ParsedArgs): Promise<void> {
  const client = await openClient(args);
  if (!client.registered) throw new UsageError('this profile is not registered');
  const id = need(args, 'message');
  const outPath = need(args, 'out');
  const m = await findAttachmentMessage(client, id);
  if (!m)
    throw new ParleyError('not_found', {
      message: `No message ${id} with an attachment on this device (run receive first).`,
    });
  const wantThumb = args.flags.get('thumbnail') === true;
  const ref = wantThumb ? m.attachment.thumbnail : m.attachment;
  if (!ref) throw new ParleyError('not_found', { message: `Message ${id} has no thumbnail.` });
  const bytes = await client.downloadMedia(ref);
  await writeFile(outPath, bytes);
  out({
    id,
    out: outPath,
    bytes: bytes.length,
    mimeType: ref.mimeType,
    ...(wantThumb
      ? { thumbnail: true }
      : { kind: m.attachment.kind, ...(m.attachment.fileName ? { fileName: m.attachment.fileName } : {}) }),
  });
}

/**
 * `receive`: print what arrived, then listen until `--timeout` seconds pass with nothing new. With
 * `--follow` it listens until `--timeout` seconds passed (0: for ever) and rides out a lost or
 * unreachable server, reconnecting with backoff and saying so on stderr; without it, a connection
 * that cannot be opened within `--connect-timeout`, or drops, ends the command with one error line.
 */
async function receive(args: ParsedArgs): Promise<void> {
  const follow = args.flags.get('follow') === true;
  const timeoutS = listenSeconds(args, follow);
  const client = await openClient(args);
  if (!client.registered) throw new UsageError('this profile is not registered');
  const store = new FileStore(need(args, 'profile'));
  const printed = new Set((await store.get<string[]>('cli-printed')) ?? []);
  // What was last printed of each message's reactions, edit and deletion (only changed ones).
  const states = new Map(Object.entries((await store.get<Record<string, string>>('cli-printed-states')) ?? {}));
  let lastActivity = Date.now();
  let chain = Promise.resolve();
  /** Print a message not printed yet, else what changed about it since it was printed. */
  const report = (m: LocalMessage) => {
    chain = chain.then(async () => {
      if (!m.outgoing && !printed.has(m.id)) {
        await printMessage(client, m);
        printed.add(m.id);
        await store.set('cli-printed', [...printed].slice(-5000));
      } else {
        const lines = await changeLines(
          client,
          m,
          states.get(m.id) ?? UNCHANGED,
          await addressOf(client, m.conversationId),
        );
        lines.forEach(out);
      }
      const state = stateOf(m);
      if (state === (states.get(m.id) ?? UNCHANGED)) return;
      states.delete(m.id);
      states.set(m.id, state);
      await store.set('cli-printed-states', Object.fromEntries([...states].slice(-5000)));
    });
    lastActivity = Date.now();
  };
  // Messages received earlier by other commands (send drains the queue too) are printed first,
  // with what happened to them since.
  const backlog: LocalMessage[] = [];
  // A group's system lines are not received messages: `group info` shows what they changed.
  for (const c of client.conversations()) for (const m of await client.messages(c.id)) if (!m.system) backlog.push(m);
  backlog.sort((a, b) => (a.serverTime ?? a.sentAt) - (b.serverTime ?? b.sentAt));
  backlog.forEach(report);
  client.on('message', report);
  client.on('message-changed', (e) => report(e.message));
  client.on('action-ignored', (e) =>
    process.stderr.write(`parley: ignored ${e.type} of ${e.target} from account:${e.from}: ${e.reason}\n`),
  );
  const server = client.self.serverUrl;
  let reconnecting = false;
  if (follow) {
    client.on('reconnecting', (r) => {
      reconnecting = true;
      process.stderr.write(
        `parley: reconnecting to ${server} in ${(r.inMs / 1000).toFixed(1)} s (attempt ${r.attempt}): ${r.reason}\n`,
      );
    });
    client.on('connection', (state) => {
      if (state !== 'ready' || !reconnecting) return;
      reconnecting = false;
      process.stderr.write(`parley: connected to ${server}\n`);
    });
  }
  let lost = false;
  try {
    // With --follow and a time limit, that limit is also as long as it waits for a first connection.
    await client.connect(follow ? { timeoutMs: timeoutS > 0 ? timeoutS * 1000 : Infinity } : {});
    if (!follow) client.on('connection', (state) => (lost ||= state === 'closed'));
    await client.drain();
  } catch (e) {
    await chain;
    throw e;
  }
  const started = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    if (lost) {
      await chain;
      throw new ParleyError('unavailable', {
        message: `The connection to ${server} was lost; run receive again (what was not printed is still queued).`,
      });
    }
    if (!follow && Date.now() - lastActivity >= timeoutS * 1000) break;
    if (follow && timeoutS > 0 && Date.now() - started >= timeoutS * 1000) break;
  }
  await client.idle();
  await chain;
  await client.close();
}

async function group(args: ParsedArgs): Promise<void> {
  const sub = args.words[1];
  const client = await connected(args);
  try {
    if (sub === 'create') {
      const members = await resolveMembers(client, need(args, 'members'));
      const id = await client.createGroup(need(args, 'name'), members);
      out({ group: id, address: `group:${id}`, name: need(args, 'name'), members });
    } else if (sub === 'add' || sub === 'remove') {
      const id = need(args, 'group').replace(/^group:/, '');
      const members = await resolveMembers(client, need(args, 'members'));
      if (sub === 'add') await client.addMembers(id, members);
      else for (const m of members) await client.removeMember(id, m);
      out({ group: id, [sub === 'add' ? 'added' : 'removed']: members });
    } else if (sub === 'rename') {
      const id = need(args, 'group').replace(/^group:/, '');
      await client.rename(id, need(args, 'name'));
      out({ group: id, name: need(args, 'name') });
    } else if (sub === 'describe') {
      const id = need(args, 'group').replace(/^group:/, '');
      await client.describe(id, need(args, 'text'));
      out({ group: id, description: need(args, 'text') });
    } else if (sub === 'info') {
      const id = need(args, 'group').replace(/^group:/, '');
      const conv = client.history.conversation(id);
      if (conv?.kind !== 'group')
        throw new ParleyError('conversation_not_found', { message: `No group ${id} on this device.` });
      out({
        group: id,
        address: `group:${id}`,
        name: conv.name ?? null,
        description: conv.description ?? '',
        active: conv.active,
        members: await Promise.all(
          conv.members.map(async (a) => ({
            account: await addressOfAccount(client, a),
            role: conv.admins.includes(a) ? 'admin' : 'member',
          })),
        ),
      });
    } else if (sub === 'admin' || sub === 'member') {
      const id = need(args, 'group').replace(/^group:/, '');
      const members = await resolveMembers(client, need(args, 'members'));
      for (const m of members) await client.setRole(id, m, sub);
      out({ group: id, role: sub, members });
    } else throw new UsageError('group needs create, add, remove, rename, describe, info, admin, member or leave');
  } finally {
    await client.close();
  }
}

async function run(args: ParsedArgs): Promise<void> {
  const cmd = args.words[0];
  switch (cmd) {
    case 'serve': {
      const { runServer } = await import('@parley/server');
      const { BusinessDeviceHost } = await import('@parley/sdk/node');
      // The hosted mode (docs/business.md): this process runs each business number's device.
      const businessDevices = new BusinessDeviceHost({ WebSocket: WebSocket as unknown as WebSocketCtor });
      const { url, banner } = await runServer(process.env, { businessDevices });
      out({ status: 'listening', url, web: `${url}/` });
      process.stderr.write(banner.map((l) => `${l}\n`).join(''));
      await new Promise(() => undefined);
      return;
    }
    case 'register': {
      const logKey = logKeyArg(args);
      if (logKey !== undefined) await new FileStore(need(args, 'profile')).set(PROFILE_LOG_KEY, logKey);
      const client = await openClient(args);
      const res = await client.requestCode(need(args, 'server'), need(args, 'phone'));
      out({ status: 'code_sent', phone: need(args, 'phone'), ...res });
      return;
    }
    case 'verify': {
      const client = await openClient(args);
      const pin = opt(args, 'pin');
      const res = await client.verify(need(args, 'code'), {
        deviceName: opt(args, 'name') ?? 'parley-cli',
        ...(pin ? { pin } : {}),
      });
      out({ status: 'registered', accountId: res.accountId, deviceId: res.deviceId, newAccount: res.newAccount });
      return;
    }
    case 'send': {
      const to = need(args, 'to');
      const media = args.flags.has('file') ? await mediaFromArgs(args) : null;
      if (!media) need(args, 'message');
      const replyTo = replyToArg(args);
      const client = await connected(args);
      try {
        const conversationId = await resolveTarget(client, to);
        // The file is encrypted on this device and uploaded in chunks before its reference is sent.
        const m = media
          ? await client.sendMedia(conversationId, media)
          : replyTo
            ? await client.reply(conversationId, replyTo, need(args, 'message'))
            : await client.sendText(conversationId, need(args, 'message'), await previewArg(args));
        out({
          id: m.id,
          conversation: await addressOf(client, conversationId),
          conversationId,
          sentAt: m.serverTime ?? m.sentAt,
          ...(m.attachment ? { attachment: describeAttachment(m.attachment) } : {}),
          ...(replyTo ? { replyTo } : {}),
          ...(m.preview ? { preview: describePreview(m.preview) } : {}),
        });
      } finally {
        await client.close();
      }
      return;
    }
    case 'react':
    case 'edit':
    case 'delete':
    case 'forward': {
      checkActionArgs(args);
      const client = await connected(args);
      try {
        await messageAction(client, args, addressing(client), out);
      } finally {
        await client.close();
      }
      return;
    }
    case 'models': {
      const client = await openClient(args);
      requireRegistered(client);
      for (const m of await client.imageModels()) out(modelLine(m));
      return;
    }
    case 'imagine': {
      if (args.words[1] === 'keys') {
        // Keys stay on this device: the profile is opened, the server never contacted.
        const client = await openClient(args);
        requireRegistered(client);
        return imagineKeys(client, args, out);
      }
      // Flags first: a usage error connects to nothing and sends nothing.
      const a = imagineArgs(args);
      const client = await connected(args);
      try {
        const conversationId = await resolveTarget(client, a.to);
        out({
          ...(await imagineAndSend(client, a, conversationId)),
          conversation: await addressOf(client, conversationId),
        });
      } finally {
        await client.close();
      }
      return;
    }
    case 'group':
      return group(args);
    case 'receive':
      return receive(args);
    case 'download':
      return download(args);
    case 'export': {
      const client = await connected(args);
      try {
        await exportCommand(args, client, (who) => resolveAccount(client, who), out);
      } finally {
        await client.close();
      }
      return;
    }
    case 'backup': {
      const sub = args.words[1];
      if (sub !== 'create' && sub !== 'restore') throw new UsageError('backup create | backup restore');
      // Create catches up first, so the backup holds what the server had queued; restore needs no network.
      const client = sub === 'create' ? await connected(args) : await openClient(args);
      try {
        requireRegistered(client);
        if (sub === 'create') await backupCreate(args, client, out);
        else await backupRestore(args, client, out);
      } finally {
        await client.close();
      }
      return;
    }
    case 'conversations': {
      const client = await connected(args);
      for (const c of client.conversations())
        out({
          id: c.id,
          address: await addressOf(client, c.id),
          kind: c.kind,
          name: c.name ?? null,
          members: c.members,
          active: c.active,
          unread: c.unread,
          // Set while this device stays removed from a group (cleared once it is added back).
          ...(c.removedAt !== undefined ? { removedAt: c.removedAt } : {}),
          ...(c.removedBy ? { removedBy: await addressOfAccount(client, c.removedBy) } : {}),
          // Restored from a backup, until a member adds this account back (docs/portability.md).
          ...(c.awaitingRejoin ? { awaitingRejoin: true } : {}),
          // Where this device lists the chat (kept on this device only).
          pinned: c.pinnedAt !== undefined,
          archived: c.archived === true,
          mutedUntil: mutedUntilOf(c),
          // Disappearing messages: the chat's timer in seconds, null when off.
          timer: c.timer ?? null,
        });
      await client.close();
      return;
    }
    case 'chat': {
      // Where this device lists a chat: pinned (at most 3) or archived; never sent anywhere.
      const sub = args.words[1];
      const client = await openClient(args);
      requireRegistered(client);
      try {
        const id = await existingConversation(client, need(args, 'to'), (w) => resolveAccount(client, w));
        if (sub === 'pin' || sub === 'unpin') await client.pin(id, sub === 'pin');
        else if (sub === 'archive' || sub === 'unarchive') await client.archive(id, sub === 'archive');
        else throw new UsageError('chat needs pin, unpin, archive or unarchive');
        const c = client.history.conversation(id)!;
        out({
          id,
          address: await addressOf(client, id),
          pinned: c.pinnedAt !== undefined,
          archived: c.archived === true,
        });
      } finally {
        await client.close();
      }
      return;
    }
    case 'mute': {
      // Mutes a chat on this device only; never sent anywhere.
      const client = await openClient(args);
      requireRegistered(client);
      try {
        await muteCommand(args, client, (w) => resolveAccount(client, w), out);
      } finally {
        await client.close();
      }
      return;
    }
    case 'timer': {
      // Disappearing messages (C17): a chat's timer goes to every member; the default stays here.
      const sub = args.words[1];
      if (sub !== 'set' && sub !== 'default') timerUsage();
      // A bad duration is a usage error before anything is opened or sent.
      durationArg(args);
      if (sub === 'set') need(args, 'to');
      const client = sub === 'set' ? await connected(args) : await openClient(args);
      requireRegistered(client);
      try {
        if (sub === 'set') await setTimerCommand(args, client, (to) => resolveTarget(client, to), out);
        else await defaultTimerCommand(args, client, out);
      } finally {
        await client.close();
      }
      return;
    }
    case 'search': {
      const query = args.words.slice(1).join(' ');
      if (!query.trim()) throw new UsageError('search QUERY: say what to look for');
      const client = await connected(args);
      try {
        const who = opt(args, 'conversation');
        const conversationId = who
          ? await existingConversation(client, who, (w) => resolveAccount(client, w))
          : undefined;
        // The search runs over this device's decrypted history; the query never leaves it.
        for (const hit of await client.search(query, conversationId ? { conversationId } : {}))
          out({
            id: hit.messageId,
            conversation: await addressOf(client, hit.conversationId),
            conversationId: hit.conversationId,
            from: await addressOfAccount(client, hit.from),
            fromAccount: hit.from,
            outgoing: hit.outgoing,
            sentAt: hit.time,
            text: hit.text,
            matches: hit.ranges,
          });
      } finally {
        await client.close();
      }
      return;
    }
    case 'whoami': {
      const client = await openClient(args);
      if (!client.registered) throw new UsageError('this profile is not registered');
      out(client.self);
      return;
    }
    case 'pin': {
      const client = await openClient(args);
      const value = args.words[1] === 'set' ? args.words[2] : args.words[1] === 'clear' ? null : undefined;
      if (value === undefined) throw new UsageError('pin set PIN | pin clear');
      out(await client.setPin(value));
      return;
    }
    case 'discover': {
      const path = need(args, 'numbers-file');
      const client = await openClient(args);
      // Everything is checked and learned before anything is printed: a refusal prints no results.
      for (const row of await discoverFile(client, path)) out(row);
      return;
    }
    case 'username': {
      const client = await openClient(args);
      requireRegistered(client);
      const sub = args.words[1];
      if (sub === 'set' && args.words[2]) out({ username: await client.setUsername(args.words[2]) });
      else if (sub === 'clear') out({ username: await client.setUsername(null) });
      else throw new UsageError('username set NAME.NN | username clear');
      return;
    }
    case 'settings': {
      const client = await openClient(args);
      out(await settings(client, args.words.slice(1)));
      return;
    }
    case 'profile': {
      const client = await openClient(args);
      out(await profile(client, args, (who) => resolveAccount(client, who)));
      return;
    }
    case 'block':
    case 'unblock':
    case 'blocked':
    case 'report': {
      const client = await connected(args);
      const a: SafetyAddressing = {
        resolveAccount: (who) => resolveAccount(client, who),
        addressOfAccount: (id) => addressOfAccount(client, id),
      };
      try {
        if (cmd === 'blocked') for (const row of await blockedCommand(client, a)) out(row);
        else if (cmd === 'report') out(await reportCommand(client, args, a));
        else out(await blockCommand(client, args, cmd === 'block', a));
      } finally {
        await client.close();
      }
      return;
    }
    case 'promotions': {
      // `promotions stop|resume --to WHO`: a business's marketing messages (docs/business.md "Opting out").
      const value = args.words[1];
      if (value !== 'stop' && value !== 'resume') throw new UsageError('promotions takes stop or resume');
      const to = need(args, 'to');
      const client = await connected(args);
      try {
        const accountId = await resolveAccount(client, to);
        if (!(await client.businessInfo(accountId)))
          throw new ParleyError('bad_request', { message: `${to} is not a business: it sends no promotions.` });
        const conversationId = await client.startDirect(accountId);
        const m = await client.setBusinessMarketing(conversationId, value);
        out({ account: to, accountId, conversationId, promotions: value, id: m.id });
      } finally {
        await client.close();
      }
      return;
    }
    case 'link':
      return linkCommand(
        args,
        () => openClient(args),
        () => connected(args),
        deadlinesOf(args).overallMs,
        out,
      );
    case 'devices':
      return devicesCommand(args, () => connected(args), resolveAccount, out);
    case 'audit-log': {
      const server = need(args, 'server');
      return auditServerLog(server, out, { ...auditLogOptions(args, server), timeoutMs: deadlinesOf(args).requestMs });
    }
    default:
      throw new UsageError(cmd ? `unknown command ${cmd}` : 'no command given');
  }
}

/** Run the CLI; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  try {
    const args = parseArgs(argv);
    if (args.flags.get('help') === true || args.words[0] === 'help') {
      process.stdout.write(usage() + '\n');
      return 0;
    }
    // `admin verify-audit` answers with its exit status: 0 only for an intact chain.
    if (args.words[0] === 'admin') return await admin(args, out);
    if (args.words[0] === 'business') return await business(args, out);
    // `serve` runs until stopped and `receive` has its own --timeout; every other command must
    // finish within --timeout.
    const cmd = args.words[0];
    const overallMs = cmd === 'serve' || cmd === 'receive' ? 0 : commandDeadlines(args).overallMs;
    await withinDeadline(
      args.words
        .slice(
          0,
          cmd === 'imagine' && args.words[1] === 'keys'
            ? 3
            : ['group', 'chat', 'timer', 'devices'].includes(cmd ?? '')
              ? 2
              : 1,
        )
        .join(' '),
      overallMs,
      run(args),
    );
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`parley: ${e.message} (see parley --help)\n`);
      return 2;
    }
    if (e instanceof ParleyError) {
      const waitMs = e.retryAfterMs() ?? 1000;
      const wait = e.isRateLimited()
        ? ` (rate limited; retry after ${Math.ceil(waitMs / 1000)} s, at ${new Date(Date.now() + waitMs).toISOString()})`
        : '';
      process.stderr.write(`parley: ${e.code}: ${e.message}${wait}\n`);
      return 1;
    }
    process.stderr.write(`parley: ${(e as Error).message ?? String(e)}\n`);
    return 1;
  }
}
