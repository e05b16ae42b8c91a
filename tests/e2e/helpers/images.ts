/**
 * Pictures for the web privacy test: a two-colour PNG to use as a profile photo, QR decoding of a
 * screenshot (jsQR on pngjs pixels), and a one-frame Y4M video of a screenshot for Chromium's fake
 * camera (`--use-file-for-fake-video-capture`), so a page can scan a code it is shown.
 */
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import jsQR from 'jsqr';

export type Rgb = [number, number, number];

/** A PNG `width`×`height`, the left half `left` and the right half `right`. */
export function twoColourPng(width: number, height: number, left: Rgb, right: Rgb): Buffer {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = x < width / 2 ? left : right;
      const i = (y * width + x) * 4;
      png.data[i] = c[0];
      png.data[i + 1] = c[1];
      png.data[i + 2] = c[2];
      png.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

/** The text of the QR code in a PNG (e.g. an element screenshot), or null. */
export function decodeQrPng(png: Buffer): string | null {
  const img = PNG.sync.read(png);
  return (
    jsQR(new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length), img.width, img.height)?.data ??
    null
  );
}

/**
 * Write a one-frame 640×480 Y4M (4:2:0, grey chroma) with the PNG centred on white; Chromium's
 * fake camera loops it. The PNG must fit in the frame.
 */
export function writeY4m(path: string, png: Buffer, width = 640, height = 480): void {
  const img = PNG.sync.read(png);
  if (img.width > width || img.height > height)
    throw new Error(`picture ${img.width}×${img.height} does not fit ${width}×${height}`);
  const luma = Buffer.alloc(width * height, 255);
  const ox = Math.floor((width - img.width) / 2);
  const oy = Math.floor((height - img.height) / 2);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * 4;
      const a = img.data[i + 3]! / 255;
      const v = 0.299 * img.data[i]! + 0.587 * img.data[i + 1]! + 0.114 * img.data[i + 2]!;
      luma[(oy + y) * width + ox + x] = Math.round(v * a + 255 * (1 - a));
    }
  }
  const chroma = Buffer.alloc((width / 2) * (height / 2) * 2, 128);
  writeFileSync(
    path,
    Buffer.concat([Buffer.from(`YUV4MPEG2 W${width} H${height} F30:1 Ip A1:1 C420jpeg\nFRAME\n`), luma, chroma]),
  );
}
