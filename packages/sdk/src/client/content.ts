/**
 * How contents appear in the local history (C3, C4): which fields of a text, attachment or
 * call-log entry a chat shows, and which messages are notes that get `played` receipts.
 */
import type { Content } from '@parley/protocol';
import type { LocalMessage } from '../history.ts';

/** Contents that become a message in the chat. */
export type ShownContent = Extract<Content, { type: 'text' | 'attachment' | 'call-log' }>;

/** A voice or video note: the only messages that get 'played' receipts. */
export function isNote(m: LocalMessage): boolean {
  return m.attachment?.kind === 'voice' || m.attachment?.kind === 'video';
}

/**
 * What a chat shows of a message: an attachment is a message like a text, its caption the text; a
 * call-log entry has no text and carries the call's outcome.
 */
export function shownFields(content: ShownContent): Pick<LocalMessage, 'text' | 'attachment' | 'callId' | 'callLog'> {
  if (content.type === 'text') return { text: content.text };
  if (content.type === 'call-log') {
    const { type: _type, ...callLog } = content;
    return { text: '', callId: content.callId, callLog };
  }
  return {
    text: content.caption ?? '',
    attachment: content.attachment,
    ...(content.callId ? { callId: content.callId } : {}),
  };
}
