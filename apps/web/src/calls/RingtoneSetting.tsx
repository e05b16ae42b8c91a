/** Settings card for calls on this device (C6, C15): whether incoming calls ring. */
import { useState } from 'react';
import { ringtoneOn, setRingtone } from './ringtone.ts';

/** The ringtone switch; kept in localStorage, like the new-message sound. */
export function RingtoneSetting() {
  const [on, setOn] = useState(ringtoneOn);
  return (
    <section className="settings-card" aria-labelledby="ringtone-setting-title">
      <h3 id="ringtone-setting-title">Calls</h3>
      <label className="sound-setting">
        <input
          type="checkbox"
          checked={on}
          onChange={(e) => {
            setRingtone(e.target.checked);
            setOn(e.target.checked);
          }}
        />
        Ringtone for incoming calls
      </label>
      <p className="hint">Kept on this device only.</p>
    </section>
  );
}
