/**
 * The voice/video chat screen of a group (C6, C8): one tile per participant (name, muted state,
 * camera), the dominant speaker's tile highlighted and announced as "Speaking", controls to mute,
 * turn the camera on or off, switch between grid and speaker view and leave, and live reactions:
 * "React" sends an emoji to whoever is speaking now, "React to…" (or a long press on "React") lets
 * the user pick the participant. Reactions float on their target's tile and are listed in the
 * "Reactions" log for screen readers.
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';
import type { DeviceRef, GroupParticipant, ParleyClient } from '@parley/sdk';
import { useNames } from '../../hooks.ts';
import { describeError } from '../../errors.ts';
import { useProfiles } from '../../contacts/profiles.ts';
import { initialsOf } from '../../contacts/initials.ts';
import { PersonIcon } from '../../media/icons.tsx';
import {
  REACTION_SHOWN_MS,
  groupCalls,
  useGroupCall,
  type GroupCallSnapshot,
  type ShownReaction,
} from './controller.ts';

/** The emoji the picker offers. */
export const REACTION_EMOJI = ['👍', '👏', '😂', '❤️', '😮', '🎉'] as const;
const LONG_PRESS_MS = 500;

function MediaElement({ stream, kind, label }: { stream: MediaStream; kind: 'audio' | 'video'; label: string }) {
  const ref = useRef<HTMLVideoElement & HTMLAudioElement>(null);
  useEffect(() => {
    if (ref.current && ref.current.srcObject !== stream) ref.current.srcObject = stream;
  }, [stream]);
  // Remote audio plays through <audio>; video elements stay muted so nothing plays twice.
  return kind === 'audio' ? (
    <audio ref={ref} autoPlay aria-label={label} data-participant={label} />
  ) : (
    <video ref={ref} autoPlay playsInline muted aria-label={label} />
  );
}

function Tile({
  p,
  name,
  speaking,
  snap,
  recent,
  photoUrl,
}: {
  p: GroupParticipant;
  name: string;
  /** The participant's profile photo, when its owner shares it with this account. */
  photoUrl: string | undefined;
  speaking: boolean;
  snap: GroupCallSnapshot;
  recent: ShownReaction[];
}) {
  const stream = p.self ? snap.localStream : snap.streams[p.deviceId];
  const showVideo = p.video && stream && stream.getVideoTracks().length > 0;
  const label = `${name}${p.audio ? '' : ', muted'}${speaking ? ', speaking' : ''}`;
  return (
    <li
      className={`tile${speaking ? ' tile-speaking' : ''}`}
      aria-label={label}
      aria-current={speaking ? 'true' : undefined}
      data-device={p.deviceId}
    >
      {showVideo ? (
        <MediaElement stream={stream} kind="video" label={`Video of ${name}`} />
      ) : (
        <span className="tile-avatar" aria-hidden="true">
          {photoUrl ? (
            <img className="tile-photo" src={photoUrl} alt="" />
          ) : (
            initialsOf(name === 'You' ? '' : name) || <PersonIcon />
          )}
        </span>
      )}
      <span className="tile-name">{name}</span>
      <span className="tile-badges">
        {!p.audio && <span className="tile-muted">Muted</span>}
        {speaking && <span className="tile-speaking-badge">Speaking</span>}
      </span>
      <ul className="tile-reactions" aria-label={`Reactions for ${name}`}>
        {recent.map((r) => (
          <li key={r.id} className="tile-reaction">
            {r.emoji}
          </li>
        ))}
      </ul>
    </li>
  );
}

