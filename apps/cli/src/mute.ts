/**
 * `parley mute --to WHO --for 8h|1w|always|off` (C15): mutes a chat on this device only (the SDK's
 * `mute`, never sent anywhere) and prints `{conversation, mutedUntil}`. `mutedUntil` is a time in
 * milliseconds since the epoch, `"always"` until unmuted, or null when not muted (a mute past its
 * time counts as unmuted); `conversations` prints the same field.
 */
import { MUTED_ALWAYS, isMuted, type LocalConversation, type ParleyClient } from '@parley/sdk';
import { existingConversation } from './addresses.ts';
import { need, UsageError, type ParsedArgs } from './args.ts';

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** What `--for` asks of `mute`: a time (now + N minutes/hours/days/weeks), `'always'`, or null (off). */
export function muteUntil(spec: string, now: number): number | 'always' | null {
  if (spec === 'always') return 'always';
  if (spec === 'off') return null;
  const m = /^([1-9]\d{0,3})([mhdw])$/.exec(spec);
  if (!m) throw new UsageError('mute --for needs a length like 8h or 1w (m, h, d, w), always, or off');
  return now + Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** A chat's mute as printed: ms since the epoch, "always", or null when not muted now. */
export function mutedUntilOf(conv: Pick<LocalConversation, 'mutedUntil'>): number | 'always' | null {
  if (!isMuted(conv)) return null;
  return conv.mutedUntil === MUTED_ALWAYS ? 'always' : conv.mutedUntil!;
}

/** `parley mute`: mute (or unmute) the chat `--to` names on this device; never starts a chat. */
export async function muteCommand(
  args: ParsedArgs,
  client: ParleyClient,
  resolveAccount: (who: string) => Promise<string>,
  out: (line: Record<string, unknown>) => void,
): Promise<void> {
  const until = muteUntil(need(args, 'for'), Date.now());
  const id = await existingConversation(client, need(args, 'to'), resolveAccount);
  await client.mute(id, until);
  out({ conversation: id, mutedUntil: mutedUntilOf(client.conversations().find((c) => c.id === id)!) });
}
