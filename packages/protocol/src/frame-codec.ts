/**
 * The binary frame codec (C3), the one place the layout of a binary WebSocket frame is written
 * down: `u32 big-endian header length | header JSON (UTF-8) | payload`. The server's gateway and
 * frame writer and the SDK's socket all use it.
 *
 * Text is read and written through a `Utf8` implementation so each side uses its fastest one: the
 * portable default here (TextEncoder/TextDecoder, for browsers), and Node's Buffer methods on the
 * server, which keep its per-frame path free of copies and extra allocations. The length prefix is
 * read and written byte by byte rather than through a DataView, so decoding allocates nothing but
 * the header's string.
 */

/** Bytes before the header JSON: its length, as an unsigned 32-bit big-endian integer. */
export const FRAME_PREFIX_BYTES = 4;

/** UTF-8 primitives the codec needs; `portableUtf8` works everywhere, the server passes Buffer's. */
export interface Utf8 {
  /** Bytes `text` takes in UTF-8. */
  byteLength(text: string): number;
  /** Write `text` into `out` at `at`; the caller has made room for `byteLength(text)` bytes. */
  write(out: Uint8Array, at: number, text: string): void;
  /** Decode `bytes[start, end)`. */
  read(bytes: Uint8Array, start: number, end: number): string;
}

// One encoder and decoder for every frame: they are stateless, and creating one per frame showed
// up in the server's profile.
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** UTF-8 through the platform's TextEncoder and TextDecoder (browsers and Node alike). */
export const portableUtf8: Utf8 = {
  byteLength(text) {
    let n = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x80) n += 1;
      else if (c < 0x800) n += 2;
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        n += 4;
        i++;
      } else n += 3; // a lone surrogate is encoded as U+FFFD, three bytes
    }
    return n;
  },
  write(out, at, text) {
    utf8Encoder.encodeInto(text, out.subarray(at));
  },
  read(bytes, start, end) {
    return utf8Decoder.decode(bytes.subarray(start, end));
  },
};

/** Size of a binary frame whose header JSON takes `headerBytes` and whose payload `payloadBytes`. */
export function binaryFrameSize(headerBytes: number, payloadBytes: number): number {
  return FRAME_PREFIX_BYTES + headerBytes + payloadBytes;
}

/**
 * Write a binary frame into `out` at `at` (room for `binaryFrameSize(headerBytes, payload.length)`
 * bytes): `headerJson` is the header already serialised, `headerBytes` its UTF-8 length.
 */
export function writeBinaryFrame(
  out: Uint8Array,
  at: number,
  headerJson: string,
  headerBytes: number,
  payload: Uint8Array,
  utf8: Utf8 = portableUtf8,
): void {
  out[at] = headerBytes >>> 24;
  out[at + 1] = (headerBytes >>> 16) & 0xff;
  out[at + 2] = (headerBytes >>> 8) & 0xff;
  out[at + 3] = headerBytes & 0xff;
  utf8.write(out, at + FRAME_PREFIX_BYTES, headerJson);
  out.set(payload, at + FRAME_PREFIX_BYTES + headerBytes);
}

/** A binary frame of `header` (serialised as JSON) and `payload`. */
export function encodeBinaryFrame(header: unknown, payload: Uint8Array, utf8: Utf8 = portableUtf8): Uint8Array {
  const json = JSON.stringify(header);
  const n = utf8.byteLength(json);
  const out = new Uint8Array(binaryFrameSize(n, payload.length));
  writeBinaryFrame(out, 0, json, n, payload, utf8);
  return out;
}

/** A request or push as it goes on the wire: a text frame (JSON) without payload, else a binary frame. */
export function encodeFrame(header: unknown, payload?: Uint8Array): string | Uint8Array {
  return payload ? encodeBinaryFrame(header, payload) : JSON.stringify(header);
}

/**
 * Check a binary frame's length prefix and return where its payload starts (the header JSON is
 * `frame[FRAME_PREFIX_BYTES, end)`). Throws on a frame too short or a length past its end.
 */
export function binaryFramePayloadStart(frame: Uint8Array): number {
  if (frame.length < FRAME_PREFIX_BYTES) throw new Error('frame too short');
  const len = ((frame[0]! << 24) | (frame[1]! << 16) | (frame[2]! << 8) | frame[3]!) >>> 0;
  if (len > frame.length - FRAME_PREFIX_BYTES) throw new Error('header length exceeds frame');
  return FRAME_PREFIX_BYTES + len;
}

/**
 * Split a binary frame into its parsed header (still `unknown`) and payload (a view into `frame`,
 * not a copy). Throws on a bad length prefix or header JSON.
 */
export function decodeBinaryFrame(
  frame: Uint8Array,
  utf8: Utf8 = portableUtf8,
): { header: unknown; payload: Uint8Array } {
  const end = binaryFramePayloadStart(frame);
  const header: unknown = JSON.parse(utf8.read(frame, FRAME_PREFIX_BYTES, end));
  return { header, payload: frame.subarray(end) };
}
