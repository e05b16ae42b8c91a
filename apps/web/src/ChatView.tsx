/**
 * One chat (C3, C4, C5, C15): bubbles with delivered/read ticks, attachments and notes inline,
 * "Played" on notes the other side played, typing indicator, the composer, read receipts while the
 * chat is visible, played receipts on the first play of a note, group rename and leave (in the
 * header's "More options" menu, so the header fits a phone). A direct
 * chat's header shows the other person's profile photo and online / last seen when they share
 * them (C12), "Contact info", "Verify safety number" and any safety-number warning (C2, C13).
 */
import { useEffect, useRef, useState } from 'react';
import type { LocalMessage, ParleyClient } from '@parley/sdk';
import { useConversations, useMessages, useNames, useTyping } from './hooks.ts';
import { titleOf } from './ChatList.tsx';
import { describeError } from './errors.ts';
import { Composer } from './Composer.tsx';
import { AttachmentView, isNote } from './media/Attachment.tsx';
import { timeOfDay } from './media/recorder.ts';
import { BackIcon, PlayIcon, ShieldIcon } from './media/icons.tsx';
import { OverflowMenu } from './OverflowMenu.tsx';
import { GroupCallBanner, GroupCallButtons } from './calls/group/GroupCallEntry.tsx';
import { CallButtons, CallLogEntry, splitCallNotes } from './calls/CallLog.tsx';
import { presenceText, useProfile, usePresence } from './contacts/profiles.ts';
import { useTrust, warningText } from './contacts/trust.ts';
import { Avatar } from './contacts/Avatar.tsx';
import { ContactInfoDialog } from './contacts/ContactInfo.tsx';
import { SafetyNumberDialog } from './safety/SafetyNumber.tsx';

function Ticks({ m }: { m: LocalMessage }) {
  const label =
    m.status === 'read'
      ? 'Read'
      : m.status === 'delivered'
        ? 'Delivered'
        : m.status === 'sending'
          ? 'Sending'
          : m.status === 'failed'
            ? 'Not sent'
            : 'Sent';
  const marks =
    m.status === 'read' || m.status === 'delivered'
      ? '✓✓'
      : m.status === 'sending'
        ? '…'
        : m.status === 'failed'
          ? '!'
          : '✓';
  return (
    <span className={`ticks ticks-${m.status}`} role="img" aria-label={label} title={label}>
      {marks}
    </span>
  );
}

