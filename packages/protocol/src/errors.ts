/**
 * The error catalogue (C1–C3, C13, C19). Every error Parley returns over HTTP or WebSocket has a
 * stable code listed here with its HTTP status and a one-line fix; `docs/errors.md` mirrors it and
 * a test keeps the two in step. Codes never change meaning once shipped.
 */
import { z } from 'zod';

/** One catalogue entry: HTTP status, human summary and what the caller should do about it. */
export interface ErrorSpec {
  readonly status: number;
  readonly message: string;
  readonly fix: string;
}

export const ERRORS = {
  // --- generic input and transport
  bad_request: {
    status: 400,
    message: 'The request body or parameters do not match the schema.',
    fix: 'Compare the request with docs/protocol.md; `details` names the offending fields.',
  },
  payload_too_large: {
    status: 413,
    message: 'The request or frame is larger than allowed.',
    fix: 'Send less data; limits are listed in docs/protocol.md.',
  },
  headers_too_large: {
    status: 431,
    message: 'The request line and headers are larger than the server reads.',
    fix: 'Send fewer or shorter headers (at most 16 KiB in all, the request line included).',
  },
  request_timeout: {
    status: 408,
    message: 'The request did not arrive in full within the time the server waits.',
    fix: 'Send the whole request promptly; retry on a fresh connection.',
  },
  unsupported_media_type: {
    status: 415,
    message: 'The request body is not JSON.',
    fix: 'Send `Content-Type: application/json`.',
  },
  not_found: { status: 404, message: 'No such route or resource.', fix: 'Check the path and the id.' },
  unknown_op: {
    status: 400,
    message: 'The WebSocket frame names an operation that does not exist.',
    fix: 'Use one of the ops in docs/protocol.md.',
  },
  bad_frame: {
    status: 400,
    message: 'The WebSocket frame could not be decoded.',
    fix: 'Frames are JSON text, or binary: a u32 header length, the header JSON, then the payload.',
  },
  unauthenticated: {
    status: 401,
    message: 'Missing or invalid device credentials.',
    fix: 'Send `Authorization: Bearer <token>` (HTTP) or a `hello` frame with the token (WebSocket).',
  },
  forbidden: {
    status: 403,
    message: 'This device may not do that.',
    fix: 'Check that the account owns the resource or holds the needed role.',
  },
  rate_limited: {
    status: 429,
    message: 'Too many requests.',
    fix: 'Wait for `retryAfterMs` (HTTP `Retry-After` seconds) before retrying.',
  },
  requests_pending: {
    status: 429,
    message: 'Too many requests on this WebSocket are still waiting for their answers (2,048 at most).',
    fix: 'Wait for answers before sending more requests on the socket; retry this one after `retryAfterMs`.',
  },
  internal: {
    status: 500,
    message: 'The server failed unexpectedly.',
    fix: 'Retry later; operators find the cause in the logs by `requestId`.',
  },
  unavailable: { status: 503, message: 'The server is starting or shutting down.', fix: 'Retry after a short wait.' },
  timeout: {
    status: 504,
    message:
      'The server did not answer within the deadline: it is unreachable, overloaded or stopped answering (raised by the SDK and the `parley` command).',
    fix: 'Retryable: check that the server is up and reachable, then retry (the request may still have been carried out: a message sent again can arrive twice); for slow links raise `--timeout` / `--connect-timeout` or the SDK `timeouts`.',
  },
  // --- accounts (C1)
  phone_invalid: {
    status: 400,
    message: 'The phone number is not a valid E.164 number.',
    fix: 'Send the number as +<country><number>, e.g. +14155550123.',
  },
  code_invalid: {
    status: 400,
    message: 'The verification code is wrong.',
    fix: 'Re-type the code from the latest message; after 5 wrong tries request a new code.',
  },
  code_expired: {
    status: 400,
    message: 'No verification code is pending for this session and number, or it has expired.',
    fix: 'Request a new code and verify with the `sessionId` that request returned.',
  },
  registration_locked: {
    status: 423,
    message: 'This number has a registration-lock PIN.',
    fix: 'Send the account PIN as `registrationLockPin`.',
  },
  pin_invalid: {
    status: 400,
    message: 'The PIN must be 4 to 32 digits or characters.',
    fix: 'Choose a PIN of 4 to 32 characters.',
  },
  account_not_found: { status: 404, message: 'No account matches.', fix: 'Check the id, number or username.' },
  device_not_found: { status: 404, message: 'No such device.', fix: 'List the account devices first.' },
  // --- linked devices (C1, docs/devices.md)
  link_expired: {
    status: 410,
    message: 'This link code is unknown, expired (codes last 10 minutes) or was cancelled.',
    fix: 'Start linking again on the existing device (`parley link`) and use the new code.',
  },
  link_used: {
    status: 409,
    message: 'This link code was already used by another device.',
    fix: 'A code links one device only: start linking again on the existing device.',
  },
  link_not_joined: {
    status: 409,
    message: 'No new device has answered this link code yet.',
    fix: 'Wait until the new device has sent its request, then approve it.',
  },
  link_message_invalid: {
    status: 400,
    message: 'A link message could not be opened: it was not sealed with the key of this link code.',
    fix: 'Nothing was linked. Start again with a fresh code, and scan it only from the device you mean to link.',
  },
  device_limit: {
    status: 409,
    message: 'This account already has as many linked devices as the server allows.',
    fix: 'Unlink a device first (`parley devices unlink --device ID`); operators set PARLEY_MAX_LINKED_DEVICES.',
  },
  device_list_invalid: {
    status: 400,
    message: "The device list is not signed by the account's identity key, or it is not newer than the one stored.",
    fix: 'Sign the exact bytes of `deviceListMessage` with the identity key and use a higher version.',
  },
  dev_outbox_forbidden: {
    status: 403,
    message: 'The dev outbox answers only the operator.',
    fix: "Send `Authorization: Bearer <token>` with the token the server printed at start (or PARLEY_DEV_OUTBOX_TOKEN); without it only requests from the server's own machine are answered, and only while PARLEY_HOST is unset.",
  },
  sender_unavailable: {
    status: 503,
    message: 'The verification-code sender failed.',
    fix: 'Retry later; operators check the sender configuration.',
  },
  // --- contact discovery (C12)
  discovery_element_invalid: {
    status: 400,
    message: 'A blinded element is not a valid ristretto255 encoding.',
    fix: 'Blind each number with the RFC 9497 ristretto255-SHA512 suite (the SDK does); `details.index` names the bad element.',
  },
  username_invalid: {
    status: 400,
    message: 'That is not a valid username.',
    fix: 'Use name.42: 3-32 letters, digits or _ starting with a letter, a dot, then 2-9 digits.',
  },
  username_taken: {
    status: 409,
    message: 'That username belongs to another account.',
    fix: 'Pick another number after the dot (or another name).',
  },
  profile_hidden: {
    status: 404,
    message: 'No profile to show.',
    fix: 'Profiles are visible to the audience their owner chose (default: accepted chats).',
  },
  // --- key checks (C13)
  key_wrong_length: {
    status: 400,
    message: 'A public key has the wrong length.',
    fix: 'X25519 and Ed25519 public keys are exactly 32 bytes.',
  },
  key_non_canonical: {
    status: 400,
    message: 'A public key is not canonically encoded.',
    fix: 'Encode the point canonically (coordinate below the field prime, no sign bit on X25519).',
  },
  key_all_zero: { status: 400, message: 'A public key is all zero bytes.', fix: 'Generate a real key pair.' },
  key_small_order: {
    status: 400,
    message: 'A public key is a point of small order.',
    fix: 'Generate a real key pair; small-order points leak or fix shared secrets.',
  },
  key_mixed_order: {
    status: 400,
    message: 'A public key has a small-order component (not in the prime-order subgroup).',
    fix: 'Generate a real key pair with a standard library.',
  },
  key_invalid_point: {
    status: 400,
    message: 'A public key is not a point on the curve.',
    fix: 'Generate a real key pair.',
  },
  key_reused: {
    status: 409,
    message: 'A public key is already used by another device, account or KeyPackage.',
    fix: 'Generate fresh keys for every KeyPackage and device.',
  },
  keypackage_malformed: {
    status: 400,
    message: 'A KeyPackage could not be decoded or uses an unsupported cipher suite.',
    fix: 'Send an MLS KeyPackage (RFC 9420) for cipher suite 1 built by @parley/crypto.',
  },
  keypackage_init_equals_encryption: {
    status: 400,
    message: 'A KeyPackage init key equals its leaf encryption key.',
    fix: 'Use distinct HPKE keys for init and leaf encryption.',
  },
  keypackage_wrong_credential: {
    status: 400,
    message: 'A KeyPackage credential or signature key does not belong to the uploading device.',
    fix: 'Build KeyPackages with this device id and its registered signing key.',
  },
  signature_invalid: {
    status: 400,
    message: 'A signature does not verify.',
    fix: 'Sign the exact bytes described in docs/protocol.md with the matching private key.',
  },
  identity_proof_invalid: {
    status: 400,
    message: 'The identity key proof of possession does not verify.',
    fix: 'Sign the registration challenge with the identity private key.',
  },
  identity_key_conflict: {
    status: 409,
    message: 'This account already has a different identity key.',
    fix: 'Use the account identity key, or re-register to replace it.',
  },
  keypackages_exhausted: {
    status: 409,
    message: 'A device has no KeyPackage left, not even a last-resort one.',
    fix: 'The device must upload KeyPackages; try again later.',
  },
  too_many_keypackages: {
    status: 400,
    message: 'Too many KeyPackages stored for this device.',
    fix: 'Upload at most 100 at once and keep at most 200 stored.',
  },
  // --- conversations and delivery (C2, C3)
  conversation_not_found: {
    status: 404,
    message: 'No such conversation, or this device is not in it.',
    fix: 'List conversations first.',
  },
  conversation_exists: {
    status: 409,
    message: 'A conversation with this id already exists.',
    fix: 'Pick a fresh random group id.',
  },
  not_member: {
    status: 403,
    message: 'This device is not a member of the conversation.',
    fix: 'Ask a member to add the device.',
  },
  not_admin: {
    status: 403,
    message: 'Only conversation admins may do that.',
    fix: 'Ask an admin, or leave and re-join.',
  },
  stale_epoch: {
    status: 409,
    message: 'The commit is built on an old epoch.',
    fix: 'Fetch the commits since your epoch, apply them, rebuild the commit and retry.',
  },
  member_conflict: {
    status: 409,
    message: 'A device named in the commit is already (or not) a member.',
    fix: 'Refresh the member list and rebuild the commit.',
  },
  duplicate_message: {
    status: 200,
    message: 'This client message id was already stored; the original is returned.',
    fix: 'Nothing: sends are idempotent.',
  },
  // --- blocking and reporting (C15, docs/privacy.md)
  recipient_unavailable: {
    status: 403,
    message: 'This account cannot be added to a new direct chat with you.',
    fix: 'Nothing to fix on this device; the other person has to start the chat.',
  },
  cannot_block_self: {
    status: 400,
    message: 'An account cannot block or report itself.',
    fix: 'Name another account.',
  },
  block_list_full: {
    status: 409,
    message: 'The block list holds as many accounts as it may.',
    fix: 'Unblock someone first (at most 10,000 accounts).',
  },
  report_not_found: {
    status: 404,
    message: 'No such report.',
    fix: 'List reports first.',
  },
  // --- Web Push (C18, docs/notifications.md)
  push_endpoint_invalid: {
    status: 400,
    message: 'The push subscription endpoint is not a URL this server sends to.',
    fix: 'Send the endpoint `PushSubscription.toJSON()` gave: an `https:` URL without credentials (plain `http:` only to a loopback host the operator allowed for tests).',
  },
  push_keys_invalid: {
    status: 400,
    message: 'The push subscription keys are not a P-256 public key (65 bytes) and a 16-byte auth secret.',
    fix: 'Send `keys.p256dh` and `keys.auth` exactly as `PushSubscription.toJSON()` gave them (unpadded base64url).',
  },
  push_endpoint_in_use: {
    status: 409,
    message: 'This push endpoint is registered to another device.',
    fix: 'Each browser subscription belongs to one device: unsubscribe it in the browser and subscribe again for this device.',
  },
  // --- media (C4)
  blob_too_large: {
    status: 413,
    message: 'The blob is larger than this server accepts, or a chunk goes past the declared size.',
    fix: 'Keep files under `maxBytes` from GET /v1/media and send exactly the declared size.',
  },
  blob_quota_exceeded: {
    status: 403,
    message: 'The account would exceed its media storage quota.',
    fix: 'Delete blobs you uploaded (DELETE /v1/media/:blobId) or wait for old ones to expire; `details` has `usedBytes` and `quotaBytes`.',
  },
  too_many_uploads: {
    status: 409,
    message: 'The account already has as many unfinished uploads as the server allows.',
    fix: 'Finish or discard (DELETE /v1/media/:blobId) an upload in progress; unfinished uploads also expire. `details.maxUploads` is the limit.',
  },
  upload_not_found: {
    status: 404,
    message:
      'No upload in progress with this id for this account (it never existed, expired, was discarded or belongs to someone else).',
    fix: 'Start a new upload with POST /v1/media/uploads.',
  },
  upload_offset_mismatch: {
    status: 409,
    message: 'The chunk does not start where the upload stands.',
    fix: 'Resume from `details.offset` (also given by GET /v1/media/uploads/:blobId).',
  },
  upload_incomplete: {
    status: 409,
    message: 'The upload has fewer bytes than declared.',
    fix: 'Append the rest from `details.offset`, then finish again.',
  },
  blob_digest_mismatch: {
    status: 400,
    message: 'The bytes do not match the SHA-256 digest they were declared or referenced with.',
    fix: 'On upload the upload is discarded: encrypt again and re-upload. On download (SDK) the blob was altered: do not use it.',
  },
  blob_not_found: {
    status: 404,
    message: 'No such blob, or it expired or is still being uploaded.',
    fix: 'Ask the sender to send the file again.',
  },
  range_not_satisfiable: {
    status: 416,
    message: 'The Range header is malformed or outside the blob.',
    fix: 'Send one range `bytes=start-end` within the blob size (`details.size`).',
  },
  media_undecryptable: {
    status: 400,
    message: 'The media matches its digest but does not decrypt with the key in its reference (raised by the SDK).',
    fix: "The sender's attachment reference is wrong: ask them to send the file again.",
  },
  // --- message actions, checked on the device (C15): the server never sees which message is meant
  message_not_found: {
    status: 404,
    message: 'This device holds no such message in that conversation (raised by the SDK).',
    fix: 'Use the id of a message this device has stored (`messages(conversationId)`); a message deleted for everyone or for this device is gone.',
  },
  message_action_refused: {
    status: 403,
    message:
      'That cannot be done to this message: only its sender edits it (within 24 h) or deletes it for everyone (within 48 h), and a deleted message takes no reply, reaction, edit or forward (raised by the SDK).',
    fix: "Check who sent the message and when; to remove someone else's message, or an old one, delete it for this device only.",
  },
  // --- disappearing messages (C17, docs/disappearing.md)
  timer_out_of_range: {
    status: 400,
    message:
      'A disappearing-messages timer is off or between 5 seconds and 1 year, in whole seconds (raised by the SDK and CLI).',
    fix: 'Pick off, 24 hours, 7 days, 90 days or a custom duration from 5 s to 365 days.',
  },
  expiry_out_of_range: {
    status: 400,
    message: 'The expiry is in the past or more than a year ahead of the server clock.',
    fix: "Send the message's expiry (its send time plus the chat's timer, 5 s … 1 year); check the device clock.",
  },
  // --- chat list placement, kept on the device (C15)
  pin_limit: {
    status: 409,
    message: 'Three chats are already pinned on this device (raised by the SDK).',
    fix: 'Unpin one of them first (`pin(conversationId, false)`).',
  },
  // --- encrypted backups, made and opened on the device (C16, docs/portability.md)
  backup_invalid: {
    status: 400,
    message:
      'This is not a Parley backup file, or its header is malformed (unknown key derivation, parameters out of range, a missing secret).',
    fix: 'Choose the file `parley backup create` or Settings → "Back up chats" wrote, and give a passphrase or a recovery key.',
  },
  backup_version: {
    status: 400,
    message: 'The backup file was written in a format version this client does not read.',
    fix: 'Restore it with a client at least as new as the one that made the backup.',
  },
  backup_wrong_secret: {
    status: 401,
    message: 'The passphrase or recovery key does not open this backup. Nothing was restored.',
    fix: 'Type the passphrase exactly as when the backup was made, or the 64-digit recovery key shown then.',
  },
  backup_truncated: {
    status: 400,
    message:
      'The backup file ends before its last chunk: it was cut short while copied or downloaded. Nothing was restored.',
    fix: 'Copy the whole file again, or make a new backup on the old device.',
  },
  backup_tampered: {
    status: 400,
    message:
      'A chunk of the backup file fails its authentication: the file was changed or damaged. Nothing was restored.',
    fix: 'Use an unaltered copy of the backup, or make a new one.',
  },
  backup_wrong_account: {
    status: 409,
    message: "The backup belongs to another account than this device's. Nothing was restored.",
    fix: 'Register the same phone number the backup was made with, then restore it.',
  },
  // --- group calls through the SFU (C6, C8)
  call_not_found: {
    status: 404,
    message: 'No such call, or it has ended.',
    fix: 'Join the call again; a call ends when its last participant leaves.',
  },
  not_in_call: {
    status: 403,
    message: 'This device may not join the call, or is not in it.',
    fix: 'Only members of the conversation may join its call; join before answering or leaving.',
  },
  call_full: {
    status: 409,
    message: 'The call already has the maximum number of participants.',
    fix: 'Wait for someone to leave; the operator sets the limit.',
  },
  too_many_calls: {
    status: 409,
    message: 'This device is already in (or joining) as many calls as the server allows at once.',
    fix: 'Leave a call (`callLeave`) before joining another; `details.maxCalls` is the limit.',
  },
  call_negotiation_stale: {
    status: 409,
    message: 'The SDP answer is for an older SFU offer.',
    fix: 'Apply the latest offer the SFU sent and answer that one.',
  },
  call_sdp_invalid: {
    status: 400,
    message: 'The SDP answer or ICE candidate could not be applied.',
    fix: 'Send the description your RTCPeerConnection created for the latest offer, unmodified.',
  },
  calls_disabled: {
    status: 503,
    message: 'Group calls are turned off on this server.',
    fix: 'Operators enable the SFU with PARLEY_SFU=on (docs/operations.md); 1:1 calls still work.',
  },
  call_on_other_node: {
    status: 503,
    message: 'The call is hosted by another server process than the one holding this socket.',
    fix: 'Operators route every device of a conversation to one process (docs/calls.md, multi-process); clients retry after reconnecting.',
  },
  // --- end-to-end call media (C6): raised on the device, never by the server
  frame_invalid: {
    status: 400,
    message:
      'An encrypted call frame is malformed: truncated, shorter than its tag, or with an oversized key id or counter.',
    fix: 'Drop the frame; both sides must use the same clear-prefix rule for the codec (docs/calls.md, frame keys).',
  },
  frame_key_unknown: {
    status: 400,
    message: 'An encrypted call frame names a key id this device has no key for (or no key was set before sending).',
    fix: "Drop the frame; the sender's `call-key` message is on its way, or the key was rotated out long ago.",
  },
  frame_auth_failed: {
    status: 400,
    message: 'An encrypted call frame does not authenticate under the key its header names.',
    fix: 'Drop the frame: it was altered, or sealed with a different key under the same id.',
  },
  // --- insider access (C14, docs/admin.md)
  admin_reason_required: {
    status: 400,
    message: 'Reading user metadata needs a written reason of at least 10 characters.',
    fix: 'Send `reason` saying why you need the data (it is recorded in the audit log).',
  },
  admin_forbidden: {
    status: 403,
    message: 'This admin role may not do that.',
    fix: 'See the role matrix in docs/admin.md; ask an operator for the right role.',
  },
  admin_not_found: { status: 404, message: 'No such member of staff.', fix: 'List admins with `parley admin list`.' },
  admin_exists: {
    status: 409,
    message: 'A member of staff with this name already exists.',
    fix: 'Pick another name, or revoke the old one first.',
  },
  // --- key transparency (C13, docs/key-transparency.md); the kt_*_failed/mismatch codes are raised on the device or by the auditor
  kt_not_logged: {
    status: 404,
    message: 'The account has no binding in the key-transparency log yet.',
    fix: 'Retry shortly: the server logs every registration and retries a binding that failed within seconds; the key is not used until it is logged.',
  },
  kt_tree_size_invalid: {
    status: 400,
    message: 'The tree sizes are out of order or beyond the latest signed tree head.',
    fix: 'Ask for 0 <= from <= to <= treeSize of GET /v1/kt/head.',
  },
  kt_inclusion_failed: {
    status: 502,
    message: "The server's key-transparency proof does not verify: the binding is not in the log it signed.",
    fix: 'Do not trust this key; compare safety numbers in person and report the server to its operator.',
  },
  kt_key_mismatch: {
    status: 502,
    message: 'The identity key the server serves for an account is not the one its key-transparency log binds.',
    fix: 'Do not trust this key; compare safety numbers in person and report the server to its operator.',
  },
  kt_inconsistent_head: {
    status: 502,
    message: 'A signed tree head is badly signed, or the log is not an append-only extension of a head seen before.',
    fix: 'The log was rewritten or forked: keep the heads as evidence and report the server to its operator.',
  },
  kt_log_key_mismatch: {
    status: 502,
    message: 'The key-transparency log is signed with another key than the one configured or pinned.',
    fix: "Do not trust this server's keys: it shows a log under a key you did not pin. Check the log key with the operator out of band (`ktLogKey`, `parley audit-log --log-key`).",
  },
  kt_head_stale: {
    status: 502,
    message: 'The newest signed tree head is older than the allowed maximum age.',
    fix: "The log may be frozen: an honest server re-signs its head at least hourly. Check this device's clock, retry later, and report a server that keeps serving old heads.",
  },
  kt_version_rollback: {
    status: 502,
    message: 'The key-transparency log shows an older binding for an account than this device saw before.',
    fix: 'Do not trust this key: the server shows an outdated key for the account. Compare safety numbers in person and report the server to its operator.',
  },
  // --- image generation (C9, docs/image-generation.md); raised by @parley/imagegen on the device or in the generation service
  image_prompt_invalid: {
    status: 400,
    message: 'The image prompt is empty or longer than 4,000 characters.',
    fix: 'Write a prompt of 1 to 4,000 characters.',
  },
  image_request_invalid: {
    status: 400,
    message:
      'The image request asks for a size, aspect ratio, variant count, seed or input image the model does not take.',
    fix: 'Sizes are 64 to 4096 pixels a side, 1 to 4 variants, a seed of 0 to 4294967295, and an input image only for models that take one; `details` names the field.',
  },
  image_model_unknown: {
    status: 404,
    message: 'No such image model is offered here.',
    fix: 'Pick one of the models the provider lists (`models()`).',
  },
  image_provider_refused: {
    status: 422,
    message: 'The image provider refused the prompt or the result under its content policy.',
    fix: 'Change the prompt; the provider decides what it generates, and `details` carries its reason when it gave one.',
  },
  image_provider_rate_limited: {
    status: 429,
    message: 'The image provider is limiting requests and the wait it asked for runs past the deadline.',
    fix: 'Wait for `retryAfterMs`, then try again.',
  },
  image_provider_timeout: {
    status: 504,
    message:
      'The image provider did not finish within the deadline; the job was cancelled at the provider where it allows.',
    fix: 'Retryable: try again, with fewer variants or a smaller size, or raise the timeout.',
  },
  image_provider_unavailable: {
    status: 502,
    message: 'The image provider could not be reached or answered with a server error.',
    fix: 'Retryable: try again later; `details.status` has the HTTP status the provider answered with.',
  },
  image_provider_key_rejected: {
    status: 502,
    message: 'The image provider rejected the key, or the account behind it has no credit left.',
    fix: 'Check the provider key and the account it belongs to (a device key on the device, a hosted key in the server configuration).',
  },
  image_provider_failed: {
    status: 502,
    message: 'The image provider accepted the job but reported that it failed.',
    fix: 'Try again, perhaps with another seed; `details` carries the reason the provider gave.',
  },
  image_provider_bad_answer: {
    status: 502,
    message:
      'The image provider answered with something that is not its documented shape, or with bytes that are not an image.',
    fix: 'Check that the configured address points at the right kind of provider; `details` names what did not match.',
  },
  image_result_expired: {
    status: 410,
    message: "The provider's result is gone: its signed result address expired or the job is no longer known.",
    fix: 'Generate the image again; results are downloaded as soon as they are ready, so this points at a slow or interrupted download.',
  },
  image_result_too_large: {
    status: 502,
    message: 'The image provider answered with more bytes than allowed.',
    fix: 'Ask for a smaller size or fewer variants; the caps are in docs/image-generation.md.',
  },
  image_generation_canceled: {
    status: 409,
    message: 'The image generation was cancelled before it finished.',
    fix: 'Start it again if you still want the image.',
  },
  image_prompt_blocked: {
    status: 422,
    message: "The prompt contains words this server's operator does not allow; no provider was called.",
    fix: 'Change the prompt; `details.term` is the blocked word or phrase.',
  },
  image_model_not_allowed: {
    status: 403,
    message: 'This account may not use that hosted image model.',
    fix: 'Pick one of the models `GET /v1/imagegen/models` lists for this account.',
  },
  image_quota_spent: {
    status: 429,
    message: "This account has generated today's quota of images with that model.",
    fix: 'Wait for `retryAfterMs` (the next UTC day), or pick another model; failed jobs are not counted.',
  },
  image_budget_spent: {
    status: 429,
    message: "The server's daily budget for hosted image generation is spent.",
    fix: 'Wait for `retryAfterMs` (the next UTC day), or use the offline pattern renderer or a provider key on this device.',
  },
  image_jobs_busy: {
    status: 429,
    message: 'This account already has as many image jobs running as the server allows.',
    fix: 'Wait for a running job to finish (or cancel it), then try again after `retryAfterMs`.',
  },
} as const satisfies Record<string, ErrorSpec>;

