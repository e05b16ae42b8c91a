/**
 * Byte helpers shared by the crypto modules (C2, C13): concatenation, comparison, UTF-8 and the
 * MLS/TLS presentation-language reader and writer (RFC 9420 §2.1.2 variable-length vectors).
 * Kept dependency-free so the same code runs in Node and browsers.
 */

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** WebCrypto's SubtleCrypto, or a clear error where it is missing (browsers need a secure context). */
export function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new Error('WebCrypto is not available (a secure context is required in browsers)');
  return s;
}

/** WebCrypto wants ArrayBuffer-backed views; copy only when the bytes live elsewhere. */
export function view(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

/** UTF-8 encode a string. */
export function utf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** UTF-8 decode bytes, throwing on invalid sequences (credentials must be exact strings). */
export function fromUtf8(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

/** Concatenate byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Byte equality; not constant time (only used on public data). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Little-endian bytes to bigint (curve coordinates are little-endian). */
export function bytesToBigLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

/** Bigint to `length` little-endian bytes. */
export function bigToBytesLE(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = n;
  for (let i = 0; i < length; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Thrown by {@link TlsReader} when the input ends early or is otherwise undecodable. */
export class DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecodeError';
  }
}

/**
 * Sequential reader for TLS-style MLS encodings. Offsets are exposed so callers can slice the exact
 * signed bytes (to-be-signed structures are prefixes of the encoded structures).
 */
export class TlsReader {
  offset = 0;
  constructor(readonly bytes: Uint8Array) {}

  /** Bytes not yet read. */
  remaining(): number {
    return this.bytes.length - this.offset;
  }

  private need(n: number): void {
    if (this.offset + n > this.bytes.length) throw new DecodeError('truncated input');
  }

  /** Read one byte. */
  u8(): number {
    this.need(1);
    return this.bytes[this.offset++]!;
  }

  /** Read a big-endian uint16. */
  u16(): number {
    this.need(2);
    const v = (this.bytes[this.offset]! << 8) | this.bytes[this.offset + 1]!;
    this.offset += 2;
    return v;
  }

  /** Read a big-endian uint32. */
  u32(): number {
    this.need(4);
    const b = this.bytes;
    const o = this.offset;
    this.offset += 4;
    return ((b[o]! << 24) >>> 0) + (b[o + 1]! << 16) + (b[o + 2]! << 8) + b[o + 3]!;
  }

  /** Read a big-endian uint64. */
  u64(): bigint {
    const hi = BigInt(this.u32());
    const lo = BigInt(this.u32());
    return (hi << 32n) | lo;
  }

  /** Read `n` raw bytes (a copy, so later mutation of the input cannot change it). */
  raw(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.slice(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /** Read an MLS variable-length integer (RFC 9420 §2.1.2), rejecting non-minimal encodings. */
  varint(): number {
    const first = this.u8();
    const prefix = first >> 6;
    if (prefix === 0) return first & 0x3f;
    if (prefix === 1) {
      const v = ((first & 0x3f) << 8) | this.u8();
      if (v < 64) throw new DecodeError('non-minimal varint');
      return v;
    }
    if (prefix === 2) {
      const v = (((first & 0x3f) << 24) >>> 0) + (this.u8() << 16) + (this.u8() << 8) + this.u8();
      if (v < 16384) throw new DecodeError('non-minimal varint');
      return v;
    }
    throw new DecodeError('invalid varint prefix');
  }

  /** Read an `opaque<V>` vector. */
  vector(): Uint8Array {
    return this.raw(this.varint());
  }

  /** Read a vector of items, each decoded by `item` from a sub-reader. */
  vectorOf<T>(item: (r: TlsReader) => T): T[] {
    const sub = new TlsReader(this.vector());
    const out: T[] = [];
    while (sub.remaining() > 0) out.push(item(sub));
    return out;
  }
}

/** Encode an MLS variable-length integer. */
export function encodeVarint(n: number): Uint8Array {
  if (n < 64) return Uint8Array.of(n);
  if (n < 16384) return Uint8Array.of(0x40 | (n >> 8), n & 0xff);
  if (n < 2 ** 30) return Uint8Array.of(0x80 | (n >>> 24), (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  throw new RangeError('vector too long');
}

/** Encode an `opaque<V>` vector. */
export function encodeVector(bytes: Uint8Array): Uint8Array {
  return concatBytes(encodeVarint(bytes.length), bytes);
}

/** Encode a big-endian uint16. */
export function encodeU16(n: number): Uint8Array {
  return Uint8Array.of((n >> 8) & 0xff, n & 0xff);
}

/** Encode a big-endian uint64. */
export function encodeU64(n: bigint): Uint8Array {
  const out = new Uint8Array(8);
  let v = n;
  for (let i = 7; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
