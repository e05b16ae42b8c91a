/**
 * Settings → Notifications (C18): this device's notifications on or off (on subscribes this
 * browser to Web Push and gives the server its subscription; off deletes it), whether mentions
 * still notify in muted chats, and whether chat names show in notifications. Kept per device:
 * nothing but the subscription leaves it.
 */
import { useEffect, useState } from 'react';
import type { NotificationSettings as Prefs, ParleyClient } from '@parley/sdk';
import { describeError } from '../errors.ts';
import { pushSupported, subscribeThisDevice, unsubscribeThisDevice } from './push-setting.ts';
import { StatusLine } from '../settings/StatusLine.tsx';

/** Settings card: notifications on this device. */
export function NotificationSettings({ client }: { client: ParleyClient }) {
  const [prefs, setPrefs] = useState<Prefs | null>(null);
  const [subscribed, setSubscribed] = useState<boolean | null>(null);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const supported = pushSupported();

  useEffect(() => {
    let alive = true;
    void client.notificationSettings().then((p) => alive && setPrefs(p));
    client.pushState().then(
      (s) => alive && setSubscribed(s.subscribed),
      () => alive && setSubscribed(false),
    );
    return () => {
      alive = false;
    };
  }, [client]);

  const change = async (next: Partial<Prefs>, work?: () => Promise<void>, done?: string) => {
    setBusy(true);
    setError(null);
    setStatus(null);
    // Shown at once; the stored value follows (and wins) once saved.
    setPrefs((p) => (p ? { ...p, ...next } : p));
    try {
      await work?.();
      setPrefs(await client.setNotificationSettings(next));
      if (done) setStatus(done);
    } catch (e) {
      setPrefs(await client.notificationSettings());
      setError(e instanceof Error && !('code' in e) ? e.message : describeError(e));
    } finally {
      setBusy(false);
    }
  };

  const toggleDevice = (on: boolean) =>
    void change(
      { enabled: on },
      async () => {
        if (on) await subscribeThisDevice(client);
        else await unsubscribeThisDevice(client);
        setSubscribed(on);
      },
      on ? 'Notifications are on for this device.' : 'Notifications are off for this device.',
    );

  return (
    <section className="settings-card" aria-labelledby="notification-settings-title">
      <h3 id="notification-settings-title">Push notifications</h3>
      <label className="sound-setting">
        <input
          type="checkbox"
          checked={Boolean(prefs?.enabled && subscribed)}
          disabled={busy || !prefs || subscribed === null || !supported}
          aria-describedby="notification-settings-hint"
          onChange={(e) => toggleDevice(e.target.checked)}
        />
        Notifications on this device
      </label>
      <label className="sound-setting">
        <input
          type="checkbox"
          checked={prefs?.mentions ?? true}
          disabled={busy || !prefs}
          onChange={(e) => void change({ mentions: e.target.checked })}
        />
        Mentions still notify in muted chats
      </label>
      <label className="sound-setting">
        <input
          type="checkbox"
          checked={prefs?.showNames ?? true}
          disabled={busy || !prefs}
          onChange={(e) => void change({ showNames: e.target.checked })}
        />
        Show chat names in notifications
      </label>
      <p className="hint" id="notification-settings-hint">
        {supported
          ? 'While Parley is closed, the server wakes this browser through its push service with no message content; this device then shows “New message” and the chat name as you see it. Muted chats stay silent.'
          : 'This browser cannot receive notifications.'}
      </p>
      <StatusLine text={status} error={error} />
    </section>
  );
}
