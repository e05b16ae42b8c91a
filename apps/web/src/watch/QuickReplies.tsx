/**
 * Quick replies on the watch (C15): a short list of canned lines and a row of emoji, each sent
 * with one tap, since typing is not something a watch is for.
 */
import { useState } from 'react';
import { QUICK_EMOJI, QUICK_REPLIES } from './words.ts';

/** The choices; `onSend` sends one (and closes the panel once sent). */
export function QuickReplies({ onSend, onClose }: { onSend: (text: string) => Promise<void>; onClose: () => void }) {
  const [busy, setBusy] = useState(false);
  const send = (text: string) => {
    setBusy(true);
    void onSend(text).finally(() => setBusy(false));
  };
  return (
    <div className="watch-scroll watch-panel" role="group" aria-label="Quick replies">
      <ul className="watch-choices">
        {QUICK_REPLIES.map((text, i) => (
          <li key={text}>
            <button type="button" className="watch-wide" disabled={busy} autoFocus={i === 0} onClick={() => send(text)}>
              {text}
            </button>
          </li>
        ))}
      </ul>
      <ul className="watch-emoji">
        {QUICK_EMOJI.map((e) => (
          <li key={e}>
            <button type="button" disabled={busy} onClick={() => send(e)} aria-label={`Send ${e}`}>
              {e}
            </button>
          </li>
        ))}
      </ul>
      <button type="button" className="watch-wide ghost-button" onClick={onClose}>
        Cancel
      </button>
    </div>
  );
}
