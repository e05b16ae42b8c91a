/**
 * Settings → "Disappearing messages" (C17): the timer chats this device creates start with (Off,
 * 24 hours, 7 days, 90 days; a custom default set elsewhere, by the CLI, is shown as it is). Kept in
 * the device store by the SDK (`setDefaultTimer`), never sent anywhere.
 */
import { useEffect, useState } from 'react';
import { timerLabel, type ParleyClient } from '@parley/sdk';
import { TIMER_PRESETS } from '@parley/protocol';
import { describeError } from '../errors.ts';
import { StatusLine } from '../settings/StatusLine.tsx';

/** Settings card: the default timer for new chats. */
export function DefaultTimerSetting({ client }: { client: ParleyClient }) {
  const [value, setValue] = useState<number | null | undefined>(undefined);
  const [status, setStatus] = useState<{ text: string; error: boolean } | null>(null);
  useEffect(() => {
    void client.defaultTimer().then(setValue, () => setValue(null));
  }, [client]);
  const choices = [...TIMER_PRESETS] as number[];
  if (value && !choices.includes(value)) choices.push(value);
  return (
    <section className="settings-card" aria-labelledby="default-timer-title">
      <h3 id="default-timer-title">Disappearing messages</h3>
      <label className="default-timer">
        Default timer for new chats
        <select
          value={value === undefined ? '' : String(value ?? 'off')}
          disabled={value === undefined}
          aria-describedby="default-timer-hint"
          onChange={(e) => {
            const next = e.target.value === 'off' ? null : Number(e.target.value);
            setStatus(null);
            client.setDefaultTimer(next).then(
              () => {
                setValue(next);
                setStatus({
                  text: next ? `New chats start with ${timerLabel(next)}.` : 'New chats start with it off.',
                  error: false,
                });
              },
              (err: unknown) => setStatus({ text: describeError(err), error: true }),
            );
          }}
        >
          <option value="off">Off</option>
          {choices.map((s) => (
            <option key={s} value={String(s)}>
              {timerLabel(s)}
            </option>
          ))}
        </select>
      </label>
      <p className="hint" id="default-timer-hint">
        Chats you start on this device get this timer; their messages disappear for everyone that long after they are
        sent. Chats you already have keep theirs. Kept on this device only.
      </p>
      <StatusLine
        text={status?.error ? null : status?.text}
        error={status?.error ? status.text : null}
        className="hint"
      />
    </section>
  );
}
