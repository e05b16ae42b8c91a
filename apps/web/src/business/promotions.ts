/**
 * "Stop promotional messages" in a business chat's menu (C10, docs/business.md "Opting out"): the
 * choice travels inside the chat as an end-to-end encrypted `marketing-preference` message that
 * only the business's device reads; the platform then refuses that number's marketing templates to
 * this user. The item turns into "Resume promotional messages" once stopped. The latest choice is
 * read from this chat's history on this device, so it needs nothing stored anywhere else.
 */
import type { LocalMessage, ParleyClient } from '@parley/sdk';
import type { MenuAction } from '../OverflowMenu.tsx';
import { describeError } from '../errors.ts';

/** True when the last marketing choice this account sent in the chat was "stop". */
export function promotionsStopped(messages: readonly LocalMessage[]): boolean {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.outgoing && m.business?.kind === 'marketing-preference') return m.business.value === 'stop';
  }
  return false;
}

/** The menu item of a business chat (none for a person's chat). */
export function promotionActions(
  client: ParleyClient,
  conversationId: string,
  isBusiness: boolean,
  messages: readonly LocalMessage[],
  onError: (message: string) => void,
): MenuAction[] {
  if (!isBusiness) return [];
  const stopped = promotionsStopped(messages);
  return [
    {
      label: stopped ? 'Resume promotional messages' : 'Stop promotional messages',
      onSelect: () =>
        void client
          .setBusinessMarketing(conversationId, stopped ? 'resume' : 'stop')
          .catch((e: unknown) => onError(describeError(e))),
    },
  ];
}
