/**
 * Group system lines (C15): "Alice renamed the group", "Alice added Bob", "Bob left", "Alice made
 * Bob an admin". Each device records them in its own history from what it learns (a group-meta
 * content, a `leave`, a commit that changed the routing table, a Welcome), and the device that made
 * a change records it as it makes it, so every member's device shows the same lines in the order
 * it learnt of them. Nothing here is sent: the lines are this device's account of what happened.
 */
import type { GroupEvent, History, LocalConversation, LocalMessage } from '../history.ts';
import { newClientMessageId } from '../random.ts';
import type { ClientEventSink } from './types.ts';

/** Who made a membership or role change this device just learnt of, and when (server time). */
export interface ChangeSource {
  by: string;
  at: number;
  /** Compare admins too: set only when the change was a role change (roles change without a commit). */
  roles?: boolean;
}

/** Records system lines into a device's history. */
export class GroupLog {
  constructor(
    private readonly history: History,
    private readonly self: () => string,
    private readonly events: ClientEventSink,
  ) {}

  /** Store one line (time `at`) and announce it as a `system-line` event (it is no `message`: nobody sent it). */
  async record(conversationId: string, event: GroupEvent, at: number): Promise<void> {
    const m: LocalMessage = {
      id: `system-${newClientMessageId(at)}`,
      conversationId,
      from: event.by,
      fromDevice: '',
      text: '',
      sentAt: at,
      serverTime: at,
      outgoing: event.by === this.self(),
      status: 'sent',
      deliveredTo: [],
      readBy: [],
      system: event,
    };
    await this.history.upsertMessage(m);
    this.events.emit('system-line', m);
  }
}

/**
 * The lines for a group's membership (and, with `source.roles`, its admins) going from `prev` to
 * `next`. A member in `prev.left` announced that it left: its removal gets no "removed" line (its
 * "left" line was recorded when the announcement came).
 */
export function membershipChanges(
  prev: LocalConversation,
  next: LocalConversation,
  source: ChangeSource,
): GroupEvent[] {
  const out: GroupEvent[] = [];
  const before = new Set(prev.members);
  const after = new Set(next.members);
  const left = new Set(prev.left ?? []);
  for (const m of next.members) if (!before.has(m)) out.push({ kind: 'added', by: source.by, member: m });
  for (const m of prev.members)
    if (!after.has(m) && !left.has(m)) out.push({ kind: 'removed', by: source.by, member: m });
  if (source.roles) {
    const wasAdmin = new Set(prev.admins);
    const isAdmin = new Set(next.admins);
    for (const m of next.members) {
      if (!before.has(m)) continue;
      if (isAdmin.has(m) && !wasAdmin.has(m)) out.push({ kind: 'made-admin', by: source.by, member: m });
      if (!isAdmin.has(m) && wasAdmin.has(m)) out.push({ kind: 'dismissed-admin', by: source.by, member: m });
    }
  }
  return out;
}
