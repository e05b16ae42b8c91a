/**
 * `parley settings` and `parley profile` (C12): who can find this account by its number, who sees
 * its photo, about, last seen and online status, and the profile itself (name, about, photo),
 * which the SDK encrypts on this device before the server stores it.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ParleyClient, Settings } from '@parley/sdk';
import { findByNumberSchema, visibilitySchema } from '@parley/protocol';
import { requireRegistered, UsageError, type ParsedArgs } from './args.ts';

type Setting = keyof Settings;

/** Command-line names of the settings and the values each takes. */
const SETTINGS: Record<string, { key: Setting; values: readonly string[] }> = {
  'find-by-number': { key: 'findByNumber', values: findByNumberSchema.options },
  photo: { key: 'photo', values: visibilitySchema.options },
  about: { key: 'about', values: visibilitySchema.options },
  'last-seen': { key: 'lastSeen', values: visibilitySchema.options },
  online: { key: 'online', values: visibilitySchema.options },
};

const SETTINGS_USAGE = `settings [get] | settings set ${Object.entries(SETTINGS)
  .map(([n, s]) => `${n} ${s.values.join('|')}`)
  .join(' | ')}`;

/**
 * `settings [get]` prints every setting, `{findByNumber, photo, about, lastSeen, online}`;
 * `settings set NAME VALUE` changes one and prints them all as the server now holds them.
 */
export async function settings(client: ParleyClient, words: string[]): Promise<Settings> {
  requireRegistered(client);
  const [sub, name, value] = words;
  if (sub === undefined || sub === 'get') return client.settings();
  if (sub !== 'set' || !name || value === undefined) throw new UsageError(SETTINGS_USAGE);
  const setting = SETTINGS[name];
  if (!setting) throw new UsageError(`unknown setting ${name} (known: ${Object.keys(SETTINGS).join(', ')})`);
  if (!setting.values.includes(value)) throw new UsageError(`${name} takes ${setting.values.join(' or ')}`);
  return client.settings({ [setting.key]: value } as Partial<Settings>);
}

/** A profile as printed: the photo by size and SHA-256, not its bytes. */
export interface PrintedProfile {
  accountId: string;
  name?: string;
  about?: string;
  photo?: { bytes: number; sha256: string };
}

/** Most bytes a profile photo file may have before encryption (the server's limit is on ciphertext). */
const PHOTO_MAX_BYTES = 64 * 1024;

/**
 * `profile set [--name TEXT] [--about TEXT] [--photo FILE]` (an empty value clears a field) prints
 * `{version}`; `profile get [--account WHO]` prints what this device can read of a profile: its
 * own, or another account's as far as that owner lets it (nothing readable: only `accountId`).
 */
export async function profile(
  client: ParleyClient,
  args: ParsedArgs,
  resolveAccount: (who: string) => Promise<string>,
): Promise<PrintedProfile | { version: number }> {
  requireRegistered(client);
  const sub = args.words[1];
  if (sub === 'set') {
    const changes: { name?: string | null; about?: string | null; photo?: Uint8Array | null } = {};
    for (const field of ['name', 'about'] as const) {
      const v = args.flags.get(field);
      if (v === true) throw new UsageError(`--${field} needs a value (use --${field}= to clear it)`);
      if (v !== undefined) changes[field] = v === '' ? null : v;
    }
    const photo = args.flags.get('photo');
    if (photo === true) throw new UsageError('--photo needs a file (use --photo= to clear it)');
    if (photo === '') changes.photo = null;
    else if (photo !== undefined) {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await readFile(photo));
      } catch (e) {
        throw new UsageError(`cannot read --photo ${photo}: ${(e as Error).message}`);
      }
      if (bytes.length > PHOTO_MAX_BYTES)
        throw new UsageError(
          `--photo ${photo} is ${bytes.length} bytes; a profile photo may have at most ${PHOTO_MAX_BYTES}`,
        );
      changes.photo = bytes;
    }
    if (!Object.keys(changes).length) throw new UsageError('profile set needs --name, --about or --photo');
    return { version: await client.setProfile(changes) };
  }
  if (sub !== undefined && sub !== 'get')
    throw new UsageError(
      'profile get [--account +E164|@NAME.NN|account:ID] | profile set [--name TEXT] [--about TEXT] [--photo FILE]',
    );
  const who = args.flags.get('account');
  if (who === true) throw new UsageError('--account needs +E164, @NAME.NN or account:ID');
  const accountId = who ? await resolveAccount(who) : client.self.accountId;
  const p = accountId === client.self.accountId ? await client.ownProfile() : await client.profileOf(accountId);
  return {
    accountId,
    ...(p?.name !== undefined ? { name: p.name } : {}),
    ...(p?.about !== undefined ? { about: p.about } : {}),
    ...(p?.photo
      ? { photo: { bytes: p.photo.length, sha256: createHash('sha256').update(p.photo).digest('hex') } }
      : {}),
  };
}
