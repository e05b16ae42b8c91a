/**
 * PNG writing and reading (C9): the pattern renderer's encoder, and the few facts adapters read
 * from a provider's file (size, the C2PA manifest chunk). Deflate is fflate's, pure JavaScript, so
 * the same code runs on the server, in the CLI and in the browser.
 */
import { zlibSync } from 'fflate';

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(parts: Uint8Array[]): number {
  let c = 0xffffffff;
  for (const p of parts) for (let i = 0; i < p.length; i++) c = CRC_TABLE[(c ^ p[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  const typeBytes = new TextEncoder().encode(type);
  view.setUint32(0, data.length);
  out.set(typeBytes, 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32([typeBytes, data]));
  return out;
}

/** Encodes 8-bit RGB pixels (`width * height * 3` bytes, rows top to bottom) as a PNG, with tEXt entries. */
export function encodePng(
  width: number,
  height: number,
  rgb: Uint8Array,
  text: Record<string, string> = {},
): Uint8Array {
  if (rgb.length !== width * height * 3) throw new Error('pixel buffer does not match the size');
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, truecolour, deflate, adaptive filtering, no interlace
  // Each row starts with filter type 0 (none): the patterns are smooth, deflate does the rest.
  const raw = new Uint8Array(height * (width * 3 + 1));
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (width * 3 + 1) + 1);
  const latin1 = (s: string) => Uint8Array.from(s, (ch) => (ch.charCodeAt(0) < 256 ? ch.charCodeAt(0) : 0x3f));
  const texts = Object.entries(text).map(([k, val]) =>
    chunk('tEXt', Uint8Array.from([...latin1(k), 0, ...latin1(val)])),
  );
  const parts = [
    SIGNATURE,
    chunk('IHDR', ihdr),
    ...texts,
    chunk('IDAT', zlibSync(raw, { level: 9 })),
    chunk('IEND', new Uint8Array()),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** True when the bytes start with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Every chunk of a PNG as type and data, stopping at the first malformed one. */
export function pngChunks(bytes: Uint8Array): { type: string; data: Uint8Array }[] {
  if (!isPng(bytes)) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: { type: string; data: Uint8Array }[] = [];
  for (let at = 8; at + 12 <= bytes.length;) {
    const len = view.getUint32(at);
    if (at + 12 + len > bytes.length) break;
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    out.push({ type, data: bytes.subarray(at + 8, at + 8 + len) });
    at += 12 + len;
    if (type === 'IEND') break;
  }
  return out;
}

/** Width and height from a PNG's IHDR, or undefined for anything else. */
export function pngSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  const ihdr = pngChunks(bytes)[0];
  if (ihdr?.type !== 'IHDR' || ihdr.data.length !== 13) return undefined;
  const v = new DataView(ihdr.data.buffer, ihdr.data.byteOffset, 13);
  return { width: v.getUint32(0), height: v.getUint32(4) };
}

/** The C2PA manifest store a PNG carries in its `caBX` chunk (how C2PA embeds in PNG), if any. */
export function pngC2pa(bytes: Uint8Array): Uint8Array | undefined {
  const c = pngChunks(bytes).find((x) => x.type === 'caBX');
  return c ? new Uint8Array(c.data) : undefined;
}
