/**
 * `parley timer set --to WHO --duration off|5s|10m|24h|7d|90d` and `parley timer default --duration
 * ...` (C17, docs/disappearing.md): set a chat's disappearing-messages timer (end-to-end encrypted
 * to every member's devices, which show who set it), or this device's default for chats it creates.
 * Each prints one JSON line with the timer in seconds (null: off). A duration that is not one is a
 * usage error; one outside 5 s … 1 year is refused with `timer_out_of_range`.
 */
import { isParleyError, parseTimer, type ParleyClient } from '@parley/sdk';
import { need, UsageError, type ParsedArgs } from './args.ts';

/** `--duration` in seconds (null: off); malformed text is a usage error, range errors stay catalogued. */
export function durationArg(args: ParsedArgs): number | null {
  const text = need(args, 'duration');
  try {
    return parseTimer(text);
  } catch (e) {
    if (isParleyError(e) && e.code === 'bad_request')
      throw new UsageError(
        `timer --duration needs off, or a number and a unit (5s, 10m, 24h, 7d, 2w, 1y), not "${text}"`,
      );
    throw e;
  }
}

/** The words of `timer` other than `set` and `default`. */
export function timerUsage(): never {
  throw new UsageError('timer needs set --to WHO --duration D, or default --duration D');
}

/**
 * `parley timer set`: set the chat `--to` names (a direct chat is started when there is none yet)
 * to `--duration`, and print `{conversation, timer}`.
 */
export async function setTimerCommand(
  args: ParsedArgs,
  client: ParleyClient,
  conversationOf: (to: string) => Promise<string>,
  out: (line: Record<string, unknown>) => void,
): Promise<void> {
  const seconds = durationArg(args);
  const id = await conversationOf(need(args, 'to'));
  const conv = await client.setTimer(id, seconds);
  out({ conversation: id, timer: conv.timer ?? null });
}

/** `parley timer default`: this device's timer for chats it creates from now on; prints `{defaultTimer}`. */
export async function defaultTimerCommand(
  args: ParsedArgs,
  client: ParleyClient,
  out: (line: Record<string, unknown>) => void,
): Promise<void> {
  const seconds = durationArg(args);
  await client.setDefaultTimer(seconds);
  out({ defaultTimer: await client.defaultTimer() });
}
