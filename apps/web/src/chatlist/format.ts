/**
 * How the chat list and a chat speak about messages and days (C15): the last-message preview, the
 * list's time column and the day separators. Pure functions of a message and "now", so the same
 * words show in the list and in the chat.
 */
import type { LocalMessage } from '@parley/sdk';
import { callLogText } from '../calls/CallLog.tsx';
import { timeOfDay } from '../media/recorder.ts';

const DAY = 86_400_000;

/** When a message happened: the server's clock once it stored it, else the sender's. */
export const messageTime = (m: LocalMessage): number => m.serverTime ?? m.sentAt;

/** Local midnight before `ms`. */
function startOfDay(ms: number): number {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** Whole calendar days from `ms` to `now` in local time (0 today, 1 yesterday); DST-safe. */
function daysAgo(ms: number, now: number): number {
  return Math.round((startOfDay(now) - startOfDay(ms)) / DAY);
}

/** Whether two instants fall on the same local calendar day. */
export const sameDay = (a: number, b: number): boolean => startOfDay(a) === startOfDay(b);

/** The words for an attachment without a caption. */
const KIND_WORDS = { image: 'Photo', voice: 'Voice message', video: 'Video message', file: 'File' } as const;

/**
 * One line about a message for the chat list: its text, or "Photo" / "Voice message" / "Video
 * message" / "File" for an attachment (with its caption after it), a call's outcome for a call-log
 * entry, prefixed "You: " when this account sent it.
 */
export function previewOf(m: LocalMessage, me: string): string {
  let body: string;
  if (m.callLog) return callLogText(m.callLog, me);
  if (m.attachment) {
    const word = KIND_WORDS[m.attachment.kind] ?? 'File';
    body = m.text ? `${word}: ${m.text}` : word;
  } else body = m.text;
  // Only the first line; the list row ellipsizes the rest.
  body = body.replace(/\s+/g, ' ').trim();
  return m.from === me ? `You: ${body}` : body;
}

/** The list's time column: time of day today, "Yesterday", the weekday within a week, else a short date. */
export function listTime(ms: number, now = Date.now()): string {
  const days = daysAgo(ms, now);
  if (days <= 0) return timeOfDay(ms);
  if (days === 1) return 'Yesterday';
  if (days < 7) return new Date(ms).toLocaleDateString([], { weekday: 'long' });
  return new Date(ms).toLocaleDateString([], { day: 'numeric', month: 'short', year: '2-digit' });
}

/** A day separator in a chat: "Today", "Yesterday", the weekday within a week, else the full date. */
export function dayLabel(ms: number, now = Date.now()): string {
  const days = daysAgo(ms, now);
  if (days <= 0) return 'Today';
  if (days === 1) return 'Yesterday';
  if (days < 7) return new Date(ms).toLocaleDateString([], { weekday: 'long' });
  const sameYear = new Date(ms).getFullYear() === new Date(now).getFullYear();
  return new Date(ms).toLocaleDateString([], {
    day: 'numeric',
    month: 'long',
    ...(sameYear ? {} : { year: 'numeric' }),
  });
}
