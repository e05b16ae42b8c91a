/**
 * A group change in words ("Alice added Bob", "Bob left"), shared by every place that shows one: the
 * web client's system lines and the chat export's pages. Who is who is the caller's choice (`name`:
 * "You" on screen, a profile name or number in an export).
 */
import type { GroupEvent } from './history.ts';
import { timerLabel } from './disappearing.ts';

/**
 * The sentence for `e`. `name(accountId, atStart)` names a person; `atStart` is true for the one who
 * made the change (the sentence starts with them), false for the member it concerns.
 */
export function groupEventText(e: GroupEvent, name: (accountId: string, atStart: boolean) => string): string {
  const by = name(e.by, true);
  const member = e.member ? name(e.member, false) : 'a member';
  switch (e.kind) {
    case 'renamed':
      return `${by} renamed the group to “${e.name ?? ''}”`;
    case 'described':
      return `${by} changed the group description`;
    case 'added':
      return `${by} added ${member}`;
    case 'removed':
      return `${by} removed ${member}`;
    case 'left':
      return `${by} left`;
    case 'made-admin':
      return `${by} made ${member} an admin`;
    case 'dismissed-admin':
      return `${by} dismissed ${member} as admin`;
    case 'timer':
      return e.seconds
        ? `${by} set disappearing messages to ${timerLabel(e.seconds)}`
        : `${by} turned off disappearing messages`;
    default:
      return `${by} changed the group`;
  }
}
