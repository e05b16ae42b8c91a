/**
 * Usernames this device found accounts by (C12), so a chat started by username shows "@sam.42"
 * rather than a bare id until the other side's profile arrives. Kept in localStorage per account.
 * (This account's own username comes from the SDK, `client.username()`.)
 */
const key = (self: string) => `parley.usernames.known.${self}`;

function read<T>(k: string, fallback: T): T {
  try {
    const v = localStorage.getItem(k);
    return v === null ? fallback : (JSON.parse(v) as T);
  } catch {
    return fallback;
  }
}

/** The username this device used to find an account, if any. */
export function knownUsername(self: string, accountId: string): string | undefined {
  return read<Record<string, string>>(key(self), {})[accountId];
}

/** Remember the username that led to an account. */
export function rememberUsername(self: string, accountId: string, name: string): void {
  const known = read<Record<string, string>>(key(self), {});
  known[accountId] = name;
  localStorage.setItem(key(self), JSON.stringify(known));
}

/**
 * Whether what someone typed into "New chat" is a username rather than a number: a leading `@`,
 * or any letter (a username starts with one, a number never has one).
 */
export function looksLikeUsername(input: string): boolean {
  const s = input.trim();
  return s.startsWith('@') || /[a-z]/i.test(s);
}

/** A username as stored and compared: no `@`, lower case. */
export const bareName = (name: string) => name.replace(/^@/, '').toLowerCase();

/** `@name.42` for display. */
export const atName = (name: string) => `@${bareName(name)}`;
