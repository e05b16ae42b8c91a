/**
 * Reactions on the watch (C15): a message's reactions in one line under it, and a sheet of the six
 * usual emoji to react with (or take this account's reaction back).
 */
import type { LocalMessage, ParleyClient } from '@parley/sdk';
import { describeError } from '../errors.ts';
import { QUICK_EMOJI } from './words.ts';

/** "❤️2 👍" on screen and "Reactions: ❤️ by You and Sam; 👍 by Sam" for a screen reader, or null. */
export function reactionSummary(
  m: LocalMessage,
  me: string,
  names: Record<string, string>,
): { shown: string; label: string } | null {
  const by = new Map<string, string[]>();
  for (const r of m.reactions ?? [])
    by.set(r.emoji, [...(by.get(r.emoji) ?? []), r.from === me ? 'You' : (names[r.from] ?? 'Contact')]);
  if (!by.size) return null;
  const groups = [...by];
  return {
    shown: groups.map(([e, who]) => (who.length > 1 ? `${e}${who.length}` : e)).join(' '),
    label: `Reactions: ${groups.map(([e, who]) => `${e} by ${who.join(' and ')}`).join('; ')}`,
  };
}

/** The sheet for one message; `onDone` closes it once a reaction was sent (or on Cancel). */
export function ReactionSheet({
  client,
  conversationId,
  message,
  onDone,
  onError,
}: {
  client: ParleyClient;
  conversationId: string;
  message: LocalMessage;
  onDone: () => void;
  onError: (message: string | null) => void;
}) {
  const mine = message.reactions?.find((r) => r.from === client.self.accountId)?.emoji;
  const react = (emoji: string | null) => {
    onError(null);
    client.react(conversationId, message.id, emoji).then(onDone, (e: unknown) => onError(describeError(e)));
  };
  return (
    <div className="watch-scroll watch-panel" role="group" aria-label="React to message">
      <ul className="watch-emoji">
        {QUICK_EMOJI.map((e, i) => (
          <li key={e}>
            <button
              type="button"
              autoFocus={i === 0}
              className={e === mine ? 'chosen' : ''}
              onClick={() => react(e === mine ? null : e)}
              aria-label={e === mine ? `Remove reaction ${e}` : `React with ${e}`}
            >
              {e}
            </button>
          </li>
        ))}
      </ul>
      <button type="button" className="watch-wide ghost-button" onClick={onDone}>
        Cancel
      </button>
    </div>
  );
}
