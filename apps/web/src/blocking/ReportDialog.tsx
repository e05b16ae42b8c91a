/**
 * "Report" (C15), from a chat's menu or a message's: the reporter chooses how many of the chat's
 * last messages from the reported person to include (default 5), a reason, and whether to block
 * too. The dialog says plainly that the included messages go to the server's operator in clear,
 * decrypted on this device: the only way the operator sees any message.
 */
import { useState, type FormEvent } from 'react';
import { SAFETY_LIMITS, type ParleyClient, type ReportCategory } from '@parley/sdk';
import { Modal } from '../safety/SafetyNumber.tsx';
import { describeError } from '../errors.ts';
import './blocking.css';

const CATEGORIES: [ReportCategory, string][] = [
  ['spam', 'Spam'],
  ['abuse', 'Abuse or harassment'],
  ['scam', 'Scam or fraud'],
  ['other', 'Something else'],
];

/** The report dialog for `accountId` (named `name`), about `conversationId` when given. */
export function ReportDialog({
  client,
  accountId,
  name,
  conversationId,
  onClose,
}: {
  client: ParleyClient;
  accountId: string;
  name: string;
  conversationId?: string;
  onClose: () => void;
}) {
  const [count, setCount] = useState(5);
  const [category, setCategory] = useState<ReportCategory>('spam');
  const [details, setDetails] = useState('');
  const [block, setBlock] = useState(false);
  const [state, setState] = useState<'editing' | 'sending' | 'sent'>('editing');
  const [error, setError] = useState<string | null>(null);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setState('sending');
    setError(null);
    client
      .report({
        accountId,
        ...(conversationId ? { conversationId, messages: count } : {}),
        category,
        ...(details.trim() ? { reason: details.trim() } : {}),
        block,
      })
      .then(() => setState('sent'))
      .catch((err: unknown) => {
        setError(describeError(err));
        setState('editing');
      });
  };

  return (
    <Modal labelledBy="report-title" onClose={onClose} className="report-dialog">
      <div className="modal-head">
        <h2 id="report-title">Report {name}</h2>
      </div>
      {state === 'sent' ? (
        <>
          <p role="status">Report sent to the operator of this server.{block ? ` ${name} is blocked.` : ''}</p>
          <button type="button" onClick={onClose} autoFocus>
            Done
          </button>
        </>
      ) : (
        <form onSubmit={submit}>
          <p id="report-explained" className="hint">
            Your chats are end-to-end encrypted: the operator of this server cannot read them. A report is the only way
            they see messages. {conversationId ? 'The messages you include' : 'Nothing from your chats'} will be
            decrypted on this device and sent to them with the report. {name} is not told.
          </p>
          {conversationId && (
            <>
              <label htmlFor="report-count">Last messages from {name} to include</label>
              <input
                id="report-count"
                type="number"
                inputMode="numeric"
                min={0}
                max={SAFETY_LIMITS.reportMessages}
                value={count}
                aria-describedby="report-explained"
                onChange={(e) =>
                  setCount(Math.max(0, Math.min(SAFETY_LIMITS.reportMessages, Math.floor(Number(e.target.value) || 0))))
                }
              />
            </>
          )}
          <label htmlFor="report-category">Reason</label>
          <select id="report-category" value={category} onChange={(e) => setCategory(e.target.value as ReportCategory)}>
            {CATEGORIES.map(([v, label]) => (
              <option key={v} value={v}>
                {label}
              </option>
            ))}
          </select>
          <label htmlFor="report-details">More details (optional)</label>
          <textarea
            id="report-details"
            rows={3}
            maxLength={SAFETY_LIMITS.reportReasonChars}
            value={details}
            onChange={(e) => setDetails(e.target.value)}
          />
          <label className="check">
            <input type="checkbox" checked={block} onChange={(e) => setBlock(e.target.checked)} /> Also block {name}
          </label>
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
          <div className="report-buttons">
            <button type="button" className="secondary" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className="danger" disabled={state === 'sending'}>
              Send report
            </button>
          </div>
        </form>
      )}
    </Modal>
  );
}
