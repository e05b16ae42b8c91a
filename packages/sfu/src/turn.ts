/**
 * Short-lived TURN credentials (C6) in the "TURN REST API" style coturn accepts with
 * `use-auth-secret` / `static-auth-secret`: the username is `<expiry unix seconds>:<user id>` and
 * the password is base64(HMAC-SHA1(shared secret, username)). The server mints them per call;
 * coturn recomputes the HMAC and refuses the username once its expiry has passed, so a leaked
 * credential is worth little and no per-user state is shared between the server and coturn.
 */
import { createHmac } from 'node:crypto';
import type { SfuIceServer } from './types.ts';

/** Credentials for a browser's `RTCPeerConnection({ iceServers: [...] })`. */
export interface TurnCredentials extends SfuIceServer {
  urls: string[];
  username: string;
  credential: string;
  /** Unix time (seconds) after which the TURN server refuses them. */
  expiresAt: number;
}

export interface MintTurnOptions {
  /** The secret shared with coturn (`static-auth-secret`). */
  secret: string;
  /** Who the credentials are for (a device id); it ends up in coturn's logs. */
  userId: string;
  /** TURN/STUN URLs, e.g. `turn:turn.example.org:3478?transport=udp`. */
  urls: string[];
  /**
   * Lifetime in seconds (default 86,400). coturn checks the expiry each time the credentials are
   * used, including when a long call refreshes its allocation, so it must cover the longest call.
   */
  ttlSeconds?: number;
  /** Clock in milliseconds since the epoch (default `Date.now`). */
  now?: () => number;
}

/** The coturn REST-API password for `username`: base64(HMAC-SHA1(secret, username)). */
export function turnPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

/** Mints time-limited TURN credentials for one user. */
export function mintTurnCredentials(opts: MintTurnOptions): TurnCredentials {
  const ttl = opts.ttlSeconds ?? 86_400;
  if (!opts.secret) throw new RangeError('TURN secret must not be empty');
  if (!Number.isInteger(ttl) || ttl <= 0) throw new RangeError('ttlSeconds must be a positive integer');
  // coturn reads the expiry before its separator (':'); a user id without one parses only one way.
  if (!opts.userId || opts.userId.includes(':')) throw new RangeError('userId must be non-empty and contain no ":"');
  const expiresAt = Math.floor((opts.now ?? Date.now)() / 1000) + ttl;
  const username = `${expiresAt}:${opts.userId}`;
  return { urls: [...opts.urls], username, credential: turnPassword(opts.secret, username), expiresAt };
}
