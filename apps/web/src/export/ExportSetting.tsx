/** Settings card: export every chat on this device as a zip (docs/export.md). */
import { useId, useState } from 'react';
import type { ParleyClient } from '@parley/sdk';
import { ExportStatusLine, useExport } from './useExport.tsx';

/** "Your chats": export all, with or without media. */
export function ExportSetting({ client }: { client: ParleyClient }) {
  const id = useId();
  const [media, setMedia] = useState(true);
  const { status, start } = useExport(client);
  return (
    <section className="settings-card" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Your chats</h3>
      <p className="hint">
        A zip with every chat on this device: a page you can read in any browser, a JSON file for other apps, and the
        photos, videos, notes and files. It is made here; the server never sees it.
      </p>
      <label className="sound-setting">
        <input type="checkbox" checked={media} onChange={(e) => setMedia(e.target.checked)} />
        Include media
      </label>
      <button type="button" disabled={status?.busy} onClick={() => start({ title: 'all-chats', media })}>
        Export all chats
      </button>
      <ExportStatusLine status={status} />
    </section>
  );
}
