/**
 * Mutes end by themselves (C15): the SDK's `isMuted` compares with the clock, so a page that stays
 * open must look again when a mute ends, or the "Muted" mark and the tab title's count would wait
 * for the next change to the list.
 */
import { useEffect, useState } from 'react';
import { MUTED_ALWAYS, type LocalConversation } from '@parley/sdk';

/** Longest wait a browser timer takes (about 24.8 days); a later end is looked at again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The soonest time after `now` at which one of `chats`' mutes ends, or null when none will. */
export function nextMuteEnd(chats: Pick<LocalConversation, 'mutedUntil'>[], now: number): number | null {
  let next: number | null = null;
  for (const c of chats) {
    const end = c.mutedUntil;
    if (end === undefined || end === MUTED_ALWAYS || end <= now) continue;
    if (next === null || end < next) next = end;
  }
  return next;
}

/** Re-render the caller once the soonest of `chats`' mutes ends (and again for each later one). */
export function useMuteExpiry(chats: LocalConversation[]): void {
  const [, setTick] = useState(0);
  const next = nextMuteEnd(chats, Date.now());
  useEffect(() => {
    if (next === null) return undefined;
    const t = setTimeout(() => setTick((n) => n + 1), Math.min(Math.max(next - Date.now(), 0) + 1, MAX_TIMER_MS));
    return () => clearTimeout(t);
  }, [next]);
}