/** The call overlay; renders nothing when this page is in no group call. */
export function GroupCallScreen({ client }: { client: ParleyClient }) {
  const snap = useGroupCall();
  const me = client.self.accountId;
  const accounts = [
    ...new Set([
      ...(snap?.participants.map((p) => p.accountId) ?? []),
      ...(snap?.reactions.flatMap((r) => [r.from.accountId, r.target.accountId]) ?? []),
    ]),
  ];
  const names = useNames(client, accounts);
  const profiles = useProfiles(
    client,
    accounts.filter((a) => a !== me),
  );
  const [picker, setPicker] = useState<null | 'speaker' | 'choose'>(null);
  const [target, setTarget] = useState<DeviceRef | null>(null);
  const [error, setError] = useState<string | null>(null);
  const pressTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const longPressed = useRef(false);

  if (!snap) return null;
  const nameOf = (accountId: string) => (accountId === me ? 'You' : (names[accountId] ?? 'Member'));
  const speakerId = snap.speaker?.deviceId;
  const now = Date.now();
  const recentFor = (deviceId: string) =>
    snap.reactions.filter((r) => r.target.deviceId === deviceId && now - r.at < REACTION_SHOWN_MS);
  const run = (p: Promise<unknown>) => void p.catch((e) => setError(describeError(e)));
  const speaking = snap.participants.find((p) => p.deviceId === speakerId);
  // Speaker view: the dominant speaker large, the others in a strip.
  const ordered =
    snap.layout === 'speaker' && speaking
      ? [speaking, ...snap.participants.filter((p) => p !== speaking)]
      : snap.participants;
  const title = snap.video ? 'Video chat' : 'Voice chat';

  const audio = (
    <div className="group-call-audio" hidden>
      {Object.entries(snap.streams).map(([deviceId, stream]) => (
        <MediaElement key={deviceId} stream={stream} kind="audio" label={`Audio of ${deviceId}`} />
      ))}
    </div>
  );
  if (snap.minimised && snap.status !== 'ended')
    return <MiniGroupCall snap={snap} title={title} audio={audio} error={error ?? snap.error} onRun={run} />;

  const send = (emoji: string) => {
    const to = picker === 'choose' ? target : null;
    if (picker === 'choose' && !to) {
      setError('Pick whom to react to.');
      return;
    }
    setPicker(null);
    setTarget(null);
    setError(null);
    run(groupCalls.react(emoji, to ?? undefined));
  };

  return (
    <section
      className={`group-call layout-${snap.layout}`}
      aria-label={title}
      data-call-id={snap.callId}
      data-frames-sealed={snap.stats.sealed}
      data-frames-opened={snap.stats.opened}
      data-frames-rejected={snap.stats.rejected}
    >
      <header className="group-call-head">
        <h2>{title}</h2>
        <span className="group-call-status" role="status">
          {snap.status === 'joining'
            ? 'Connecting…'
            : snap.status === 'connected'
              ? `${snap.participants.length} in the call`
              : 'Call ended'}
        </span>
        {snap.stats.sealed > 0 && <span className="group-call-e2e">End-to-end encrypted</span>}
      </header>
      {(error ?? snap.error) && (
        <p className="error" role="alert">
          {error ?? snap.error}
        </p>
      )}
      <ul className={`tiles tiles-${snap.layout}`} aria-label="Participants">
        {ordered.map((p) => (
          <Tile
            key={p.deviceId}
            p={p}
            name={nameOf(p.accountId)}
            photoUrl={p.accountId === me ? undefined : (profiles[p.accountId]?.photoUrl ?? undefined)}
            speaking={p.deviceId === speakerId}
            snap={snap}
            recent={recentFor(p.deviceId)}
          />
        ))}
      </ul>
      {audio}
      {snap.status === 'ended' ? (
        <div className="group-call-controls">
          <button type="button" onClick={() => groupCalls.dismiss()}>
            Close
          </button>
        </div>
      ) : (
        <div className="group-call-controls" role="toolbar" aria-label="Call controls">
          <button type="button" aria-pressed={snap.muted} onClick={() => run(groupCalls.setMuted(!snap.muted))}>
            {snap.muted ? 'Unmute' : 'Mute'}
          </button>
          {snap.video && (
            <button type="button" onClick={() => run(groupCalls.setCameraOff(!snap.cameraOff))}>
              {snap.cameraOff ? 'Turn camera on' : 'Turn camera off'}
            </button>
          )}
          <button type="button" onClick={() => groupCalls.setLayout(snap.layout === 'grid' ? 'speaker' : 'grid')}>
            {snap.layout === 'grid' ? 'Speaker view' : 'Grid view'}
          </button>
          <button
            type="button"
            aria-haspopup="dialog"
            aria-expanded={picker === 'speaker'}
            onPointerDown={() => {
              longPressed.current = false;
              pressTimer.current = setTimeout(() => {
                longPressed.current = true;
                setPicker('choose');
              }, LONG_PRESS_MS);
            }}
            onPointerUp={() => pressTimer.current && clearTimeout(pressTimer.current)}
            onPointerLeave={() => pressTimer.current && clearTimeout(pressTimer.current)}
            onClick={() => {
              if (longPressed.current) return;
              setPicker(picker === 'speaker' ? null : 'speaker');
            }}
          >
            React
          </button>
          <button
            type="button"
            aria-haspopup="dialog"
            aria-expanded={picker === 'choose'}
            onClick={() => setPicker(picker === 'choose' ? null : 'choose')}
          >
            React to…
          </button>
          <button type="button" onClick={() => groupCalls.setMinimised(true)} title="Keep chatting during the call">
            Minimise
          </button>
          <button type="button" className="danger" onClick={() => run(groupCalls.leave())}>
            Leave {title.toLowerCase()}
          </button>
        </div>
      )}
      {picker && (
        <div
          className="reaction-picker"
          role="dialog"
          aria-label={picker === 'choose' ? 'React to a participant' : 'React to the speaker'}
        >
          {picker === 'speaker' && (
            <p className="reaction-to">
              {speaking ? `To ${nameOf(speaking.accountId)} (speaking)` : 'Nobody is speaking: use React to…'}
            </p>
          )}
          {picker === 'choose' && (
            <fieldset className="reaction-targets">
              <legend>React to</legend>
              {snap.participants
                .filter((p) => !p.self)
                .map((p) => (
                  <label key={p.deviceId}>
                    <input
                      type="radio"
                      name="reaction-target"
                      checked={target?.deviceId === p.deviceId}
                      onChange={() => setTarget({ accountId: p.accountId, deviceId: p.deviceId })}
                    />
                    {nameOf(p.accountId)}
                  </label>
                ))}
            </fieldset>
          )}
          <div className="reaction-emoji">
            {REACTION_EMOJI.map((e) => (
              <button
                key={e}
                type="button"
                aria-label={`React with ${e}`}
                disabled={picker === 'speaker' && !speaking}
                onClick={() => send(e)}
              >
                {e}
              </button>
            ))}
          </div>
        </div>
      )}
      <ol className="reaction-log" role="log" aria-label="Reactions">
        {snap.reactions.map((r) => (
          <li key={r.id}>{`${r.emoji} from ${nameOf(r.from.accountId)} to ${nameOf(r.target.accountId)}`}</li>
        ))}
      </ol>
    </section>
  );
}

