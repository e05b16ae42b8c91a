/**
 * The call screen (C6, C7), over the whole app on phones and desktops: an outgoing call with its
 * state and running duration, an incoming call to accept or decline, mute and camera controls,
 * the remote video and this device's preview (either one large, or side by side), and, when
 * nobody answered, the prompt to leave a voice or video message tied to the call. The screen says
 * the call is end-to-end encrypted, and "Minimise" turns a call into a small floating bar (name,
 * duration, mute, hang up, return to call) so the person can keep chatting: the remote audio
 * element lives outside both forms, so sound carries on unbroken, and so does the call itself.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ParleyClient } from '@parley/sdk';
import { describeError, describeRecordingError } from '../errors.ts';
import { useNames } from '../hooks.ts';
import { rememberSentMedia } from '../media/blobs.ts';
import { VideoPreview } from '../media/VideoPreview.tsx';
import { MIN_NOTE_MS, clock, type NoteKind } from '../media/recorder.ts';
import { NoteRecorder, noteMediaInput } from '../media/note-recorder.ts';
import { useCallScreen, type CallController, type CallView, type MessageView } from './controller.ts';
import { useFocusTrap } from './focus-trap.ts';
import { useProfile } from '../contacts/profiles.ts';
import { Avatar } from '../contacts/Avatar.tsx';
import { LockIcon } from '../media/icons.tsx';
import './call-extras.css';

const noun = (media: 'audio' | 'video') => (media === 'video' ? 'video' : 'voice');

/** What the call is doing, in words. */
function stateText(view: CallView, now: number): string {
  const { call } = view;
  switch (view.state) {
    case 'ringing':
      if (call.direction === 'incoming') return `Incoming ${noun(call.media)} call`;
      return call.ringingDevices.length ? 'Ringing…' : 'Calling…';
    case 'accepted':
      return 'Connecting…';
    case 'connected':
      return `Connected · ${clock(now - (call.connectedAt ?? now))}`;
    default:
      return 'Call ended';
  }
}

/** Plays a stream in a `<video>` or `<audio>` element; `srcObject` is not a React prop. */
function useStream<T extends HTMLMediaElement>(
  stream: MediaStream | null,
  kind: 'audio' | 'video',
  version: string,
): React.RefObject<T | null> {
  const ref = useRef<T>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const tracks = stream ? (kind === 'audio' ? stream.getAudioTracks() : stream.getVideoTracks()) : [];
    // A fresh stream per track set: elements do not reliably pick up tracks added later.
    el.srcObject = tracks.length ? new MediaStream(tracks) : null;
    if (tracks.length) void el.play().catch(() => undefined);
  }, [stream, kind, version]);
  return ref;
}

/** The call screen, mounted once by the app. */
export function CallOverlay({ client }: { client: ParleyClient }) {
  const [screen, controller] = useCallScreen(client);
  const peer = screen?.kind === 'call' ? screen.call.peerAccount : screen?.peerAccount;
  const names = useNames(client, peer ? [peer] : []);
  const photoUrl = useProfile(client, peer)?.photoUrl;
  if (!screen) return null;
  const name = names[peer!] ?? 'Contact';
  return screen.kind === 'call' ? (
    <CallSession view={screen} controller={controller} name={name} photoUrl={photoUrl} />
  ) : (
    <MessagePrompt view={screen} controller={controller} name={name} photoUrl={photoUrl} />
  );
}

/** The other person's photo (or initials) above their name. */
function CallAvatar({ name, photoUrl }: { name: string; photoUrl: string | undefined }) {
  return (
    <div className="call-avatar">
      <Avatar name={name} photoUrl={photoUrl} alt={photoUrl ? `Profile photo of ${name}` : ''} size={96} />
    </div>
  );
}

/** The visible keyboard hint: what Escape does here. */
function EscapeHint({ does }: { does: string }) {
  return <p className="call-hint">Press Esc to {does}</p>;
}

