/**
 * Human text for SDK errors (C15): every code of the catalogue in `@parley/protocol` has a
 * sentence here (the `Record<ErrorCode, …>` makes a new code a type error until it gets one), so
 * nobody reads "The request body or parameters do not match the schema." Rate limits say how long
 * to wait; deadlines passed, media problems (C4) and key checks (C13) say what to do next.
 */
import { ParleyError, type ErrorCode } from '@parley/protocol';

/** Said when something the person did is not something the server can take, whatever the detail. */
const NOT_ACCEPTED = 'The server did not accept that. Check what you entered and try again.';
/** Said when this device and the server disagree on keys or state the person cannot fix by hand. */
const DEVICE_STATE = 'Something on this device is out of step with the server. Reload the page and try again.';
/** Said for codes only operators and admin tools meet; the web client never asks for these. */
const OPERATOR_ONLY = 'This needs an operator of the server. Ask whoever runs it.';
/** Said for the end-to-end checks of keys: the key is not used. */
const KT_DOUBT =
  "The server's key-transparency log does not vouch for this key, so it is not used. Verify the safety number in person.";
/** Said for broken pieces of call media; calls drop such frames, so this is rarely seen. */
const CALL_MEDIA = 'Part of the call could not be decrypted. If the sound or picture stops, hang up and call again.';

