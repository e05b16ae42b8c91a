/**
 * End-to-end frame encryption for calls (C6), in the shape of SFrame (RFC 9605): every encoded
 * audio or video frame is sealed with AES-128-GCM under a key derived from the sending device's
 * current base key, before it is packetised, so an SFU or TURN relay forwards frames it cannot
 * read. Only WebCrypto (`globalThis.crypto.subtle`), so it runs inside an `RTCRtpScriptTransform`
 * worker, in Node and in browsers.
 *
 * Frame layout: `clear prefix ‖ SFrame header ‖ ciphertext ‖ 16-byte tag`. The clear prefix is the
 * first bytes of the encoded frame that a packetiser or depacketiser needs to read (the VP8 payload
 * header: 10 bytes on key frames, 3 on delta frames; the Opus TOC byte); it is authenticated as
 * additional data, so changing it breaks the tag. The header is RFC 9605's: one config byte
 * `X|K|Y|C`, then the key id (KID) and the frame counter (CTR) as minimal big-endian integers.
 * Key and salt come from the base key with HKDF-SHA256 (RFC 9605 §4.4.2, cipher suite
 * AES_128_GCM_SHA256_128), the nonce is the salt XOR the counter.
 */
import { ParleyError } from '@parley/protocol';
import { concatBytes, encodeU16, encodeU64, subtle, utf8, view } from './bytes.ts';

/** RFC 9605 cipher suite AES_128_GCM_SHA256_128. */
export const SFRAME_CIPHER_SUITE = 0x0004;
const NK = 16;
const NN = 12;
const NT = 16;
/** Base keys are 32 random bytes, distributed inside MLS. */
export const SFRAME_BASE_KEY_BYTES = 32;

/** How many leading bytes of a frame stay in clear: a number, or a function of the frame. */
export type ClearBytes = number | ((frame: Uint8Array) => number);

/** Clear-prefix rules for the codecs Parley negotiates. */
export const CLEAR_BYTES = {
  /** Nothing in clear (data that no packetiser inspects). */
  none: 0,
  /** Opus: the TOC byte (configuration, stereo flag, frame count). */
  opus: 1,
  /**
   * VP8 payload header (RFC 6386 §9.1): 10 bytes for a key frame (3-byte frame tag, start code,
   * dimensions), 3 for a delta frame. The P bit (lowest bit of byte 0) is 0 on key frames.
   */
  vp8: (frame: Uint8Array): number => (frame.length > 0 && (frame[0]! & 1) === 0 ? 10 : 3),
} as const;

/** A parsed SFrame header. */
export interface SFrameHeader {
  keyId: number;
  counter: number;
  /** Header length in bytes. */
  length: number;
}

/** An SFrame key: the AES-GCM key and salt derived from one base key for one key id. */
export interface SFrameKey {
  readonly keyId: number;
  readonly aead: CryptoKey;
  readonly salt: Uint8Array;
}

function invalid(problem: string): ParleyError {
  return new ParleyError('frame_invalid', { details: { problem } });
}

function checkUint(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new ParleyError('bad_request', { details: { field: what, problem: 'must be a non-negative safe integer' } });
}

/** Minimal big-endian bytes of a non-negative safe integer (at least one byte). */
function uintBytes(value: number): Uint8Array {
  const out: number[] = [];
  let v = BigInt(value);
  do {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v > 0n);
  return Uint8Array.from(out);
}

/** Encode the RFC 9605 header for a key id and counter. */
export function encodeSFrameHeader(keyId: number, counter: number): Uint8Array {
  checkUint(keyId, 'keyId');
  checkUint(counter, 'counter');
  const kid = keyId < 8 ? null : uintBytes(keyId);
  const ctr = counter < 8 ? null : uintBytes(counter);
  const config = (kid ? 0x80 | ((kid.length - 1) << 4) : keyId << 4) | (ctr ? 0x08 | (ctr.length - 1) : counter);
  return concatBytes(Uint8Array.of(config), kid ?? new Uint8Array(0), ctr ?? new Uint8Array(0));
}