/** Every error code Parley can return. */
export type ErrorCode = keyof typeof ERRORS;

export const errorCodes = Object.keys(ERRORS) as ErrorCode[];

/** Codes for which the same request may succeed when tried again (see `ParleyError.isRetryable`). */
const RETRYABLE_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'timeout',
  'unavailable',
  'rate_limited',
  'internal',
  'image_provider_rate_limited',
  'image_provider_timeout',
  'image_provider_unavailable',
]);

/** Codes that ask the caller to wait `retryAfterMs` (see `ParleyError.isRateLimited`). */
const RATE_LIMITED_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'rate_limited',
  'requests_pending',
  'image_provider_rate_limited',
  'image_quota_spent',
  'image_budget_spent',
  'image_jobs_busy',
]);

/** The error body on the wire (HTTP body and WebSocket response `body`). */
export const errorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    retryAfterMs: z.number().int().nonnegative().optional(),
    details: z.unknown().optional(),
    requestId: z.string().optional(),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** A catalogued error, thrown on the server and rebuilt in the SDK from a wire error body. */
export class ParleyError extends Error {
  readonly code: ErrorCode | string;
  readonly status: number;
  readonly details: unknown;
  readonly retryAfter: number | undefined;

  constructor(
    code: ErrorCode | string,
    opts: { message?: string; details?: unknown; retryAfterMs?: number; status?: number } = {},
  ) {
    const spec = (ERRORS as Record<string, ErrorSpec>)[code];
    super(opts.message ?? spec?.message ?? code);
    this.name = 'ParleyError';
    this.code = code;
    this.status = opts.status ?? spec?.status ?? 500;
    this.details = opts.details;
    this.retryAfter = opts.retryAfterMs;
  }

