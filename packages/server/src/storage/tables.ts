/** Row types of the tables as Kysely sees them (C19); byte columns come back as Buffer. */
import type { Generated } from 'kysely';

type Int = number | string | bigint;

export interface Tables {
  accounts: {
    id: string;
    phone: string;
    identity_key: Uint8Array;
    pin_hash: string | null;
    discoverable: number;
    created_at: Int;
  };
  devices: {
    id: string;
    account_id: string;
    name: string;
    signing_key: Uint8Array;
    signing_key_cert: Uint8Array;
    token_hash: Uint8Array;
    created_at: Int;
    revoked_at: Int | null;
  };
  verification_sessions: {
    id: string;
    phone: string;
    code_hash: string;
    expires_at: Int;
    attempts: number;
    created_at: Int;
  };
  public_keys: { key: Uint8Array; purpose: string; device_id: string | null; account_id: string };
  key_packages: { id: Generated<Int>; device_id: string; data: Uint8Array; last_resort: number; created_at: Int };
  conversations: { id: string; kind: string; epoch: Int; next_seq: Int; created_at: Int; created_by: string };
  conversation_members: { conversation_id: string; account_id: string; role: string };
  conversation_devices: { conversation_id: string; device_id: string; account_id: string };
  messages: {
    id: string;
    conversation_id: string;
    seq: Int;
    kind: string;
    epoch: Int;
    sender_account: string;
    sender_device: string;
    client_message_id: string;
    payload: Uint8Array;
    sent_at: Int;
  };
  deliveries: { cursor: Generated<Int>; device_id: string; message_id: string };
  message_expiries: { message_id: string; expires_at: Int };
  media_blobs: {
    id: string;
    owner_account: string;
    state: string;
    size: Int;
    digest: Uint8Array;
    received: Int;
    created_at: Int;
    completed_at: Int | null;
    expires_at: Int;
    last_fetched_at: Int | null;
    disappears_at?: Int | null;
  };
  media_parts: { blob_id: string; start_offset: Int; length: Int; object_key: string };
  server_secrets: { name: string; value: Uint8Array; key_id: string | null; created_at: Int };
  discovery_index: { tag: Uint8Array; account_id: string };
  discovery_seen: { account_id: string; digest: Uint8Array; day: number };
  discovery_days: { day: number; lookups: Int };
  usernames: { hash: Uint8Array; account_id: string };
  profiles: {
    account_id: string;
    version: number;
    name: Uint8Array | null;
    about: Uint8Array | null;
    photo: Uint8Array | null;
    open_fields: string;
    open_key: Uint8Array | null;
    updated_at: Int;
  };
  privacy_settings: { account_id: string; photo: string; about: string; last_seen: string; online: string };
  accepted_chats: { account_id: string; conversation_id: string };
  last_seen: { account_id: string; at: Int };
  admin_accounts: { name: string; role: string; token_hash: Uint8Array; created_at: Int; revoked_at: Int | null };
  admin_audit: {
    seq: Int;
    time: Int;
    admin: string;
    role: string | null;
    action: string;
    target: string | null;
    reason: string | null;
    prev_hash: string;
    hash: string;
  };
  kt_leaves: { idx: Int; label: Uint8Array; identity_key: Uint8Array; version: Int; created_at: Int };
  kt_heads: { tree_size: Int; root_hash: Uint8Array; timestamp: Int; signature: Uint8Array };
  blocks: { account_id: string; blocked_account_id: string; created_at: Int };
  reports: {
    id: string;
    reporter_account: string;
    reported_account: string;
    conversation_id: string | null;
    category: string;
    reason: string;
    /** JSON array of the included messages, as the reporter's device sent them. */
    messages: string;
    created_at: Int;
  };
  businesses: {
    id: string;
    name: string;
    webhook_url: string | null;
    verify_token: string | null;
    about: string | null;
    address: string | null;
    description: string | null;
    email: string | null;
    /** JSON array of URLs. */
    websites: string;
    vertical: string | null;
    photo_id: string | null;
    created_at: Int;
  };
  business_numbers: { id: string; business_id: string; phone: string; verified_name: string; created_at: Int };
  business_tokens: {
    id: string;
    business_id: string;
    token_hash: Uint8Array;
    created_at: Int;
    last_used_at: Int | null;
    revoked_at: Int | null;
  };
  link_sessions: {
    id: string;
    account_id: string;
    device_id: string;
    state: string;
    ephemeral_key: Uint8Array | null;
    request: Uint8Array | null;
    token_hash: Uint8Array | null;
    new_device_id: string | null;
    reply: Uint8Array | null;
    created_at: Int;
    expires_at: Int;
  };
  device_lists: {
    account_id: string;
    identity_key: Uint8Array;
    version: Int;
    issued_at: Int;
    devices: string;
    signature: Uint8Array;
  };
  push_subscriptions: {
    device_id: string;
    account_id: string;
    endpoint: string;
    p256dh: Uint8Array;
    auth: Uint8Array;
    updated_at: Int;
  };
  business_device_state: { phone_number_id: string; key: string; value: Uint8Array };
  business_webhook_jobs: {
    id: string;
    business_id: string;
    /** Events of one conversation are delivered in this key's order. */
    order_key: string;
    kind: string;
    /** The exact bytes POSTed (ASCII-only JSON), which the signature covers; emptied once done. */
    body: string;
    /** Length of the body, kept for the log after the body is emptied. */
    bytes: Int;
    state: string;
    attempts: Int;
    created_at: Int;
    next_at: Int;
    done_at: Int | null;
    last_status: Int | null;
    last_error: string | null;
  };
  /** When each user last wrote to each business number (the customer-service window). */
  business_windows: { phone_number_id: string; account_id: string; last_user_at: Int };
  /** Users who stopped a business number's marketing messages. */
  business_marketing_opt_outs: { phone_number_id: string; account_id: string; created_at: Int };
  business_templates: {
    id: string;
    business_id: string;
    name: string;
    language: string;
    category: string;
    status: string;
    reason: string | null;
    /** JSON array of the components as created. */
    components: string;
    created_at: Int;
    updated_at: Int;
  };
  business_media: {
    id: string;
    business_id: string;
    phone_number_id: string;
    mime_type: string;
    sha256: string;
    file_size: Int;
    file_name: string | null;
    key: Uint8Array;
    created_at: Int;
    expires_at: Int;
  };
}
