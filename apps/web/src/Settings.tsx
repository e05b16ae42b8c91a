/**
 * Settings (C12): this account's profile (name, about, photo, all encrypted on this device before
 * the server stores them), who may see the photo, about, last seen and online status, whether
 * others can find the account by its number, its username, and logging this device out
 * (`account/Logout.tsx`). Reached from the chat list's
 * header; takes the list's place at every width.
 */
import { useEffect, useId, useState, type FormEvent } from 'react';
import type { FindByNumber, ParleyClient, Settings as PrivacySettings, Visibility } from '@parley/sdk';
import { describeError } from './errors.ts';
import { useTask } from './hooks.ts';
import { Avatar } from './contacts/Avatar.tsx';
import { makeAvatar } from './contacts/avatar-image.ts';
import { photoUrlOf } from './contacts/profiles.ts';
import { atName, bareName } from './contacts/handles.ts';
import { SoundSetting } from './chatlist/cues.tsx';
import { ExportSetting } from './export/ExportSetting.tsx';
import { RingtoneSetting } from './calls/RingtoneSetting.tsx';
import { LogoutSection } from './account/Logout.tsx';
import { LinkedDevicesSection } from './devices/LinkedDevices.tsx';
import { LinkPreviewSetting } from './linkpreview/setting.tsx';
import { DefaultTimerSetting } from './disappearing/DefaultTimerSetting.tsx';
import { NotificationSettings } from './notifications/NotificationSettings.tsx';
import { ImageKeysSetting } from './imagine/LazyImagine.tsx';
import { StatusLine } from './settings/StatusLine.tsx';

/** Most characters of a name and of an about text (each well within the encrypted-field limit). */
const NAME_MAX = 64;
const ABOUT_MAX = 140;

const VISIBILITY: { value: Visibility; label: string }[] = [
  { value: 'everyone', label: 'Everyone' },
  { value: 'contacts', label: 'My contacts' },
  { value: 'nobody', label: 'Nobody' },
];

type VisibilityKey = 'photo' | 'about' | 'lastSeen' | 'online';
const VISIBILITY_ROWS: { key: VisibilityKey; label: string }[] = [
  { key: 'photo', label: 'Who can see my profile photo' },
  { key: 'about', label: 'Who can see my about' },
  { key: 'lastSeen', label: 'Who can see my last seen' },
  { key: 'online', label: 'Who can see when I am online' },
];

/**
 * One saving action at a time for a settings section (`useTask`): busy, then the task's own status
 * line, or the error it threw in readable words.
 */
function useSave() {
  const task = useTask();
  const [status, setStatus] = useState<string | null>(null);
  const run = async (save: () => Promise<string>) => {
    setStatus(null);
    const done = await task.run(save);
    if (done !== undefined) setStatus(done);
  };
  return { ...task, status, run };
}

/** A status line that announces itself to screen readers (see `StatusLine`). */
function Status({ text, error }: { text: string | null; error: string | null }) {
  return <StatusLine text={text} error={error} />;
}

/** The settings screen. */
export function Settings({ client, onClose }: { client: ParleyClient; onClose: () => void }) {
  return (
    <section className="settings" aria-labelledby="settings-title">
      <div className="settings-head">
        <button type="button" className="back-link" onClick={onClose} aria-label="Back to chats">
          ‹ Chats
        </button>
        <h2 id="settings-title">Settings</h2>
      </div>
      <div className="settings-body">
        <ProfileSection client={client} />
        <PrivacySection client={client} />
        <UsernameSection client={client} />
        <NotificationSettings client={client} />
        <SoundSetting />
        <ExportSetting client={client} />
        <LinkedDevicesSection client={client} />
        <DefaultTimerSetting client={client} />
        <RingtoneSetting />
        <LogoutSection client={client} />
        <LinkPreviewSetting />
        <ImageKeysSetting client={client} />
      </div>
    </section>
  );
}

