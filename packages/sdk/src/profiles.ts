/**
 * Encrypted profiles (C12), device side. Name, about and photo are encrypted here with the
 * profile key (AES-256-GCM, a fresh nonce per field, the field name and version bound as
 * associated data); the key reaches other accounts only inside MLS conversations this account has
 * written in (content kind `profile-key`). Fields the owner makes visible to `everyone` are
 * encrypted under a second key published with them instead. See docs/profiles.md.
 */
import { ParleyError, fromB64, toB64, type ProfileField, type Settings } from '@parley/protocol';
import type { DeviceStore } from './store/types.ts';
import type { HttpApi } from './transport/http.ts';
import type { ContentSender } from './client/outbox.ts';
import { randomBytes } from './random.ts';
import { openProfileField, sealProfileField } from '@parley/crypto';

/** A profile as the owner enters it and others read it. */
export interface Profile {
  name?: string;
  about?: string;
  /** An avatar image (small JPEG/PNG made on the device). */
  photo?: Uint8Array;
}

interface SelfProfile {
  key: string;
  openKey: string;
  version: number;
  name?: string;
  about?: string;
  photo?: string;
}

const SELF = 'profile:self';
const KEYS = 'profile:keys';
const SENT = 'profile:sent';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What profiles need to know about this device: its server's API and its account. */
export interface ProfileSession {
  /** The HTTP API of this device's server (throws before registration). */
  readonly api: HttpApi;
  /** This device's account id (undefined before registration). */
  readonly accountId: string | undefined;
}

/** Profile state of this device's account and the keys it has received from others. */
export class Profiles {
  constructor(
    private readonly session: ProfileSession,
    private readonly store: DeviceStore,
    /** Shares the profile key in conversations (end to end, inside MLS). */
    private readonly sender: ContentSender,
  ) {}

  private get api(): HttpApi {
    return this.session.api;
  }

  private accountId(): string | undefined {
    return this.session.accountId;
  }

  /** This account's profile key and version, made on first use. */
  async self(): Promise<SelfProfile> {
    const found = await this.store.get<SelfProfile>(SELF);
    if (found) return found;
    const made: SelfProfile = { key: toB64(randomBytes(32)), openKey: toB64(randomBytes(32)), version: 0 };
    await this.store.set(SELF, made);
    return made;
  }

  /** This account's own profile fields as this device last set them (plaintext stays on the device). */
  async own(): Promise<Profile> {
    const me = await this.self();
    return {
      ...(me.name !== undefined ? { name: me.name } : {}),
      ...(me.about !== undefined ? { about: me.about } : {}),
      ...(me.photo !== undefined ? { photo: fromB64(me.photo) } : {}),
    };
  }

  /**
   * The next profile version: above both this device's and the one the server holds, so a device
   * that reinstalled (and starts counting again) still publishes a version contacts take as newer.
   */
  private async nextVersion(me: SelfProfile): Promise<number> {
    const accountId = this.accountId();
    let stored = 0;
    if (accountId) {
      try {
        stored = (await this.api.getProfile(accountId)).version;
      } catch (e) {
        if (!(e instanceof ParleyError && e.code === 'profile_hidden')) throw e;
      }
    }
    return Math.max(me.version, stored) + 1;
  }

  /** Change fields (undefined keeps, null clears), encrypt and upload; returns the new version. */
  async set(
    changes: { name?: string | null; about?: string | null; photo?: Uint8Array | null },
    settings: Settings,
  ): Promise<number> {
    const me = await this.self();
    const next: SelfProfile = { ...me, version: await this.nextVersion(me) };
    if (changes.name !== undefined) next.name = changes.name ?? undefined;
    if (changes.about !== undefined) next.about = changes.about ?? undefined;
    if (changes.photo !== undefined) next.photo = changes.photo ? toB64(changes.photo) : undefined;
    await this.publish(next, settings);
    await this.store.set(SELF, next);
    await this.announce(next);
    return next.version;
  }

  /**
   * Say in every conversation this device has shared the profile key in that the profile changed:
   * the same key with the new version (content kind `profile-key`), so contacts' apps fetch the
   * profile again right away (their `profile-key` event) instead of at their next refresh. A
   * conversation this account can no longer write in is skipped; the others still hear of it.
   */
  private async announce(p: SelfProfile): Promise<void> {
    const sent = (await this.store.get<Record<string, string>>(SENT)) ?? {};
    for (const [conversationId, mark] of Object.entries(sent)) {
      if (!mark.startsWith(`${p.key}|`)) continue;
      try {
        // No `accept`: these chats were accepted when the key was first shared there.
        await this.sender.send(conversationId, { type: 'profile-key', key: p.key, version: p.version });
      } catch {
        // Left or removed since: nobody there to tell.
      }
    }
  }

