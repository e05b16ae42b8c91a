/**
 * Ambient cues while the tab is open (C15): the total unread count in the tab title ("(3) Parley")
 * and a short tone for a new incoming message; a muted chat (mute/MuteDialog.tsx) has neither. The
 * tone is made on the device with WebAudio (two sine blips, no sound file to fetch), never for this
 * account's own messages, and not for the chat on screen while the tab has focus. Whether it plays
 * is a per-device setting kept in localStorage, as is whether the title shows the count.
 */
import { useEffect, useRef, useState } from 'react';
import { isMuted, type ParleyClient } from '@parley/sdk';
import { useConversations } from '../hooks.ts';
import { useMuteExpiry } from '../mute/expiry.ts';

const SOUND_KEY = 'parley:message-sound';
const BASE_TITLE = 'Parley';
/** A burst of messages (history catching up after a reconnect) chimes once, not once per message. */
const MIN_GAP_MS = 1500;

/** Whether the new-message sound is on for this device (on unless turned off in Settings). */
export function messageSoundOn(): boolean {
  try {
    return localStorage.getItem(SOUND_KEY) !== 'off';
  } catch {
    return true;
  }
}

/** Turn the new-message sound on or off for this device. */
export function setMessageSound(on: boolean): void {
  try {
    if (on) localStorage.removeItem(SOUND_KEY);
    else localStorage.setItem(SOUND_KEY, 'off');
  } catch {
    // Storage refused (private mode): the setting lasts as long as the page.
  }
}

const TITLE_KEY = 'parley:title-count';
/** Fired on the window when the title-count setting changes, so the open page follows at once. */
const TITLE_EVENT = 'parley:title-count';

/** Whether the tab title shows the unread count on this device (on unless turned off in Settings). */
export function titleCountOn(): boolean {
  try {
    return localStorage.getItem(TITLE_KEY) !== 'off';
  } catch {
    return true;
  }
}

/** Turn the tab title's unread count on or off for this device. */
export function setTitleCount(on: boolean): void {
  try {
    if (on) localStorage.removeItem(TITLE_KEY);
    else localStorage.setItem(TITLE_KEY, 'off');
  } catch {
    // Storage refused (private mode): the setting lasts as long as the page.
  }
  window.dispatchEvent(new Event(TITLE_EVENT));
}

/** The title-count setting, following changes made elsewhere on the page (Settings). */
function useTitleCountSetting(): boolean {
  const [on, setOn] = useState(titleCountOn);
  useEffect(() => {
    const follow = () => setOn(titleCountOn());
    window.addEventListener(TITLE_EVENT, follow);
    return () => window.removeEventListener(TITLE_EVENT, follow);
  }, []);
  return on;
}

let audio: AudioContext | undefined;

/**
 * Play the new-message tone: 880 Hz then 1320 Hz, 90 ms each, with short fades so it does not
 * click. Resolves once it is scheduled; a browser that refuses audio (no user gesture yet) stays
 * silent rather than throwing.
 */
export async function playMessageTone(): Promise<void> {
  if (typeof AudioContext === 'undefined') return;
  audio ??= new AudioContext();
  if (audio.state === 'suspended') await audio.resume().catch(() => undefined);
  const ctx = audio;
  const start = ctx.currentTime + 0.01;
  [880, 1320].forEach((hz, i) => {
    const at = start + i * 0.11;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'sine';
    osc.frequency.value = hz;
    gain.gain.setValueAtTime(0, at);
    gain.gain.linearRampToValueAtTime(0.15, at + 0.01);
    gain.gain.linearRampToValueAtTime(0, at + 0.09);
    osc.connect(gain).connect(ctx.destination);
    osc.start(at);
    osc.stop(at + 0.1);
  });
}

/** The tab title for a total unread count. */
export const tabTitle = (unread: number): string => (unread > 0 ? `(${unread}) ${BASE_TITLE}` : BASE_TITLE);

/**
 * Keeps the tab title and the new-message tone current; renders nothing. `open` is the chat on
 * screen: its messages make no sound while the tab has focus, since the person is looking at it.
 */
export function AmbientCues({ client, open }: { client: ParleyClient; open: string | null }) {
  const conversations = useConversations(client);
  useMuteExpiry(conversations);
  const unread = conversations.filter((c) => c.active && !isMuted(c)).reduce((sum, c) => sum + c.unread, 0);
  const showCount = useTitleCountSetting();
  const openRef = useRef(open);
  openRef.current = open;

  useEffect(() => {
    document.title = tabTitle(showCount ? unread : 0);
  }, [unread, showCount]);
  useEffect(() => () => void (document.title = BASE_TITLE), []);

  useEffect(() => {
    let last = 0;
    return client.on('message', (m) => {
      // Not for this account's own messages, call entries, a group's system lines, or a blocked
      // member's group message (kept collapsed).
      if (m.from === client.self.accountId || m.callLog || m.system || m.fromBlocked) return;
      const conv = client.conversations().find((c) => c.id === m.conversationId);
      if (conv && isMuted(conv)) return;
      const watching =
        m.conversationId === openRef.current && document.visibilityState === 'visible' && document.hasFocus();
      if (watching || !messageSoundOn()) return;
      const now = Date.now();
      if (now - last < MIN_GAP_MS) return;
      last = now;
      void playMessageTone().catch(() => undefined);
    });
  }, [client]);
  return null;
}

/** Settings' switch for the new-message sound on this device. */
export function useMessageSoundSetting(): [boolean, (on: boolean) => void] {
  const [on, setOn] = useState(messageSoundOn);
  return [
    on,
    (next: boolean) => {
      setMessageSound(next);
      setOn(next);
    },
  ];
}

/** Settings card: the new-message sound and the tab title's unread count on this device. */
export function SoundSetting() {
  const [on, setOn] = useMessageSoundSetting();
  const [titleOn, setTitleOn] = useState(titleCountOn);
  return (
    <section className="settings-card" aria-labelledby="sound-setting-title">
      <h3 id="sound-setting-title">Notifications</h3>
      <label className="sound-setting">
        <input type="checkbox" checked={on} onChange={(e) => setOn(e.target.checked)} />
        Sound for new messages while Parley is open
      </label>
      <label className="sound-setting">
        <input
          type="checkbox"
          checked={titleOn}
          onChange={(e) => {
            setTitleCount(e.target.checked);
            setTitleOn(e.target.checked);
          }}
        />
        Show unread count in the tab title
      </label>
      <p className="hint">Kept on this device only.</p>
    </section>
  );
}
