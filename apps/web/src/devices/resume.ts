/**
 * Finishing a history import a link started (C16, docs/devices.md): when the page was closed or the
 * network dropped while this browser imported the history another device sent, the import resumes
 * at the next start, from where it stopped (`client.resumeLinkHistory`; messages already held are
 * skipped).
 */
import { useEffect } from 'react';
import type { ParleyClient } from '@parley/sdk';

/** Resume a pending history import once the device is registered; failures are logged and kept for the next start. */
export function useLinkHistoryResume(client: ParleyClient, registered: boolean): void {
  useEffect(() => {
    if (!registered) return;
    client.resumeLinkHistory().catch((e: unknown) => console.warn('parley history import', e));
  }, [client, registered]);
}