/** The open conversation. */
export function ChatView({
  client,
  conversationId,
  onBack,
}: {
  client: ParleyClient;
  conversationId: string;
  onBack: () => void;
}) {
  const conv = useConversations(client).find((c) => c.id === conversationId);
  const messages = useMessages(client, conversationId);
  const typing = useTyping(client, conversationId);
  const names = useNames(client, [...(conv?.members ?? []), ...typing]);
  const [error, setError] = useState<string | null>(null);
  const [dialog, setDialog] = useState<'none' | 'info' | 'safety'>('none');
  const bottom = useRef<HTMLDivElement>(null);
  const me = client.self.accountId;
  const peer = conv?.kind === 'direct' ? conv.peer : undefined;
  const profile = useProfile(client, peer);
  const presence = usePresence(client, peer);
  const { warning, verifiedNumber } = useTrust(client, peer);

  // Read receipts for what is on screen while the page is visible.
  useEffect(() => {
    const unread = messages.filter((m) => !m.outgoing).map((m) => m.id);
    const seen = new Set<string>(JSON.parse(sessionStorage.getItem(`read:${conversationId}`) ?? '[]') as string[]);
    const fresh = unread.filter((id) => !seen.has(id));
    if (!fresh.length || document.visibilityState !== 'visible') return;
    fresh.forEach((id) => seen.add(id));
    sessionStorage.setItem(`read:${conversationId}`, JSON.stringify([...seen].slice(-500)));
    void client.markRead(conversationId, fresh).catch(() => undefined);
  }, [client, conversationId, messages]);

  useEffect(() => {
    bottom.current?.scrollIntoView?.({ block: 'end' });
  }, [messages.length]);

  // A note's sender learns once that it was played; the SDK remembers it on the local copy.
  const played = (m: LocalMessage) => {
    if (m.outgoing || m.playedBy?.includes(me)) return;
    void client.markPlayed(conversationId, [m.id]).catch(() => undefined);
  };

  if (!conv) return <div className="empty">Loading…</div>;
  // Messages left for a call show inside that call's entry.
  const calls = splitCallNotes(messages);
  const title = titleOf(conv, names);
  const isGroup = conv.kind === 'group';
  const seen = peer ? presenceText(presence) : null;

  return (
    <section className="chat" aria-label={`Chat with ${title}`}>
      <header className="chat-head">
        <button type="button" className="back" onClick={onBack} aria-label="Back" title="Back to chats">
          <BackIcon />
        </button>
        {peer ? (
          <button
            type="button"
            className="head-avatar"
            onClick={() => setDialog('info')}
            aria-label={`Contact info for ${title}`}
            title="Contact info"
          >
            <Avatar name={title} photoUrl={profile?.photoUrl} alt={`Profile photo of ${title}`} />
          </button>
        ) : (
          <Avatar name={title} />
        )}
        <div
          className={`chat-head-title ${peer ? 'clickable' : ''}`}
          onClick={peer ? () => setDialog('info') : undefined}
        >
          <h2>
            {title}
            {verifiedNumber && (
              <span
                className="verified-badge"
                role="img"
                aria-label="Safety number verified"
                title="Safety number verified"
              >
                ✓
              </span>
            )}
          </h2>
          {isGroup && <span className="sub">{conv.members.length} members</span>}
          {seen && <span className="sub presence">{seen}</span>}
        </div>
        {isGroup ? (
          <div className="chat-head-actions icon-actions">
            <GroupCallButtons client={client} conversationId={conversationId} onError={setError} />
          </div>
        ) : (
          <CallButtons client={client} conversationId={conversationId} onError={setError} />
        )}
        {peer && (
          <div className="chat-head-actions icon-actions">
            <button
              type="button"
              onClick={() => setDialog('safety')}
              aria-label="Verify safety number"
              title="Verify safety number"
            >
              <ShieldIcon />
            </button>
          </div>
        )}
        <OverflowMenu
          actions={
            isGroup
              ? [
                  {
                    label: 'Rename group',
                    onSelect: () => {
                      const name = prompt('New group name', conv.name ?? '');
                      if (name?.trim())
                        void client.rename(conversationId, name.trim()).catch((e) => setError(describeError(e)));
                    },
                  },
                  {
                    label: 'Leave group',
                    danger: true,
                    onSelect: () => {
                      if (confirm('Leave this group?'))
                        void client
                          .leave(conversationId)
                          .then(onBack)
                          .catch((e) => setError(describeError(e)));
                    },
                  },
                ]
              : [
                  { label: 'Contact info', onSelect: () => setDialog('info') },
                  { label: 'Verify safety number', onSelect: () => setDialog('safety') },
                ]
          }
        />
      </header>
      {peer && warning && (
        <div className="trust-banner" role="alert">
          <p>{warningText(warning, title)}</p>
          <button type="button" onClick={() => setDialog('safety')}>
            Verify the new safety number
          </button>
        </div>
      )}
      {peer && dialog === 'safety' && (
        <SafetyNumberDialog client={client} peer={peer} name={title} onClose={() => setDialog('none')} />
      )}
      {peer && dialog === 'info' && (
        <ContactInfoDialog
          client={client}
          peer={peer}
          name={title}
          profile={profile}
          presence={presence}
          onVerify={() => setDialog('safety')}
          onClose={() => setDialog('none')}
        />
      )}
      {isGroup && <GroupCallBanner client={client} conversationId={conversationId} onError={setError} />}
      <ol className="messages" aria-label="Message history" aria-live="polite">
        {calls.shown.map((m) =>
          m.callLog ? (
            <CallLogEntry
              key={m.id}
              client={client}
              message={m}
              peer={peer}
              notes={calls.notesFor.get(m.callLog.callId) ?? []}
              onPlayed={played}
            />
          ) : (
            <li key={m.id} className={`bubble ${m.outgoing ? 'out' : 'in'}`}>
              {isGroup && !m.outgoing && <span className="sender">{names[m.from] ?? 'Member'}</span>}
              {m.attachment && <AttachmentView client={client} message={m} onPlayed={() => played(m)} />}
              {(m.text || !m.attachment) && <span className="text">{m.text}</span>}
              <span className="meta">
                {m.outgoing && isNote(m) && (m.playedBy?.length ?? 0) > 0 && (
                  <span className="played" role="img" aria-label="Played" title="Played">
                    <PlayIcon />
                  </span>
                )}
                {timeOfDay(m.serverTime ?? m.sentAt)}
                {m.outgoing && m.from === me && <Ticks m={m} />}
              </span>
            </li>
          ),
        )}
      </ol>
      <div ref={bottom} />
      <p className="typing" aria-live="polite">
        {typing.length
          ? `${typing.map((t) => names[t] ?? 'Someone').join(', ')} ${typing.length > 1 ? 'are' : 'is'} typing…`
          : '\u00a0'}
      </p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <Composer client={client} conversationId={conversationId} onError={setError} />
    </section>
  );
}
