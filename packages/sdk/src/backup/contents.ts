/**
 * What a backup holds (C16, docs/portability.md): every entry of the device store except what only
 * this device may have — its credentials and registration, its MLS group states and KeyPackage
 * secrets (a restored device joins again instead, see `client/backups.ts`), its key-transparency
 * view (verified afresh from the log) and its delivery bookkeeping. The entries are serialised with
 * `bytesJson` (bytes stay bytes) and deflated before encryption.
 */
import { deflateSync, inflateSync } from 'fflate';
import { ParleyError } from '@parley/protocol';
import { bytesJson, type DeviceStore } from '../store/types.ts';

/** Identifies the plaintext inside a backup file. */
export const BACKUP_CONTENT_FORMAT = 'parley-backup';
/** Version of the plaintext layout (the file's own version is in its header). */
export const BACKUP_CONTENT_VERSION = 1;

/** Keys never backed up: one device's credentials and secrets, and state tied to that device. */
const EXCLUDED_KEYS = new Set(['device', 'pending-registration', 'kp-secrets', 'notify:view']);
/** Prefixes never backed up: MLS group states, key-transparency state, seen delivery ids. */
const EXCLUDED_PREFIXES = ['group:', 'kt-', 'seen:'];

/** True when the store entry `key` belongs in a backup. */
export function isBackedUp(key: string): boolean {
  return !EXCLUDED_KEYS.has(key) && !EXCLUDED_PREFIXES.some((p) => key.startsWith(p));
}

/** The decrypted body of a backup. */
export interface BackupContents {
  format: typeof BACKUP_CONTENT_FORMAT;
  version: number;
  /** The account whose device made it: only a device of the same account restores it. */
  accountId: string;
  /** When it was made (ms since the epoch). */
  createdAt: number;
  /** Store entries by key. */
  entries: Record<string, unknown>;
}

/** Read every entry that belongs in a backup. */
export async function collectEntries(store: DeviceStore): Promise<Record<string, unknown>> {
  const entries: Record<string, unknown> = {};
  for (const key of (await store.keys('')).sort()) {
    if (!isBackedUp(key)) continue;
    const value = await store.get(key);
    if (value !== undefined) entries[key] = value;
  }
  return entries;
}

/** The plaintext of a backup: JSON (bytes kept as bytes), deflated. */
export function encodeContents(contents: BackupContents): Uint8Array {
  return deflateSync(new TextEncoder().encode(bytesJson.stringify(contents)));
}

const invalid = (problem: string) =>
  new ParleyError('backup_invalid', { message: `The backup's contents are malformed: ${problem}.` });

/**
 * Parse and check a decrypted backup body; `backup_invalid` when it is not one, `backup_version`
 * for a newer layout. Checked in full here, before the caller writes anything.
 */
export function decodeContents(plain: Uint8Array): BackupContents {
  let parsed: unknown;
  try {
    parsed = bytesJson.parse(new TextDecoder('utf-8', { fatal: true }).decode(inflateSync(plain)));
  } catch {
    throw invalid('not deflated JSON');
  }
  if (!parsed || typeof parsed !== 'object') throw invalid('not an object');
  const c = parsed as Partial<BackupContents>;
  if (c.format !== BACKUP_CONTENT_FORMAT) throw invalid('unknown format');
  if (c.version !== BACKUP_CONTENT_VERSION)
    throw new ParleyError('backup_version', {
      details: { contentVersion: c.version, supported: [BACKUP_CONTENT_VERSION] },
    });
  if (typeof c.accountId !== 'string' || !c.accountId) throw invalid('no account');
  if (typeof c.createdAt !== 'number') throw invalid('no creation time');
  if (!c.entries || typeof c.entries !== 'object' || Array.isArray(c.entries)) throw invalid('no entries');
  for (const [key, value] of Object.entries(c.entries)) {
    // A file from a modified client could carry credentials or group state: they are never restored.
    if (!isBackedUp(key)) throw invalid(`entry ${key} is never part of a backup`);
    if (key.startsWith('conv:')) {
      const conv = value as { id?: unknown; kind?: unknown; members?: unknown };
      if (
        !conv ||
        conv.id !== key.slice(5) ||
        (conv.kind !== 'direct' && conv.kind !== 'group') ||
        !Array.isArray(conv.members)
      )
        throw invalid(`entry ${key} is not a conversation`);
    }
    if (key.startsWith('msgs:')) {
      if (!Array.isArray(value)) throw invalid(`entry ${key} is not a message list`);
      for (const m of value as { id?: unknown; conversationId?: unknown }[])
        if (!m || typeof m.id !== 'string' || m.conversationId !== key.slice(5))
          throw invalid(`entry ${key} holds a message of another chat or without an id`);
    }
  }
  return c as BackupContents;
}
