/**
 * One chat on the watch (C15): its last messages in large type, newest at the bottom; voice notes
 * that play with one tap; call entries, with "Leave a voice message" after a call nobody answered;
 * reactions on any message; and the two ways to answer on a watch: a quick reply (a canned line
 * or an emoji) and a voice reply recorded here. Messages on screen are marked read, notes played.
 */
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { LocalMessage, ParleyClient } from '@parley/sdk';
import { useConversations, useMessages, useNames } from '../hooks.ts';
import { describeError } from '../errors.ts';
import { titleOf } from '../ChatList.tsx';
import { callController, callInProgress, useCallScreen } from '../calls/controller.ts';
import { callLogText, splitCallNotes } from '../calls/CallLog.tsx';
import { BackIcon, MicIcon, PhoneIcon } from '../media/icons.tsx';
import { WatchNote } from './WatchNote.tsx';
import { QuickReplies } from './QuickReplies.tsx';
import { VoiceReply } from './VoiceReply.tsx';
import { ReactionSheet, reactionSummary } from './Reactions.tsx';
import { WATCH_HISTORY } from './words.ts';
import { FailedActions, Ticks } from '../chat/MessageStatus.tsx';
import { timeOfDay } from '../media/recorder.ts';

/** What covers the history for a moment: a quick reply, a recording, or reactions to a message. */
type Panel = { kind: 'quick' } | { kind: 'record' } | { kind: 'react'; message: LocalMessage } | null;

/** Words for an attachment that is not a note, which a watch does not open. */
const KIND_WORDS = { image: 'Photo', video: 'Video message', voice: 'Voice message', file: 'File' } as const;

