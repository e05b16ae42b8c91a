/**
 * History to a newly linked device (C16, docs/devices.md "History transfer"). While linking, the
 * existing device packs the chosen part of its history (no history, the last 30 days, or
 * everything) as JSON: the conversations and their messages, attachments with their keys. It
 * encrypts the pack with a fresh AES-256-GCM key and uploads the ciphertext as a media blob
 * (`uploadBlob`). The blob's reference, with its key, travels inside the sealed link reply, which
 * only the new device can open. The new device downloads, decrypts and imports it. The import is
 * idempotent by message id and remembers which conversations it finished, so an interrupted
 * import resumes where it stopped (`resume`).
 */
import { ParleyError, blobRefSchema, type BlobRef } from '@parley/protocol';
import { openBlob, uploadBlob } from '../media.ts';
import type { History, LocalConversation, LocalMessage } from '../history.ts';
import type { DeviceStore } from '../store/types.ts';
import type { Session } from './session.ts';
import type { ClientEventSink } from './types.ts';

/** How much history a new device gets: none, the last 30 days, or everything this device holds. */
export type HistoryChoice = 'none' | '30d' | 'all';

/** The choices, in the order a UI offers them. */
export const HISTORY_CHOICES: readonly HistoryChoice[] = ['none', '30d', 'all'];

/** Where a history transfer stands, on either device. */
export interface HistoryProgress {
  /** Existing device: packing, uploading; new device: downloading, importing; both: done. */
  phase: 'packing' | 'uploading' | 'downloading' | 'importing' | 'done';
  /** Messages (packing, importing) or bytes (uploading, downloading) so far, out of `total`. */
  done: number;
  total: number;
}

/** What the sealed link reply carries about the history: the blob (with its key) and its counts. */
export interface LinkHistoryRef {
  blob: BlobRef;
  conversations: number;
  messages: number;
}

/** The JSON inside the blob (version 1). */
interface HistoryPack {
  v: 1;
  /** When it was packed (ms since the epoch), and the earliest message time it includes (null: all). */
  packedAt: number;
  since: number | null;
  conversations: { conversation: LocalConversation; messages: LocalMessage[] }[];
}

/** An import that has not finished yet, kept in the device store until it has. */
interface PendingImport {
  ref: LinkHistoryRef;
  /** Conversations fully imported. */
  finished: string[];
}

const PENDING_KEY = 'link-history';
const DAY_MS = 24 * 60 * 60_000;
/** Most conversations and messages a pack may hold (a bound for what a reply can make a device import). */
const MAX_CONVERSATIONS = 10_000;
const MAX_MESSAGES = 1_000_000;

/** Fields of a conversation that belong to one device only (pins, archive, mute, unread, held receipts). */
function shareable(c: LocalConversation): LocalConversation {
  const {
    pinnedAt: _pinned,
    archived: _archived,
    mutedUntil: _muted,
    heldReceipts: _held,
    timerKnown: _known,
    ...rest
  } = c;
  return { ...rest, unread: 0 };
}

/** When a message happened, for the 30-day cut and the order: the server's clock where known. */
function timeOf(m: LocalMessage): number {
  return m.serverTime ?? m.sentAt;
}

/** Check the reference a sealed reply carries; `link_message_invalid` when it is malformed. */
export function parseHistoryRef(value: unknown): LinkHistoryRef {
  const v = value as Partial<LinkHistoryRef> | null;
  const blob = blobRefSchema.safeParse(v?.blob);
  const count = (n: unknown, max: number) => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= max;
  if (!blob.success || !count(v?.conversations, MAX_CONVERSATIONS) || !count(v?.messages, MAX_MESSAGES))
    throw new ParleyError('link_message_invalid', { message: 'The history reference in the link reply is malformed.' });
  return { blob: blob.data, conversations: v!.conversations!, messages: v!.messages! };
}

/** Check a decrypted pack's shape (it comes from the account's own device, but is still input). */
function parsePack(bytes: Uint8Array): HistoryPack {
  let pack: HistoryPack;
  try {
    pack = JSON.parse(new TextDecoder().decode(bytes)) as HistoryPack;
  } catch {
    throw new ParleyError('link_message_invalid', { message: 'The transferred history is not readable.' });
  }
  const ok =
    pack?.v === 1 &&
    Array.isArray(pack.conversations) &&
    pack.conversations.length <= MAX_CONVERSATIONS &&
    pack.conversations.every(
      (c) =>
        typeof c?.conversation?.id === 'string' &&
        (c.conversation.kind === 'direct' || c.conversation.kind === 'group') &&
        Array.isArray(c.conversation.members) &&
        Array.isArray(c.messages) &&
        c.messages.every(
          (m) => typeof m?.id === 'string' && m.conversationId === c.conversation.id && typeof m.sentAt === 'number',
        ),
    );
  if (!ok) throw new ParleyError('link_message_invalid', { message: 'The transferred history is malformed.' });
  return pack;
}