  /**
   * True for `rate_limited`, `requests_pending`, `image_provider_rate_limited` and the hosted image
   * limits (`image_quota_spent`, `image_budget_spent`, `image_jobs_busy`): wait `retryAfterMs()`.
   */
  isRateLimited(): boolean {
    return RATE_LIMITED_CODES.has(this.code);
  }

  /**
   * True when trying the same request again later can succeed: `timeout`, `unavailable`,
   * `rate_limited` (after `retryAfterMs()`) and `internal`, and the image provider's rate limit,
   * timeout and unavailability. Other codes need a different request.
   */
  isRetryable(): boolean {
    return RETRYABLE_CODES.has(this.code);
  }

  /** Milliseconds to wait before retrying, when the server said so. */
  retryAfterMs(): number | undefined {
    return this.retryAfter;
  }

  /** The wire form of this error. */
  toBody(requestId?: string): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.retryAfter !== undefined ? { retryAfterMs: this.retryAfter } : {}),
        ...(this.details !== undefined ? { details: this.details } : {}),
        ...(requestId ? { requestId } : {}),
      },
    };
  }

  /** Rebuild an error from a wire body (SDK side). */
  static fromBody(body: unknown, status?: number): ParleyError {
    const parsed = errorBodySchema.safeParse(body);
    if (!parsed.success)
      return new ParleyError('internal', {
        message: 'Unrecognised error response',
        details: body,
        ...(status ? { status } : {}),
      });
    const e = parsed.data.error;
    return new ParleyError(e.code, {
      message: e.message,
      details: e.details,
      ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}),
      ...(status ? { status } : {}),
    });
  }
}

/** True when `e` is a ParleyError with the given code. */
export function isParleyError(e: unknown, code?: ErrorCode): e is ParleyError {
  return e instanceof ParleyError && (code === undefined || e.code === code);
}
