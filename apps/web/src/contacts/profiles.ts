/**
 * Other people's profiles and presence as this device may see them (C12), outside React so that
 * every list item, header and call screen showing the same account shares one fetch.
 *
 * The server limits profile fetches per requester and target (6 per 10 minutes by default), so a
 * profile is cached in memory per account and fetched again only when it is older than
 * `REFRESH_MS`, or when the SDK's `profile-key` event says that account's profile key arrived:
 * the key travels inside chats, just before the first message its owner writes there, which is
 * also when the server starts letting this account see the fields. At most `BUDGET` fetches per
 * account leave this page in any 10 minutes, which leaves room for a reload; a key that arrives
 * while that budget is spent is fetched for as soon as it allows, and a `rate_limited` answer keeps
 * what was shown and tries again once the server allows.
 */
import { useEffect, useState, useSyncExternalStore } from 'react';
import { isParleyError, type ParleyClient, type Profile } from '@parley/sdk';

/** A profile as the app shows it: text fields and the photo as an object URL. */
export interface ShownProfile {
  name?: string;
  about?: string;
  photoUrl?: string;
}

const REFRESH_MS = 5 * 60_000;
const WINDOW_MS = 10 * 60_000;
const BUDGET = 4;

interface Entry {
  /** Undefined until the first answer; null when the owner shows this account nothing. */
  shown: ShownProfile | null | undefined;
  fetchedAt: number;
  /** Times of the fetches in the last window. */
  fetches: number[];
  inflight: boolean;
  /** A profile key may have arrived since the last fetch started: fetch again when allowed. */
  dirty: boolean;
  /** The highest profile version announced so far (the same change arrives once per shared chat). */
  announced?: number;
  timer?: ReturnType<typeof setTimeout>;
}

/** Detect the photo's type from its first bytes (the SDK returns bytes only). */
function imageType(bytes: Uint8Array): string {
  if (bytes[0] === 0x89 && bytes[1] === 0x50) return 'image/png';
  if (bytes[0] === 0x52 && bytes[1] === 0x49) return 'image/webp';
  if (bytes[0] === 0x47 && bytes[1] === 0x49) return 'image/gif';
  return 'image/jpeg';
}

/** An object URL for avatar bytes (the caller revokes it). */
export function photoUrlOf(bytes: Uint8Array): string {
  return URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: imageType(bytes) }));
}

function toShown(p: Profile | null): ShownProfile | null {
  if (!p) return null;
  return {
    ...(p.name ? { name: p.name } : {}),
    ...(p.about ? { about: p.about } : {}),
    ...(p.photo?.length ? { photoUrl: photoUrlOf(p.photo) } : {}),
  };
}

/** The profile cache of one client. */
export class ProfileStore {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<() => void>();
  private version = 0;

  constructor(
    private readonly client: ParleyClient,
    private readonly now: () => number = Date.now,
  ) {
    client.on('profile-key', ({ accountId, version }) => this.keyArrived(accountId, version));
  }

  /** Subscribe to changes (for `useSyncExternalStore`). */
  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  /** Changes with every profile update, so React re-renders. */
  getVersion = (): number => this.version;

  /** What is known of an account's profile now: undefined while never fetched, null when hidden. */
  get(accountId: string): ShownProfile | null | undefined {
    return this.entries.get(accountId)?.shown;
  }

  /** Make sure the profile is fresh enough; fetches in the background when it is not. */
  want(accountId: string): void {
    if (!this.client.registered || accountId === this.client.self.accountId) return;
    const e = this.entry(accountId);
    if (e.inflight || e.timer) return;
    if (e.fetchedAt && this.now() - e.fetchedAt < REFRESH_MS) return;
    this.fetch(accountId);
  }

  /**
   * A profile key of `accountId` arrived: its owner wrote to this account, so more of the profile
   * may now be visible and readable. Fetched again (within the budget) when this page has asked for
   * it before; a profile not shown yet is fetched when it is (`want`). The owner announces every
   * change of their profile this way too, in each chat they share it in: a `version` already
   * acted on is not fetched for again.
   */
  keyArrived(accountId: string, version?: number): void {
    if (!this.client.registered || accountId === this.client.self.accountId) return;
    const e = this.entries.get(accountId);
    if (!e) return;
    if (version !== undefined) {
      if (e.announced !== undefined && version <= e.announced) return;
      e.announced = version;
    }
    e.dirty = true;
    if (!e.inflight && !e.timer) this.fetch(accountId);
  }

  private entry(accountId: string): Entry {
    let e = this.entries.get(accountId);
    if (!e)
      this.entries.set(accountId, (e = { shown: undefined, fetchedAt: 0, fetches: [], inflight: false, dirty: false }));
    return e;
  }

  private changed(): void {
    this.version++;
    for (const fn of this.listeners) fn();
  }

