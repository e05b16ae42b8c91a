/**
 * Decrypted media as object URLs (C4): each blob is downloaded, checked and decrypted once per page
 * and shared by every bubble that shows it. What this device sent is remembered from the bytes it
 * recorded or picked, so the sender's own bubble needs no download.
 */
import { useEffect, useState } from 'react';
import type { Attachment, BlobRef, LocalMessage, ParleyClient, SendMediaInput } from '@parley/sdk';
import { describeError } from '../errors.ts';

const urls = new Map<string, Promise<string>>();

/** The object URL of a blob's plaintext, downloading and decrypting it on first use. */
export function mediaUrl(client: ParleyClient, ref: BlobRef): Promise<string> {
  let url = urls.get(ref.id);
  if (!url) {
    url = client
      .downloadMedia(ref)
      .then((bytes) => URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: ref.mimeType })));
    // A failed download may work later (network back): do not remember the failure.
    url.catch(() => urls.delete(ref.id));
    urls.set(ref.id, url);
  }
  return url;
}

/** Remember the plaintext of a blob this device just uploaded. */
function rememberSent(blobId: string, blob: Blob): void {
  if (!urls.has(blobId)) urls.set(blobId, Promise.resolve(URL.createObjectURL(blob)));
}

/** Remember what a sent media message uploaded: the local bytes, and the thumbnail made here. */
export function rememberSentMedia(sent: LocalMessage, input: SendMediaInput, local: Blob): void {
  if (sent.attachment) rememberSent(sent.attachment.id, local);
  if (sent.attachment?.thumbnail && input.thumbnail)
    rememberSent(
      sent.attachment.thumbnail.id,
      new Blob([input.thumbnail.bytes as Uint8Array<ArrayBuffer>], { type: input.thumbnail.mimeType }),
    );
}

/** `mediaUrl` as React state; nothing is fetched while `enabled` is false or there is no ref. */
export function useMediaUrl(
  client: ParleyClient,
  ref: BlobRef | undefined,
  enabled = true,
): { url?: string; error?: string } {
  const [state, setState] = useState<{ url?: string; error?: string }>({});
  const id = ref?.id;
  useEffect(() => {
    if (!ref || !enabled) return undefined;
    let alive = true;
    mediaUrl(client, ref).then(
      (url) => alive && setState({ url }),
      (e: unknown) => alive && setState({ error: describeError(e) }),
    );
    return () => {
      alive = false;
    };
    // A blob reference never changes under the same id: the id is enough to key on.
  }, [client, id, enabled]);
  return state;
}

/**
 * Drop and revoke the decrypted copies of a deleted message's media (C15), so nothing of it stays
 * in the page once the message says "This message was deleted".
 */
export function forgetMedia(attachment: Attachment | undefined): void {
  for (const ref of [attachment, attachment?.thumbnail]) {
    if (!ref) continue;
    const url = urls.get(ref.id);
    urls.delete(ref.id);
    void url?.then((u) => URL.revokeObjectURL(u)).catch(() => undefined);
  }
}
