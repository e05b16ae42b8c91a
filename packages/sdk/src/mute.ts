/**
 * Muted chats (C15): a per-device setting kept with the conversation (`LocalConversation.mutedUntil`),
 * never sent anywhere. A muted chat still counts its unread messages; apps decide what muting
 * silences (the web client: the new-message tone and the tab title's count). A mute ends by itself
 * once its time has passed: nothing has to clear it.
 */
import type { LocalConversation } from './history.ts';

/**
 * The `mutedUntil` of a chat muted until it is unmuted ("Always"): the largest safe integer, so
 * that it survives any JSON store and compares as later than every real time.
 */
export const MUTED_ALWAYS = Number.MAX_SAFE_INTEGER;

/** Whether `conv` is muted at `now` (ms since the epoch; a mute past its time counts as unmuted). */
export function isMuted(conv: Pick<LocalConversation, 'mutedUntil'>, now: number = Date.now()): boolean {
  return conv.mutedUntil !== undefined && conv.mutedUntil > now;
}
