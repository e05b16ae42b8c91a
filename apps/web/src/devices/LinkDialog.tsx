/**
 * "Link a device" on a device that is already in the account (C1, docs/devices.md): opens a link
 * code (`client.startLink`), shows it as a QR code drawn in the page and as text to copy, and lets
 * the user choose the history the new device gets (none, the last 30 days, everything; C16). It
 * waits for the new device, shows the history being packed and uploaded, then says which device
 * was linked and how many chats it joined. Closing the dialog before that cancels the code, so it
 * cannot be used afterwards.
 */
import { useEffect, useRef, useState } from 'react';
import type { HistoryChoice, HistoryProgress, ParleyClient, PendingLink } from '@parley/sdk';
import { describeError } from '../errors.ts';
import { Modal } from '../safety/SafetyNumber.tsx';
import { QrCode } from '../safety/QrCode.tsx';

const HISTORY_LABELS: { value: HistoryChoice; label: string }[] = [
  { value: 'none', label: 'No history' },
  { value: '30d', label: 'Last 30 days' },
  { value: 'all', label: 'Everything' },
];

/** The history transfer in words, for the status line. */
export function historyProgressText(p: HistoryProgress): string {
  const percent = p.total > 0 ? Math.round((p.done / p.total) * 100) : 100;
  switch (p.phase) {
    case 'packing':
      return `Packing history: ${p.done} of ${p.total} chats…`;
    case 'uploading':
      return `Sending history (encrypted): ${percent}%…`;
    case 'downloading':
      return `Receiving history: ${percent}%…`;
    case 'importing':
      return `Importing history: ${p.done} of ${p.total} messages…`;
    case 'done':
      return `History imported: ${p.total} messages.`;
  }
}

type Phase =
  | { step: 'opening' }
  | { step: 'waiting'; pending: PendingLink }
  | { step: 'linked'; text: string }
  | { step: 'failed'; error: string };

/** The dialog: QR code and link code, then the outcome. */
export function LinkDialog({
  client,
  onLinked,
  onClose,
}: {
  client: ParleyClient;
  onLinked: (text: string) => void;
  onClose: () => void;
}) {
  const [phase, setPhase] = useState<Phase>({ step: 'opening' });
  const [copied, setCopied] = useState(false);
  const [history, setHistory] = useState<HistoryChoice>('none');
  const [progress, setProgress] = useState<HistoryProgress | null>(null);
  // Read when the new device answers: the choice can change until then.
  const chosen = useRef<HistoryChoice>('none');
  chosen.current = history;
  // The open code, for the cancel on close; null once it was used or given up.
  const open = useRef<PendingLink | null>(null);

  useEffect(() => {
    let alive = true;
    void (async () => {
      try {
        const pending = await client.startLink();
        if (!alive) {
          await pending.cancel().catch(() => undefined);
          return;
        }
        open.current = pending;
        setPhase({ step: 'waiting', pending });
        const linked = await pending.wait({
          history: () => chosen.current,
          onHistoryProgress: (p) => alive && setProgress(p),
        });
        open.current = null;
        const name = linked.name || 'The new device';
        const chats = `${linked.conversations} chat${linked.conversations === 1 ? '' : 's'}`;
        const sent = linked.historyMessages ? `, with ${linked.historyMessages} messages of history` : '';
        const text = `${name} is linked and was added to ${chats}${sent}.`;
        if (alive) setPhase({ step: 'linked', text });
        onLinked(text);
      } catch (e) {
        open.current = null;
        if (alive) setPhase({ step: 'failed', error: describeError(e) });
      }
    })();
    return () => {
      alive = false;
      // Closed while waiting: the code stops working (the waiting call then fails quietly).
      void open.current?.cancel().catch(() => undefined);
      open.current = null;
    };
    // Once per dialog: `onLinked` only reports back.
  }, [client]);

  const copy = (uri: string) =>
    void navigator.clipboard?.writeText(uri).then(
      () => setCopied(true),
      () => setCopied(false),
    );

  return (
    <Modal labelledBy="link-title" onClose={onClose} className="link-dialog">
      <div className="modal-head">
        <h2 id="link-title">Link a device</h2>
        <button type="button" className="secondary" onClick={onClose}>
          {phase.step === 'linked' ? 'Done' : 'Cancel'}
        </button>
      </div>
      {phase.step === 'opening' && <p role="status">Making a link code…</p>}
      {phase.step === 'waiting' && (
        <>
          <p className="hint">
            On the new device, open Parley and choose &quot;Link to an existing device&quot;. Scan this code, or paste
            the link code below. It works once, for 10 minutes.
          </p>
          <div className="safety-qr">
            <QrCode value={phase.pending.uri} label="QR code for linking a new device" size={280} />
          </div>
          <label htmlFor="link-code">Link code</label>
          <textarea
            id="link-code"
            className="link-code"
            readOnly
            rows={3}
            value={phase.pending.uri}
            onFocus={(e) => e.target.select()}
          />
          <div className="row-buttons">
            <button type="button" className="secondary" onClick={() => copy(phase.pending.uri)}>
              Copy link code
            </button>
          </div>
          <fieldset className="history-choice" disabled={progress !== null}>
            <legend>History for the new device</legend>
            {HISTORY_LABELS.map((h) => (
              <label key={h.value}>
                <input
                  type="radio"
                  name="link-history"
                  value={h.value}
                  checked={history === h.value}
                  onChange={() => setHistory(h.value)}
                />
                {h.label}
              </label>
            ))}
            <p className="hint">Sent encrypted; only the new device can read it.</p>
          </fieldset>
          <p role="status" className="hint">
            {copied ? 'Link code copied. ' : ''}
            {progress ? historyProgressText(progress) : 'Waiting for the new device…'}
          </p>
        </>
      )}
      {phase.step === 'linked' && (
        <p role="status" className="check-ok">
          {phase.text}
        </p>
      )}
      {phase.step === 'failed' && (
        <p className="error" role="alert">
          {phase.error}
        </p>
      )}
    </Modal>
  );
}
