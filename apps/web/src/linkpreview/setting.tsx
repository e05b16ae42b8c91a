/**
 * Settings → "Generate link previews" (C15): whether this device fetches a link's page to make a
 * preview while a message is written. On unless turned off; kept in localStorage
 * (`parley:link-previews` = `off`) on this device only.
 */
import { useState } from 'react';

const KEY = 'parley:link-previews';

/** Whether this device makes link previews. */
export function linkPreviewsOn(): boolean {
  try {
    return localStorage.getItem(KEY) !== 'off';
  } catch {
    return true;
  }
}

function setLinkPreviews(on: boolean): void {
  try {
    if (on) localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, 'off');
  } catch {
    // Storage refused: the choice lasts for this page only.
  }
}

/** Settings card: the link-preview switch. */
export function LinkPreviewSetting() {
  const [on, setOn] = useState(linkPreviewsOn);
  return (
    <section className="settings-card" aria-labelledby="link-preview-setting-title">
      <h3 id="link-preview-setting-title">Link previews</h3>
      <label className="sound-setting">
        <input
          type="checkbox"
          checked={on}
          aria-describedby="link-preview-setting-hint"
          onChange={(e) => {
            setLinkPreviews(e.target.checked);
            setOn(e.target.checked);
          }}
        />
        Generate link previews
      </label>
      <p className="hint" id="link-preview-setting-hint">
        While you write a link, this device fetches the page to show its title and picture in your message. The site
        sees your IP address; most sites do not allow it, and then no preview is sent. Kept on this device only.
      </p>
    </section>
  );
}
