/**
 * Disappearing-message timers in words and back (C17), shared by the web client, the CLI and the
 * system lines: "7 days", "24 hours", "5 seconds"; `7d`, `24h`, `10m`, `5s`, `off`.
 */
import { DISAPPEARING, ParleyError } from '@parley/protocol';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400, y: 365 * 86400 };

/**
 * A duration as the CLI takes it (`off`, or a whole number and one unit: `5s`, `10m`, `24h`, `7d`,
 * `2w`, `1y`) in seconds, `null` for off. Throws `bad_request` for anything else, and
 * `timer_out_of_range` for a well-formed duration outside 5 s … 1 year.
 */
export function parseTimer(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (t === 'off') return null;
  const m = /^(\d{1,9})([smhdwy])$/.exec(t);
  if (!m)
    throw new ParleyError('bad_request', {
      message: `"${text}" is no duration: use off, or a number and a unit (5s, 10m, 24h, 7d, 2w, 1y).`,
    });
  const seconds = Number(m[1]) * UNITS[m[2]!]!;
  checkTimer(seconds);
  return seconds;
}

/** Throws `timer_out_of_range` unless `seconds` is null (off) or a whole number from 5 s to 1 year. */
export function checkTimer(seconds: number | null): void {
  if (seconds === null) return;
  if (!Number.isInteger(seconds) || seconds < DISAPPEARING.minSeconds || seconds > DISAPPEARING.maxSeconds)
    throw new ParleyError('timer_out_of_range', {
      details: { seconds, minSeconds: DISAPPEARING.minSeconds, maxSeconds: DISAPPEARING.maxSeconds },
    });
}

/** A timer in words: "7 days", "24 hours", "90 seconds"; the largest unit that divides it evenly. */
export function timerLabel(seconds: number): string {
  const steps: [number, string][] = [
    [365 * 86400, 'year'],
    [7 * 86400, 'week'],
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  // 24 hours reads better than 1 day, and 7 or 90 days better than weeks (the menus' own words).
  if (seconds === 86400) return '24 hours';
  if (seconds % 86400 === 0 && seconds < 365 * 86400) {
    const n = seconds / 86400;
    return `${n} day${n === 1 ? '' : 's'}`;
  }
  for (const [size, unit] of steps)
    if (seconds % size === 0) {
      const n = seconds / size;
      return `${n} ${unit}${n === 1 ? '' : 's'}`;
    }
  return `${seconds} seconds`;
}

/** A short mark for a chat header or list: "7d", "24h", "5m", "30s". */
export function timerShort(seconds: number): string {
  if (seconds % 86400 === 0 && seconds !== 86400) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
