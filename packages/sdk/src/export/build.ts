/**
 * Chat export (C16): packs chats as this device holds them into a zip, on the device. The server
 * never sees an export: the messages come from the device's own decrypted history and media is
 * downloaded and decrypted here, as for display. The zip holds `export.json` (the manifest),
 * `index.html`, and per chat `chats/<folder>/chat.json`, `chat.html` and `media/…` (schema in
 * `schema.ts`, layout in docs/export.md). It is written as a stream through `write`, one file at a
 * time, so a large export never has to sit in memory twice.
 */
import { Zip, ZipDeflate, ZipPassThrough, strToU8 } from 'fflate';
import { ParleyError, type BlobRef } from '@parley/protocol';
import type { LocalConversation, LocalMessage } from '../history.ts';
import type { Profile } from '../profiles.ts';
import { chatPage, displayName, indexPage } from './html.ts';
import {
  EXPORT_FORMAT,
  EXPORT_VERSION,
  type ExportedAttachment,
  type ExportedChat,
  type ExportedMessage,
  type ExportedPerson,
  type ExportManifest,
} from './schema.ts';

/** What an export reads: a `ParleyClient` is one. */
export interface ExportSource {
  readonly self: { accountId: string; phone: string };
  conversations(): LocalConversation[];
  messages(conversationId: string): Promise<LocalMessage[]>;
  downloadMedia(ref: BlobRef): Promise<Uint8Array>;
  phoneOf(accountId: string): Promise<string | undefined>;
  profileOf(accountId: string): Promise<Profile | null>;
  ownProfile(): Promise<Profile>;
}

/** How far an export has come; `mediaTotal` counts the files it will try to include. */
export interface ExportProgress {
  chatsDone: number;
  chats: number;
  mediaDone: number;
  mediaTotal: number;
}

/** What to export and where the zip's bytes go. */
export interface ExportOptions {
  /** One chat; all chats when absent. */
  conversationId?: string;
  /** Only messages sent at or after this time (ms since the epoch). */
  since?: number;
  /** Include media files (default true); without them the JSON still describes each attachment. */
  media?: boolean;
  /** Receives the zip in order, chunk by chunk; awaited before more is made. */
  write: (chunk: Uint8Array) => void | Promise<void>;
  onProgress?: (p: ExportProgress) => void;
  /** The clock, for tests. */
  now?: () => number;
}

const iso = (ms: number) => new Date(ms).toISOString();

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'video/mp4': 'mp4',
  'video/webm': 'webm',
  'audio/webm': 'webm',
  'audio/ogg': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'application/pdf': 'pdf',
  'text/plain': 'txt',
};

/**
 * A file or folder name safe on every system and inside a zip: letters, digits, `.`, `-` and `_`
 * only, no leading dot and no `..`, at most `max` characters, never empty.
 */
export function safeName(s: string, max = 60, fallback = 'file'): string {
  const cleaned = s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .slice(0, max)
    .replace(/^[.-]+/, '')
    .replace(/[.-]+$/, '');
  return cleaned || fallback;
}

function mediaName(index: number, m: LocalMessage): string {
  const a = m.attachment!;
  const ext = EXTENSIONS[a.mimeType.split(';')[0]!.trim()] ?? 'bin';
  return `${String(index).padStart(4, '0')}-${a.fileName ? safeName(a.fileName) : `${a.kind}.${ext}`}`;
}

/** Names and numbers of everyone in the chats, looked up once each; a lookup that fails leaves the id alone. */
async function people(source: ExportSource, ids: Set<string>): Promise<Map<string, ExportedPerson>> {
  const out = new Map<string, ExportedPerson>();
  for (const accountId of ids) {
    const p: ExportedPerson = { accountId };
    const phone = await source.phoneOf(accountId).catch(() => undefined);
    if (phone) p.phone = phone;
    const profile =
      accountId === source.self.accountId
        ? await source.ownProfile().catch(() => null)
        : await source.profileOf(accountId).catch(() => null);
    if (profile?.name) p.name = profile.name;
    out.set(accountId, p);
  }
  return out;
}

function chatTitle(c: LocalConversation, who: Map<string, ExportedPerson>): string {
  if (c.kind === 'group') return c.name ?? 'Group';
  const peer = c.peer ?? c.members.find((m) => m !== c.peer) ?? c.id;
  return displayName(who.get(peer), peer);
}

function describeMessage(m: LocalMessage): ExportedMessage {
  const out: ExportedMessage = { id: m.id, from: m.from, outgoing: m.outgoing, sentAt: iso(m.sentAt) };
  if (m.serverTime !== undefined) out.serverTime = iso(m.serverTime);
  if (m.forwarded) out.forwarded = true;
  if (m.system) out.system = { ...m.system };
  if (m.deletedAt !== undefined) {
    out.deletedAt = iso(m.deletedAt);
    return out;
  }
  if (m.text) out.text = m.text;
  if (m.replyTo) {
    out.replyTo = { id: m.replyTo.messageId, from: m.replyTo.from };
    if (m.replyTo.deleted) out.replyTo.deleted = true;
    else if (m.replyTo.excerpt) out.replyTo.excerpt = m.replyTo.excerpt;
  }
  if (m.editedAt !== undefined) out.editedAt = iso(m.editedAt);
  if (m.reactions?.length) out.reactions = m.reactions.map((r) => ({ from: r.from, emoji: r.emoji, at: iso(r.at) }));
  if (m.callLog) out.call = { ...m.callLog, startedAt: iso(m.callLog.startedAt) };
  if (m.outgoing) {
    out.deliveredTo = m.deliveredTo;
    out.readBy = m.readBy;
    if (m.playedBy?.length) out.playedBy = m.playedBy;
  }
  if (m.attachment) {
    const a = m.attachment;
    const att: ExportedAttachment = { kind: a.kind, mimeType: a.mimeType, size: a.size - 16 };
    if (a.fileName) att.fileName = a.fileName;
    if (a.durationMs !== undefined) att.durationMs = a.durationMs;
    if (a.width !== undefined) att.width = a.width;
    if (a.height !== undefined) att.height = a.height;
    out.attachment = att;
  }
  return out;
}

