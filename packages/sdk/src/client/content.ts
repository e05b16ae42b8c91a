/**
 * How contents appear in the local history (C3, C4, C15): which fields of a text, attachment or
 * call-log entry a chat shows (with its quote, forward mark and link preview), and which messages are notes that get `played` receipts.
 */
import type { Content } from '@parley/protocol';
import type { LocalMessage } from '../history.ts';

/** Contents that become a message in the chat. */
export type ShownContent = Extract<Content, { type: 'text' | 'attachment' | 'call-log' | 'business' }>;

/** A voice or video note: the only messages that get 'played' receipts. */
export function isNote(m: LocalMessage): boolean {
  return m.attachment?.kind === 'voice' || m.attachment?.kind === 'video';
}

/**
 * What a chat shows of a message: an attachment is a message like a text, its caption the text; a
 * call-log entry has no text and carries the call's outcome.
 */
export function shownFields(
  content: ShownContent,
): Pick<
  LocalMessage,
  'text' | 'attachment' | 'generated' | 'callId' | 'callLog' | 'replyTo' | 'forwarded' | 'preview' | 'business'
> {
  // A business message keeps its structure and the sender's readable rendering as its text.
  if (content.type === 'business') return { text: content.text, business: content.message, ...extras(content) };
  if (content.type === 'text')
    return { text: content.text, ...(content.preview ? { preview: content.preview } : {}), ...extras(content) };
  if (content.type === 'call-log') {
    const { type: _type, ...callLog } = content;
    return { text: '', callId: content.callId, callLog };
  }
  return {
    text: content.caption ?? '',
    attachment: content.attachment,
    ...(content.generated ? { generated: content.generated } : {}),
    ...(content.callId ? { callId: content.callId } : {}),
    ...extras(content),
  };
}

/** The reply and forward marks of a text or attachment, as stored. */
function extras(
  content: Extract<ShownContent, { type: 'text' | 'attachment' | 'business' }>,
): Pick<LocalMessage, 'replyTo' | 'forwarded'> {
  return {
    ...(content.replyTo ? { replyTo: content.replyTo } : {}),
    ...(content.forwarded ? { forwarded: true as const } : {}),
  };
}

/** The content a local outgoing message was made from: the inverse of `shownFields` (for a retry). */
export function contentOfShown(m: LocalMessage): ShownContent {
  const marks = {
    ...(m.replyTo ? { replyTo: m.replyTo } : {}),
    ...(m.forwarded ? { forwarded: true as const } : {}),
  };
  if (m.callLog) return { type: 'call-log', ...m.callLog };
  if (m.attachment)
    return {
      type: 'attachment',
      attachment: m.attachment,
      ...(m.generated ? { generated: m.generated } : {}),
      ...(m.text ? { caption: m.text } : {}),
      ...(m.callId ? { callId: m.callId } : {}),
      ...marks,
    };
  return { type: 'text', text: m.text, ...(m.preview ? { preview: m.preview } : {}), ...marks };
}