/** The chat; `onBack` returns to the list. */
export function WatchChat({
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
  const { shown, notesFor } = splitCallNotes(messages.filter((m) => !m.system && !m.fromBlocked));
  const recent = shown.slice(-WATCH_HISTORY);
  const names = useNames(client, conv?.members ?? (conv?.peer ? [conv.peer] : []));
  const title = conv ? titleOf(conv, names) : 'Chat';
  const [panel, setPanel] = useState<Panel>(null);
  const [error, setError] = useState<string | null>(null);
  const [screen] = useCallScreen(client);
  const me = client.self.accountId;
  const canWrite = Boolean(conv?.active && !conv.removedAt);

  // Read receipts for what the watch shows, once per message.
  const marked = useRef(new Set<string>());
  useEffect(() => {
    const fresh = recent.filter((m) => !m.outgoing && !marked.current.has(m.id)).map((m) => m.id);
    if (!fresh.length || document.visibilityState !== 'visible') return;
    fresh.forEach((id) => marked.current.add(id));
    void client.markRead(conversationId, fresh).catch(() => undefined);
  }, [client, conversationId, recent.map((m) => m.id).join(',')]);

  // The newest message stays in view, as on a phone.
  const list = useRef<HTMLOListElement>(null);
  useEffect(() => {
    const el = list.current;
    // On a round screen the whole column scrolls (watch.css): the end of the history into view
    // (the newest message and the buttons under it), or a panel's top when one opens.
    const column = document.querySelector('.watch-screen');
    if (el) el.scrollTop = el.scrollHeight;
    if (column) column.scrollTop = el ? column.scrollHeight : 0;
  }, [recent.length, recent.at(-1)?.id, panel]);

  const played = (m: LocalMessage) => {
    if (!m.outgoing) void client.markPlayed(conversationId, [m.id]).catch(() => undefined);
  };
  const send = async (text: string) => {
    setError(null);
    try {
      await client.sendText(conversationId, text);
      setPanel(null);
    } catch (e) {
      setError(describeError(e));
    }
  };
  const call = () => {
    setError(null);
    callController(client)
      .start(conversationId, false)
      .catch((e: unknown) => setError(describeError(e)));
  };
  const sender = (m: LocalMessage) => (m.outgoing ? 'You' : (names[m.from] ?? 'Contact'));
  // A closed panel gives the focus back to the Reply button, where a keyboard or rotary input was.
  const reply = useRef<HTMLButtonElement>(null);
  const hadPanel = useRef(false);
  useEffect(() => {
    if (!panel && hadPanel.current) reply.current?.focus();
    hadPanel.current = panel !== null;
  }, [panel]);
  // Escape steps back: out of a panel (a recording is dropped), else out of the chat.
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key !== 'Escape') return;
    e.preventDefault();
    if (panel) setPanel(null);
    else onBack();
  };

  return (
    <section className="watch-screen" aria-labelledby="watch-chat-title" onKeyDown={onKeyDown}>
      <header className="watch-head">
        <button type="button" className="watch-icon" onClick={onBack} aria-label="Back to chats">
          <BackIcon />
        </button>
        <h1 id="watch-chat-title">{title}</h1>
        {conv?.kind === 'direct' && canWrite && (
          <button
            type="button"
            className="watch-icon"
            onClick={call}
            disabled={callInProgress(screen)}
            aria-label={`Voice call ${title}`}
          >
            <PhoneIcon />
          </button>
        )}
      </header>
      {error && (
        <p className="watch-error" role="alert">
          {error}
        </p>
      )}
      {panel?.kind === 'quick' ? (
        <QuickReplies onSend={send} onClose={() => setPanel(null)} />
      ) : panel?.kind === 'record' ? (
        <VoiceReply client={client} conversationId={conversationId} onDone={() => setPanel(null)} />
      ) : panel?.kind === 'react' ? (
        <ReactionSheet
          client={client}
          conversationId={conversationId}
          message={panel.message}
          onDone={() => setPanel(null)}
          onError={setError}
        />
      ) : (
        <>
          <ol ref={list} className="watch-scroll watch-history" aria-label="Messages" tabIndex={0}>
            {recent.length === 0 && <li className="watch-empty">No messages yet.</li>}
            {recent.map((m) => {
              const who = sender(m);
              const summary = reactionSummary(m, me, names);
              const side = m.outgoing ? 'out' : 'in';
              if (m.callLog) {
                const log = m.callLog;
                const mine = log.caller === me;
                return (
                  <li key={m.id} className={`watch-msg watch-call ${side}`}>
                    <p className="watch-call-text">{callLogText(log, me)}</p>
                    {(notesFor.get(log.callId) ?? []).map((n) => (
                      <WatchNote key={n.id} client={client} message={n} sender={sender(n)} onPlayed={() => played(n)} />
                    ))}
                    {mine && log.outcome !== 'completed' && conv?.peer && canWrite && (
                      <button
                        type="button"
                        className="watch-wide"
                        disabled={callInProgress(screen)}
                        onClick={() =>
                          callController(client).leaveMessage({
                            conversationId,
                            callId: log.callId,
                            peerAccount: conv.peer!,
                            media: log.media,
                            recording: 'voice',
                          })
                        }
                      >
                        Leave a voice message
                      </button>
                    )}
                  </li>
                );
              }
              const note =
                !m.deletedAt && m.attachment && (m.attachment.kind === 'voice' || m.attachment.kind === 'video');
              const body = m.deletedAt
                ? 'This message was deleted'
                : [m.attachment && !note ? KIND_WORDS[m.attachment.kind] : '', m.text].filter(Boolean).join(': ');
              return (
                <li key={m.id} className={`watch-msg ${side}`}>
                  {conv?.kind === 'group' && !m.outgoing && <p className="watch-from">{who}</p>}
                  {note ? (
                    <WatchNote
                      client={client}
                      message={m}
                      sender={who}
                      onPlayed={() => played(m)}
                      onReact={m.deletedAt || !canWrite ? undefined : () => setPanel({ kind: 'react', message: m })}
                    />
                  ) : m.deletedAt || !canWrite ? (
                    <p className="watch-text">
                      <span className="visually-hidden">{who}: </span>
                      {body}
                    </p>
                  ) : (
                    <button
                      type="button"
                      className="watch-text"
                      aria-label={`React to ${who}: ${body}`}
                      onClick={() => setPanel({ kind: 'react', message: m })}
                    >
                      {body}
                    </button>
                  )}
                  {note && m.text && <p className="watch-caption">{m.text}</p>}
                  {summary && (
                    <p className="watch-reactions" aria-label={summary.label}>
                      {summary.shown}
                    </p>
                  )}
                  <p className="watch-meta">
                    {timeOfDay(m.serverTime ?? m.sentAt)}
                    {m.outgoing && <Ticks m={m} />}
                  </p>
                  {m.outgoing && m.status === 'failed' && <FailedActions client={client} m={m} onError={setError} />}
                </li>
              );
            })}
          </ol>
          {canWrite && (
            <div className="watch-actions">
              <button ref={reply} type="button" className="watch-action" onClick={() => setPanel({ kind: 'quick' })}>
                Reply
              </button>
              <button
                type="button"
                className="watch-action watch-icon"
                onClick={() => setPanel({ kind: 'record' })}
                aria-label="Record voice reply"
              >
                <MicIcon />
              </button>
            </div>
          )}
        </>
      )}
    </section>
  );
}
