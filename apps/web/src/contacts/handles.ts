/**
 * Usernames this device knows (C12): its own, as last set here (the server only says whether the
 * account has one, and stores only a keyed hash), and the ones it started chats with, so such a
 * chat shows "@sam.42" rather than a bare id until the other side's profile arrives. Kept in
 * localStorage per account.
 */
import { USERNAME_PATTERN } from '@parley/protocol';

const key = (self: string, what: 'own' | 'known') => `parley.usernames.${what}.${self}`;

function read<T>(k: string, fallback: T): T {
  try {
    const v = localStorage.getItem(k);
    return v === null ? fallback : (JSON.parse(v) as T);
  } catch {
    return fallback;
  }
}

/** This account's username as this device last set it (null: none or unknown). */
export function ownUsername(self: string): string | null {
  return read<string | null>(key(self, 'own'), null);
}

/** Remember (or with null forget) this account's username. */
export function rememberOwnUsername(self: string, name: string | null): void {
  if (name === null) localStorage.removeItem(key(self, 'own'));
  else localStorage.setItem(key(self, 'own'), JSON.stringify(name));
}

/** The username this device used to find an account, if any. */
export function knownUsername(self: string, accountId: string): string | undefined {
  return read<Record<string, string>>(key(self, 'known'), {})[accountId];
}

/** Remember the username that led to an account. */
export function rememberUsername(self: string, accountId: string, name: string): void {
  const known = read<Record<string, string>>(key(self, 'known'), {});
  known[accountId] = name;
  localStorage.setItem(key(self, 'known'), JSON.stringify(known));
}

/**
 * Whether what someone typed into "New chat" is a username rather than a number: a leading `@`,
 * or the `name.42` shape (a number never has letters).
 */
export function looksLikeUsername(input: string): boolean {
  const s = input.trim();
  return s.startsWith('@') || USERNAME_PATTERN.test(s.toLowerCase()) || /[a-z]/i.test(s);
}

/** `@name.42` for display. */
export const atName = (name: string) => `@${name.replace(/^@/, '').toLowerCase()}`;
