/**
 * A group's system lines in the chat (C15): "Alice renamed the group to …", "Alice added Bob",
 * "Bob left", "Alice made Bob an admin". The SDK records them (`LocalMessage.system`) on every
 * member's device; here they are centred lines between the bubbles, not bubbles, with their time.
 */
import type { GroupEvent, LocalMessage } from '@parley/sdk';
import { timeOfDay } from '../media/recorder.ts';

/** The accounts a system line names, so that their names can be looked up. */
export function systemAccounts(messages: LocalMessage[]): string[] {
  const out = new Set<string>();
  for (const m of messages)
    if (m.system) {
      out.add(m.system.by);
      if (m.system.member) out.add(m.system.member);
    }
  return [...out];
}

/** A system line in words, from this account's side ("You added Bob", "Alice added you"). */
export function systemText(e: GroupEvent, me: string, names: Record<string, string>): string {
  const who = (a: string, start: boolean) => (a === me ? (start ? 'You' : 'you') : (names[a] ?? 'A member'));
  const by = who(e.by, true);
  const member = e.member ? who(e.member, false) : 'a member';
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
    default:
      return `${by} changed the group`;
  }
}

/** One system line, as an item of the message history. */
export function SystemLine({ m, me, names }: { m: LocalMessage; me: string; names: Record<string, string> }) {
  if (!m.system) return null;
  const at = m.serverTime ?? m.sentAt;
  return (
    <li className="system-line group-event">
      <span>
        {systemText(m.system, me, names)} · <time dateTime={new Date(at).toISOString()}>{timeOfDay(at)}</time>
      </span>
    </li>
  );
}