function ProfileSection({ client }: { client: ParleyClient }) {
  const [loaded, setLoaded] = useState(false);
  const [name, setName] = useState('');
  const [about, setAbout] = useState('');
  const [saved, setSaved] = useState<{ name: string; about: string }>({ name: '', about: '' });
  const [photoUrl, setPhotoUrl] = useState<string | undefined>();
  const { busy, status, error, setError, run } = useSave();

  useEffect(() => {
    let alive = true;
    client.ownProfile().then(
      (p) => {
        if (!alive) return;
        setName(p.name ?? '');
        setAbout(p.about ?? '');
        setSaved({ name: p.name ?? '', about: p.about ?? '' });
        if (p.photo?.length) setPhotoUrl(photoUrlOf(p.photo));
        setLoaded(true);
      },
      (e: unknown) => alive && setError(describeError(e)),
    );
    return () => {
      alive = false;
    };
  }, [client]);
  useEffect(
    () => () => {
      if (photoUrl) URL.revokeObjectURL(photoUrl);
    },
    [photoUrl],
  );

  const save = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      const n = name.trim();
      const a = about.trim();
      await client.setProfile({ name: n || null, about: a || null });
      setSaved({ name: n, about: a });
      setName(n);
      setAbout(a);
      return 'Profile saved.';
    });
  };

  const pickPhoto = (file: File | undefined) => {
    if (!file) return;
    void run(async () => {
      const bytes = await makeAvatar(file);
      await client.setProfile({ photo: bytes });
      setPhotoUrl(photoUrlOf(bytes));
      return 'Profile photo updated.';
    });
  };

  const removePhoto = () =>
    void run(async () => {
      await client.setProfile({ photo: null });
      setPhotoUrl(undefined);
      return 'Profile photo removed.';
    });

  const dirty = name.trim() !== saved.name || about.trim() !== saved.about;

  return (
    <form className="settings-card" aria-labelledby="profile-title" onSubmit={save}>
      <h3 id="profile-title">Profile</h3>
      <p className="hint">
        Encrypted on this device. Your name goes only to people you chat with; photo and about follow the privacy
        settings below.
      </p>
      <div className="profile-photo">
        <Avatar name={name || client.self.phone} photoUrl={photoUrl} alt="Your profile photo" size={96} />
        <div className="profile-photo-actions">
          <label className="button-like" htmlFor="profile-photo-input">
            Choose photo
          </label>
          <input
            id="profile-photo-input"
            className="visually-hidden"
            type="file"
            accept="image/*"
            disabled={busy}
            onChange={(e) => {
              pickPhoto(e.target.files?.[0]);
              e.target.value = '';
            }}
          />
          {photoUrl && (
            <button type="button" className="secondary" disabled={busy} onClick={removePhoto}>
              Remove photo
            </button>
          )}
        </div>
      </div>
      <label htmlFor="profile-name">Your name</label>
      <input
        id="profile-name"
        value={name}
        maxLength={NAME_MAX}
        autoComplete="name"
        onChange={(e) => setName(e.target.value)}
        disabled={!loaded}
      />
      <label htmlFor="profile-about">About</label>
      <textarea
        id="profile-about"
        value={about}
        maxLength={ABOUT_MAX}
        rows={2}
        onChange={(e) => setAbout(e.target.value)}
        disabled={!loaded}
        aria-describedby="profile-about-count"
      />
      <span id="profile-about-count" className="hint counter">
        {about.length}/{ABOUT_MAX}
      </span>
      <button type="submit" disabled={busy || !loaded || !dirty}>
        Save profile
      </button>
      <Status text={status} error={error} />
    </form>
  );
}

