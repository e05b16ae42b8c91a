/**
 * Media encryption (C4): every file is encrypted on the sending device with a fresh AES-256-GCM key
 * and a fresh 12-byte nonce, and identified by the SHA-256 digest of its ciphertext. The receiver
 * checks size and digest before decrypting, so a blob altered on the server (or in transit) is
 * refused with `blob_digest_mismatch` before any decryption is attempted. WebCrypto only
 * (`globalThis.crypto.subtle`), so the same code runs in Node and browsers.
 */
import { subtle, view } from './bytes.ts';
import { MEDIA_LIMITS, ParleyError } from '@parley/protocol';

/** A file after encryption: upload `ciphertext`, send `key`, `nonce`, `digest` and `size` inside MLS. */
export interface EncryptedMedia {
  ciphertext: Uint8Array;
  /** AES-256 key, fresh for this file. */
  key: Uint8Array;
  /** AES-GCM nonce, fresh for this file. */
  nonce: Uint8Array;
  /** SHA-256 of the ciphertext. */
  digest: Uint8Array;
  /** Ciphertext bytes (plaintext + 16-byte tag). */
  size: number;
}

/** What the receiver needs to check and open a downloaded ciphertext. */
export interface MediaSecrets {
  key: Uint8Array;
  nonce: Uint8Array;
  digest: Uint8Array;
  /** When given, the ciphertext must have exactly this length. */
  size?: number;
}

function random(n: number): Uint8Array {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return out;
}

/** SHA-256 of `bytes`. */
export async function mediaDigest(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle().digest('SHA-256', view(bytes)));
}

/** Constant-time comparison: digests are public, but there is no reason to leak where they differ. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Encrypt one file with a fresh key and nonce; returns the ciphertext and its reference fields. */
export async function encryptMedia(plaintext: Uint8Array): Promise<EncryptedMedia> {
  const key = random(MEDIA_LIMITS.keyBytes);
  const nonce = random(MEDIA_LIMITS.nonceBytes);
  const k = await subtle().importKey('raw', view(key), { name: 'AES-GCM' }, false, ['encrypt']);
  const ciphertext = new Uint8Array(
    await subtle().encrypt({ name: 'AES-GCM', iv: view(nonce), tagLength: 128 }, k, view(plaintext)),
  );
  return { ciphertext, key, nonce, digest: await mediaDigest(ciphertext), size: ciphertext.length };
}

/**
 * Check a downloaded ciphertext against its reference, then decrypt it. Throws `blob_digest_mismatch`
 * when the length or SHA-256 differs (nothing is decrypted then), and `media_undecryptable` when the
 * bytes are the referenced ones but the key or nonce does not open them.
 */
export async function decryptMedia(ciphertext: Uint8Array, secrets: MediaSecrets): Promise<Uint8Array> {
  if (secrets.size !== undefined && ciphertext.length !== secrets.size) {
    throw new ParleyError('blob_digest_mismatch', {
      message: `The media has ${ciphertext.length} bytes; its reference says ${secrets.size}.`,
    });
  }
  if (!sameBytes(await mediaDigest(ciphertext), secrets.digest)) {
    throw new ParleyError('blob_digest_mismatch', {
      message: 'The media does not match its digest: it was altered or corrupted.',
    });
  }
  if (secrets.key.length !== MEDIA_LIMITS.keyBytes || secrets.nonce.length !== MEDIA_LIMITS.nonceBytes) {
    throw new ParleyError('media_undecryptable', { message: 'The media key or nonce has the wrong length.' });
  }
  try {
    const k = await subtle().importKey('raw', view(secrets.key), { name: 'AES-GCM' }, false, ['decrypt']);
    return new Uint8Array(
      await subtle().decrypt({ name: 'AES-GCM', iv: view(secrets.nonce), tagLength: 128 }, k, view(ciphertext)),
    );
  } catch {
    throw new ParleyError('media_undecryptable');
  }
}

/** Options for {@link waveformPeaks}. */
export interface WaveformOptions {
  /** Number of peaks (default 64, at most 256). */
  peaks?: number;
  /** Scale so the loudest peak is 255 (default true); otherwise 255 is digital full scale. */
  normalize?: boolean;
}

/**
 * Downsample PCM samples to `peaks` values of 0..255 for a voice-note waveform: each value is the
 * largest absolute sample in its slice of the recording. Takes float samples in -1..1 (what Web
 * Audio gives) or 16-bit integer samples. Fewer samples than peaks repeat the nearest sample.
 */
export function waveformPeaks(
  samples: Float32Array | Float64Array | Int16Array | ArrayLike<number>,
  opts: WaveformOptions = {},
): Uint8Array {
  const count = opts.peaks ?? 64;
  if (!Number.isInteger(count) || count < 1 || count > MEDIA_LIMITS.waveformPeaks)
    throw new RangeError(`peaks must be 1..${MEDIA_LIMITS.waveformPeaks}`);
  const fullScale = samples instanceof Int16Array ? 32768 : 1;
  const n = samples.length;
  const raw = new Float64Array(count);
  if (n === 0) return new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const start = Math.floor((i * n) / count);
    const end = Math.max(start + 1, Math.floor(((i + 1) * n) / count));
    let peak = 0;
    for (let j = Math.min(start, n - 1); j < Math.min(end, n); j++) {
      const v = Math.abs(samples[j]!);
      if (v > peak) peak = v;
    }
    raw[i] = Math.min(1, peak / fullScale);
  }
  const loudest = Math.max(...raw);
  const scale = opts.normalize === false || loudest === 0 ? 1 : 1 / loudest;
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.round(Math.min(1, raw[i]! * scale) * 255);
  return out;
}
