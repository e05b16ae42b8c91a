/**
 * Disappearing messages (C17, docs/disappearing.md): the one rule for the expiry a sender gives a
 * message (`send`) or a blob (`createUpload`). The server cannot see the chat's timer (it travels
 * encrypted); it only holds the expiry to a sane range, so nobody parks ciphertext with an expiry
 * in the past or decades ahead.
 */
import { DISAPPEARING, ParleyError } from '@parley/protocol';

/** Latest expiry accepted at `now`: the longest timer plus the allowed clock skew. */
export function latestExpiry(now: number): number {
  return now + DISAPPEARING.maxSeconds * 1000 + DISAPPEARING.skewMs;
}

/** Throws `expiry_out_of_range` unless `expiresAt` (when given) lies after `now` and within a year of it. */
export function checkExpiry(expiresAt: number | undefined, now: number): void {
  if (expiresAt === undefined) return;
  if (expiresAt <= now || expiresAt > latestExpiry(now))
    throw new ParleyError('expiry_out_of_range', {
      details: { expiresAt, serverTime: now, latest: latestExpiry(now) },
    });
}

/** `t` moved no later than the disappearing message's expiry a blob goes with, if it has one. */
export function notPast(disappearsAt: number | null | undefined, t: number): number {
  return disappearsAt ? Math.min(t, disappearsAt) : t;
}
