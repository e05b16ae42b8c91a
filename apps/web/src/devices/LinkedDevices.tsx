/**
 * "Linked devices" in Settings (C1, docs/devices.md): this account's devices with their names,
 * which one is this browser, and Unlink (after a confirmation) for every other one; and "Link a
 * device", which opens a link code here (`LinkDialog`) for a new device to scan or paste.
 */
import { useEffect, useState } from 'react';
import type { AccountDevice, ParleyClient } from '@parley/sdk';
import { useTask } from '../hooks.ts';
import { Modal } from '../safety/SafetyNumber.tsx';
import { LinkDialog } from './LinkDialog.tsx';
import { StatusLine } from '../settings/StatusLine.tsx';
import './devices.css';

/** When a device was linked, as a date in the reader's locale. */
function linkedOn(ms: number): string {
  return new Date(ms).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

/** The Settings section: the device list, "Link a device", and Unlink with its confirmation. */
export function LinkedDevicesSection({ client }: { client: ParleyClient }) {
  const [devices, setDevices] = useState<AccountDevice[] | null>(null);
  const [linking, setLinking] = useState(false);
  const [unlinking, setUnlinking] = useState<AccountDevice | null>(null);
  const [status, setStatus] = useState('');
  const list = useTask();
  const unlink = useTask();

  // Bumped after a link or an unlink: the list is read again from the server.
  const [version, setVersion] = useState(0);
  const refresh = () => setVersion((v) => v + 1);
  const { run: load } = list;
  useEffect(() => {
    let alive = true;
    void load(async () => {
      const found = await client.devices();
      if (alive) setDevices(found);
    });
    return () => {
      alive = false;
    };
    // `load` is a fresh function each render: the client and the version decide when to load.
  }, [client, version]);

  const confirmUnlink = (device: AccountDevice) =>
    void unlink.run(async () => {
      const done = await client.unlinkDevice(device.deviceId);
      setUnlinking(null);
      setStatus(
        `${device.name || 'The device'} was unlinked and removed from ${done.conversations} chat${done.conversations === 1 ? '' : 's'}.`,
      );
      refresh();
    });

  return (
    <section className="settings-card linked-devices" aria-labelledby="devices-title">
      <h3 id="devices-title">Linked devices</h3>
      <p className="hint">
        Use this account on another browser or computer too. Every device has its own keys; messages reach all of them.
      </p>
      {devices && (
        <ul className="device-list" aria-label="Devices of this account">
          {devices.map((d) => (
            <li key={d.deviceId} className="device-row">
              <span className="device-name">
                {d.name || 'Unnamed device'}
                {d.current && <span className="device-current"> (this device)</span>}
              </span>
              <span className="hint device-since">Linked {linkedOn(d.createdAt)}</span>
              {!d.current && (
                <button
                  type="button"
                  className="secondary"
                  aria-label={`Unlink ${d.name || 'Unnamed device'}`}
                  onClick={() => setUnlinking(d)}
                >
                  Unlink
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {list.error && (
        <p className="error" role="alert">
          {list.error}
        </p>
      )}
      <button type="button" onClick={() => setLinking(true)}>
        Link a device
      </button>
      <StatusLine text={status} />
      {linking && (
        <LinkDialog
          client={client}
          onLinked={(text) => {
            setStatus(text);
            refresh();
          }}
          onClose={() => setLinking(false)}
        />
      )}
      {unlinking && (
        <Modal labelledBy="unlink-title" onClose={() => setUnlinking(null)} className="logout-confirm">
          <h2 id="unlink-title">Unlink {unlinking.name || 'this device'}?</h2>
          <p>
            It is signed out at once and removed from every chat. What it already holds stays on it until it is used
            again, when it deletes its copy. To use it again, link it again.
          </p>
          {unlink.error && (
            <p className="error" role="alert">
              {unlink.error}
            </p>
          )}
          <div className="row-buttons">
            <button type="button" className="secondary" disabled={unlink.busy} onClick={() => setUnlinking(null)}>
              Cancel
            </button>
            <button
              type="button"
              className="danger-button"
              disabled={unlink.busy}
              onClick={() => confirmUnlink(unlinking)}
            >
              {unlink.busy ? 'Unlinking…' : 'Unlink'}
            </button>
          </div>
        </Modal>
      )}
    </section>
  );
}
