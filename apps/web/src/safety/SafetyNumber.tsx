/**
 * "Verify safety number" (C2, C13): the 60-digit number both sides compute from their identity
 * keys (12 groups of 5, the same on both devices), the QR code of the same comparison, and ways to
 * check the other person's code: scan it with the camera, pick a picture of it, or paste it.
 * A match is remembered as "verified" for that number. Warnings from the SDK (`identityChanged`,
 * `key-transparency-warning`) are shown at the top until the new number is verified.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { ParleyClient } from '@parley/sdk';
import { describeError } from '../errors.ts';
import { trustStore, useTrust, warningText } from '../contacts/trust.ts';
import { QrCode } from './QrCode.tsx';
import { useFocusTrap } from '../calls/focus-trap.ts';

/** The QR reader (jsQR, about a sixth of the app's code) loads only when someone checks a code. */
const scanner = () => import('./scan.ts');

type Check = { ok: true; how: string } | { ok: false; why: string } | null;

/** A modal `<dialog>` that closes with Escape or its own buttons and keeps keyboard focus inside. */
export function Modal({
  labelledBy,
  onClose,
  className = '',
  children,
}: {
  labelledBy: string;
  onClose: () => void;
  className?: string;
  children: React.ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    // Unmounting removes the dialog from the top layer; closing it here would fire `close` late,
    // after another dialog (e.g. contact info → safety number) may have replaced it.
  }, []);
  // A modal <dialog> lets Tab leave for the browser's own controls and, when the dialog is
  // unmounted rather than closed, leaves focus on the page's body: keep Tab inside and hand focus
  // back to the control that opened it. Escape stays with the dialog's `cancel` event.
  useFocusTrap(ref);
  return (
    <dialog
      ref={ref}
      className={`modal ${className}`}
      aria-labelledby={labelledBy}
      onClose={onClose}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      {children}
    </dialog>
  );
}

