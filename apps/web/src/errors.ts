/** Human text for SDK errors (C15), including how long to wait when rate-limited and media problems (C4). */
import { ParleyError } from '@parley/sdk';

/** A sentence for the user. */
export function describeError(err: unknown): string {
  if (err instanceof ParleyError) {
    if (err.isRateLimited()) return `Too many attempts. Try again in ${Math.ceil((err.retryAfterMs() ?? 1000) / 1000)} seconds.`;
    if (err.code === 'phone_invalid') return 'That is not a valid phone number. Use the international form, e.g. +12025550123.';
    if (err.code === 'code_invalid') return 'That code is not right. Check the latest message and try again.';
    if (err.code === 'code_expired') return 'That code has expired. Ask for a new one.';
    if (err.code === 'account_not_found') return 'Nobody with that number uses Parley here.';
    if (err.code === 'blob_not_found') return 'This media has expired. Ask the sender to send it again.';
    if (err.code === 'blob_too_large' || err.code === 'payload_too_large') return 'That file is larger than this server accepts.';
    if (err.code === 'blob_quota_exceeded') return 'Your media storage on this server is full. Older media frees up as it expires.';
    if (err.code === 'blob_digest_mismatch' || err.code === 'media_undecryptable') return 'This media was damaged on the way and cannot be shown. Ask the sender to send it again.';
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
