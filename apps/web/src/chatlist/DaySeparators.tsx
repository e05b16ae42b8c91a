/** Day separators between a chat's messages (C15), as list items a screen reader reads in order. */
import type { ReactNode } from 'react';
import type { LocalMessage } from '@parley/sdk';
import { dayLabel, messageTime, sameDay } from './format.ts';

/**
 * Render `messages` with `render`, putting a "Today" / "Yesterday" / weekday / date item before the
 * first message and wherever the local calendar day changes.
 */
export function withDaySeparators(
  messages: LocalMessage[],
  render: (m: LocalMessage) => ReactNode,
  now = Date.now(),
): ReactNode[] {
  const out: ReactNode[] = [];
  let prev: number | undefined;
  for (const m of messages) {
    const at = messageTime(m);
    if (prev === undefined || !sameDay(prev, at)) {
      out.push(
        <li key={`day-${m.id}`} className="day-separator">
          <span>{dayLabel(at, now)}</span>
        </li>,
      );
    }
    prev = at;
    out.push(render(m));
  }
  return out;
}