/**
 * One call, full screen or minimised. The remote audio plays from here, outside both forms, so
 * switching between them never interrupts what the person hears.
 */
function CallSession({
  view,
  controller,
  name,
  photoUrl,
}: {
  view: CallView;
  controller: CallController;
  name: string;
  photoUrl: string | undefined;
}) {
  const remoteVersion = view.remote
    .getTracks()
    .map((t) => t.id)
    .join(',');
  const audio = useStream<HTMLAudioElement>(view.remote, 'audio', remoteVersion);
  // A ringing call is never minimised: it needs an answer first.
  const mini = view.minimised && !(view.call.direction === 'incoming' && view.state === 'ringing');
  return (
    <>
      <audio ref={audio} className="call-remote-audio" autoPlay />
      {mini ? (
        <MiniCall view={view} controller={controller} name={name} remoteVersion={remoteVersion} />
      ) : (
        <CallScreenView view={view} controller={controller} name={name} photoUrl={photoUrl} />
      )}
    </>
  );
}

/** The running state, ticking once a second while connected. */
function useNow(view: CallView): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (view.state !== 'connected') return undefined;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [view.state]);
  return now;
}

/** The minimised call: a floating bar over the app while the person chats. */
function MiniCall({
  view,
  controller,
  name,
  remoteVersion,
}: {
  view: CallView;
  controller: CallController;
  name: string;
  remoteVersion: string;
}) {
  const now = useNow(view);
  const { call } = view;
  const video = call.media === 'video';
  const remoteVideo = useStream<HTMLVideoElement>(view.remote, 'video', remoteVersion);
  const [error, setError] = useState<string | null>(null);
  // Room at the end of the history, so the bar never hides the newest message.
  useEffect(() => {
    document.body.classList.add('call-minimised');
    return () => document.body.classList.remove('call-minimised');
  }, []);
  return (
    <div className="call-mini" role="region" aria-label={`Call with ${name}`}>
      {video && (
        <video
          ref={remoteVideo}
          className="call-mini-video"
          autoPlay
          playsInline
          muted
          aria-label={`Video of ${name}`}
        />
      )}
      <div className="call-mini-info">
        <span className="call-mini-name">{name}</span>
        <span className="call-mini-state" role="timer">
          {stateText(view, now)}
        </span>
        {error && (
          <span className="error" role="alert">
            {error}
          </span>
        )}
      </div>
      <div className="call-mini-controls">
        <button type="button" className={view.muted ? 'on' : ''} onClick={() => controller.setMuted(!view.muted)}>
          {view.muted ? 'Unmute' : 'Mute'}
        </button>
        <button
          type="button"
          className="call-hangup"
          onClick={() => void call.hangUp().catch((e: unknown) => setError(describeError(e)))}
        >
          Hang up
        </button>
        <button type="button" className="call-mini-return" onClick={() => controller.setMinimised(false)}>
          Return to call
        </button>
      </div>
    </div>
  );
}

