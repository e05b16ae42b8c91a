/**
 * Chat list (C15): pinned chats first, then the most recent, each row with the last message's
 * preview and time, an unread badge and a menu (pin, archive; `chatlist/placement.tsx`), contacts'
 * profile photos (C12), an "Archived" entry and view, an empty state, new chat by number or
 * username, new group, and search across chats and messages (`search/ListSearch.tsx`).
 */
import { useEffect, useState, type FormEvent } from 'react';
import { isMuted, type LocalConversation, type ParleyClient } from '@parley/sdk';
import { useConversations, useNames } from './hooks.ts';
import { useNotificationView } from './notifications/push-setting.ts';
import { describeError, describeLookupError } from './errors.ts';
import { useProfiles } from './contacts/profiles.ts';
import { Avatar } from './contacts/Avatar.tsx';
import { bareName, looksLikeUsername, rememberUsername } from './contacts/handles.ts';
import { wasRemoved } from './groups/Removed.tsx';
import { useLastMessages } from './chatlist/lastMessages.ts';
import { listTime, messageTime, previewOf } from './chatlist/format.ts';
import { browserRegion, countryOf, normalisePhone } from './contacts/phone.ts';
import { ArchivedEntry, ordered, placementActions } from './chatlist/placement.tsx';
import { PinIcon } from './chatlist/icons.tsx';
import { MutedMark, useMuteMenu } from './mute/MuteDialog.tsx';
import { useMuteExpiry } from './mute/expiry.ts';
import { OverflowMenu } from './OverflowMenu.tsx';
import { BackIcon } from './media/icons.tsx';
import { useListSearch } from './search/ListSearch.tsx';

/**
 * The account behind a number or a username (`@sam.42`, or `sam.42`). A username is looked up
 * by its hash only, and neither side learns the other's number. A number may be typed as people
 * do ("202 555 0101"): without a + it is read in the country of this account's own number.
 */
export async function resolveContact(client: ParleyClient, input: string): Promise<string> {
  const value = input.trim();
  try {
    if (!looksLikeUsername(value)) {
      const read = await normalisePhone(value, (await countryOf(client.self.phone)) ?? browserRegion());
      if (!read.ok) throw new Error(read.error);
      return await client.lookupPhone(read.e164);
    }
    const account = await client.lookupUsername(value);
    rememberUsername(client.self.accountId, account, bareName(value));
    return account;
  } catch (e) {
    throw new Error(describeLookupError(e, value));
  }
}

/** A conversation's title: the group name, or the other person. */
export function titleOf(c: LocalConversation, names: Record<string, string>): string {
  if (c.kind === 'group') return c.name ?? 'New group';
  return c.peer ? (names[c.peer] ?? 'Contact') : 'Chat';
}