/** Parse the header at the start of `bytes`; `frame_invalid` when it is truncated or too large. */
export function parseSFrameHeader(bytes: Uint8Array): SFrameHeader {
  if (bytes.length < 1) throw invalid('empty frame');
  const config = bytes[0]!;
  let at = 1;
  const readField = (extended: boolean, small: number, what: string): number => {
    if (!extended) return small;
    const len = small + 1;
    if (at + len > bytes.length) throw invalid(`truncated ${what}`);
    let v = 0n;
    for (let i = 0; i < len; i++) v = (v << 8n) | BigInt(bytes[at + i]!);
    at += len;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`${what} too large`);
    return Number(v);
  };
  const keyId = readField((config & 0x80) !== 0, (config >> 4) & 0x07, 'key id');
  const counter = readField((config & 0x08) !== 0, config & 0x07, 'counter');
  return { keyId, counter, length: at };
}

/** Derive the AEAD key and salt of `keyId` from a base key (RFC 9605 §4.4.2). */
export async function deriveSFrameKey(keyId: number, baseKey: Uint8Array): Promise<SFrameKey> {
  checkUint(keyId, 'keyId');
  // Parley sends 32-byte base keys; 16 is accepted too so the RFC's own test vectors apply.
  if (baseKey.length < 16 || baseKey.length > 64)
    throw new ParleyError('bad_request', { details: { field: 'baseKey', problem: 'must be 16 to 64 bytes' } });
  const s = subtle();
  const ikm = await s.importKey('raw', view(baseKey), 'HKDF', false, ['deriveBits']);
  const label = (text: string) => concatBytes(utf8(text), encodeU64(BigInt(keyId)), encodeU16(SFRAME_CIPHER_SUITE));
  // WebCrypto's HKDF is Extract (empty salt, as RFC 9605 specifies) followed by Expand(info).
  const expand = async (info: Uint8Array, n: number) =>
    new Uint8Array(
      await s.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: view(info) }, ikm, n * 8),
    );
  const keyBytes = await expand(label('SFrame 1.0 Secret key '), NK);
  const salt = await expand(label('SFrame 1.0 Secret salt '), NN);
  const aead = await s.importKey('raw', keyBytes, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  return { keyId, aead, salt };
}

function nonceOf(key: SFrameKey, counter: number): Uint8Array<ArrayBuffer> {
  const ctr = concatBytes(new Uint8Array(NN - 8), encodeU64(BigInt(counter)));
  const out = new Uint8Array(NN);
  for (let i = 0; i < NN; i++) out[i] = key.salt[i]! ^ ctr[i]!;
  return out;
}

function clearCount(rule: ClearBytes, frame: Uint8Array): number {
  const n = Math.max(0, typeof rule === 'number' ? rule : rule(frame));
  // A frame shorter than its codec header cannot be split the same way on both sides.
  if (n > frame.length) throw invalid('shorter than its clear prefix');
  return n;
}

/** Seal one frame under `key` with `counter` (which must never repeat for a key). */
export async function encryptFrame(
  key: SFrameKey,
  counter: number,
  frame: Uint8Array,
  clear: ClearBytes = 0,
): Promise<Uint8Array> {
  const n = clearCount(clear, frame);
  const prefix = frame.subarray(0, n);
  const header = encodeSFrameHeader(key.keyId, counter);
  const sealed = new Uint8Array(
    await subtle().encrypt(
      {
        name: 'AES-GCM',
        iv: nonceOf(key, counter),
        additionalData: view(concatBytes(header, prefix)),
        tagLength: NT * 8,
      },
      key.aead,
      view(frame.subarray(n)),
    ),
  );
  return concatBytes(prefix, header, sealed);
}

/** Where a sealed frame's parts are: its header and the length of the clear prefix. */
export function inspectSealedFrame(sealed: Uint8Array, clear: ClearBytes = 0): SFrameHeader & { clearBytes: number } {
  const n = clearCount(clear, sealed);
  const header = parseSFrameHeader(sealed.subarray(n));
  if (sealed.length < n + header.length + NT) throw invalid('shorter than its tag');
  return { ...header, clearBytes: n };
}