/** The safety-number view for the direct chat with `peer`. */
export function SafetyNumberDialog({
  client,
  peer,
  name,
  onClose,
}: {
  client: ParleyClient;
  peer: string;
  name: string;
  onClose: () => void;
}) {
  const [number, setNumber] = useState<string | null>(null);
  const [qr, setQr] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [check, setCheck] = useState<Check>(null);
  const [pasted, setPasted] = useState('');
  const [scanning, setScanning] = useState(false);
  const video = useRef<HTMLVideoElement>(null);
  const stopScan = useRef<(() => void) | null>(null);
  const { warning, verifiedNumber } = useTrust(client, peer);
  const verified = number !== null && verifiedNumber === number;

  useEffect(() => {
    let alive = true;
    Promise.all([client.safetyNumber(peer), client.safetyQr(peer)]).then(
      ([n, q]) => {
        if (!alive) return;
        setNumber(n);
        setQr(q);
      },
      (e: unknown) => alive && setError(describeError(e)),
    );
    return () => {
      alive = false;
      stopScan.current?.();
    };
  }, [client, peer]);

  const compare = (scanned: string | null, how: string) => {
    if (!qr || !number) return;
    if (scanned === null) {
      setCheck({ ok: false, why: 'No QR code could be read. Try again with the whole code in view.' });
      return;
    }
    if (scanned.trim() === qr) {
      trustStore(client).markVerified(peer, number);
      setCheck({ ok: true, how });
    } else if (!scanned.trim().startsWith('parley-sn1:')) {
      setCheck({ ok: false, why: 'That is not a Parley safety-number code.' });
    } else {
      setCheck({
        ok: false,
        why: `This code does not match. Either it is not ${name}'s code for this chat, or one of your keys has changed, or someone is intercepting this chat. Do not share anything sensitive until you have compared the numbers in person.`,
      });
    }
  };

  const startScan = async () => {
    setCheck(null);
    setError(null);
    if (!video.current) return;
    setScanning(true);
    try {
      const { scanCamera } = await scanner();
      stopScan.current = await scanCamera(video.current, (text) => {
        setScanning(false);
        stopScan.current = null;
        compare(text, 'scanned with the camera');
      });
    } catch (e) {
      setScanning(false);
      setError(
        e instanceof DOMException && e.name === 'NotAllowedError'
          ? 'Camera access was refused. Pick a picture of their code or paste it instead.'
          : describeError(e),
      );
    }
  };

  const cancelScan = () => {
    stopScan.current?.();
    stopScan.current = null;
    setScanning(false);
  };

  const onPicture = async (file: File | undefined) => {
    if (!file) return;
    setCheck(null);
    setError(null);
    try {
      const { decodePicture } = await scanner();
      compare(await decodePicture(file), 'read from the picture');
    } catch (e) {
      setError(describeError(e));
    }
  };

  const onPaste = (e: FormEvent) => {
    e.preventDefault();
    compare(pasted, 'pasted');
  };

  const groups = number?.split(' ') ?? [];

  return (
    <Modal labelledBy="safety-title" onClose={onClose} className="safety">
      <div className="modal-head">
        <h2 id="safety-title">Verify safety number</h2>
        <button type="button" className="secondary" onClick={onClose}>
          Close
        </button>
      </div>
      {warning && (
        <p className="trust-warning" role="alert">
          {warningText(warning, name)}
        </p>
      )}
      <p className="hint">
        Compare these numbers with {name}, in person or over a call you trust, or scan each other's code. When they
        match, your messages and calls with {name} are end-to-end encrypted with nobody in between.
      </p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {!number && !error && <p className="hint">Computing…</p>}
      {number && (
        <>
          <div className="safety-digits" role="group" aria-label="Safety number">
            {groups.map((g, i) => (
              <span key={i}>{g}</span>
            ))}
          </div>
          <p className={`verified-state ${verified ? 'is-verified' : ''}`} role="status">
            {verified ? `✓ You have verified ${name}'s safety number.` : 'Not verified yet.'}
          </p>
          {qr && (
            <div className="safety-qr">
              <QrCode value={qr} label={`QR code of your safety number with ${name}`} />
              <details>
                <summary>Show the code as text</summary>
                <label htmlFor="safety-own-code">Your code as text</label>
                <input id="safety-own-code" readOnly value={qr} onFocus={(e) => e.target.select()} />
                <button
                  type="button"
                  className="secondary"
                  onClick={() => void navigator.clipboard?.writeText(qr).catch(() => undefined)}
                >
                  Copy code
                </button>
              </details>
            </div>
          )}
          <h3>Check {name}'s code</h3>
          <div className="row-buttons">
            {scanning ? (
              <button type="button" className="secondary" onClick={cancelScan}>
                Stop scanning
              </button>
            ) : (
              <button type="button" onClick={() => void startScan()}>
                Scan their code
              </button>
            )}
            <label className="button-like secondary" htmlFor="safety-picture">
              Check a picture of their code
            </label>
            <input
              id="safety-picture"
              className="visually-hidden"
              type="file"
              accept="image/*"
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
            aria-label="Camera view for scanning their code"
            muted
            playsInline
          />
          <form className="paste-form" onSubmit={onPaste}>
            <label htmlFor="safety-paste">Or paste their code</label>
            <input
              id="safety-paste"
              value={pasted}
              onChange={(e) => setPasted(e.target.value)}
              placeholder="parley-sn1:…"
              autoComplete="off"
              spellCheck={false}
            />
            <button type="submit" disabled={!pasted.trim()}>
              Check code
            </button>
          </form>
          {check?.ok === true && (
            <p className="check-ok" role="status">
              ✓ The code matches ({check.how}). {name}'s safety number is verified.
            </p>
          )}
          {check?.ok === false && (
            <p className="error" role="alert">
              ✗ {check.why}
            </p>
          )}
          <div className="row-buttons">
            {verified ? (
              <button type="button" className="secondary" onClick={() => trustStore(client).clearVerified(peer)}>
                Clear verification
              </button>
            ) : (
              <button type="button" className="secondary" onClick={() => trustStore(client).markVerified(peer, number)}>
                Mark as verified
              </button>
            )}
          </div>
        </>
      )}
    </Modal>
  );
}