/** The sidebar list with the new-chat and new-group forms. */
export function ChatList({
  client,
  selected,
  onSelect,
  onOpenMessage,
}: {
  client: ParleyClient;
  selected: string | null;
  onSelect: (id: string) => void;
  /** Open a chat at one of its messages (a search result). */
  onOpenMessage?: (conversationId: string, messageId: string) => void;
}) {
  const conversations = useConversations(client);
  // A group this account was removed from stays listed, to show why it went quiet.
  const listed = conversations.filter((c) => c.active || wasRemoved(c));
  const archived = listed.filter((c) => c.archived);
  const [showArchived, setShowArchived] = useState(false);
  const [listError, setListError] = useState<string | null>(null);
  const mute = useMuteMenu(client, setListError);
  useMuteExpiry(conversations);
  const active = showArchived ? archived : ordered(listed.filter((c) => !c.archived));
  const last = useLastMessages(
    client,
    listed.map((c) => c.id),
  );
  const peers = conversations.flatMap((c) => (c.kind === 'direct' && c.peer ? [c.peer] : []));
  const names = useNames(client, peers);
  useNotificationView(client, conversations, (c) => titleOf(c, names));
  const profiles = useProfiles(client, peers);
  const [mode, setMode] = useState<'none' | 'chat' | 'group'>('none');
  const [number, setNumber] = useState('');
  const [groupName, setGroupName] = useState('');
  const [members, setMembers] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const finder = useListSearch({
    client,
    conversations: active,
    titleOf: (c) => titleOf(c, names),
    onOpenChat: onSelect,
    onOpenMessage: onOpenMessage ?? onSelect,
  });
  // A form that just opened takes the focus, so keyboard and screen-reader users land in it.
  useEffect(() => {
    if (mode !== 'none') document.getElementById(mode === 'chat' ? 'new-number' : 'group-name')?.focus();
  }, [mode]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === 'chat') {
        const id = await client.startDirect(await resolveContact(client, number));
        onSelect(id);
      } else {
        const ids = [];
        for (const n of members
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean))
          ids.push(await resolveContact(client, n));
        onSelect(await client.createGroup(groupName.trim(), ids));
      }
      setMode('none');
      setNumber('');
      setGroupName('');
      setMembers('');
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <nav className="chat-list" aria-label="Chats">
      <div className="actions">
        <button
          type="button"
          onClick={() => setMode(mode === 'chat' ? 'none' : 'chat')}
          aria-expanded={mode === 'chat'}
        >
          New chat
        </button>
        <button
          type="button"
          onClick={() => setMode(mode === 'group' ? 'none' : 'group')}
          aria-expanded={mode === 'group'}
        >
          New group
        </button>
      </div>
      {mode !== 'none' && (
        <form className="new-form" onSubmit={submit}>
          {mode === 'chat' ? (
            <>
              <label htmlFor="new-number">Phone number or username</label>
              <input
                id="new-number"
                type="text"
                inputMode="text"
                autoComplete="off"
                autoCapitalize="none"
                spellCheck={false}
                placeholder="202 555 0123 or @sam.42"
                aria-describedby="new-number-hint"
                value={number}
                onChange={(e) => setNumber(e.target.value)}
                required
              />
              <p id="new-number-hint" className="hint">
                A number without + is read in your own number's country. With a username, neither of you sees the
                other's number.
              </p>
              <button type="submit" disabled={busy}>
                Start chat
              </button>
            </>
          ) : (
            <>
              <label htmlFor="group-name">Group name</label>
              <input
                id="group-name"
                value={groupName}
                onChange={(e) => setGroupName(e.target.value)}
                required
                maxLength={128}
              />
              <label htmlFor="group-members">Members (phone numbers, comma separated)</label>
              <input
                id="group-members"
                value={members}
                onChange={(e) => setMembers(e.target.value)}
                required
                aria-describedby="group-members-hint"
                autoCapitalize="none"
                spellCheck={false}
              />
              <p id="group-members-hint" className="hint">
                Numbers like 202 555 0123 (in your own number's country) or +44 20 7946 0958, or usernames like @sam.42.
              </p>
              <button type="submit" disabled={busy}>
                Create group
              </button>
            </>
          )}
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
        </form>
      )}
      {showArchived ? (
        <div className="archived-head">
          <button
            type="button"
            className="back-to-chats icon-button"
            aria-label="Back to chats"
            title="Back to chats"
            onClick={() => setShowArchived(false)}
          >
            <BackIcon />
          </button>
          <h2>Archived</h2>
        </div>
      ) : (
        <ArchivedEntry chats={archived} onOpen={() => setShowArchived(true)} />
      )}
      {listError && (
        <p className="error list-error" role="alert">
          {listError}
        </p>
      )}
      {showArchived && (
        <p className="hint archived-hint">
          Archived chats stay here when new messages arrive. Only this device keeps them apart.
        </p>
      )}
      {active.length > 0 && finder.field}
      {finder.results ??
        (active.length === 0 && mode === 'none' && !showArchived && archived.length === 0 ? (
          <div className="chat-list-empty">
            <p className="chat-list-empty-title">No chats yet</p>
            <p className="hint">Start one with a phone number or a username.</p>
            <button type="button" onClick={() => setMode('chat')}>
              Start a chat
            </button>
          </div>
        ) : (
          <ul>
            {active.map((c) => {
              const title = titleOf(c, names);
              const photo = c.kind === 'direct' && c.peer ? profiles[c.peer]?.photoUrl : undefined;
              const m = last[c.id];
              const unread = c.unread > 0 ? `${c.unread} unread ${c.unread === 1 ? 'message' : 'messages'}` : '';
              return (
                <li key={c.id} className="chat-row">
                  <button
                    type="button"
                    className={`chat-item ${selected === c.id ? 'selected' : ''}`}
                    onClick={() => onSelect(c.id)}
                    aria-label={`Open chat ${title}${c.pinnedAt !== undefined ? ', pinned' : ''}${isMuted(c) ? ', muted' : ''}${unread ? `, ${unread}` : ''}`}
                    aria-describedby={m ? `preview-${c.id}` : undefined}
                  >
                    <Avatar name={title} photoUrl={photo} />
                    <span className="chat-item-body">
                      <span className="chat-item-top">
                        <span className="chat-title">{title}</span>
                        {c.pinnedAt !== undefined && (
                          <span className="pin-mark" role="img" aria-label="Pinned" title="Pinned">
                            <PinIcon />
                          </span>
                        )}
                        <MutedMark conv={c} />
                        {m && <span className="chat-time">{listTime(messageTime(m))}</span>}
                      </span>
                      <span className="chat-item-bottom">
                        <span className="chat-preview" id={`preview-${c.id}`}>
                          {m ? previewOf(m, client.self.accountId) : '\u00a0'}
                        </span>
                        {unread && (
                          <span className="badge" role="img" aria-label={unread}>
                            {c.unread}
                          </span>
                        )}
                      </span>
                    </span>
                  </button>
                  <OverflowMenu
                    label={`Chat options for ${title}`}
                    actions={[...placementActions(client, c, setListError), ...mute.actions(c, title)]}
                  />
                </li>
              );
            })}
          </ul>
        ))}
      {mute.dialog}
    </nav>
  );
}
