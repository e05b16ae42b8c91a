/**
 * A group's system lines in the chat (C15): "Alice renamed the group to …", "Alice added Bob",
 * "Bob left", "Alice made Bob an admin". The SDK records them (`LocalMessage.system`) on every
 * member's device; here they are centred lines between the bubbles, not bubbles, with their time.
 */
import { groupEventText, type GroupEvent, type LocalMessage } from '@parley/sdk';
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
  return groupEventText(e, (a, start) => (a === me ? (start ? 'You' : 'you') : (names[a] ?? 'A member')));
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
