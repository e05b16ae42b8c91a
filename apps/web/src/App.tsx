/**
 * The web client shell (C15): registration until the device has an account, then the chat list
 * and the open chat side by side on desktop, one at a time on phones. "Settings" (profile,
 * privacy, username; C12) takes the list's place until "Back to chats". A watch-sized screen, or
 * `/watch`, gets the watch layout instead (`watch/`).
 */
import { Suspense, lazy, useEffect, useRef, useState } from 'react';
import type { ParleyClient } from '@parley/sdk';
import { Register } from './Register.tsx';
import { ChatList } from './ChatList.tsx';
import { ChatView } from './ChatView.tsx';
import { useConnectionView } from './connection.ts';
import { CallScreens } from './calls/CallScreens.tsx';
import { Settings } from './Settings.tsx';
import { trustStore } from './contacts/trust.ts';
import { SettingsIcon } from './media/icons.tsx';
import { describeError } from './errors.ts';
import { AmbientCues } from './chatlist/cues.tsx';
import type { MessageTarget } from './search/jump.ts';
import { useWatchLayout } from './watch/layout.ts';

/** The watch layout (C15) loads only on a watch-sized screen or at /watch. */
const WatchApp = lazy(() => import('./watch/WatchApp.tsx'));
import { useNotificationIntents } from './notifications/intents.ts';
import { Unlinked, useRevoked } from './devices/Unlinked.tsx';
import { useLinkHistoryResume } from './devices/resume.ts';

/** Root component. */
export function App({ client }: { client: ParleyClient }) {
  const [registered, setRegistered] = useState(client.registered);
  const [open, setOpen] = useState<string | null>(null);
  // A search result to show in the open chat; `seq` (never reused) tells a repeated choice apart.
  const [target, setTarget] = useState<MessageTarget | undefined>();
  const targetSeq = useRef(0);
  const [error, setError] = useState<string | null>(null);
  const [settings, setSettings] = useState(false);
  const connection = useConnectionView(client, registered);
  const watch = useWatchLayout();
  const revoked = useRevoked(client);
  useLinkHistoryResume(client, registered);
  // Notification clicks (C18): open the chat (with the composer for "Reply") or mark it read.
  useNotificationIntents(client, registered, (id) => {
    setSettings(false);
    setTarget(undefined);
    setOpen(id);
  });

  useEffect(() => {
    if (!registered) return;
    // Safety-number warnings are events: listen before anything can emit one.
    trustStore(client);
    // A server that cannot be reached within the connect deadline is reported; the client keeps
    // trying in the background, and the report goes once the connection is up.
    client.connect().catch((e: unknown) => setError(describeError(e)));
    const offReady = client.on('connection', (state) => {
      if (state === 'ready') setError(null);
    });
    const off = client.on('error', (e) => console.warn('parley', e.context, e.error));
    return () => {
      off();
      offReady();
    };
  }, [client, registered]);

  if (revoked) return <Unlinked client={client} />;
  if (!registered) return <Register client={client} onDone={() => setRegistered(true)} />;
  if (watch)
    return (
      <Suspense fallback={<p role="status">Loading…</p>}>
        <WatchApp client={client} connection={connection} error={error} />
      </Suspense>
    );

  return (
    <div className={`app ${open ? 'chat-open' : ''}`}>
      {open && (
        // The first stop for a keyboard: straight past the chat list and the header to the message box.
        <a
          className="skip-link"
          href="#composer"
          onClick={(e) => {
            e.preventDefault();
            document.getElementById('composer')?.focus();
          }}
        >
          Skip to message composer
        </a>
      )}
      <aside className="sidebar">
        <header className="sidebar-head">
          <h1>Parley</h1>
          <span className={`conn conn-${connection}`} role="status" aria-label={`Connection: ${connection}`}>
            {connection === 'connecting' ? 'connecting…' : connection}
          </span>
          {!settings && (
            <button
              type="button"
              className="head-button"
              onClick={() => setSettings(true)}
              aria-label="Settings"
              title="Settings: profile, privacy and username"
            >
              <SettingsIcon />
            </button>
          )}
        </header>
        {settings ? (
          <Settings client={client} onClose={() => setSettings(false)} />
        ) : (
          <>
            <p className="me">You: {client.self.phone}</p>
            {error && (
              <p className="error" role="alert">
                {error}
              </p>
            )}
            <ChatList
              client={client}
              selected={open}
              onSelect={(id) => {
                setTarget(undefined);
                setOpen(id);
              }}
              onOpenMessage={(id, messageId) => {
                setTarget({ messageId, seq: ++targetSeq.current });
                setOpen(id);
              }}
            />
          </>
        )}
      </aside>
      <main className="main">
        {open ? (
          <ChatView
            key={open}
            client={client}
            conversationId={open}
            connection={connection}
            target={target}
            onBack={() => setOpen(null)}
          />
        ) : (
          <div className="empty">Pick a chat or start a new one.</div>
        )}
      </main>
      <CallScreens client={client} />
      <AmbientCues client={client} open={open} />
    </div>
  );
}