function CallScreenView({
  view,
  controller,
  name,
  photoUrl,
}: {
  view: CallView;
  controller: CallController;
  name: string;
  photoUrl: string | undefined;
}) {
  const { call } = view;
  const now = useNow(view);
  const [grid, setGrid] = useState(false);
  const [selfLarge, setSelfLarge] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const video = call.media === 'video';
  const remoteVersion = view.remote
    .getTracks()
    .map((t) => t.id)
    .join(',');
  const localVersion =
    view.local
      ?.getTracks()
      .map((t) => t.id)
      .join(',') ?? '';
  const remoteVideo = useStream<HTMLVideoElement>(view.remote, 'video', remoteVersion);
  const localVideo = useStream<HTMLVideoElement>(view.local, 'video', localVersion);

  const act = (fn: () => Promise<unknown>) => {
    setError(null);
    void fn().catch((e) => setError(describeError(e)));
  };
  const incoming = call.direction === 'incoming' && view.state === 'ringing';
  const label = incoming
    ? `Incoming ${noun(call.media)} call from ${name}`
    : `${video ? 'Video' : 'Voice'} call with ${name}`;
  const layout = grid ? 'grid' : selfLarge ? 'speaker self-large' : 'speaker';
  const root = useRef<HTMLDivElement>(null);
  // Escape does what the hint under the buttons says: decline a ringing call, else hang up.
  useFocusTrap(root, () => act(() => (incoming ? call.decline() : call.hangUp())));
  const showFaces = !video || incoming;

  return (
    <div
      ref={root}
      className={`call-screen ${video ? 'call-video' : 'call-voice'}`}
      role="dialog"
      aria-modal="true"
      aria-label={label}
    >
      <div className="call-info">
        {showFaces && <CallAvatar name={name} photoUrl={photoUrl} />}
        <h2 className="call-name">{name}</h2>
        <p className="call-state" role="status">
          {stateText(view, now)}
        </p>
        <p className="call-e2e">
          <LockIcon /> End-to-end encrypted
        </p>
      </div>
      {video && !incoming && (
        <div className={`call-stage ${layout}`}>
          <video
            ref={remoteVideo}
            className="call-remote-video"
            autoPlay
            playsInline
            muted
            aria-label={`Video of ${name}`}
          />
          <video ref={localVideo} className="call-local-video" autoPlay playsInline muted aria-label="Your camera" />
          {!grid && (
            <button
              type="button"
              className="call-swap"
              onClick={() => setSelfLarge((s) => !s)}
              aria-label="Swap videos"
            />
          )}
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="call-controls">
        {incoming ? (
          <>
            <button
              type="button"
              className="call-decline"
              aria-keyshortcuts="Escape"
              onClick={() => act(() => call.decline())}
            >
              Decline
            </button>
            <button type="button" className="call-accept" autoFocus onClick={() => act(() => call.accept())}>
              Accept
            </button>
          </>
        ) : (
          <>
            {/* The label says what a press does ("Unmute"), so no aria-pressed on top of it. */}
            <button type="button" className={view.muted ? 'on' : ''} onClick={() => controller.setMuted(!view.muted)}>
              {view.muted ? 'Unmute' : 'Mute'}
            </button>
            {video && (
              <button
                type="button"
                className={view.cameraOff ? 'on' : ''}
                onClick={() => controller.setCameraOff(!view.cameraOff)}
              >
                {view.cameraOff ? 'Turn camera on' : 'Turn camera off'}
              </button>
            )}
            {video && (
              <button type="button" onClick={() => setGrid((g) => !g)}>
                {grid ? 'Speaker view' : 'Grid view'}
              </button>
            )}
            <button type="button" onClick={() => controller.setMinimised(true)} title="Keep chatting during the call">
              Minimise
            </button>
            <button
              type="button"
              className="call-hangup"
              autoFocus
              aria-keyshortcuts="Escape"
              onClick={() => act(() => call.hangUp())}
            >
              Hang up
            </button>
          </>
        )}
      </div>
      <EscapeHint does={incoming ? 'decline' : 'hang up'} />
    </div>
  );
}

const PROMPT_TITLES: Record<string, string> = {
  missed: 'No answer',
  declined: 'Call declined',
  busy: 'Busy on another call',
  unavailable: 'Not reachable right now',
};

function MessagePrompt({
  view,
  controller,
  name,
  photoUrl,
}: {
  view: MessageView;
  controller: CallController;
  name: string;
  photoUrl: string | undefined;
}) {
  const title = view.state ? (PROMPT_TITLES[view.state] ?? 'Call ended') : `Missed ${noun(view.media)} call`;
  const root = useRef<HTMLDivElement>(null);
  // Escape steps back: out of a recording to the prompt, out of the prompt to the chat.
  useFocusTrap(root, () => (view.recording ? controller.record(undefined) : controller.close()));
  return (
    <div
      ref={root}
      className="call-screen call-prompt"
      role="dialog"
      aria-modal="true"
      aria-label={`Leave ${name} a message`}
    >
      <div className="call-info">
        {!view.recording && <CallAvatar name={name} photoUrl={photoUrl} />}
        <h2 className="call-name">{name}</h2>
        <p className="call-state" role="status">
          {title}
        </p>
      </div>
      {view.recording ? (
        <MessageRecorder
          key={view.recording}
          client={controller.client}
          view={view}
          kind={view.recording}
          onDone={() => controller.close()}
          onCancel={() => controller.record(undefined)}
        />
      ) : (
        <div className="call-controls call-prompt-actions">
          <button type="button" autoFocus onClick={() => controller.record('voice')}>
            Leave a voice message
          </button>
          <button type="button" className="call-leave-video" onClick={() => controller.record('video')}>
            Leave a video message
          </button>
          <button type="button" className="ghost-button" aria-keyshortcuts="Escape" onClick={() => controller.close()}>
            Close
          </button>
        </div>
      )}
      <EscapeHint does={view.recording ? 'cancel the recording' : 'close'} />
    </div>
  );
}

/** Records a voice or video message for the call and sends it with the call's id. */
function MessageRecorder({
  client,
  view,
  kind,
  onDone,
  onCancel,
}: {
  client: ParleyClient;
  view: MessageView;
  kind: NoteKind;
  onDone: () => void;
  onCancel: () => void;
}) {
  const [recorder, setRecorder] = useState<NoteRecorder | null>(null);
  const [elapsed, setElapsed] = useState(0);
  const [phase, setPhase] = useState<'starting' | 'recording' | 'sending'>('starting');
  const [error, setError] = useState<string | null>(null);
  const active = useRef<NoteRecorder | null>(null);

  useEffect(() => {
    let alive = true;
    NoteRecorder.start(kind).then(
      (r) => {
        if (!alive) return r.cancel();
        active.current = r;
        setRecorder(r);
        setPhase('recording');
      },
      (e: unknown) => alive && setError(describeRecordingError(e, kind)),
    );
    return () => {
      alive = false;
      active.current?.cancel();
      active.current = null;
    };
  }, [kind]);

  useEffect(() => {
    if (!recorder) return undefined;
    const timer = setInterval(() => setElapsed(recorder.elapsedMs), 200);
    return () => clearInterval(timer);
  }, [recorder]);

  const send = useCallback(async () => {
    const r = active.current;
    if (!r) return;
    active.current = null;
    setPhase('sending');
    try {
      const note = await r.stop();
      if (note.elapsedMs < MIN_NOTE_MS) throw new Error('That was too short to send. Record a little longer.');
      const input = await noteMediaInput(note, { callId: view.callId });
      const sent = await client.sendMedia(view.conversationId, input);
      rememberSentMedia(sent, input, note.blob);
      onDone();
    } catch (e) {
      // The recording is gone: Cancel leads back to the prompt, to record again.
      setError(describeError(e));
      setRecorder(null);
      setPhase('recording');
    }
  }, [client, view, onDone]);

  const what = kind === 'voice' ? 'voice message' : 'video message';
  return (
    <div className="call-recording">
      {kind === 'video' && <VideoPreview stream={recorder?.stream ?? null} />}
      <div className="recording-status" role="timer" aria-label={`Recording ${what}, ${clock(elapsed)}`}>
        <span className="rec-dot" aria-hidden="true" />
        <span>{phase === 'starting' ? 'Starting…' : phase === 'sending' ? 'Sending…' : clock(elapsed)}</span>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="call-controls">
        <button
          type="button"
          className="ghost-button"
          aria-keyshortcuts="Escape"
          onClick={onCancel}
          disabled={phase === 'sending'}
        >
          Cancel
        </button>
        <button type="button" onClick={() => void send()} disabled={phase !== 'recording' || !recorder}>
          {kind === 'voice' ? 'Send voice message' : 'Send video message'}
        </button>
      </div>
    </div>
  );
}