/** Packing and uploading history on the existing device; downloading and importing it on the new one. */
export class LinkHistory {
  constructor(
    private readonly session: Session,
    private readonly store: DeviceStore,
    private readonly history: History,
    private readonly events: ClientEventSink,
  ) {}

  /**
   * Pack the chosen history, encrypt it with a fresh key and upload it; undefined for `none`.
   * Messages still sending or failed, and disappearing messages already due, stay behind.
   */
  async send(
    choice: HistoryChoice,
    onProgress?: (p: HistoryProgress) => void,
    now = Date.now(),
  ): Promise<LinkHistoryRef | undefined> {
    if (choice === 'none') return undefined;
    const since = choice === '30d' ? now - 30 * DAY_MS : null;
    const convs = this.history.conversations();
    const pack: HistoryPack = { v: 1, packedAt: now, since, conversations: [] };
    let messages = 0;
    for (const [i, c] of convs.entries()) {
      const kept = (await this.history.messages(c.id)).filter(
        (m) =>
          m.status !== 'sending' &&
          m.status !== 'failed' &&
          (m.expiresAt === undefined || m.expiresAt > now) &&
          (since === null || timeOf(m) >= since),
      );
      // A chat with nothing in the period still comes along: it shows, with its name, on the new device.
      pack.conversations.push({ conversation: shareable(c), messages: kept });
      messages += kept.length;
      onProgress?.({ phase: 'packing', done: i + 1, total: convs.length });
    }
    const bytes = new TextEncoder().encode(JSON.stringify(pack));
    const blob = await uploadBlob(this.session.api, bytes, 'application/json', {
      onProgress: (p) => onProgress?.({ phase: 'uploading', done: p.bytes, total: p.totalBytes }),
    });
    return { blob, conversations: pack.conversations.length, messages };
  }

  /** Remember a transfer to import (before importing, so an interruption can resume it). */
  async expect(ref: LinkHistoryRef): Promise<void> {
    await this.store.set(PENDING_KEY, { ref, finished: [] } satisfies PendingImport);
  }

  /** Whether a transfer is waiting to be (fully) imported on this device. */
  async pending(): Promise<boolean> {
    return (await this.store.get<PendingImport>(PENDING_KEY)) !== undefined;
  }

  /**
   * Download, decrypt and import a transfer this device expects, from where an earlier attempt
   * stopped; returns how many messages were added (0 when none was pending). Messages this device
   * already holds (by id) are left as they are, so importing twice adds nothing.
   */
  async resume(onProgress?: (p: HistoryProgress) => void): Promise<{ conversations: number; messages: number }> {
    const store = this.store;
    const pending = await store.get<PendingImport>(PENDING_KEY);
    if (!pending) return { conversations: 0, messages: 0 };
    const bytes = await openBlob(this.session.api, pending.ref.blob, {
      onProgress: (p) => onProgress?.({ phase: 'downloading', done: p.bytes, total: p.totalBytes }),
    });
    const pack = parsePack(bytes);
    const total = pack.conversations.reduce((n, c) => n + c.messages.length, 0);
    const finished = new Set(pending.finished);
    let done = pack.conversations
      .filter((c) => finished.has(c.conversation.id))
      .reduce((n, c) => n + c.messages.length, 0);
    let added = 0;
    let conversations = 0;
    onProgress?.({ phase: 'importing', done, total });
    for (const { conversation, messages } of pack.conversations) {
      if (finished.has(conversation.id)) continue;
      added += await this.importConversation(conversation, messages);
      conversations++;
      done += messages.length;
      finished.add(conversation.id);
      await store.set(PENDING_KEY, { ref: pending.ref, finished: [...finished] } satisfies PendingImport);
      onProgress?.({ phase: 'importing', done, total });
    }
    await store.delete(PENDING_KEY);
    onProgress?.({ phase: 'done', done: total, total });
    return { conversations, messages: added };
  }

  /**
   * One conversation: its record if this device has none yet (inactive until a Welcome adds this
   * device, which then keeps the name and settings), and the messages it lacks, in time order.
   */
  private async importConversation(conversation: LocalConversation, messages: LocalMessage[]): Promise<number> {
    let conv = this.history.conversation(conversation.id);
    if (!conv) {
      conv = { ...conversation, active: false, unread: 0 };
      delete conv.removedAt;
      delete conv.removedBy;
      await this.history.saveConversation(conv);
    }
    const added = await this.history.importMessages(conversation.id, messages);
    if (added > 0) {
      const last = Math.max(...messages.map(timeOf));
      if (last > conv.lastActivity) await this.history.saveConversation({ ...conv, lastActivity: last });
    }
    this.events.emit('conversation', this.history.conversation(conversation.id)!);
    return added;
  }
}