/** Writes a zip through `write`, one file at a time, waiting for each chunk to be taken. */
class ZipWriter {
  private readonly zip: Zip;
  private readonly queue: Uint8Array[] = [];
  private failure: Error | null = null;

  constructor(
    private readonly write: (chunk: Uint8Array) => void | Promise<void>,
    private readonly mtime: Date,
  ) {
    this.zip = new Zip((err, chunk) => {
      if (err) this.failure = err;
      else this.queue.push(chunk);
    });
  }

  /** Adds one file; media (already compressed) is stored as it is, text is deflated. */
  async add(path: string, data: Uint8Array, compress: boolean): Promise<void> {
    const file = compress ? new ZipDeflate(path, { level: 6 }) : new ZipPassThrough(path);
    file.mtime = this.mtime;
    this.zip.add(file);
    file.push(data, true);
    await this.flush();
  }

  async end(): Promise<void> {
    this.zip.end();
    await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    while (this.queue.length) await this.write(this.queue.shift()!);
  }
}

const json = (v: unknown) => strToU8(JSON.stringify(v, null, 2) + '\n');

/**
 * Export one chat (`conversationId`) or all, as a zip written through `opts.write`; answers the
 * manifest. An unknown `conversationId` fails with `conversation_not_found` before anything is
 * written. A media file that cannot be downloaded (expired, deleted) is described with its error
 * instead of failing the export.
 */
export async function exportChats(source: ExportSource, opts: ExportOptions): Promise<ExportManifest> {
  const now = opts.now ?? Date.now;
  const withMedia = opts.media ?? true;
  const all = source.conversations();
  const chosen = opts.conversationId ? all.filter((c) => c.id === opts.conversationId) : all;
  if (opts.conversationId && chosen.length === 0)
    throw new ParleyError('conversation_not_found', { message: 'This device has no chat with that id.' });

  const histories = new Map<string, LocalMessage[]>();
  const ids = new Set<string>([source.self.accountId]);
  let mediaTotal = 0;
  for (const c of chosen) {
    const all = await source.messages(c.id);
    const kept = opts.since === undefined ? all : all.filter((m) => m.sentAt >= opts.since!);
    histories.set(c.id, kept);
    for (const a of c.members) ids.add(a);
    for (const m of kept) {
      ids.add(m.from);
      if (withMedia && m.attachment && m.deletedAt === undefined) mediaTotal++;
    }
  }
  const who = await people(source, ids);
  const exportedAt = iso(now());
  const zip = new ZipWriter(opts.write, new Date(now()));
  const progress: ExportProgress = { chatsDone: 0, chats: chosen.length, mediaDone: 0, mediaTotal };
  opts.onProgress?.({ ...progress });

  const manifest: ExportManifest = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt,
    account: who.get(source.self.accountId) ?? { accountId: source.self.accountId },
    ...(opts.since !== undefined ? { since: iso(opts.since) } : {}),
    media: withMedia,
    chats: [],
  };
  for (const [i, c] of chosen.entries()) {
    const title = chatTitle(c, who);
    const folder = `${String(i + 1).padStart(3, '0')}-${safeName(title, 40, c.kind)}`;
    const messages: ExportedMessage[] = [];
    let mediaFiles = 0;
    for (const m of histories.get(c.id)!) {
      const out = describeMessage(m);
      if (m.attachment && out.attachment) {
        if (!withMedia) out.attachment.error = 'not_included';
        else {
          try {
            const bytes = await source.downloadMedia(m.attachment);
            const file = `media/${mediaName(messages.length + 1, m)}`;
            await zip.add(`chats/${folder}/${file}`, bytes, false);
            out.attachment.file = file;
            mediaFiles++;
          } catch (e) {
            out.attachment.error = e instanceof ParleyError ? String(e.code) : 'download_failed';
          }
          progress.mediaDone++;
          opts.onProgress?.({ ...progress });
        }
      }
      messages.push(out);
    }
    const chat: ExportedChat = {
      format: EXPORT_FORMAT,
      version: EXPORT_VERSION,
      id: c.id,
      kind: c.kind,
      title,
      ...(c.description ? { description: c.description } : {}),
      createdAt: iso(c.createdAt),
      active: c.active,
      members: c.members.map((a) => who.get(a) ?? { accountId: a }),
      admins: c.admins,
      messages,
    };
    await zip.add(`chats/${folder}/chat.json`, json(chat), true);
    await zip.add(`chats/${folder}/chat.html`, strToU8(chatPage(chat, exportedAt)), true);
    manifest.chats.push({ id: c.id, title, kind: c.kind, folder, messages: messages.length, mediaFiles });
    progress.chatsDone++;
    opts.onProgress?.({ ...progress });
  }
  await zip.add('export.json', json(manifest), true);
  await zip.add('index.html', strToU8(indexPage(manifest)), true);
  await zip.end();
  return manifest;
}

/** {@link exportChats} into memory: the zip's bytes and the manifest (for a browser download). */
export async function exportChatsToBytes(
  source: ExportSource,
  opts: Omit<ExportOptions, 'write'>,
): Promise<{ bytes: Uint8Array; manifest: ExportManifest }> {
  const chunks: Uint8Array[] = [];
  const manifest = await exportChats(source, { ...opts, write: (c) => void chunks.push(c) });
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return { bytes, manifest };
}
