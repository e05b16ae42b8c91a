/**
 * Profile field encryption (C12): AES-256-GCM under a profile key, a fresh nonce per field, and the
 * field name and profile version bound as associated data, so a field cannot be moved to another
 * field or replayed into another version unnoticed. Sealed form: nonce (12) ‖ ciphertext ‖ tag (16).
 */
import { concatBytes, subtle, utf8, view } from './bytes.ts';

/** The profile fields that are encrypted. */
export type SealedProfileField = 'name' | 'about' | 'photo';

function aad(field: SealedProfileField, version: number): Uint8Array<ArrayBuffer> {
  return view(utf8(`parley profile v1|${field}|${version}`));
}

async function aesKey(raw: Uint8Array, use: 'encrypt' | 'decrypt'): Promise<CryptoKey> {
  return subtle().importKey('raw', view(raw), 'AES-GCM', false, [use]);
}

/** Seal one field's plaintext under a 32-byte key. */
export async function sealProfileField(
  key: Uint8Array,
  field: SealedProfileField,
  version: number,
  plain: Uint8Array,
): Promise<Uint8Array> {
  const nonce = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(
    await subtle().encrypt(
      { name: 'AES-GCM', iv: nonce, additionalData: aad(field, version) },
      await aesKey(key, 'encrypt'),
      view(plain),
    ),
  );
  return concatBytes(nonce, ct);
}

/** Open a sealed field, or null when it does not open under `key` (wrong key, tampered, other field or version). */
export async function openProfileField(
  key: Uint8Array,
  field: SealedProfileField,
  version: number,
  sealed: Uint8Array,
): Promise<Uint8Array | null> {
  if (sealed.length < 12 + 16) return null;
  try {
    const iv = view(sealed.slice(0, 12));
    return new Uint8Array(
      await subtle().decrypt(
        { name: 'AES-GCM', iv, additionalData: aad(field, version) },
        await aesKey(key, 'decrypt'),
        view(sealed.slice(12)),
      ),
    );
  } catch {
    return null;
  }
}
