/**
 * Calls in the chat (C6, C7): the header buttons that start a 1:1 call, and call-log entries as
 * call bubbles ("Missed voice call", "Outgoing video call · 1:23") with the voice or video message
 * left for that call inline, playable with one tap. From an unanswered call the caller can still
 * leave a message later, and either side can call back.
 */
import { useState } from 'react';
import type { LocalMessage, ParleyClient } from '@parley/sdk';
import { describeError } from '../errors.ts';
import { AttachmentView, isNote } from '../media/Attachment.tsx';
import { clock, timeOfDay, type NoteKind } from '../media/recorder.ts';
import { PhoneIcon, VideoIcon } from '../media/icons.tsx';
import { callController, callInProgress, useCallScreen } from './controller.ts';
import { MessageMenu, type MessageMenuActions } from '../messages/MessageMenu.tsx';
import { ReactionChips } from '../messages/BubbleParts.tsx';

type CallLog = NonNullable<LocalMessage['callLog']>;

const isCallNote = (m: LocalMessage) => Boolean(m.callId && !m.callLog && isNote(m));

/**
 * Split a chat's messages into what is shown as its own bubble and the notes left for a call,
 * which are shown inside that call's entry. A note whose call-log entry has not arrived (yet) is
 * shown on its own.
 */
export function splitCallNotes(messages: LocalMessage[]): {
  shown: LocalMessage[];
  notesFor: Map<string, LocalMessage[]>;
} {
  const logged = new Set(messages.filter((m) => m.callLog).map((m) => m.callLog!.callId));
  const notesFor = new Map<string, LocalMessage[]>();
  const shown: LocalMessage[] = [];
  for (const m of messages) {
    if (isCallNote(m) && logged.has(m.callId!)) notesFor.set(m.callId!, [...(notesFor.get(m.callId!) ?? []), m]);
    else shown.push(m);
  }
  return { shown, notesFor };
}

/** How a call ended, from this account's side. */
export function callLogText(log: CallLog, me: string): string {
  const mine = log.caller === me;
  const media = log.media === 'video' ? 'video' : 'voice';
  const Media = log.media === 'video' ? 'Video' : 'Voice';
  switch (log.outcome) {
    case 'completed':
      return `${mine ? 'Outgoing' : 'Incoming'} ${media} call · ${clock(log.durationMs)}`;
    case 'declined':
      return 'Declined call';
    case 'missed':
      return mine ? `Unanswered ${media} call` : `Missed ${media} call`;
    case 'busy':
      return mine ? `${Media} call · busy` : `Missed ${media} call`;
    case 'unavailable':
      return mine ? `${Media} call · not reachable` : `Missed ${media} call`;
    case 'cancelled':
      return mine ? `Cancelled ${media} call` : `Missed ${media} call`;
    default:
      return `${Media} call`;
  }
}

/**
 * One call-log entry of the chat, with the messages left for the call. `peer` is the other person
 * of the direct chat, whom a message left for an unanswered call goes to. With `actions` the entry
 * has the "Message actions" menu (reply and reactions; a call entry cannot be edited, forwarded or
 * deleted for everyone) and its reaction chips, like any message.
 */
export function CallLogEntry({
  client,
  message: m,
  peer,
  notes,
  onPlayed,
  actions,
  names = {},
  flash = false,
  onFlashDone,
}: {
  client: ParleyClient;
  message: LocalMessage;
  peer: string | undefined;
  notes: LocalMessage[];
  onPlayed: (note: LocalMessage) => void;
  actions?: MessageMenuActions;
  names?: Record<string, string>;
  /** Highlighted for a moment (a reply's quote led here). */
  flash?: boolean;
  onFlashDone?: () => void;
}) {
  const log = m.callLog!;
  const me = client.self.accountId;
  const mine = log.caller === me;
  const [error, setError] = useState<string | null>(null);
  const [screen, controller] = useCallScreen(client);
  const busy = callInProgress(screen);
  const unanswered = log.outcome !== 'completed';
  const text = callLogText(log, me);
  const missedHere = !mine && unanswered;
  const leave = (recording: NoteKind) => {
    if (peer)
      controller.leaveMessage({
        conversationId: m.conversationId,
        callId: log.callId,
        peerAccount: peer,
        media: log.media,
        recording,
      });
  };

  return (
    <li
      data-message-id={m.id}
      className={`bubble call-entry ${mine ? 'out' : 'in'} ${missedHere ? 'missed' : ''}${flash ? ' flash' : ''}`}
      onAnimationEnd={flash ? onFlashDone : undefined}
    >
      <span className="call-log-text">
        <span className="call-log-icon" aria-hidden="true">
          {log.media === 'video' ? <VideoIcon /> : <PhoneIcon />}
        </span>
        {text}
      </span>
      {notes.map((n) => (
        <div key={n.id} className="call-note">
          <span className="call-note-label">{n.outgoing ? 'You left a message' : 'Message left for this call'}</span>
          <AttachmentView client={client} message={n} onPlayed={() => onPlayed(n)} />
        </div>
      ))}
      {unanswered && (
        <div className="call-entry-actions">
          {mine && peer && (
            <>
              <button type="button" disabled={busy} onClick={() => leave('voice')}>
                Leave a voice message
              </button>
              <button type="button" disabled={busy} onClick={() => leave('video')}>
                Leave a video message
              </button>
            </>
          )}
          <button
            type="button"
            disabled={busy}
            onClick={() => {
              setError(null);
              controller.start(m.conversationId, log.media === 'video').catch((e) => setError(describeError(e)));
            }}
          >
            Call back
          </button>
        </div>
      )}
      {error && (
        <span className="error" role="alert">
          {error}
        </span>
      )}
      <span className="meta">
        {timeOfDay(m.serverTime ?? m.sentAt)}
        {actions && <MessageMenu message={m} me={me} actions={actions} />}
      </span>
      {actions && <ReactionChips m={m} me={me} names={names} onReact={actions.react} />}
    </li>
  );
}

/** "Voice call" and "Video call" in a 1:1 chat's header. */
export function CallButtons({
  client,
  conversationId,
  onError,
}: {
  client: ParleyClient;
  conversationId: string;
  onError: (message: string | null) => void;
}) {
  const [screen] = useCallScreen(client);
  const busy = callInProgress(screen);
  const start = (video: boolean) => {
    onError(null);
    callController(client)
      .start(conversationId, video)
      .catch((e) => onError(describeError(e)));
  };
  return (
    <div className="chat-head-actions icon-actions call-buttons">
      <button type="button" disabled={busy} onClick={() => start(false)} aria-label="Voice call" title="Voice call">
        <PhoneIcon />
      </button>
      <button type="button" disabled={busy} onClick={() => start(true)} aria-label="Video call" title="Video call">
        <VideoIcon />
      </button>
    </div>
  );
}
