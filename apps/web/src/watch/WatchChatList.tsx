/**
 * The watch's chat list (C15): every active chat, pinned first then the most recent, with its
 * name, the newest message in one line and the unread count; a row is one large button.
 */
import { isMuted, type ParleyClient } from '@parley/sdk';
import { useConversations, useNames } from '../hooks.ts';
import type { ConnectionView } from '../connection.ts';
import { titleOf } from '../ChatList.tsx';
import { ordered } from '../chatlist/placement.tsx';
import { useLastMessages } from '../chatlist/lastMessages.ts';
import { previewOf } from '../chatlist/format.ts';
import { unreadWords } from './words.ts';

/** The list; `onOpen` opens a chat. */
export function WatchChatList({
  client,
  connection,
  error,
  onOpen,
}: {
  client: ParleyClient;
  connection: ConnectionView;
  error: string | null;
  onOpen: (conversationId: string) => void;
}) {
  const conversations = useConversations(client);
  const shown = ordered(conversations.filter((c) => c.active && !c.archived));
  const last = useLastMessages(
    client,
    shown.map((c) => c.id),
  );
  const names = useNames(
    client,
    shown.flatMap((c) => (c.kind === 'direct' && c.peer ? [c.peer] : [])),
  );
  return (
    <section className="watch-screen" aria-labelledby="watch-list-title">
      <header className="watch-head">
        <h1 id="watch-list-title">Chats</h1>
        <span
          className={`watch-conn conn-${connection}`}
          role="status"
          aria-label={`Connection: ${connection}`}
          title={connection}
        />
      </header>
      {error && (
        <p className="watch-error" role="alert">
          {error}
        </p>
      )}
      {shown.length === 0 ? (
        <p className="watch-empty">No chats yet. Start one on your phone or computer.</p>
      ) : (
        <ul className="watch-scroll watch-rows" aria-label="Chats">
          {shown.map((c) => {
            const title = titleOf(c, names);
            const unread = unreadWords(c.unread);
            const newest = last[c.id];
            return (
              <li key={c.id}>
                <button
                  type="button"
                  className={`watch-row ${c.unread ? 'unread' : ''}`}
                  aria-label={`Open chat ${title}${isMuted(c) ? ', muted' : ''}${unread ? `, ${unread}` : ''}`}
                  onClick={() => onOpen(c.id)}
                >
                  <span className="watch-row-top">
                    <span className="watch-row-name">{title}</span>
                    {c.unread > 0 && (
                      <span className="watch-badge" aria-hidden="true">
                        {c.unread > 99 ? '99+' : c.unread}
                      </span>
                    )}
                  </span>
                  {newest && <span className="watch-row-preview">{previewOf(newest, client.self.accountId)}</span>}
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
