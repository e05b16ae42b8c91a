/**
 * Chat export in the web client (C16): "Export chat" in a chat's menu and "Export all chats" in
 * Settings both run through this hook, which shows progress in words and the outcome in a status
 * line a screen reader announces.
 */
import { useState } from 'react';
import type { ParleyClient } from '@parley/sdk';
import { describeError } from '../errors.ts';

/** Where an export stands, in words; null before the first one. */
export type ExportStatus = { busy: boolean; text: string; failed: boolean } | null;

/** Start exports and follow them; one at a time. */
export function useExport(client: ParleyClient) {
  const [status, setStatus] = useState<ExportStatus>(null);
  const start = (opts: { conversationId?: string; title: string; media: boolean }) => {
    if (status?.busy) return;
    setStatus({ busy: true, text: 'Preparing the export…', failed: false });
    void import('./run.ts')
      .then(({ downloadExport }) =>
        downloadExport(client, {
          ...opts,
          onProgress: (p) =>
            setStatus({
              busy: true,
              failed: false,
              text:
                p.mediaTotal > 0
                  ? `Exporting: ${p.mediaDone} of ${p.mediaTotal} media files`
                  : `Exporting: ${p.chatsDone} of ${p.chats} chats`,
            }),
        }),
      )
      .then(
        (r) =>
          setStatus({
            busy: false,
            failed: false,
            text: `Exported ${r.chats === 1 ? '1 chat' : `${r.chats} chats`} (${r.messages} messages) to ${r.fileName}.`,
          }),
        (e: unknown) => setStatus({ busy: false, failed: true, text: `Export failed: ${describeError(e)}` }),
      );
  };
  return { status, start };
}

/** The status line of an export (nothing before the first one). */
export function ExportStatusLine({ status }: { status: ExportStatus }) {
  if (!status) return null;
  return (
    <p className={status.failed ? 'error export-status' : 'hint export-status'} role="status">
      {status.text}
    </p>
  );
}
