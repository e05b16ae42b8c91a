/**
 * A group this account was removed from (C2, C15): the line in the chat that says so (and who did
 * it, when this device learnt it from the removing commit), and the composer's place taken by a
 * disabled message box with the reason. Both go away when an admin adds the account back: the SDK
 * then clears `removedAt` and marks the chat active again.
 */
import type { LocalConversation } from '@parley/sdk';
import { timeOfDay } from '../media/recorder.ts';

/** Whether the chat is one this account was removed from (rather than one it left). */
export function wasRemoved(conv: LocalConversation): boolean {
  return !conv.active && conv.removedAt !== undefined;
}

/** "You were removed by Sam" (or without a name when the remover is not known). */
function removedText(conv: LocalConversation, names: Record<string, string>): string {
  const by = conv.removedBy ? names[conv.removedBy] : undefined;
  return by ? `You were removed from this group by ${by}` : 'You were removed from this group';
}

/** The line at the end of the message history of a group this account was removed from. */
export function RemovedLine({ conv, names }: { conv: LocalConversation; names: Record<string, string> }) {
  if (!wasRemoved(conv)) return null;
  return (
    <li className="system-line">
      <span>
        {removedText(conv, names)} ·{' '}
        <time dateTime={new Date(conv.removedAt!).toISOString()}>{timeOfDay(conv.removedAt!)}</time>
      </span>
    </li>
  );
}

/**
 * What stands where the composer was in a chat this account can no longer write in: a disabled
 * message box described by the reason, so a screen reader says why it cannot be used.
 */
export function InactiveComposer({ conv, names }: { conv: LocalConversation; names: Record<string, string> }) {
  const reason = wasRemoved(conv)
    ? `${removedText(conv, names)}, so you can't send messages here. A group admin can add you back.`
    : "You're no longer a member of this chat, so you can't send messages here.";
  return (
    <div className="composer-wrap composer-off">
      <p id="composer-off-reason" className="composer-off-reason">
        {reason}
      </p>
      <div className="composer">
        <textarea aria-label="Message" aria-describedby="composer-off-reason" rows={1} disabled placeholder="Message" />
      </div>
    </div>
  );
}
