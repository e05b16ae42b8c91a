/**
 * Disappearing messages (C17, docs/disappearing.md): "Disappearing messages…" in a chat's "More
 * options" menu (1:1 chats and groups) opens a dialog: Off, 24 hours, 7 days, 90 days or Custom (a
 * number and a unit, 5 seconds to 1 year). The SDK sends the choice end-to-end encrypted to every
 * member's devices, which each show the system line; the chat header shows a timer mark while one
 * is set, and messages leave the screen when they expire (the SDK's `message-removed`).
 */
import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { checkTimer, timerLabel, timerShort, type LocalConversation, type ParleyClient } from '@parley/sdk';
import { TIMER_PRESETS } from '@parley/protocol';
import type { MenuAction } from '../OverflowMenu.tsx';
import { Modal } from '../safety/SafetyNumber.tsx';
import { useFocusTrap } from '../calls/focus-trap.ts';
import { describeError } from '../errors.ts';
import './disappearing.css';

/** The units the custom field offers, in seconds. */
const UNITS: { label: string; seconds: number }[] = [
  { label: 'seconds', seconds: 1 },
  { label: 'minutes', seconds: 60 },
  { label: 'hours', seconds: 3600 },
  { label: 'days', seconds: 86400 },
];

/** A stopwatch: the timer mark's icon. */
export function TimerIcon() {
  return (
    <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" focusable="false">
      <path
        fill="currentColor"
        d="M15 1H9v2h6V1zm-4 13h2V8h-2v6zm8.03-6.61 1.42-1.42c-.43-.51-.9-.99-1.41-1.41l-1.42 1.42A8.962 8.962 0 0 0 12 4c-4.97 0-9 4.03-9 9s4.02 9 9 9 9-4.03 9-9c0-2.12-.74-4.07-1.97-5.61zM12 20c-3.87 0-7-3.13-7-7s3.13-7 7-7 7 3.13 7 7-3.13 7-7 7z"
      />
    </svg>
  );
}

/** The chat header's mark while a timer is set (an image named after the timer), else nothing. */
export function TimerMark({ conv }: { conv: LocalConversation }) {
  if (!conv.timer) return null;
  const label = `Disappearing messages: ${timerLabel(conv.timer)}`;
  return (
    <span className="timer-mark" role="img" aria-label={label} title={label}>
      <TimerIcon />
      <span aria-hidden="true">{timerShort(conv.timer)}</span>
    </span>
  );
}

/** The largest unit that divides `seconds` evenly, for showing a custom timer in the form. */
function customParts(seconds: number | null): { amount: string; unit: number } {
  if (!seconds) return { amount: '1', unit: 3600 };
  const unit = [...UNITS].reverse().find((u) => seconds % u.seconds === 0)!;
  return { amount: String(seconds / unit.seconds), unit: unit.seconds };
}

/** The dialog choosing a chat's timer; `current` is its timer now (null: off). */
function TimerDialog({
  current,
  onChoose,
  onClose,
}: {
  current: number | null;
  onChoose: (seconds: number | null) => Promise<void>;
  onClose: () => void;
}) {
  const id = useId();
  const body = useRef<HTMLDivElement>(null);
  useFocusTrap(body);
  const opener = useRef(document.activeElement as HTMLElement | null);
  useEffect(() => () => void (opener.current?.isConnected && opener.current.focus()), []);
  const preset = current === null || (TIMER_PRESETS as readonly number[]).includes(current);
  const [choice, setChoice] = useState<string>(current === null ? 'off' : preset ? String(current) : 'custom');
  const initial = customParts(preset ? null : current);
  const [amount, setAmount] = useState(initial.amount);
  const [unit, setUnit] = useState(initial.unit);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const options: { value: string; label: string }[] = [
    { value: 'off', label: 'Off' },
    ...TIMER_PRESETS.map((s) => ({ value: String(s), label: timerLabel(s) })),
    { value: 'custom', label: 'Custom' },
  ];
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    let seconds: number | null;
    if (choice === 'off') seconds = null;
    else if (choice === 'custom') seconds = Number(amount) * unit;
    else seconds = Number(choice);
    try {
      checkTimer(seconds);
      setBusy(true);
      await onChoose(seconds);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal labelledBy={`${id}-title`} onClose={onClose} className="timer-dialog">
      <div ref={body}>
        <form onSubmit={(e) => void submit(e)}>
          <div className="modal-head">
            <h2 id={`${id}-title`}>Disappearing messages</h2>
          </div>
          <p id={`${id}-hint`} className="hint">
            New messages in this chat disappear for everyone this long after they are sent. Any member can change it,
            and everyone sees who did.
          </p>
          <fieldset className="timer-choices" aria-describedby={`${id}-hint`}>
            <legend className="visually-hidden">Messages disappear after</legend>
            {options.map((o) => (
              <label key={o.value} className="timer-choice">
                <input
                  type="radio"
                  name={`${id}-timer`}
                  value={o.value}
                  checked={choice === o.value}
                  autoFocus={choice === o.value}
                  onChange={() => setChoice(o.value)}
                />
                {o.label}
              </label>
            ))}
          </fieldset>
          {choice === 'custom' && (
            <div className="timer-custom">
              <label>
                <span className="visually-hidden">Custom duration</span>
                <input
                  type="number"
                  inputMode="numeric"
                  min={1}
                  step={1}
                  required
                  value={amount}
                  aria-label="Custom duration"
                  onChange={(e) => setAmount(e.target.value)}
                />
              </label>
              <select aria-label="Unit" value={unit} onChange={(e) => setUnit(Number(e.target.value))}>
                {UNITS.map((u) => (
                  <option key={u.seconds} value={u.seconds}>
                    {u.label}
                  </option>
                ))}
              </select>
            </div>
          )}
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
          <div className="timer-actions">
            <button type="button" className="secondary" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" disabled={busy}>
              Save
            </button>
          </div>
        </form>
      </div>
    </Modal>
  );
}

/**
 * The "Disappearing messages…" item for a chat's menu and the dialog it opens: render `dialog`
 * once, where the menu is.
 */
export function useTimerMenu(
  client: ParleyClient,
  onError: (message: string) => void,
): { actions: (conv: LocalConversation) => MenuAction[]; dialog: ReactNode } {
  const [asking, setAsking] = useState<LocalConversation | null>(null);
  const actions = (conv: LocalConversation): MenuAction[] =>
    conv.active ? [{ label: 'Disappearing messages…', onSelect: () => setAsking(conv) }] : [];
  const dialog = asking && (
    <TimerDialog
      current={asking.timer ?? null}
      onClose={() => setAsking(null)}
      onChoose={async (seconds) => {
        await client.setTimer(asking.id, seconds).catch((e: unknown) => {
          onError(describeError(e));
          throw e;
        });
        setAsking(null);
      }}
    />
  );
  return { actions, dialog };
}
