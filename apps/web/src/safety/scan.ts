/**
 * Reading a QR code on this device (C2), with jsQR: from a picture the user picks (a photo or a
 * screenshot of the other person's code) or from camera frames. Nothing leaves the device.
 */
import jsQR from 'jsqr';

/** Largest side a picture is scaled down to before decoding (decoding time grows with pixels). */
const MAX_SIDE = 1200;

function decodeCanvas(canvas: HTMLCanvasElement, ctx: CanvasRenderingContext2D): string | null {
  const image = ctx.getImageData(0, 0, canvas.width, canvas.height);
  return jsQR(image.data, image.width, image.height, { inversionAttempts: 'attemptBoth' })?.data ?? null;
}

/** Draw a bitmap or video frame scaled to at most `MAX_SIDE` and decode any QR code in it. */
export function decodeDrawable(
  source: CanvasImageSource,
  width: number,
  height: number,
  canvas = document.createElement('canvas'),
): string | null {
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) return null;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
  return decodeCanvas(canvas, ctx);
}

/** The text of the QR code in a picture file, or null when none can be read. */
export async function decodePicture(file: Blob): Promise<string | null> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error('That file is not a picture this browser can open.');
  }
  try {
    return decodeDrawable(bitmap, bitmap.width, bitmap.height);
  } finally {
    bitmap.close();
  }
}

/**
 * Scan camera frames (rear camera where there is one) about four times a second until a code is
 * read or `stop` is called; the camera is released either way.
 */
export async function scanCamera(video: HTMLVideoElement, onCode: (text: string) => void): Promise<() => void> {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: 'environment', width: { ideal: 1280 } },
    audio: false,
  });
  video.srcObject = stream;
  video.muted = true;
  video.playsInline = true;
  await video.play().catch(() => undefined);
  const canvas = document.createElement('canvas');
  let stopped = false;
  const stop = () => {
    stopped = true;
    clearInterval(timer);
    stream.getTracks().forEach((t) => t.stop());
    video.srcObject = null;
  };
  const timer = setInterval(() => {
    if (stopped || video.readyState < 2 || !video.videoWidth) return;
    const text = decodeDrawable(video, video.videoWidth, video.videoHeight, canvas);
    if (text) {
      stop();
      onCode(text);
    }
  }, 250);
  return stop;
}
