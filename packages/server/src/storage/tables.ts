/** Row types of the tables as Kysely sees them (C19); byte columns come back as Buffer. */
import type { Generated } from 'kysely';

type Int = number | string | bigint;

export interface Tables {
  accounts: { id: string; phone: string; identity_key: Uint8Array; pin_hash: string | null; discoverable: number; created_at: Int };
  devices: { id: string; account_id: string; name: string; signing_key: Uint8Array; signing_key_cert: Uint8Array; token_hash: Uint8Array; created_at: Int; revoked_at: Int | null };
  verification_codes: { phone: string; code_hash: string; expires_at: Int; attempts: number; created_at: Int };
  public_keys: { key: Uint8Array; purpose: string; device_id: string | null; account_id: string };
  key_packages: { id: Generated<Int>; device_id: string; data: Uint8Array; last_resort: number; created_at: Int };
  conversations: { id: string; kind: string; epoch: Int; next_seq: Int; created_at: Int; created_by: string };
  conversation_members: { conversation_id: string; account_id: string; role: string };
  conversation_devices: { conversation_id: string; device_id: string; account_id: string };
  messages: { id: string; conversation_id: string; seq: Int; kind: string; epoch: Int; sender_account: string; sender_device: string; client_message_id: string; payload: Uint8Array; sent_at: Int };
  deliveries: { cursor: Generated<Int>; device_id: string; message_id: string };
  media_blobs: {
    id: string; owner_account: string; state: string; size: Int; digest: Uint8Array; received: Int;
    created_at: Int; completed_at: Int | null; expires_at: Int; last_fetched_at: Int | null;
  };
  media_parts: { blob_id: string; start_offset: Int; length: Int; object_key: string };
}