/** One sentence per catalogued code; `rate_limited` and `requests_pending` add the wait. */
export const SENTENCES: Record<ErrorCode, string> = {
  bad_request: NOT_ACCEPTED,
  payload_too_large: 'That is larger than this server accepts. Send something smaller.',
  headers_too_large: DEVICE_STATE,
  request_timeout: 'The connection was too slow to send that in time. Check your connection and try again.',
  unsupported_media_type: DEVICE_STATE,
  not_found: 'That is no longer on the server. Reload the page to see what is there now.',
  unknown_op: 'This server does not know that request. The server or this page may need an update: reload the page.',
  bad_frame: DEVICE_STATE,
  unauthenticated: 'This device is signed out of the server. Reload the page; if that does not help, register again.',
  forbidden: 'You are not allowed to do that.',
  rate_limited: 'Too many attempts.',
  requests_pending: 'Too many things are waiting for the server.',
  internal: 'Something went wrong on the server. Try again in a moment.',
  unavailable: 'The server cannot be reached right now. Try again in a moment.',
  timeout: 'The server did not answer in time. Check your connection and try again.',
  phone_invalid: 'That is not a valid phone number. Check the number and the country.',
  code_invalid: 'That code is not right. Check the latest message and try again.',
  code_expired: 'That code has expired. Ask for a new one.',
  registration_locked: 'This number is protected by a registration PIN, which this web client cannot enter yet.',
  pin_invalid: 'A PIN has 4 to 32 digits or characters.',
  account_not_found: 'Nobody with that number uses Parley here.',
  device_not_found: 'That device is no longer linked to the account. Reload the page.',
  link_expired: 'This link code has expired or was cancelled. Start linking again on your other device.',
  link_used: 'This link code was already used. Start linking again on your other device.',
  link_not_joined: 'No new device has scanned this code yet.',
  link_message_invalid: 'The link could not be verified, so nothing was linked. Start again with a fresh code.',
  device_limit: 'This account has as many linked devices as allowed. Unlink one first.',
  device_list_invalid: "The account's device list could not be verified.",
  dev_outbox_forbidden: OPERATOR_ONLY,
  sender_unavailable: 'The server could not send the code just now. Try again in a few minutes.',
  discovery_element_invalid: DEVICE_STATE,
  username_invalid:
    'A username looks like sam.42: 3–32 letters, digits or _, starting with a letter, then a dot and 2–9 digits.',
  username_taken: 'That username is taken. Try another number after the dot, or another name.',
  profile_hidden: 'This profile is not shared with you.',
  key_wrong_length: DEVICE_STATE,
  key_non_canonical: DEVICE_STATE,
  key_all_zero: DEVICE_STATE,
  key_small_order: DEVICE_STATE,
  key_mixed_order: DEVICE_STATE,
  key_invalid_point: DEVICE_STATE,
  key_reused: DEVICE_STATE,
  keypackage_malformed: DEVICE_STATE,
  keypackage_init_equals_encryption: DEVICE_STATE,
  keypackage_wrong_credential: DEVICE_STATE,
  signature_invalid: DEVICE_STATE,
  identity_proof_invalid: DEVICE_STATE,
  identity_key_conflict: 'This number already belongs to an account with other keys. Register again to replace them.',
  keypackages_exhausted:
    "The other person's devices have not been online for a while, so a secure chat with them cannot start yet. Try again once they have opened Parley.",
  too_many_keypackages: DEVICE_STATE,
  conversation_not_found: 'That chat is no longer on the server, or this device is not in it.',
  recipient_unavailable: 'You cannot start a chat with this person.',
  cannot_block_self: 'You cannot block or report yourself.',
  block_list_full: 'Your block list is full. Unblock someone first.',
  report_not_found: 'That report is no longer on the server.',
  push_endpoint_invalid: 'This browser offered a push address the server does not accept. Notifications stay off.',
  push_keys_invalid: 'This browser offered push keys the server does not accept. Notifications stay off.',
  push_endpoint_in_use:
    'This browser already receives notifications for another account or device. Turn them off there first.',
  conversation_exists: DEVICE_STATE,
  not_member: 'You are no longer a member of this group.',
  not_admin: 'Only the group’s admins can do that.',
  stale_epoch: 'The group changed while you were doing that. Try again.',
  member_conflict: 'The member list changed while you were doing that. Try again.',
  duplicate_message: 'That message was already sent.',
  blob_too_large: 'That file is larger than this server accepts.',
  blob_quota_exceeded: 'Your media storage on this server is full. Older media frees up as it expires.',
  too_many_uploads: 'Too many files are still uploading. Wait for them to finish, then try again.',
  upload_not_found: 'The upload was interrupted for too long. Send the file again.',
  upload_offset_mismatch: 'The upload was interrupted. Send the file again.',
  upload_incomplete: 'The upload was interrupted. Send the file again.',
  blob_digest_mismatch: 'This media was damaged on the way and cannot be shown. Ask the sender to send it again.',
  blob_not_found: 'This media has expired. Ask the sender to send it again.',
  range_not_satisfiable: 'This media could not be downloaded. Try again, or ask the sender to send it again.',
  media_undecryptable: 'This media was damaged on the way and cannot be shown. Ask the sender to send it again.',
  call_not_found: 'That call has ended.',
  not_in_call: 'You are not in this call. Join it again.',
  call_full: 'The call is full. Try again when someone leaves.',
  too_many_calls: 'You are already in another call. Leave it first.',
  call_negotiation_stale: 'The call was still connecting. Try again.',
  call_sdp_invalid: 'The call could not be connected. Hang up and call again.',
  calls_disabled: 'Group calls are turned off on this server. One-to-one calls still work.',
  call_on_other_node: 'The call is still being set up on the server. Try again in a moment.',
  frame_invalid: CALL_MEDIA,
  frame_key_unknown: CALL_MEDIA,
  frame_auth_failed: CALL_MEDIA,
  admin_reason_required: OPERATOR_ONLY,
  admin_forbidden: OPERATOR_ONLY,
  admin_not_found: OPERATOR_ONLY,
  admin_exists: OPERATOR_ONLY,
  kt_not_logged:
    "This person's key is not in the server's key-transparency log yet, so it is not used. Try again in a minute.",
  kt_tree_size_invalid: DEVICE_STATE,
  kt_inclusion_failed: KT_DOUBT,
  kt_key_mismatch: KT_DOUBT,
  kt_inconsistent_head: KT_DOUBT,
  kt_log_key_mismatch: KT_DOUBT,
  kt_head_stale:
    "The server's key-transparency log is out of date (or this device's clock is wrong), so this key is not used yet. Check the clock and try again later.",
  kt_version_rollback: KT_DOUBT,
  message_not_found: 'That message is no longer on this device.',
  message_action_refused:
    'That is not possible for this message: only its sender can edit it (for 24 hours) or delete it for everyone (for 48 hours), and a deleted message cannot be changed.',
  pin_limit: 'You can pin up to 3 chats. Unpin one first.',
  backup_invalid: 'That is not a Parley backup file. Choose the file "Back up chats" saved.',
  backup_version: 'This backup was made by a newer version of Parley. Update, then restore it.',
  backup_wrong_secret: 'That passphrase or recovery key does not open this backup. Nothing was restored.',
  backup_truncated: 'This backup file is incomplete (cut short while copying). Nothing was restored.',
  backup_tampered: 'This backup file was changed or damaged. Nothing was restored.',
  backup_wrong_account: 'This backup belongs to another phone number. Nothing was restored.',
  timer_out_of_range: 'Pick a disappearing-messages time from 5 seconds to 1 year.',
  expiry_out_of_range: 'This message’s disappearing time is not accepted. Check your device’s clock.',
  image_prompt_invalid: 'Write a prompt of up to 4,000 characters first.',
  image_request_invalid: 'This model cannot make an image with those settings. Change the size, variants or seed.',
  image_model_unknown: 'That image model is not offered here any more. Pick another one.',
  image_provider_refused: 'The image service refused this prompt under its content rules. Try a different prompt.',
  image_provider_rate_limited: 'The image service is busy.',
  image_provider_timeout: 'The image service did not finish in time. Try again, perhaps with fewer variants.',
  image_provider_unavailable: 'The image service cannot be reached right now. Try again in a moment.',
  image_provider_key_rejected: 'The image service did not accept its key, or its account has run out of credit.',
  image_provider_failed: 'The image service could not make this image. Try again, perhaps with another seed.',
  image_provider_bad_answer:
    'The image service sent back something that is not an image. Check its address in the settings.',
  image_result_expired: 'The finished image was no longer available to download. Generate it again.',
  image_result_too_large: 'The image service sent back more than this device accepts. Try a smaller size.',
  image_generation_canceled: 'The image generation was cancelled.',
  image_prompt_blocked: 'This server does not generate images for prompts with that wording. Change the prompt.',
  image_model_not_allowed: 'Your account may not use that image model. Pick another one.',
  image_quota_spent: 'You have made all the images this model allows for today.',
  image_budget_spent: 'This server has spent its image budget for today. Try the offline pattern or your own key.',
  image_jobs_busy: 'You already have images being generated. Wait for them to finish.',
};

/**
 * How long to wait, as people say it: seconds up to a minute and a half, then minutes, then hours
 * (a daily image quota waits until the next UTC day).
 */
export function waitText(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s <= 90) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.ceil(s / 60);
  if (m <= 90) return `${m} minutes`;
  const h = Math.round(m / 60);
  return `about ${h} hour${h === 1 ? '' : 's'}`;
}

/** A sentence for the user. */
export function describeError(err: unknown): string {
  if (err instanceof ParleyError) {
    if (err.isRateLimited())
      return `${SENTENCES[err.code as ErrorCode]} Try again in ${waitText(err.retryAfterMs() ?? 1000)}.`;
    if (Object.hasOwn(SENTENCES, err.code)) return SENTENCES[err.code as ErrorCode];
    // A code this page does not know yet (a newer server): never the server's technical text.
    return `Something went wrong (${err.code}). Try again; if it keeps happening, reload the page.`;
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
