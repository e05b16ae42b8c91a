/**
 * The block, unblock and report entries of a direct chat's "More options" menu (C15). Blocking asks
 * first and says what it does; unblocking does not need to.
 */
import type { ParleyClient } from '@parley/sdk';
import type { MenuAction } from '../OverflowMenu.tsx';
import { describeError } from '../errors.ts';

/** Ask before blocking `name`; true when the person confirmed. */
export function confirmBlock(name: string): boolean {
  return confirm(
    `Block ${name}? Blocked contacts can't call you or send you messages. They are not told, and you can unblock them at any time.`,
  );
}

/** Block (or Unblock) and Report, for the direct chat with `peer`. */
export function blockActions(
  client: ParleyClient,
  peer: string | undefined,
  name: string,
  blocked: boolean,
  onError: (text: string) => void,
  onReport: () => void,
): MenuAction[] {
  if (!peer) return [];
  const fail = (e: unknown) => onError(describeError(e));
  return [
    blocked
      ? { label: `Unblock ${name}`, onSelect: () => void client.unblock(peer).catch(fail) }
      : {
          label: `Block ${name}`,
          danger: true,
          onSelect: () => {
            if (confirmBlock(name)) void client.block(peer).catch(fail);
          },
        },
    { label: `Report ${name}`, danger: true, onSelect: onReport },
  ];
}