/**
 * A minimised voice or video chat: a bar over the app (as a minimised 1:1 call has) with the count,
 * Mute, "Return to …" and Leave, so the person can read and write in chats meanwhile. The
 * participants' audio stays mounted here, so nothing they say is lost while it is small.
 */
function MiniGroupCall({
  snap,
  title,
  audio,
  error,
  onRun,
}: {
  snap: GroupCallSnapshot;
  title: string;
  audio: ReactNode;
  error: string | null;
  onRun: (p: Promise<unknown>) => void;
}) {
  // Room at the end of the history, so the bar never hides the newest message.
  useEffect(() => {
    document.body.classList.add('call-minimised');
    return () => document.body.classList.remove('call-minimised');
  }, []);
  return (
    <div className="call-mini" role="region" aria-label={`${title}, minimised`} data-call-id={snap.callId}>
      <div className="call-mini-info">
        <span className="call-mini-name">{title}</span>
        <span className="call-mini-state" role="status">
          {snap.status === 'joining' ? 'Connecting…' : `${snap.participants.length} in the call`}
        </span>
        {error && (
          <span className="error" role="alert">
            {error}
          </span>
        )}
      </div>
      <div className="call-mini-controls">
        <button
          type="button"
          className={snap.muted ? 'on' : ''}
          aria-pressed={snap.muted}
          onClick={() => onRun(groupCalls.setMuted(!snap.muted))}
        >
          {snap.muted ? 'Unmute' : 'Mute'}
        </button>
        <button type="button" className="call-hangup" onClick={() => onRun(groupCalls.leave())}>
          Leave
        </button>
        <button type="button" className="call-mini-return" onClick={() => groupCalls.setMinimised(false)}>
          Return to {title.toLowerCase()}
        </button>
      </div>
      {audio}
    </div>
  );
}
