/**
 * Where this device lists a chat (C15): pinned chats first (at most 3, the SDK's `pin_limit`),
 * archived chats apart under "Archived" (a new message leaves a chat archived, and counts on the
 * "Archived" entry). Kept in the device's store by the SDK (`pin`, `archive`); never sent anywhere.
 * The same menu items serve a chat list row's menu and the chat header's "More options".
 */
import type { LocalConversation, ParleyClient } from '@parley/sdk';
import type { MenuAction } from '../OverflowMenu.tsx';
import { describeError } from '../errors.ts';
import { ArchiveIcon } from './icons.tsx';
import './placement.css';

/** The list's order: pinned chats first (the latest pinned on top), then the most recent. */
export function ordered(chats: LocalConversation[]): LocalConversation[] {
  const pinned = chats.filter((c) => c.pinnedAt !== undefined).sort((a, b) => b.pinnedAt! - a.pinnedAt!);
  return [...pinned, ...chats.filter((c) => c.pinnedAt === undefined)];
}

/** "Pin chat" / "Unpin chat" and "Archive chat" / "Unarchive chat" for a chat. */
export function placementActions(
  client: ParleyClient,
  conv: LocalConversation,
  onError: (message: string) => void,
): MenuAction[] {
  const run = (task: Promise<void>) => void task.catch((e: unknown) => onError(describeError(e)));
  const pinned = conv.pinnedAt !== undefined;
  return [
    ...(conv.archived
      ? []
      : [
          {
            label: pinned ? 'Unpin chat' : 'Pin chat',
            onSelect: () => run(client.pin(conv.id, !pinned)),
          },
        ]),
    {
      label: conv.archived ? 'Unarchive chat' : 'Archive chat',
      onSelect: () => run(client.archive(conv.id, !conv.archived)),
    },
  ];
}

/** The "Archived" entry at the top of the list: how many chats, and their unread messages. */
export function ArchivedEntry({ chats, onOpen }: { chats: LocalConversation[]; onOpen: () => void }) {
  if (!chats.length) return null;
  const unread = chats.reduce((n, c) => n + c.unread, 0);
  const unreadText = unread ? `${unread} unread ${unread === 1 ? 'message' : 'messages'}` : '';
  return (
    <button
      type="button"
      className="archived-entry"
      onClick={onOpen}
      aria-label={`Archived, ${chats.length} ${chats.length === 1 ? 'chat' : 'chats'}${unreadText ? `, ${unreadText}` : ''}`}
    >
      <ArchiveIcon />
      <span className="archived-entry-label">Archived</span>
      <span className="archived-entry-count">
        {unread ? (
          <span className="badge" aria-hidden="true">
            {unread}
          </span>
        ) : (
          chats.length
        )}
      </span>
    </button>
  );
}
