/**
 * Directory and profiles (C12): finding accounts by number (private contact discovery) or by
 * username, the numbers this device knows, privacy settings, presence, and encrypted profiles
 * (`profiles.ts`). Only blinded numbers and keyed hashes of usernames leave the device.
 */
import { ParleyError, toB64, type FindByNumber, type Settings } from '@parley/protocol';
import { usernameHash } from '@parley/crypto';
import type { DeviceStore } from '../store/types.ts';
import { normaliseUsername } from '../usernames.ts';
import { discover } from '../discovery.ts';
import { Profiles, type Profile } from '../profiles.ts';
import type { ContentSender } from './outbox.ts';
import type { Session } from './session.ts';

/** Lookups, settings and profiles of one device's account. */
export class Directory {
  /** Encrypted profile and the profile keys others shared. */
  readonly profiles: Profiles;

  constructor(
    private readonly session: Session,
    private readonly store: DeviceStore,
    sender: ContentSender,
  ) {
    this.profiles = new Profiles(session, store, sender);
  }

  /** Resolve a phone number to an account id (and remember it). */
  async lookupPhone(phone: string): Promise<string> {
    // Asked by a person for one number: a cached "not found" is asked again (they may have joined).
    const account = (await this.discoverNumbers([phone], true)).get(phone);
    if (!account) throw new ParleyError('account_not_found');
    return account;
  }

  /** Which of these E.164 numbers belong to findable accounts; answers are cached on this device. */
  async discover(numbers: string[]): Promise<Map<string, string | null>> {
    return this.discoverNumbers(numbers, false);
  }

  private async discoverNumbers(numbers: string[], askAgainIfMissing: boolean): Promise<Map<string, string | null>> {
    const found = await discover(this.session.api, this.store, numbers, Date.now(), askAgainIfMissing);
    const contacts = (await this.store.get<Record<string, string>>('contacts')) ?? {};
    let changed = false;
    for (const [n, a] of found) {
      if (a && contacts[n] !== a) {
        contacts[n] = a;
        changed = true;
      }
    }
    if (changed) await this.store.set('contacts', contacts);
    return found;
  }

  /** Set (or with null clear) this account's username; only a hash leaves the device. */
  async setUsername(name: string | null): Promise<string | null> {
    this.session.device();
    if (name === null) {
      await this.session.api.clearUsername();
      await this.store.delete('username');
      return null;
    }
    const normalised = normaliseUsername(name);
    await this.session.api.setUsername(toB64(usernameHash(normalised)));
    await this.store.set('username', normalised);
    return normalised;
  }

  /** This account's username as this device last set it (normalised), or null. */
  async username(): Promise<string | null> {
    return (await this.store.get<string>('username')) ?? null;
  }

  /** The account with exactly this username (`account_not_found` otherwise). */
  async lookupUsername(name: string): Promise<string> {
    this.session.device();
    const r = await this.session.api.lookupUsername(toB64(usernameHash(normaliseUsername(name))));
    return r.accountId;
  }

  /** Who can find this account by its number. */
  async findByNumber(value?: FindByNumber): Promise<FindByNumber> {
    return (await this.settings(value ? { findByNumber: value } : undefined)).findByNumber;
  }

  /** Read the privacy settings, or change some (re-encrypting the profile when photo or about moves). */
  async settings(changes?: Partial<Settings>): Promise<Settings> {
    this.session.device();
    if (!changes) return this.session.api.getSettings();
    const next = await this.session.api.setSettings(changes);
    if (changes.photo !== undefined || changes.about !== undefined) await this.profiles.republish(next);
    return next;
  }

  /** Set profile fields (undefined keeps a field, null clears it); returns the version. */
  async setProfile(changes: {
    name?: string | null;
    about?: string | null;
    photo?: Uint8Array | null;
  }): Promise<number> {
    this.session.device();
    return this.profiles.set(changes, await this.session.api.getSettings());
  }

  /** This account's own profile as this device holds it. */
  ownProfile(): Promise<Profile> {
    this.session.device();
    return this.profiles.own();
  }

  /** Another account's profile, as far as its owner lets us see and read it. */
  profileOf(accountId: string): Promise<Profile | null> {
    this.session.device();
    return this.profiles.of(accountId);
  }

  /** Online and last seen of an account, each only if its owner lets us see it. */
  presenceOf(accountId: string): Promise<{ online?: boolean; lastSeen?: number }> {
    this.session.device();
    return this.session.api.getPresence(accountId);
  }

  /** The phone number this device knows for an account, if any. */
  async phoneOf(accountId: string): Promise<string | undefined> {
    if (this.session.record?.accountId === accountId) return this.session.record.phone;
    const cached = (await this.store.get<Record<string, string>>('contacts')) ?? {};
    return Object.entries(cached).find(([, a]) => a === accountId)?.[0];
  }

  /**
   * Whether an account is a business (C10), and who holds its keys: `platform` when the server's
   * operator runs the business's device (the hosted mode), `business` when the business runs its
   * own. Null for a person's account. A chat shows this before its first message.
   */
  async businessInfo(accountId: string): Promise<{ verifiedName: string; keys: 'platform' | 'business' } | null> {
    const info = await this.session.api.getAccount(accountId);
    return info.business ?? null;
  }
}
