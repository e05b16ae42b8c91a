/**
 * "Link to an existing device" on the registration screen (C1, docs/devices.md): this browser
 * becomes a further device of an account from the link code another device of it shows. The code
 * is scanned with the camera, read from a picture, or pasted (the QR reader loads only when used);
 * `client.joinLink` then waits for the other device's approval and imports the history it sent
 * (progress in the status line). Afterwards the other device adds this one to every chat, and the
 * chats become live once it connects.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { parseLinkUri, type ParleyClient } from '@parley/sdk';
import { useTask } from '../hooks.ts';
import { historyProgressText } from './LinkDialog.tsx';
import './devices.css';

/** The QR reader (jsQR) loads only when someone scans or picks a picture. */
const scanner = () => import('../safety/scan.ts');

/** What is wrong with a pasted code, in words, or null when it reads as a link code. */
function codeProblem(text: string): string | null {
  try {
    parseLinkUri(text.trim());
    return null;
  } catch {
    return 'That is not a Parley link code. It starts with parley://link? — copy all of it from your other device.';
  }
}

/** The form: scan or paste the code, name this device, link. */
export function JoinLink({ client, onDone, onBack }: { client: ParleyClient; onDone: () => void; onBack: () => void }) {
  const [code, setCode] = useState('');
  const [name, setName] = useState('Web browser');
  const [scanning, setScanning] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const video = useRef<HTMLVideoElement>(null);
  const stopScan = useRef<(() => void) | null>(null);
  const { busy, error, setError, run } = useTask();

  useEffect(
    () => () => {
      stopScan.current?.();
    },
    [],
  );

  const link = (text: string) =>
    void run(async () => {
      const problem = codeProblem(text);
      if (problem) throw new Error(problem);
      setNote('Waiting for your other device to approve this one…');
      try {
        await client.joinLink(text.trim(), {
          deviceName: name.trim().slice(0, 64) || 'Web browser',
          onHistoryProgress: (p) => setNote(historyProgressText(p)),
        });
      } finally {
        setNote(null);
      }
      onDone();
    });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    link(code);
  };

  const startScan = async () => {
    setError(null);
    if (!video.current) return;
    setScanning(true);
    try {
      const { scanCamera } = await scanner();
      stopScan.current = await scanCamera(video.current, (text) => {
        stopScan.current = null;
        setScanning(false);
        setCode(text);
        link(text);
      });
    } catch {
      setScanning(false);
      setError('The camera could not be opened. Paste the link code instead.');
    }
  };

  const cancelScan = () => {
    stopScan.current?.();
    stopScan.current = null;
    setScanning(false);
  };

  const onPicture = async (file: File | undefined) => {
    if (!file) return;
    setError(null);
    try {
      const { decodePicture } = await scanner();
      const text = await decodePicture(file);
      if (!text) throw new Error('No QR code could be read in that picture.');
      setCode(text);
      link(text);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <form className="join-link" onSubmit={submit} aria-labelledby="join-link-title">
      <h2 id="join-link-title">Link to an existing device</h2>
      <p className="hint">
        On a device where you already use Parley, open Settings, then Linked devices, then &quot;Link a device&quot;.
        Scan the code it shows, or paste its link code here.
      </p>
      <div className="row-buttons">
        {scanning ? (
          <button type="button" className="secondary" onClick={cancelScan}>
            Stop scanning
          </button>
        ) : (
          <button type="button" disabled={busy} onClick={() => void startScan()}>
            Scan the code
          </button>
        )}
        <label className="button-like secondary" htmlFor="join-link-picture">
          Read a picture of the code
        </label>
        <input
          id="join-link-picture"
          className="visually-hidden"
          type="file"
          accept="image/*"
          disabled={busy}
          onChange={(e) => {
            void onPicture(e.target.files?.[0]);
            e.target.value = '';
          }}
        />
      </div>
      <video
        ref={video}
        className="scan-video"
        hidden={!scanning}
        aria-label="Camera view for scanning the link code"
        muted
        playsInline
      />
      <label htmlFor="join-link-code">Link code</label>
      <textarea
        id="join-link-code"
        className="link-code"
        rows={3}
        value={code}
        placeholder="parley://link?…"
        autoComplete="off"
        spellCheck={false}
        onChange={(e) => setCode(e.target.value)}
      />
      <label htmlFor="join-link-name">Name for this device</label>
      <input
        id="join-link-name"
        value={name}
        maxLength={64}
        autoComplete="off"
        onChange={(e) => setName(e.target.value)}
      />
      <button type="submit" disabled={busy || !code.trim()}>
        {busy ? 'Linking…' : 'Link this device'}
      </button>
      <button type="button" className="link" disabled={busy} onClick={onBack}>
        Register a number instead
      </button>
      <p role="status" className="hint">
        {note ?? ''}
      </p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