  private later(accountId: string, e: Entry, delayMs: number): void {
    if (e.timer) clearTimeout(e.timer);
    e.timer = setTimeout(
      () => {
        e.timer = undefined;
        this.fetch(accountId);
      },
      Math.max(1000, delayMs),
    );
  }

  private fetch(accountId: string): void {
    const e = this.entry(accountId);
    const now = this.now();
    e.fetches = e.fetches.filter((t) => now - t < WINDOW_MS);
    if (e.fetches.length >= BUDGET) {
      // Out of budget: the oldest fetch leaves the window at this time.
      this.later(accountId, e, e.fetches[0]! + WINDOW_MS - now);
      return;
    }
    e.fetches.push(now);
    e.inflight = true;
    e.dirty = false;
    this.client
      .profileOf(accountId)
      .then(
        (p) => {
          const previous = e.shown;
          e.shown = toShown(p);
          if (previous?.photoUrl) URL.revokeObjectURL(previous.photoUrl);
          e.fetchedAt = this.now();
          this.changed();
        },
        (err: unknown) => {
          if (isParleyError(err) && err.isRateLimited()) {
            // Keep what is shown; ask again once the server allows it.
            this.later(accountId, e, err.retryAfterMs() ?? 60_000);
            return;
          }
          console.warn('parley profile', accountId, err);
          e.fetchedAt = this.now();
          if (e.shown === undefined) {
            e.shown = null;
            this.changed();
          }
        },
      )
      .finally(() => {
        e.inflight = false;
        if (e.dirty && !e.timer) this.fetch(accountId);
      });
  }
}

const stores = new WeakMap<ParleyClient, ProfileStore>();

/** The profile cache of a client (one per page). */
export function profileStore(client: ParleyClient): ProfileStore {
  let s = stores.get(client);
  if (!s) stores.set(client, (s = new ProfileStore(client)));
  return s;
}

/** Profiles of these accounts as far as this device may see them, re-rendering as they arrive. */
export function useProfiles(
  client: ParleyClient,
  accountIds: string[],
): Record<string, ShownProfile | null | undefined> {
  const store = profileStore(client);
  useSyncExternalStore(store.subscribe, store.getVersion);
  const key = accountIds.join(',');
  useEffect(() => {
    const wantAll = () => {
      for (const a of new Set(accountIds)) store.want(a);
    };
    wantAll();
    // Profiles age while the page stays open: look again now and then (`want` skips fresh ones).
    const timer = setInterval(wantAll, 60_000);
    return () => clearInterval(timer);
  }, [store, key]);
  return Object.fromEntries(accountIds.map((a) => [a, store.get(a)]));
}

/** One account's profile (see `useProfiles`). */
export function useProfile(client: ParleyClient, accountId: string | undefined): ShownProfile | null | undefined {
  return useProfiles(client, accountId ? [accountId] : [])[accountId ?? ''];
}

/** Presence as its owner lets this account see it; fields are absent when hidden. */
export interface Presence {
  online?: boolean;
  lastSeen?: number;
}

/**
 * Online and last seen of one account while a chat with it is on screen: fetched when the chat
 * opens, every minute, when the page becomes visible again and when a message from them arrives
 * (at most every 10 s); the server allows 60 such fetches per 10 minutes and target.
 */
export function usePresence(client: ParleyClient, accountId: string | undefined): Presence {
  const [presence, setPresence] = useState<Presence>({});
  useEffect(() => {
    setPresence({});
    if (!accountId) return undefined;
    let alive = true;
    let last = 0;
    const load = (force = false) => {
      if (!force && Date.now() - last < 10_000) return;
      last = Date.now();
      client.presenceOf(accountId).then(
        (p) => alive && setPresence(p),
        (err: unknown) => {
          if (!(isParleyError(err) && err.isRateLimited())) console.warn('parley presence', err);
        },
      );
    };
    load(true);
    const timer = setInterval(() => load(true), 60_000);
    const offMessage = client.on('message', (m) => m.from === accountId && load());
    const onVisible = () => document.visibilityState === 'visible' && load();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      alive = false;
      clearInterval(timer);
      offMessage();
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [client, accountId]);
  return presence;
}

/** "online", "last seen today at 14:05", … or null when nothing may be shown. */
export function presenceText(p: Presence, now = Date.now()): string | null {
  if (p.online) return 'online';
  if (p.lastSeen === undefined) return null;
  const at = new Date(p.lastSeen);
  const clock = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const day = (d: Date) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const days = Math.round((day(new Date(now)) - day(at)) / 86_400_000);
  if (days <= 0) return `last seen today at ${clock}`;
  if (days === 1) return `last seen yesterday at ${clock}`;
  return `last seen ${at.toLocaleDateString([], { day: 'numeric', month: 'short', ...(days > 300 ? { year: 'numeric' } : {}) })} at ${clock}`;
}
