/**
 * Disappearing messages (C17, docs/disappearing.md): a chat's timer travels end-to-end encrypted as
 * a `timer` content every member's devices apply in the order they receive it, so the server can
 * neither read nor change it. Each message sent under a timer carries its expiry inside the
 * ciphertext; the sender also tells the server that expiry time (and nothing else), so the server
 * can delete the ciphertext and its media on time.
 */
import { z } from 'zod';

/** Bounds of a timer and of an expiry, shared by the SDK (which refuses others) and the server. */
export const DISAPPEARING = {
  /** Shortest timer: 5 seconds. */
  minSeconds: 5,
  /** Longest timer: one year (365 days). */
  maxSeconds: 365 * 24 * 3600,
  /**
   * How far the server lets an expiry lie beyond its own clock plus the longest timer, for clock
   * skew between the sender's device and the server (one day).
   */
  skewMs: 24 * 3600 * 1000,
} as const;

/** The timers the menus offer besides "Custom": 24 hours, 7 days, 90 days (in seconds). */
export const TIMER_PRESETS = [24 * 3600, 7 * 24 * 3600, 90 * 24 * 3600] as const;

/** A timer in whole seconds, 5 s … 1 year. */
export const timerSecondsSchema = z.number().int().min(DISAPPEARING.minSeconds).max(DISAPPEARING.maxSeconds);

/**
 * A member set the chat's disappearing-messages timer (`seconds`), or turned it off (`null`).
 * Messages sent after it carry their expiry; messages sent before keep theirs.
 */
export const timerContent = z.object({ type: z.literal('timer'), seconds: timerSecondsSchema.nullable() });
export type TimerContent = z.infer<typeof timerContent>;

/**
 * An expiry as the server accepts it on `send` and on a media upload: ms since the epoch, in the
 * future by the server's clock and at most the longest timer (plus `skewMs`) ahead.
 */
export const expiresAtSchema = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** True when `seconds` is a timer a chat may have (5 s … 1 year, whole seconds). */
export function isTimerSeconds(seconds: unknown): seconds is number {
  return timerSecondsSchema.safeParse(seconds).success;
}