  /** Re-encrypt and upload the current fields, e.g. after a visibility change moved one to `everyone`. */
  async republish(settings: Settings): Promise<void> {
    const me = await this.self();
    if (me.name === undefined && me.about === undefined && me.photo === undefined) return;
    const next = { ...me, version: await this.nextVersion(me) };
    await this.publish(next, settings);
    await this.store.set(SELF, next);
    await this.announce(next);
  }

  private async publish(p: SelfProfile, settings: Settings): Promise<void> {
    const key = fromB64(p.key);
    const openKey = fromB64(p.openKey);
    const open: ('about' | 'photo')[] = [];
    const seal = async (field: ProfileField, plain: Uint8Array | undefined) => {
      if (!plain) return undefined;
      const isOpen = field !== 'name' && settings[field] === 'everyone';
      if (isOpen) open.push(field as 'about' | 'photo');
      return toB64(await sealProfileField(isOpen ? openKey : key, field, p.version, plain));
    };
    const body = {
      version: p.version,
      name: await seal('name', p.name === undefined ? undefined : encoder.encode(p.name)),
      about: await seal('about', p.about === undefined ? undefined : encoder.encode(p.about)),
      photo: await seal('photo', p.photo === undefined ? undefined : fromB64(p.photo)),
      ...(open.length ? { open, openKey: p.openKey } : {}),
    };
    // Unset fields are undefined here and left out of the JSON body.
    await this.api.putProfile(body);
  }

  /**
   * Remember a profile key another account shared with us. A higher version wins; so does a
   * different key sent later (by the sender's clock), because an account that reinstalled starts
   * with a new key. Keys arrive in several chats in any order, so an older message never
   * overwrites a newer one.
   */
  async rememberKey(accountId: string, key: string, version: number, sentAt: number): Promise<void> {
    const keys = (await this.store.get<Record<string, { key: string; version: number; sentAt?: number }>>(KEYS)) ?? {};
    const had = keys[accountId];
    if (had && !(version > had.version || (key !== had.key && sentAt > (had.sentAt ?? 0)))) return;
    keys[accountId] = { key, version, sentAt };
    await this.store.set(KEYS, keys);
  }

  /**
   * True when this device has shared its profile key in the conversation, i.e. has written in it
   * (which accepts the chat); used for conversations stored before acceptance was recorded.
   */
  async sharedIn(conversationId: string): Promise<boolean> {
    return Boolean((await this.store.get<Record<string, string>>(SENT))?.[conversationId]);
  }

  /**
   * Share our current profile key in a conversation unless everyone now in it has it, then
   * remember it as given to these `members`. A member who joined since (a group that grew) means
   * the key is shared again. Sharing it is writing in the chat, which accepts it.
   */
  async shareKey(conversationId: string, members: readonly string[]): Promise<void> {
    const me = await this.self();
    const mark = `${me.key}|${[...members].sort().join(',')}`;
    if ((await this.store.get<Record<string, string>>(SENT))?.[conversationId] === mark) return;
    await this.sender.send(conversationId, { type: 'profile-key', key: me.key, version: me.version }, { accept: true });
    // Read again: other conversations may have been marked while this one was sending.
    const sent = (await this.store.get<Record<string, string>>(SENT)) ?? {};
    sent[conversationId] = mark;
    await this.store.set(SENT, sent);
  }

  /**
   * Another account's profile as far as we may see and read it: fields the server withholds or
   * that we hold no key for are absent; null when the server shows nothing at all.
   */
  async of(accountId: string): Promise<Profile | null> {
    let r;
    try {
      r = await this.api.getProfile(accountId);
    } catch (e) {
      if (e instanceof ParleyError && e.code === 'profile_hidden') return null;
      throw e;
    }
    const keys = (await this.store.get<Record<string, { key: string; version: number }>>(KEYS)) ?? {};
    const mine = accountId === this.accountId() ? (await this.self()).key : undefined;
    const profileKey = mine ?? keys[accountId]?.key;
    const out: Profile = {};
    for (const field of ['name', 'about', 'photo'] as const) {
      const sealed = r[field];
      if (!sealed) continue;
      const isOpen = field !== 'name' && (r.open ?? []).includes(field);
      const k = isOpen ? r.openKey : profileKey;
      if (!k) continue;
      const plain = await openProfileField(fromB64(k), field, r.version, fromB64(sealed));
      if (!plain) continue;
      if (field === 'photo') out.photo = plain;
      else out[field] = decoder.decode(plain);
    }
    return out;
  }
}
