/**
 * Encrypted backup and restore (C16, docs/portability.md). `createBackup` packs every store entry
 * that belongs in a backup (`backup/contents.ts`) and encrypts it (`@parley/crypto`'s backup file:
 * Argon2id passphrase or 64-digit recovery key). `restoreBackup`, on a device registered again
 * with the same number, opens and checks the whole file before it writes anything, then merges it
 * into the store: the device's own newer entries win, histories are merged by message id.
 *
 * Rejoining: the backup carries no MLS state, and this server keeps no GroupInfo for external
 * commits, so a restored conversation this device is not yet a member of comes back inactive with
 * `awaitingRejoin` set, and a member adds the account again (`addMembers`, `parley group add`):
 * the Welcome that follows makes it active, with its restored history in place.
 */
import { ParleyError } from '@parley/protocol';
import { openBackup, sealBackup, type BackupKdfParams, type BackupSecret } from '@parley/crypto';
import type { History, LocalConversation, LocalMessage } from '../history.ts';
import type { DeviceStore } from '../store/types.ts';
import {
  BACKUP_CONTENT_FORMAT,
  BACKUP_CONTENT_VERSION,
  collectEntries,
  decodeContents,
  encodeContents,
} from '../backup/contents.ts';
import type { Groups } from './groups.ts';
import type { Safety } from './safety.ts';
import type { Session } from './session.ts';

/** What a restore brought back. */
export interface RestoreResult {
  /** The account the backup belongs to (this device's). */
  accountId: string;
  /** When the backup was made. */
  createdAt: number;
  /** Conversations restored (new to this device or merged). */
  conversations: number;
  /** Messages this device did not hold before. */
  messages: number;
  /** Restored conversations this device is not a member of yet: a member must add this account again. */
  awaitingRejoin: string[];
}

/** What a backup holds, as `createBackup` reports it. */
export interface BackupSummary {
  /** The encrypted file. */
  bytes: Uint8Array;
  conversations: number;
  messages: number;
  createdAt: number;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);

/** Backups of this device's store. */
export class Backups {
  constructor(
    private readonly session: Session,
    private readonly store: DeviceStore,
    private readonly history: History,
    private readonly groups: Groups,
    private readonly safety: Safety,
  ) {}

  /**
   * Make an encrypted backup of everything this device holds except its credentials, MLS state and
   * key-transparency view. With `{ recoveryKey }` pass a key from `generateRecoveryKey()` and show
   * it once; with `{ passphrase }` the Argon2id cost is `kdf` (defaults to `DEFAULT_BACKUP_KDF`).
   */
  async createBackup(secret: BackupSecret, kdf?: BackupKdfParams): Promise<BackupSummary> {
    const d = this.session.device();
    const entries = await collectEntries(this.store);
    const createdAt = Date.now();
    const plain = encodeContents({
      format: BACKUP_CONTENT_FORMAT,
      version: BACKUP_CONTENT_VERSION,
      accountId: d.accountId,
      createdAt,
      entries,
    });
    const bytes = await sealBackup(plain, secret, kdf);
    const keys = Object.keys(entries);
    return {
      bytes,
      createdAt,
      conversations: keys.filter((k) => k.startsWith('conv:')).length,
      messages: keys.filter((k) => k.startsWith('msgs:')).reduce((n, k) => n + (entries[k] as unknown[]).length, 0),
    };
  }

  /**
   * Restore a backup made by a device of this account. The file is decrypted and checked in full
   * first: a wrong secret, a truncated or tampered file, another version or another account's
   * backup throws its catalogued error (`backup_*`) and writes nothing.
   */
  async restoreBackup(file: Uint8Array, secret: BackupSecret): Promise<RestoreResult> {
    const d = this.session.device();
    const contents = decodeContents(await openBackup(file, secret));
    if (contents.accountId !== d.accountId)
      throw new ParleyError('backup_wrong_account', { details: { backupAccount: contents.accountId } });

    let conversations = 0;
    let messages = 0;
    const awaitingRejoin: string[] = [];
    for (const [key, value] of Object.entries(contents.entries)) {
      if (key.startsWith('conv:')) {
        conversations++;
        const restored = await this.restoreConversation(value as LocalConversation);
        if (restored.awaitingRejoin) awaitingRejoin.push(restored.id);
      } else if (key.startsWith('msgs:')) {
        messages += await this.mergeMessages(key, value as LocalMessage[]);
      } else {
        await this.mergeEntry(key, value);
      }
    }
    // Services that keep a copy in memory read the merged entries again.
    await this.safety.load();
    return { accountId: contents.accountId, createdAt: contents.createdAt, conversations, messages, awaitingRejoin };
  }

  /**
   * A conversation this device is already in keeps its live record (with the backup's name,
   * description and placement filled in where it has none); any other comes back inactive,
   * awaiting a member to add this account again.
   */
  private async restoreConversation(backup: LocalConversation): Promise<LocalConversation> {
    const live = this.history.conversation(backup.id);
    if (live && (await this.groups.isMember(backup.id))) {
      const merged: LocalConversation = { ...backup, ...live };
      await this.history.saveConversation(merged);
      return merged;
    }
    const { removedAt: _at, removedBy: _by, awaitingRejoin: _was, ...rest } = backup;
    // A chat the old device had left stays left: nobody will add this account back to it.
    const restored: LocalConversation = backup.active
      ? { ...rest, active: false, awaitingRejoin: true }
      : { ...backup, active: false };
    await this.history.saveConversation(restored);
    return restored;
  }

  /** Add the backup's messages this device does not hold; returns how many. */
  private async mergeMessages(key: string, backup: LocalMessage[]): Promise<number> {
    const current = (await this.store.get<LocalMessage[]>(key)) ?? [];
    const held = new Set(current.flatMap((m) => (m.clientMessageId ? [m.id, m.clientMessageId] : [m.id])));
    const added = backup.filter((m) => !held.has(m.id) && !(m.clientMessageId && held.has(m.clientMessageId)));
    if (!added.length) return 0;
    // Restored messages are older than what this device received since: they go first, in their order.
    await this.store.set(key, [...added, ...current]);
    return added.length;
  }

  /** Other entries: this device's own value wins; objects and string lists are merged into it. */
  private async mergeEntry(key: string, backup: unknown): Promise<void> {
    const current = await this.store.get(key);
    if (current === undefined) return this.store.set(key, backup);
    if (isPlainObject(current) && isPlainObject(backup)) return this.store.set(key, { ...backup, ...current });
    if (Array.isArray(current) && Array.isArray(backup) && [...current, ...backup].every((x) => typeof x === 'string'))
      return this.store.set(key, [...new Set([...(backup as string[]), ...(current as string[])])]);
  }
}
