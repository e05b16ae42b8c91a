/** Human text for SDK errors (C15), including how long to wait when rate-limited, deadlines passed and media problems (C4). */
import { ParleyError } from '@parley/sdk';

/** A sentence for the user. */
export function describeError(err: unknown): string {
  if (err instanceof ParleyError) {
    if (err.isRateLimited())
      return `Too many attempts. Try again in ${Math.ceil((err.retryAfterMs() ?? 1000) / 1000)} seconds.`;
    if (err.code === 'timeout') return 'The server did not answer in time. Check your connection and try again.';
    if (err.code === 'unavailable') return 'The server cannot be reached right now. Try again in a moment.';
    if (err.code === 'phone_invalid')
      return 'That is not a valid phone number. Use the international form, e.g. +12025550123.';
    if (err.code === 'code_invalid') return 'That code is not right. Check the latest message and try again.';
    if (err.code === 'code_expired') return 'That code has expired. Ask for a new one.';
    if (err.code === 'account_not_found') return 'Nobody with that number uses Parley here.';
    if (err.code === 'username_taken')
      return 'That username is taken. Try another number after the dot, or another name.';
    if (err.code === 'username_invalid')
      return 'A username looks like sam.42: 3–32 letters, digits or _, starting with a letter, then a dot and 2–9 digits.';
    if (err.code === 'profile_hidden') return 'This profile is not shared with you.';
    if (err.code === 'kt_head_stale')
      return "The server's key-transparency log is out of date (or this device's clock is wrong), so this key is not used yet. Check the clock and try again later.";
    if (
      err.code === 'kt_inclusion_failed' ||
      err.code === 'kt_key_mismatch' ||
      err.code === 'kt_inconsistent_head' ||
      err.code === 'kt_log_key_mismatch' ||
      err.code === 'kt_version_rollback'
    )
      return "The server's key-transparency log does not vouch for this key, so it is not used. Verify the safety number in person.";
    if (err.code === 'blob_not_found') return 'This media has expired. Ask the sender to send it again.';
    if (err.code === 'blob_too_large' || err.code === 'payload_too_large')
      return 'That file is larger than this server accepts.';
    if (err.code === 'blob_quota_exceeded')
      return 'Your media storage on this server is full. Older media frees up as it expires.';
    if (err.code === 'blob_digest_mismatch' || err.code === 'media_undecryptable')
      return 'This media was damaged on the way and cannot be shown. Ask the sender to send it again.';
    if (err.code === 'message_not_found') return 'That message is no longer on this device.';
    if (err.code === 'message_action_refused')
      return 'That is not possible for this message: only its sender can edit it (for 24 hours) or delete it for everyone (for 48 hours), and a deleted message cannot be changed.';
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/** A sentence for a failed "New chat" or group-member look-up of a number or a username. */
export function describeLookupError(err: unknown, input: string): string {
  if (err instanceof ParleyError && err.code === 'account_not_found') {
    return /^[+\d]/.test(input)
      ? `Nobody with the number ${input} can be found here: they may not use Parley, or may not let others find them by number. Ask them for their username.`
      : `Nobody has the username ${input.startsWith('@') ? input : `@${input}`}. Check the spelling and the number after the dot.`;
  }
  if (err instanceof ParleyError && err.code === 'phone_invalid')
    return `${input} is not a phone number or a username. Numbers look like +12025550123, usernames like @sam.42.`;
  return describeError(err);
}

/** A sentence for a voice or video recording that could not start: a refused device is named. */
export function describeRecordingError(err: unknown, kind: 'voice' | 'video'): string {
  if (err instanceof DOMException && err.name === 'NotAllowedError')
    return `Parley may not use the ${kind === 'voice' ? 'microphone' : 'camera'}: allow it in the browser's site settings.`;
  return describeError(err);
}
