/**
 * One chat (C3, C4, C5, C15): bubbles with delivered/read ticks, attachments and notes inline,
 * "Played" on notes the other side played, typing indicator, the composer, read receipts while the
 * chat is visible, played receipts on the first play of a note, group rename and leave (in the
 * header's "More options" menu, so the header fits a phone), and a removed member's chat (a line
 * saying so, the composer disabled; `groups/Removed.tsx`). A direct
 * chat's header shows the other person's profile photo and online / last seen when they share
 * them (C12), "Contact info", "Verify safety number" and any safety-number warning (C2, C13).
 * Each bubble has a "Message actions" menu, quotes, reactions, "edited" and "deleted" (C15,
 * `messages/`). Pictures and video files open in the full-screen viewer (`viewer/`); files dropped
 * on the chat go to the composer's preview (`media/FileDrop.tsx`); the history starts with the
 * end-to-end encryption line (`chat/EncryptionLine.tsx`). Groups have "Group info"
 * (`groups/GroupInfo.tsx`) and system lines for their changes (`groups/SystemLine.tsx`); every chat
 * can be pinned or archived from "More options". Block, unblock and report live in the header's
 * menu, Report also in a message's menu (`blocking/`).
 */
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
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
import { InactiveComposer, RemovedLine } from './groups/Removed.tsx';
import { FailedActions, Ticks } from './chat/MessageStatus.tsx';
import { NewMessagesButton, useFollowNewest } from './chat/follow.tsx';
import { ConnectionNotice } from './chat/ConnectionNotice.tsx';
import type { ConnectionView } from './connection.ts';
import { MessageMenu } from './messages/MessageMenu.tsx';
import { BubbleTop, DeletedText, EditedMark, ReactionChips } from './messages/BubbleParts.tsx';
import { useMessageActions } from './messages/useMessageActions.tsx';
import { withDaySeparators } from './chatlist/DaySeparators.tsx';
import { ExportStatusLine, useExport } from './export/useExport.tsx';
import { useMediaViewer } from './viewer/useMediaViewer.tsx';
import { useFileDrop } from './media/FileDrop.tsx';
import { EncryptionLine, withEncryptionLine } from './chat/EncryptionLine.tsx';
import { GroupInfoDialog } from './groups/GroupInfo.tsx';
import { SystemLine, systemAccounts } from './groups/SystemLine.tsx';
import { placementActions } from './chatlist/placement.tsx';
import { useMuteMenu } from './mute/MuteDialog.tsx';
import { TimerMark, useTimerMenu } from './disappearing/TimerDialog.tsx';
import { RichText } from './richtext/RichText.tsx';
import { PreviewCard } from './linkpreview/PreviewCard.tsx';
import { useChatSearch } from './search/ChatSearch.tsx';
import { useJumpToMessage, type MessageTarget } from './search/jump.ts';
import { useBlocked, useBlockListVersion } from './blocking/useBlocked.ts';
import { BlockedComposer, BlockedMessage, ContactBlockButtons } from './blocking/Blocked.tsx';
import { ReportDialog } from './blocking/ReportDialog.tsx';
import { blockActions } from './blocking/actions.ts';
import { promotionActions } from './business/promotions.ts';
import { useQuoteJump } from './messages/quoteJump.ts';

/** How long the announcement of new messages stays in its live region. */
const ANNOUNCEMENT_MS = 4000;

/** A message without text, in words: "voice note", "photo", … */
function describeKind(m: LocalMessage): string {
  switch (m.attachment?.kind) {
    case 'voice':
      return 'voice note';
    case 'video':
      return 'video note';
    case 'image':
      return 'photo';
    default:
      return 'file';
  }
}

/** Which accounts are businesses (and who holds their keys), as learnt on this page. */
const businessInfoSeen = new Map<string, Awaited<ReturnType<ParleyClient['businessInfo']>>>();

