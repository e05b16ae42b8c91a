/**
 * The chat's side of message actions (C15): what each menu item does through the SDK, the reply
 * bar above the composer, the edit and forward dialogs, and a short status line ("Copied",
 * "Forwarded to …"). ChatView calls the hook once and places what it returns.
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { MESSAGE_ACTION_LIMITS, type LocalMessage, type ParleyClient } from '@parley/sdk';
import { Modal } from '../safety/SafetyNumber.tsx';
import { describeError } from '../errors.ts';
import { useConversations, useNames } from '../hooks.ts';
import { titleOf } from '../ChatList.tsx';
import { forgetMedia } from '../media/blobs.ts';
import type { MessageMenuActions } from './MessageMenu.tsx';
import { LazyEmojiPicker } from '../emoji/LazyEmojiPicker.tsx';
import './messages.css';

/** The composer's text box: where Reply sends the focus. */
function focusComposer(): void {
  document.getElementById('composer')?.focus();
}

/** State and panels of message actions for one open chat. */
export function useMessageActions(
  client: ParleyClient,
  conversationId: string,
  messages: LocalMessage[],
  names: Record<string, string>,
  onError: (message: string | null) => void,
): {
  actions: MessageMenuActions;
  replyTo: LocalMessage | null;
  clearReply: () => void;
  replyBar: ReactNode;
  panels: ReactNode;
} {
  const [replyTo, setReplyTo] = useState<LocalMessage | null>(null);
  const [editing, setEditing] = useState<LocalMessage | null>(null);
  const [forwarding, setForwarding] = useState<LocalMessage | null>(null);
  const [reactingTo, setReactingTo] = useState<LocalMessage | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const noticeTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const me = client.self.accountId;

  useEffect(() => {
    setReplyTo(null);
    setEditing(null);
    setForwarding(null);
    setReactingTo(null);
  }, [conversationId]);
  useEffect(() => () => void (noticeTimer.current && clearTimeout(noticeTimer.current)), []);

  // A message deleted for everyone no longer names its media: forget the page's decrypted copy,
  // which only the list as it was before the delete still points to.
  const shown = useRef(messages);
  shown.current = messages;
  useEffect(
    () =>
      client.on('message-changed', (e) => {
        if (e.change === 'delete') forgetMedia(shown.current.find((m) => m.id === e.message.id)?.attachment);
      }),
    [client],
  );

  const say = (text: string) => {
    setNotice(text);
    if (noticeTimer.current) clearTimeout(noticeTimer.current);
    noticeTimer.current = setTimeout(() => setNotice(null), 4000);
  };
  const fail = (e: unknown) => onError(describeError(e));

  const actions: MessageMenuActions = {
    reply: (m) => {
      setReplyTo(m);
      focusComposer();
    },
    react: (m, emoji) => {
      onError(null);
      void client.react(conversationId, m.id, emoji).catch(fail);
    },
    moreReactions: setReactingTo,
    edit: setEditing,
    copy: (m) => {
      void navigator.clipboard
        ?.writeText(m.text)
        .then(() => say('Copied'))
        .catch(() => onError('This browser did not let the page copy. Select the text and copy it instead.'));
    },
    forward: setForwarding,
    deleteForMe: (m) => {
      if (!confirm('Delete this message for you? Others in the chat keep it.')) return;
      void client
        .deleteForMe(conversationId, m.id)
        .then(() => forgetMedia(m.attachment))
        .catch(fail);
      if (replyTo?.id === m.id) setReplyTo(null);
    },
    deleteForEveryone: (m) => {
      if (!confirm('Delete this message for everyone? It is replaced by "This message was deleted" on every device.'))
        return;
      void client.deleteForEveryone(conversationId, m.id).catch(fail);
      if (replyTo?.id === m.id) setReplyTo(null);
    },
  };

  const replyBar = replyTo ? (
    <div className="reply-bar" role="group" aria-label="Reply">
      <div className="reply-bar-quote">
        <span className="quote-from">
          Replying to {replyTo.from === me ? 'yourself' : (names[replyTo.from] ?? 'Member')}
        </span>
        <span className="quote-text">
          {replyTo.text ||
            (replyTo.callLog
              ? replyTo.callLog.media === 'video'
                ? 'Video call'
                : 'Voice call'
              : replyTo.attachment
                ? 'Attachment'
                : 'Message')}
        </span>
      </div>
      <button type="button" className="secondary" onClick={() => setReplyTo(null)} aria-label="Cancel reply">
        ✕
      </button>
    </div>
  ) : null;

  const panels = (
    <>
      {editing && (
        <EditDialog
          client={client}
          conversationId={conversationId}
          message={editing}
          onClose={() => setEditing(null)}
        />
      )}
      {forwarding && (
        <ForwardDialog
          client={client}
          conversationId={conversationId}
          message={forwarding}
          onDone={(title) => say(`Forwarded to ${title}`)}
          onClose={() => setForwarding(null)}
        />
      )}
      {reactingTo && (
        <LazyEmojiPicker
          label="More reactions"
          className="reactions"
          closeOnPick
          onPick={(emoji) => actions.react(reactingTo, emoji)}
          onClose={() => setReactingTo(null)}
        />
      )}
      <p className="msg-notice" role="status">
        {notice ?? ''}
      </p>
    </>
  );

  return { actions, replyTo, clearReply: () => setReplyTo(null), replyBar, panels };
}