function PrivacySection({ client }: { client: ParleyClient }) {
  const [settings, setSettings] = useState<PrivacySettings | null>(null);
  const { busy, status, error, setError, run } = useSave();
  const id = useId();

  useEffect(() => {
    let alive = true;
    client.settings().then(
      (s) => alive && setSettings(s),
      (e: unknown) => alive && setError(describeError(e)),
    );
    return () => {
      alive = false;
    };
  }, [client]);

  const change = (changes: Partial<PrivacySettings>, label: string) =>
    run(async () => {
      setSettings(await client.settings(changes));
      return `Saved: ${label}.`;
    });

  return (
    <section className="settings-card" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Privacy</h3>
      <p className="hint">"My contacts" are people in a chat you have written in.</p>
      {VISIBILITY_ROWS.map((row) => (
        <div key={row.key} className="setting-row">
          <label htmlFor={`${id}-${row.key}`}>{row.label}</label>
          <select
            id={`${id}-${row.key}`}
            value={settings?.[row.key] ?? 'contacts'}
            disabled={!settings || busy}
            onChange={(e) =>
              void change(
                { [row.key]: e.target.value as Visibility },
                `${row.label.toLowerCase()}: ${VISIBILITY.find((v) => v.value === e.target.value)!.label.toLowerCase()}`,
              )
            }
          >
            {VISIBILITY.map((v) => (
              <option key={v.value} value={v.value}>
                {v.label}
              </option>
            ))}
          </select>
        </div>
      ))}
      <div className="setting-row">
        <label htmlFor={`${id}-find`}>Who can find me by my number</label>
        <select
          id={`${id}-find`}
          value={settings?.findByNumber ?? 'everyone'}
          disabled={!settings || busy}
          onChange={(e) =>
            void change(
              { findByNumber: e.target.value as FindByNumber },
              `who can find me by my number: ${e.target.value}`,
            )
          }
        >
          <option value="everyone">Everyone</option>
          <option value="nobody">Nobody</option>
        </select>
      </div>
      <p className="hint">
        With "Nobody", people who have your number cannot start a chat with it; share your username instead.
      </p>
      <Status text={status} error={error} />
    </section>
  );
}

function UsernameSection({ client }: { client: ParleyClient }) {
  // The server keeps only a keyed hash: the name shown is the one this device last set, from its store.
  const [current, setCurrent] = useState<string | null>(null);
  const [value, setValue] = useState('');
  useEffect(() => {
    let alive = true;
    client.username().then(
      (name) => {
        if (!alive) return;
        setCurrent(name);
        setValue((typed) => typed || (name ?? ''));
      },
      (e: unknown) => console.warn('parley username', e),
    );
    return () => {
      alive = false;
    };
  }, [client]);
  const { busy, status, error, run } = useSave();

  const save = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      const name = await client.setUsername(value);
      setCurrent(name);
      setValue(name ?? '');
      return `Your username is now ${atName(name!)}.`;
    });
  };

  const clear = () =>
    void run(async () => {
      await client.setUsername(null);
      setCurrent(null);
      setValue('');
      return 'Username removed. Nobody can find you by it any more.';
    });

  return (
    <form className="settings-card" aria-labelledby="username-title" onSubmit={save}>
      <h3 id="username-title">Username</h3>
      <p className="hint">
        People you give your username to can start a chat with you without seeing your number, and you without seeing
        theirs. The server keeps only a keyed hash of it, and nobody can search or list usernames.
      </p>
      {current && (
        <p className="current-username">
          Your username: <strong>{atName(current)}</strong>
        </p>
      )}
      <label htmlFor="username-input">Username</label>
      <input
        id="username-input"
        value={value}
        placeholder="sam.42"
        autoComplete="off"
        autoCapitalize="none"
        spellCheck={false}
        maxLength={42}
        aria-describedby="username-hint"
        onChange={(e) => setValue(e.target.value)}
      />
      <p id="username-hint" className="hint">
        A name (3–32 letters, digits or _, starting with a letter), a dot and 2–9 digits, like sam.42.
      </p>
      <div className="row-buttons">
        <button type="submit" disabled={busy || !value.trim() || bareName(value.trim()) === current}>
          Save username
        </button>
        {current && (
          <button type="button" className="secondary" disabled={busy} onClick={clear}>
            Remove username
          </button>
        )}
      </div>
      <Status text={status} error={error} />
    </form>
  );
}
