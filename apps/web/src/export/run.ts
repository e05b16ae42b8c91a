/**
 * Makes a chat export (docs/export.md) on this device and hands it to the browser as a download.
 * Loaded on first use, so the zip writer is not part of the first screen's code.
 */
import { exportChatsToBytes, exportFileName, type ExportProgress, type ParleyClient } from '@parley/sdk';

/** Export one chat (or all when `conversationId` is absent) and start the download of the zip. */
export async function downloadExport(
  client: ParleyClient,
  opts: { conversationId?: string; title: string; media: boolean; onProgress: (p: ExportProgress) => void },
): Promise<{ chats: number; messages: number; fileName: string }> {
  const { bytes, manifest } = await exportChatsToBytes(client, {
    ...(opts.conversationId ? { conversationId: opts.conversationId } : {}),
    media: opts.media,
    onProgress: opts.onProgress,
  });
  const fileName = `parley-${exportFileName(opts.title, 40, 'chats')}-${manifest.exportedAt.slice(0, 10)}.zip`;
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/zip' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  // The download has its own copy once started; free the page's one a little later.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return { chats: manifest.chats.length, messages: manifest.chats.reduce((n, c) => n + c.messages, 0), fileName };
}
