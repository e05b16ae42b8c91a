/**
 * What message actions add to a bubble (C15): the "Forwarded" mark and the quoted block of a reply
 * on top, "This message was deleted" in place of the text, "edited" next to the time, and the
 * reaction chips under it. Each says in words what it shows, for screen readers.
 */
import type { LocalMessage, Quote } from '@parley/sdk';

/** How a quoted message without text is named. */
const KIND_NAMES: Record<NonNullable<Quote['kind']>, string> = {
  text: 'Message',
  image: 'Photo',
  file: 'File',
  voice: 'Voice note',
  video: 'Video note',
};

/** A person in these lines: "You", their name, or "Member". */
function who(id: string, me: string, names: Record<string, string>): string {
  return id === me ? 'You' : (names[id] ?? 'Member');
}

/**
 * "Forwarded" and the quoted block, above the bubble's content. With `onJump` the quote is a
 * button ("Go to the quoted message") that shows the original; not for a deleted original.
 */
export function BubbleTop({
  m,
  me,
  names,
  onJump,
}: {
  m: LocalMessage;
  me: string;
  names: Record<string, string>;
  onJump?: (messageId: string) => void;
}) {
  if (m.deletedAt !== undefined) return null;
  const q = m.replyTo;
  const quoted = q
    ? q.deleted
      ? 'This message was deleted'
      : q.excerpt || (q.kind ? KIND_NAMES[q.kind] : 'Message')
    : '';
  return (
    <>
      {m.forwarded && <span className="forwarded">Forwarded</span>}
      {q && (
        <blockquote className="quote" aria-label={`Reply to ${who(q.from, me, names)}: ${quoted}`}>
          {onJump && !q.deleted ? (
            <button
              type="button"
              className="quote-jump"
              title="Go to the quoted message"
              onClick={() => onJump(q.messageId)}
            >
              {/* The name starts with what the button does and contains what it shows. */}
              <span className="visually-hidden">Go to the quoted message: </span>
              <QuoteLines from={who(q.from, me, names)} text={quoted} gone={false} spoken />
            </button>
          ) : (
            <QuoteLines from={who(q.from, me, names)} text={quoted} gone={q.deleted === true} />
          )}
        </blockquote>
      )}
    </>
  );
}

/**
 * The quote's two lines (who, and the start of the text). The blockquote's label says them; inside
 * the jump button (`spoken`) they are also the button's name, with a space between them.
 */
function QuoteLines({
  from,
  text,
  gone,
  spoken = false,
}: {
  from: string;
  text: string;
  gone: boolean;
  spoken?: boolean;
}) {
  return (
    <>
      <span className="quote-from" aria-hidden={spoken ? undefined : true}>
        {from}
      </span>
      {spoken && ' '}
      <span className={`quote-text ${gone ? 'gone' : ''}`} aria-hidden={spoken ? undefined : true}>
        {text}
      </span>
    </>
  );
}

/** The text line of a deleted message. */
export function DeletedText() {
  return <span className="text deleted">This message was deleted</span>;
}

/** "edited", next to the time. */
export function EditedMark({ m }: { m: LocalMessage }) {
  if (m.editedAt === undefined || m.deletedAt !== undefined) return null;
  return <span className="edited">edited</span>;
}

/**
 * Reaction chips, one per emoji with its count; pressing one adds this account's reaction with it,
 * or takes it back when it is already this account's.
 */
export function ReactionChips({
  m,
  me,
  names,
  onReact,
}: {
  m: LocalMessage;
  me: string;
  names: Record<string, string>;
  onReact: (m: LocalMessage, emoji: string | null) => void;
}) {
  if (!m.reactions?.length || m.deletedAt !== undefined) return null;
  const byEmoji = new Map<string, string[]>();
  for (const r of m.reactions) byEmoji.set(r.emoji, [...(byEmoji.get(r.emoji) ?? []), r.from]);
  return (
    <div className="reactions" role="group" aria-label="Reactions">
      {[...byEmoji].map(([emoji, from]) => {
        const mine = from.includes(me);
        const people = from.map((f) => who(f, me, names)).join(', ');
        return (
          <button
            key={emoji}
            type="button"
            className={`reaction-chip ${mine ? 'mine' : ''}`}
            aria-pressed={mine}
            aria-label={`${emoji} ${from.length}: ${people}${mine ? '. Press to remove yours' : ''}`}
            title={people}
            onClick={() => onReact(m, mine ? null : emoji)}
          >
            <span aria-hidden="true">{emoji}</span>
            {from.length > 1 && <span aria-hidden="true">{from.length}</span>}
          </button>
        );
      })}
    </div>
  );
}
