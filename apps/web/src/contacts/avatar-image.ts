/**
 * Profile photos made on this device (C12): the picked image is centre-cropped to a square,
 * scaled to 256 × 256 on a canvas and encoded as JPEG, lowering the quality until it fits well
 * under the server's limit on the encrypted photo (`PROFILE_LIMITS.photoBytes`). Nothing but these
 * bytes, encrypted by the SDK, leaves the device.
 */
import { PROFILE_LIMITS } from '@parley/protocol';

/** Width and height of the avatar in pixels. */
export const AVATAR_SIZE = 256;
/** Most bytes an avatar may have: half the encrypted limit leaves ample room. */
export const AVATAR_MAX_BYTES = Math.floor(PROFILE_LIMITS.photoBytes / 2);

/** Make the avatar JPEG from a picked image file. */
export async function makeAvatar(file: Blob): Promise<Uint8Array> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch {
    throw new Error('That file is not a picture this browser can open. Pick a JPEG, PNG or WebP image.');
  }
  const side = Math.min(bitmap.width, bitmap.height);
  const canvas = document.createElement('canvas');
  canvas.width = AVATAR_SIZE;
  canvas.height = AVATAR_SIZE;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('This browser cannot draw pictures.');
  // JPEG has no transparency: transparent parts become white rather than black.
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, AVATAR_SIZE, AVATAR_SIZE);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(
    bitmap,
    (bitmap.width - side) / 2,
    (bitmap.height - side) / 2,
    side,
    side,
    0,
    0,
    AVATAR_SIZE,
    AVATAR_SIZE,
  );
  bitmap.close();
  for (const quality of [0.88, 0.8, 0.7, 0.55, 0.4]) {
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));
    if (blob && blob.size <= AVATAR_MAX_BYTES) return new Uint8Array(await blob.arrayBuffer());
  }
  throw new Error('That picture could not be made small enough for a profile photo.');
}
