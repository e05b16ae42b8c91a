/**
 * Media for the `parley` command (C4): what a file on disk is sent as, how an attachment is printed
 * (its reference without the key and nonce, which stay in the profile), and finding a received
 * attachment again by message id for `download`.
 */
import { basename, extname } from 'node:path';
import type { Attachment, LocalMessage, MediaKind, ParleyClient } from '@parley/sdk';

const TYPES: Record<string, [string, MediaKind]> = {
  '.png': ['image/png', 'image'],
  '.jpg': ['image/jpeg', 'image'],
  '.jpeg': ['image/jpeg', 'image'],
  '.gif': ['image/gif', 'image'],
  '.webp': ['image/webp', 'image'],
  '.avif': ['image/avif', 'image'],
  '.heic': ['image/heic', 'image'],
  '.ogg': ['audio/ogg', 'voice'],
  '.opus': ['audio/ogg;codecs=opus', 'voice'],
  '.oga': ['audio/ogg', 'voice'],
  '.m4a': ['audio/mp4', 'voice'],
  '.mp3': ['audio/mpeg', 'voice'],
  '.wav': ['audio/wav', 'voice'],
  '.weba': ['audio/webm', 'voice'],
  '.mp4': ['video/mp4', 'video'],
  '.webm': ['video/webm', 'video'],
  '.mov': ['video/quicktime', 'video'],
  '.pdf': ['application/pdf', 'file'],
  '.txt': ['text/plain', 'file'],
  '.zip': ['application/zip', 'file'],
  '.json': ['application/json', 'file'],
};

/** MIME type and kind for a file name; unknown extensions are sent as a plain file. */
export function mediaTypeOf(path: string): { mimeType: string; kind: MediaKind; fileName: string } {
  const [mimeType, kind] = TYPES[extname(path).toLowerCase()] ?? ['application/octet-stream', 'file'];
  return { mimeType, kind, fileName: basename(path) };
}

/** The printable part of an attachment reference: everything but the key and nonce. */
export function describeAttachment(a: Attachment): Record<string, unknown> {
  return {
    blobId: a.id,
    kind: a.kind,
    mimeType: a.mimeType,
    size: a.size,
    digest: a.digest,
    ...(a.fileName !== undefined ? { fileName: a.fileName } : {}),
    ...(a.durationMs !== undefined ? { durationMs: a.durationMs } : {}),
    ...(a.width !== undefined ? { width: a.width } : {}),
    ...(a.height !== undefined ? { height: a.height } : {}),
    ...(a.waveform !== undefined ? { waveform: a.waveform } : {}),
    thumbnail: a.thumbnail !== undefined,
  };
}

/** A message with an attachment that this device received or sent, by message id. */
export async function findAttachmentMessage(
  client: ParleyClient,
  messageId: string,
): Promise<(LocalMessage & { attachment: Attachment }) | null> {
  for (const c of client.conversations()) {
    const m = (await client.messages(c.id)).find((x) => x.id === messageId);
    if (m?.attachment) return m as LocalMessage & { attachment: Attachment };
  }
  return null;
}