/** The open conversation. */
export function ChatView({
  client,
  conversationId,
  connection = 'online',
  target,
  onBack,
}: {
  client: ParleyClient;
  conversationId: string;
  /** What the connection pill says; a chat says it too when not online (the pill is hidden on phones). */
  connection?: ConnectionView;
  /** A message to scroll to and highlight (a search result chosen in the chat list). */
  target?: MessageTarget;
  onBack: () => void;
}) {
  const conv = useConversations(client).find((c) => c.id === conversationId);
  const messages = useMessages(client, conversationId);
  const typing = useTyping(client, conversationId);
  const names = useNames(client, [
    ...new Set([
      ...(conv?.members ?? []),
      ...typing,
      ...(conv?.removedBy ? [conv.removedBy] : []),
      ...systemAccounts(messages),
    ]),
  ]);
  const [error, setError] = useState<string | null>(null);
  const [dialog, setDialog] = useState<'none' | 'info' | 'safety' | 'group'>('none');
  const { status: exportStatus, start: startExport } = useExport(client);
  const list = useRef<HTMLOListElement>(null);
  const [announcement, setAnnouncement] = useState('');
  const me = client.self.accountId;
  const peer = conv?.kind === 'direct' ? conv.peer : undefined;
  const profile = useProfile(client, peer);
  const presence = usePresence(client, peer);
  const { warning, verifiedNumber } = useTrust(client, peer);
  const msgActions = useMessageActions(client, conversationId, messages, names, setError);
  const senderName = (m: LocalMessage) =>
    m.outgoing ? 'You' : (names[m.from] ?? (conv?.kind === 'direct' ? titleOf(conv, names) : 'Member'));
  const media = useMediaViewer(client, messages, senderName, msgActions.actions.forward);
  const drop = useFileDrop(!!conv?.active, conv ? titleOf(conv, names) : '');

  // A chat archived while open goes back to the list (a chat opened from "Archived" stays open).
  const archivedAtOpen = useRef(conv?.archived === true);
  useEffect(() => {
    if (conv?.archived && !archivedAtOpen.current) onBack();
    archivedAtOpen.current = conv?.archived === true;
  }, [conv?.archived, onBack]);
  const blocked = useBlocked(client, peer);
  // A business peer (C10): who holds its keys is said before the first message.
  const [business, setBusiness] = useState<Awaited<ReturnType<ParleyClient['businessInfo']>>>(null);
  useEffect(() => {
    setBusiness(null);
    if (!peer) return;
    let live = true;
    const known = businessInfoSeen.get(peer);
    if (known !== undefined) setBusiness(known);
    else
      client.businessInfo(peer).then(
        (b) => {
          // Remembered for this page: whether an account is a business does not change while it is open.
          businessInfoSeen.set(peer, b);
          if (live) setBusiness(b);
        },
        () => undefined,
      );
    return () => {
      live = false;
    };
  }, [client, peer]);
  useBlockListVersion(client);
  const [reporting, setReporting] = useState<{ accountId: string; name: string } | null>(null);
  const mute = useMuteMenu(client, setError);
  const timers = useTimerMenu(client, setError);

  // Read receipts for what is on screen while the page is visible.
  useEffect(() => {
    // A group's system lines are this device's own record, not messages anyone sent: no receipts.
    const unread = messages.filter((m) => !m.outgoing && !m.system).map((m) => m.id);
    const seen = new Set<string>(JSON.parse(sessionStorage.getItem(`read:${conversationId}`) ?? '[]') as string[]);
    const fresh = unread.filter((id) => !seen.has(id));
    if (!fresh.length || document.visibilityState !== 'visible') return;
    fresh.forEach((id) => seen.add(id));
    sessionStorage.setItem(`read:${conversationId}`, JSON.stringify([...seen].slice(-500)));
    void client.markRead(conversationId, fresh).catch(() => undefined);
  }, [client, conversationId, messages]);

  // Only messages that arrive while the chat is open are announced, never the history it opens with.
  const namesRef = useRef(names);
  namesRef.current = names;
  const onArrived = useCallback(
    (arrived: LocalMessage[]) =>
      setAnnouncement(
        arrived
          .map((m) => `${namesRef.current[m.from] ?? 'Someone'}: ${m.text || (m.callLog ? 'call' : describeKind(m))}`)
          .join('. '),
      ),
    [],
  );
  const { unseen, jumpToNewest } = useFollowNewest(list, messages, onArrived);
  const search = useChatSearch(messages, list);
  const jump = useJumpToMessage(list, messages, target);
  const quoteJump = useQuoteJump(list);
  // Emptied again once read out, so that the page does not keep a second copy of the text around.
  useEffect(() => {
    if (!announcement) return undefined;
    const t = setTimeout(() => setAnnouncement(''), ANNOUNCEMENT_MS);
    return () => clearTimeout(t);
  }, [announcement]);

  // A note's sender learns once that it was played; the SDK remembers it on the local copy.
  const played = (m: LocalMessage) => {
    if (m.outgoing || m.playedBy?.includes(me)) return;
    void client.markPlayed(conversationId, [m.id]).catch(() => undefined);
  };

  if (!conv) return <div className="empty">Loading…</div>;
  // Messages left for a call show inside that call's entry.
  const calls = splitCallNotes(messages);
  const title = titleOf(conv, names);
  const searchAction = { label: 'Search in chat', onSelect: () => search.open() };
  const exportAction = { label: 'Export chat', onSelect: () => startExport({ conversationId, title, media: true }) };
  const isGroup = conv.kind === 'group';
  const seen = peer ? presenceText(presence) : null;
  // The history's rows: day separators, with the encryption line after the first of them.
  const encryptionLine = (
    <EncryptionLine key="e2e" business={business} onVerify={peer ? () => setDialog('safety') : undefined} />
  );
  const withSeparatorsAndLine = (shown: LocalMessage[], render: (m: LocalMessage) => ReactNode) =>
    withEncryptionLine(withDaySeparators(shown, render), encryptionLine);

  return (
    <section className="chat" aria-label={`Chat with ${title}`} {...drop.handlers}>
      {drop.target}
      {media.viewer}
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
        ) : isGroup && conv.active ? (
          <button
            type="button"
            className="head-avatar"
            onClick={() => setDialog('group')}
            aria-label={`Group info for ${title}`}
            title="Group info"
          >
            <Avatar name={title} />
          </button>
        ) : (
          <Avatar name={title} />
        )}
        <div
          className={`chat-head-title ${peer || (isGroup && conv.active) ? 'clickable' : ''}`}
          onClick={peer ? () => setDialog('info') : isGroup && conv.active ? () => setDialog('group') : undefined}
        >
          {/* With a timer the name shortens on a narrow header, never the timer mark (disappearing.css). */}
          <h2 className={conv.timer ? 'with-timer' : undefined}>
            <span className="chat-title-text">{title}</span>
            {verifiedNumber && ' '}
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
            <TimerMark conv={conv} />
          </h2>
          {/* Spaces between the parts, so that a screen reader reads them as separate words. */}
          {isGroup && ' '}
          {isGroup && (
            <span className="sub">{conv.active ? `${conv.members.length} members` : 'You are no longer a member'}</span>
          )}
          {seen && ' '}
          {seen && <span className="sub presence">{seen}</span>}
        </div>
        {isGroup ? (
          conv.active && (
            <div className="chat-head-actions icon-actions">
              <GroupCallButtons client={client} conversationId={conversationId} onError={setError} />
            </div>
          )
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
        {/* A group this account was removed from has nothing left to rename or leave, but can be exported. */}
        <OverflowMenu
          actions={[
            ...(isGroup && !conv.active
              ? []
              : isGroup
                ? [
                    { label: 'Group info', onSelect: () => setDialog('group') },
                    searchAction,
                    {
                      label: 'Rename group',
                      onSelect: () => {
                        const name = prompt('New group name', conv.name ?? '');
                        if (name?.trim())
                          void client.rename(conversationId, name.trim()).catch((e) => setError(describeError(e)));
                      },
                    },
                    ...placementActions(client, conv, setError),
                    ...mute.actions(conv, title),
                    ...timers.actions(conv),
                    exportAction,
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
                    searchAction,
                    ...placementActions(client, conv, setError),
                    ...mute.actions(conv, title),
                    ...timers.actions(conv),
                    exportAction,
                    ...promotionActions(client, conversationId, business !== null, messages, setError),
                    ...blockActions(client, peer, title, blocked, setError, () =>
                      setReporting(peer ? { accountId: peer, name: title } : null),
                    ),
                  ]),
            ...(isGroup && !conv.active ? [exportAction] : []),
          ]}
        />
      </header>
      <ConnectionNotice connection={connection} />
      <ExportStatusLine status={exportStatus} />
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
        >
          <ContactBlockButtons
            actions={blockActions(client, peer, title, blocked, setError, () => {
              setDialog('none');
              setReporting({ accountId: peer, name: title });
            })}
          />
        </ContactInfoDialog>
      )}
      {mute.dialog}
      {timers.dialog}
      {reporting && (
        <ReportDialog
          client={client}
          accountId={reporting.accountId}
          name={reporting.name}
          conversationId={conversationId}
          onClose={() => setReporting(null)}
        />
      )}
      {isGroup && conv.active && dialog === 'group' && (
        <GroupInfoDialog client={client} conv={conv} names={names} onClose={() => setDialog('none')} onLeft={onBack} />
      )}
      {isGroup && conv.active && <GroupCallBanner client={client} conversationId={conversationId} onError={setError} />}
      {search.bar}
      <div className="messages-wrap">
        {/* Focusable, so that a keyboard can scroll the history (arrow keys, Page Up). */}
        <ol className="messages" aria-label="Message history" ref={list} tabIndex={0}>
          {withSeparatorsAndLine(calls.shown, (m) =>
            m.system ? (
              <SystemLine key={m.id} m={m} me={me} names={names} />
            ) : m.callLog ? (
              <CallLogEntry
                key={m.id}
                client={client}
                message={m}
                peer={peer}
                notes={calls.notesFor.get(m.callLog.callId) ?? []}
                onPlayed={played}
                actions={msgActions.actions}
                names={names}
                flash={quoteJump.flashId === m.id}
                onFlashDone={quoteJump.flashDone}
              />
            ) : isGroup && !m.outgoing && (m.fromBlocked || client.isBlocked(m.from)) ? (
              <BlockedMessage key={m.id} m={m} sender={names[m.from] ?? 'Member'}>
                {m.deletedAt !== undefined ? <DeletedText /> : <span className="text">{m.text}</span>}
              </BlockedMessage>
            ) : (
              <li
                key={m.clientMessageId ?? m.id}
                data-message-id={m.id}
                className={`bubble ${m.outgoing ? 'out' : 'in'}${search.currentId === m.id ? ' search-current' : ''}${jump.flashId === m.id || quoteJump.flashId === m.id ? ' flash' : ''}`}
                onAnimationEnd={
                  jump.flashId === m.id ? jump.flashDone : quoteJump.flashId === m.id ? quoteJump.flashDone : undefined
                }
              >
                {/* Who wrote it, for a screen reader; groups show other members' names on screen too. */}
                <span className="visually-hidden">
                  {m.outgoing ? 'You' : isGroup ? (names[m.from] ?? 'Member') : title}:{' '}
                </span>
                {isGroup && !m.outgoing && (
                  <span className="sender" aria-hidden="true">
                    {names[m.from] ?? 'Member'}
                  </span>
                )}
                <BubbleTop
                  m={m}
                  me={me}
                  names={names}
                  onJump={(id) => quoteJump.jumpTo(id) || setError('The quoted message is not on this device.')}
                />
                {m.attachment && (
                  <AttachmentView
                    client={client}
                    message={m}
                    onPlayed={() => played(m)}
                    onOpen={() => media.open(m.id)}
                  />
                )}
                {m.deletedAt !== undefined ? (
                  <DeletedText />
                ) : (
                  (m.text || !m.attachment) && (
                    <span className="text">
                      <RichText text={m.text} highlight={search.rangesOf(m.id)} />
                    </span>
                  )
                )}
                {m.preview && m.deletedAt === undefined && <PreviewCard preview={m.preview} />}
                <span className="meta">
                  <EditedMark m={m} />
                  {m.outgoing && isNote(m) && (m.playedBy?.length ?? 0) > 0 && (
                    <span className="played" role="img" aria-label="Played" title="Played">
                      <PlayIcon />
                    </span>
                  )}
                  {timeOfDay(m.serverTime ?? m.sentAt)}
                  {m.outgoing && m.from === me && <Ticks m={m} />}
                  <MessageMenu
                    message={m}
                    me={me}
                    actions={{
                      ...msgActions.actions,
                      report: (r) => setReporting({ accountId: r.from, name: names[r.from] ?? 'this member' }),
                    }}
                  />
                </span>
                <ReactionChips m={m} me={me} names={names} onReact={msgActions.actions.react} />
                {m.outgoing && m.status === 'failed' && <FailedActions client={client} m={m} onError={setError} />}
              </li>
            ),
          )}
          <RemovedLine conv={conv} names={names} />
        </ol>
        <NewMessagesButton count={unseen} onClick={jumpToNewest} />
      </div>
      <p className="visually-hidden" aria-live="polite" aria-atomic="true">
        {announcement}
      </p>
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
      {peer && blocked ? (
        <BlockedComposer
          name={title}
          onUnblock={() => void client.unblock(peer).catch((e) => setError(describeError(e)))}
        />
      ) : conv.active ? (
        <>
          {msgActions.panels}
          {msgActions.replyBar}
          <Composer
            client={client}
            conversationId={conversationId}
            onError={setError}
            replyTo={msgActions.replyTo}
            onReplySent={msgActions.clearReply}
            dropped={drop.dropped}
            onDroppedTaken={drop.takeDropped}
            title={title}
          />
        </>
      ) : (
        <InactiveComposer conv={conv} names={names} />
      )}
    </section>
  );
}
