/**
 * "Log out of this device" in Settings (C1, C15). A confirmation says what is lost (this device's
 * keys and its chat history) and what is not (the account, other devices, contacts). Logging out
 * asks the server to revoke this device's credentials (`client.logout`, after which its token is
 * refused), then wipes every local store of the page (`wipe.ts`) and reloads it at the
 * registration screen. If the server cannot be reached nothing is wiped: the error is shown.
 */
import { useState } from 'react';
import type { ParleyClient } from '@parley/sdk';
import { Modal } from '../safety/SafetyNumber.tsx';
import { useTask } from '../hooks.ts';
import { wipeLocalData } from './wipe.ts';
import './account.css';

/** The Settings section with the logout button and its confirmation. */
export function LogoutSection({ client }: { client: ParleyClient }) {
  const [confirming, setConfirming] = useState(false);
  const task = useTask();
  const logout = () =>
    void task.run(async () => {
      await client.logout();
      await wipeLocalData();
      location.replace('/');
    });
  return (
    <section className="settings-card" aria-labelledby="logout-title">
      <h3 id="logout-title">Log out</h3>
      <p className="hint">Removes your keys and chat history from this browser.</p>
      <button type="button" className="danger-button" onClick={() => setConfirming(true)}>
        Log out of this device
      </button>
      {confirming && (
        <Modal labelledBy="logout-confirm-title" onClose={() => setConfirming(false)} className="logout-confirm">
          <h2 id="logout-confirm-title">Log out of this device?</h2>
          <p id="logout-confirm-text">
            This device&apos;s keys and its chat history are deleted from this browser, and can&apos;t be brought back:
            messages you have here will be gone from it. Your account, your other devices and your contacts are not
            affected. To use Parley in this browser again, register your number again.
          </p>
          {task.error && (
            <p className="error" role="alert">
              {task.error}
            </p>
          )}
          <div className="row-buttons">
            <button type="button" className="secondary" disabled={task.busy} onClick={() => setConfirming(false)}>
              Cancel
            </button>
            <button type="button" className="danger-button" disabled={task.busy} onClick={logout}>
              {task.busy ? 'Logging out…' : 'Log out'}
            </button>
          </div>
        </Modal>
      )}
    </section>
  );
}
