/**
 * What a browser shows once the server refused its credentials for good (C1, docs/devices.md):
 * another device of the account unlinked it (or it was logged out, or the number was registered
 * again). The SDK reports it as `revoked`; this page then deletes everything it kept (the same wipe
 * as "Log out of this device", `account/wipe.ts`) and says so, with a way to start again.
 */
import { useEffect, useState } from 'react';
import type { ParleyClient } from '@parley/sdk';
import { wipeLocalData } from '../account/wipe.ts';
import './devices.css';

/** True once this device's credentials were revoked (it stays true for the page's life). */
export function useRevoked(client: ParleyClient): boolean {
  const [revoked, setRevoked] = useState(false);
  useEffect(() => client.on('revoked', () => setRevoked(true)), [client]);
  return revoked;
}

/** The full-page notice; the local data is wiped when it appears. */
export function Unlinked({ client }: { client: ParleyClient }) {
  const [wiped, setWiped] = useState(false);
  useEffect(() => {
    void (async () => {
      // The store must be closed first, or deleting its database waits for it.
      await client.close().catch(() => undefined);
      await wipeLocalData();
      setWiped(true);
    })();
  }, [client]);
  return (
    <main className="register unlinked" aria-labelledby="unlinked-title">
      <h1 id="unlinked-title">This device was unlinked</h1>
      <p>
        Another device of your account unlinked this browser (or your number was registered again elsewhere), so the
        server no longer accepts it. Its keys and its chat history are deleted from this browser.
      </p>
      <p role="status">{wiped ? 'Everything this browser kept for Parley is deleted.' : 'Deleting…'}</p>
      <button type="button" disabled={!wiped} onClick={() => location.replace('/')}>
        Start again
      </button>
    </main>
  );
}
