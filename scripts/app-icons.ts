// Draws the web client's app icons (C15) as PNG files in apps/web/public, from the same shapes as
// favicon.svg: a white speech bubble with a padlock on Parley's green. The web app manifest names
// them: 192 and 512 px with rounded corners ("any"), and a 512 px "maskable" one whose background
// fills the square and whose drawing sits inside the central safe circle (80 % of the side), so a
// launcher may cut it to any shape. Run: npx tsx scripts/app-icons.ts (the output is committed).
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const GREEN = [0x0b, 0x5d, 0x4f] as const;
const WHITE = [0xff, 0xff, 0xff] as const;
/** Samples per pixel side: 4 × 4 gives smooth edges. */
const SS = 4;

/** Whether (x, y) lies in a rectangle with rounded corners. */
function inRoundRect(x: number, y: number, x0: number, y0: number, x1: number, y1: number, r: number): boolean {
  if (x < x0 || x > x1 || y < y0 || y > y1) return false;
  const cx = Math.min(Math.max(x, x0 + r), x1 - r);
  const cy = Math.min(Math.max(y, y0 + r), y1 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}

/** The bubble's tail: the triangle (20,44) (30,44) (20,52). */
const inTail = (x: number, y: number) => x >= 20 && y >= 44 && y <= 52 && x <= 30 - (10 * (y - 44)) / 8;

/** The padlock's shackle: a 2-unit stroke along x=29 and x=35 (y 24.5–27) and the arc over them. */
function inShackle(x: number, y: number): boolean {
  if (y >= 24.5 && y <= 27) return Math.abs(x - 29) <= 1 || Math.abs(x - 35) <= 1;
  if (y < 24.5) return Math.abs(Math.hypot(x - 32, y - 24.5) - 3) <= 1;
  return false;
}

/** The colour at a point of the 64-unit drawing, or null outside the background. */
function colourAt(x: number, y: number, maskable: boolean): readonly number[] | null {
  if (!maskable && !inRoundRect(x, y, 0, 0, 64, 64, 14)) return null;
  // The maskable icon shrinks the drawing about the centre into the safe circle.
  const k = maskable ? 0.8 : 1;
  const u = 32 + (x - 32) / k;
  const v = 32 + (y - 32) / k;
  if (inRoundRect(u, v, 27, 27, 37, 36, 1.5) || inShackle(u, v)) return GREEN;
  if (inRoundRect(u, v, 12, 18, 52, 44, 4) || inTail(u, v)) return WHITE;
  return GREEN;
}

/** RGBA pixels of one icon. */
function draw(size: number, maskable: boolean): Buffer {
  const px = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py++)
    for (let pxl = 0; pxl < size; pxl++) {
      const sum = [0, 0, 0, 0];
      for (let sy = 0; sy < SS; sy++)
        for (let sx = 0; sx < SS; sx++) {
          const c = colourAt(((pxl + (sx + 0.5) / SS) * 64) / size, ((py + (sy + 0.5) / SS) * 64) / size, maskable);
          if (!c) continue;
          for (let i = 0; i < 3; i++) sum[i]! += c[i]!;
          sum[3]! += 1;
        }
      const o = (py * size + pxl) * 4;
      const n = sum[3]!;
      // Colours averaged over covered samples; coverage becomes alpha (the rounded corners).
      for (let i = 0; i < 3; i++) px[o + i] = n ? Math.round(sum[i]! / n) : 0;
      px[o + 3] = Math.round((255 * n) / (SS * SS));
    }
  return px;
}

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A PNG file (8-bit RGBA, no interlace) of `rgba` pixels. */
function png(size: number, rgba: Buffer): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8);
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) rgba.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const out = new URL('../apps/web/public/', import.meta.url);
for (const [name, size, maskable] of [
  ['icon-192.png', 192, false],
  ['icon-512.png', 512, false],
  ['icon-maskable-512.png', 512, true],
] as const) {
  writeFileSync(new URL(name, out), png(size, draw(size, maskable)));
  console.log(`apps/web/public/${name}: ${size} × ${size}${maskable ? ', maskable' : ''}`);
}