/** Edit one of this account's messages. */
function EditDialog({
  client,
  conversationId,
  message,
  onClose,
}: {
  client: ParleyClient;
  conversationId: string;
  message: LocalMessage;
  onClose: () => void;
}) {
  const [text, setText] = useState(message.text);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const hours = MESSAGE_ACTION_LIMITS.editWindowMs / 3_600_000;
  const save = async () => {
    const next = text.trim();
    if (!next || next === message.text) return onClose();
    setBusy(true);
    try {
      await client.editMessage(conversationId, message.id, next);
      onClose();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal labelledBy="edit-title" onClose={onClose} className="edit-dialog">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <div className="modal-head">
          <h2 id="edit-title">Edit message</h2>
        </div>
        <p id="edit-hint" className="hint">
          Everyone in the chat sees the new text, marked "edited" (possible for {hours} hours after sending).
        </p>
        <textarea
          id="edit-text"
          aria-label="Edited message"
          aria-describedby="edit-hint"
          rows={3}
          value={text}
          autoFocus
          onChange={(e) => setText(e.target.value)}
        />
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <div className="dialog-buttons">
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" disabled={busy}>
            Save
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** Pick a chat to forward a message into. */
function ForwardDialog({
  client,
  conversationId,
  message,
  onDone,
  onClose,
}: {
  client: ParleyClient;
  conversationId: string;
  message: LocalMessage;
  onDone: (title: string) => void;
  onClose: () => void;
}) {
  const chats = useConversations(client).filter((c) => c.active);
  const names = useNames(
    client,
    chats.flatMap((c) => (c.peer ? [c.peer] : [])),
  );
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const send = async (to: string, title: string) => {
    setBusy(to);
    setError(null);
    try {
      await client.forward(conversationId, message.id, to);
      onDone(title);
      onClose();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(null);
    }
  };
  return (
    <Modal labelledBy="forward-title" onClose={onClose} className="forward-dialog">
      <div className="modal-head">
        <h2 id="forward-title">Forward message</h2>
        <button type="button" className="secondary" onClick={onClose}>
          Cancel
        </button>
      </div>
      <p className="hint forward-preview">{message.text || (message.attachment ? 'Attachment' : '')}</p>
      <ul className="forward-list" aria-label="Chats">
        {chats.map((c) => {
          const title = titleOf(c, names);
          return (
            <li key={c.id}>
              <button type="button" disabled={busy !== null} onClick={() => void send(c.id, title)}>
                {busy === c.id ? `Forwarding to ${title}…` : `Forward to ${title}`}
              </button>
            </li>
          );
        })}
      </ul>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </Modal>
  );
}
