/**
 * An outgoing message's state in its bubble (C3, C15): a clock while it is on its way ("Sending",
 * also while offline or reconnecting), ✓ sent, ✓✓ delivered, blue ✓✓ read; and for a send that
 * failed for good, "Not sent" with "Retry" and "Delete", so the text is never lost silently.
 */
import { useState } from 'react';
import type { LocalMessage, ParleyClient } from '@parley/sdk';
import { describeError } from '../errors.ts';

/** A small clock, drawn as SVG like the other icons (fonts differ between devices). */
function ClockIcon() {
  return (
    <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true" focusable="false">
      <circle cx="8" cy="8" r="6.5" fill="none" stroke="currentColor" strokeWidth="1.5" />
      <path d="M8 4.5V8l2.5 1.5" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" />
    </svg>
  );
}

const LABELS: Record<LocalMessage['status'], string> = {
  sending: 'Sending',
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
  failed: 'Not sent',
};

/** The tick (or clock, or "!") of an outgoing message, with its state as accessible name. */
export function Ticks({ m }: { m: LocalMessage }) {
  const label = LABELS[m.status];
  return (
    <span className={`ticks ticks-${m.status}`} role="img" aria-label={label} title={label}>
      {m.status === 'sending' ? (
        <ClockIcon />
      ) : m.status === 'failed' ? (
        '!'
      ) : m.status === 'read' || m.status === 'delivered' ? (
        '✓✓'
      ) : (
        '✓'
      )}
    </span>
  );
}

/** "Retry" and "Delete" on a message whose send failed; errors of either go to `onError`. */
export function FailedActions({
  client,
  m,
  onError,
}: {
  client: ParleyClient;
  m: LocalMessage;
  onError: (message: string | null) => void;
}) {
  const [busy, setBusy] = useState(false);
  const act = (work: () => Promise<unknown>) => {
    setBusy(true);
    onError(null);
    work()
      .catch((e: unknown) => onError(describeError(e)))
      .finally(() => setBusy(false));
  };
  return (
    <span className="failed-actions">
      <button type="button" disabled={busy} onClick={() => act(() => client.retrySend(m.conversationId, m.id))}>
        Retry
      </button>
      <button type="button" disabled={busy} onClick={() => act(() => client.discardFailed(m.conversationId, m.id))}>
        Delete
      </button>
    </span>
  );
}