/**
 * Open one sealed frame. `resolveKey` maps the header's key id to a key (of the sender the
 * receiver attributes the frame to); an unknown id gives `frame_key_unknown`, a wrong key or any
 * changed byte `frame_auth_failed`, a malformed header `frame_invalid`.
 */
export async function decryptFrame(
  resolveKey: (keyId: number) => SFrameKey | undefined | Promise<SFrameKey | undefined>,
  sealed: Uint8Array,
  clear: ClearBytes = 0,
): Promise<{ frame: Uint8Array; keyId: number; counter: number }> {
  const info = inspectSealedFrame(sealed, clear);
  const key = await resolveKey(info.keyId);
  if (!key) throw new ParleyError('frame_key_unknown', { details: { keyId: info.keyId } });
  const prefix = sealed.subarray(0, info.clearBytes);
  const header = sealed.subarray(info.clearBytes, info.clearBytes + info.length);
  let opened: Uint8Array;
  try {
    opened = new Uint8Array(
      await subtle().decrypt(
        {
          name: 'AES-GCM',
          iv: nonceOf(key, info.counter),
          additionalData: view(concatBytes(header, prefix)),
          tagLength: NT * 8,
        },
        key.aead,
        view(sealed.subarray(info.clearBytes + info.length)),
      ),
    );
  } catch {
    throw new ParleyError('frame_auth_failed', { details: { keyId: info.keyId, counter: info.counter } });
  }
  return { frame: concatBytes(prefix, opened), keyId: info.keyId, counter: info.counter };
}

/**
 * The sending side of one device: holds the current key and a frame counter that only goes up,
 * across key changes too, so no (key, counter) pair is ever used twice.
 */
export class SFrameSender {
  private key: SFrameKey | null = null;
  private next = 0;

  constructor(private readonly clear: ClearBytes = 0) {}

  /** Switch to a new base key (frames sealed from now on carry `keyId`). */
  async setKey(keyId: number, baseKey: Uint8Array): Promise<void> {
    this.key = await deriveSFrameKey(keyId, baseKey);
  }

  /** The counter the next frame gets. */
  get counter(): number {
    return this.next;
  }

  /** Seal one frame; `frame_key_unknown` before a key was set. */
  async encrypt(frame: Uint8Array): Promise<Uint8Array> {
    if (!this.key) throw new ParleyError('frame_key_unknown', { message: 'No frame key set yet.' });
    if (this.next >= Number.MAX_SAFE_INTEGER)
      throw new ParleyError('frame_invalid', { details: { problem: 'counter exhausted; set a new key' } });
    return encryptFrame(this.key, this.next++, frame, this.clear);
  }
}

/**
 * The receiving side for one remote device: keeps the last `keep` keys by id, so frames sealed
 * just before a key change (still in flight, or in the jitter buffer) still open.
 */
export class SFrameReceiver {
  private readonly keys = new Map<number, SFrameKey>();

  constructor(
    private readonly clear: ClearBytes = 0,
    private readonly keep = 4,
  ) {}

  /** Add (or replace) the key with this id; the oldest beyond `keep` is forgotten. */
  async addKey(keyId: number, baseKey: Uint8Array): Promise<void> {
    const key = await deriveSFrameKey(keyId, baseKey);
    this.keys.delete(keyId);
    this.keys.set(keyId, key);
    while (this.keys.size > this.keep) this.keys.delete(this.keys.keys().next().value!);
  }

  /** Key ids this receiver can open, oldest first. */
  get keyIds(): number[] {
    return [...this.keys.keys()];
  }

  /** Open one frame of this sender. */
  async decrypt(sealed: Uint8Array): Promise<Uint8Array> {
    return (await decryptFrame((id) => this.keys.get(id), sealed, this.clear)).frame;
  }
}
