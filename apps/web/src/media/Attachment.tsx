/**
 * Attachments inside a chat bubble (C4, C5): images inline, other files as a download with name and
 * size, voice notes with play/pause, waveform, time and speed, video notes inline. Everything is
 * decrypted on this device (`useMediaUrl`); the server only ever handed over ciphertext.
 */
import { useEffect, useMemo, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import { fromB64, generatedLabelText, type GeneratedLabel } from '@parley/protocol';
import type { Attachment, LocalMessage, ParleyClient } from '@parley/sdk';
import { mediaUrl, useMediaUrl } from './blobs.ts';
import { clock, formatBytes } from './recorder.ts';
import { FileIcon, PauseIcon, PlayIcon } from './icons.tsx';
import { useTask } from '../hooks.ts';

/** Images up to this size are fetched as soon as their bubble shows; larger ones on request. */
const AUTO_IMAGE_BYTES = 16 * 1024 * 1024;
/** Playback speeds the speed button cycles through. */
export const SPEEDS = [1, 1.5, 2] as const;

/** Plaintext size of an attachment (ciphertext minus the AES-GCM tag). */
const plainSize = (a: Attachment) => Math.max(0, a.size - 16);

/** Whether a message carries a voice or video note. */
export const isNote = (m: LocalMessage) => m.attachment?.kind === 'voice' || m.attachment?.kind === 'video';

/**
 * The attachment of one message; `onPlayed` fires the first time the user plays a note. `onOpen`,
 * when given, opens a picture or a video file in the full-screen viewer (`viewer/`); its button
 * carries `data-media-id` so that the viewer can give the focus back to it.
 */
export function AttachmentView({
  client,
  message,
  onPlayed,
  onOpen,
}: {
  client: ParleyClient;
  message: LocalMessage;
  onPlayed: () => void;
  onOpen?: () => void;
}) {
  const a = message.attachment!;
  if (a.kind === 'image')
    return (
      <ImageAttachment
        client={client}
        attachment={a}
        messageId={message.id}
        onOpen={onOpen}
        generated={message.generated}
      />
    );
  if (isNote(message)) return <NotePlayer client={client} attachment={a} onPlayed={onPlayed} />;
  return (
    <>
      {onOpen && a.mimeType.startsWith('video/') && (
        <button
          type="button"
          className="secondary media-video-file"
          data-media-id={message.id}
          onClick={onOpen}
          aria-label={`Play video ${a.fileName ?? 'Video'}`}
        >
          <PlayIcon /> Play video
        </button>
      )}
      <FileAttachment client={client} attachment={a} />
    </>
  );
}

function ImageAttachment({
  client,
  attachment: a,
  messageId,
  onOpen,
  generated,
}: {
  client: ParleyClient;
  attachment: Attachment;
  messageId: string;
  onOpen?: () => void;
  /** A generated image's provenance label (C9): shown on the image, and part of its name for screen readers. */
  generated?: GeneratedLabel | undefined;
}) {
  const [wanted, setWanted] = useState(plainSize(a) <= AUTO_IMAGE_BYTES);
  const thumb = useMediaUrl(client, a.thumbnail);
  const full = useMediaUrl(client, a, wanted);
  const src = full.url ?? thumb.url;
  const label = generated ? generatedLabelText(generated) : null;
  const name = label ? `${a.fileName ?? 'Image'} (${label})` : (a.fileName ?? 'Image');
  // At most 320 px wide and about 360 px tall, so tall pictures do not fill the screen.
  const shown =
    a.width && a.height
      ? { width: Math.min(320, Math.round((360 * a.width) / a.height)), aspectRatio: `${a.width} / ${a.height}` }
      : { width: 320 };
  return (
    <figure className="media-image" style={shown}>
      {src && onOpen && wanted ? (
        <button
          type="button"
          className="media-open"
          data-media-id={messageId}
          onClick={onOpen}
          aria-label={`Open image ${name}`}
        >
          <img src={src} alt={name} width={a.width} height={a.height} className={full.url ? '' : 'preview'} />
        </button>
      ) : src ? (
        <img src={src} alt={name} width={a.width} height={a.height} className={full.url ? '' : 'preview'} />
      ) : (
        <span className="media-placeholder" role="status">
          {full.error ?? 'Loading image…'}
        </span>
      )}
      {label && (
        <span className="media-generated" aria-hidden="true">
          {label}
        </span>
      )}
      {!wanted && (
        <button
          type="button"
          className="media-overlay"
          onClick={() => setWanted(true)}
          aria-label={`Download image ${name}, ${formatBytes(plainSize(a))}`}
        >
          Download · {formatBytes(plainSize(a))}
        </button>
      )}
      {full.error && src && (
        <figcaption className="error" role="alert">
          {full.error}
        </figcaption>
      )}
    </figure>
  );
}

function FileAttachment({ client, attachment: a }: { client: ParleyClient; attachment: Attachment }) {
  const { busy, error, run } = useTask();
  const name = a.fileName ?? 'File';
  const size = formatBytes(plainSize(a));
  const save = () =>
    run(async () => {
      const link = document.createElement('a');
      link.href = await mediaUrl(client, a);
      link.download = name;
      link.click();
    });
  return (
    <div className="media-file">
      <button
        type="button"
        className="file-link"
        onClick={() => void save()}
        disabled={busy}
        aria-label={`Download ${name}, ${size}`}
      >
        <span className="file-icon" aria-hidden="true">
          <FileIcon />
        </span>
        <span className="file-name">{name}</span>
        <span className="file-size">{busy ? 'Decrypting…' : size}</span>
      </button>
      {error && (
        <span className="error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}

/** The waveform as bars; those left of `progress` (0..1) are drawn as played. */
function Waveform({ peaks, progress }: { peaks: number[]; progress: number }) {
  const bars = peaks.length ? peaks : new Array<number>(48).fill(40);
  const w = 3;
  const gap = 1;
  const width = bars.length * (w + gap);
  return (
    <svg className="waveform" viewBox={`0 0 ${width} 32`} preserveAspectRatio="none" aria-hidden="true">
      {bars.map((p, i) => {
        const h = Math.max(2, (p / 255) * 30);
        return (
          <rect
            key={i}
            x={i * (w + gap)}
            y={(32 - h) / 2}
            width={w}
            height={h}
            rx={1}
            className={(i + 0.5) / bars.length <= progress ? 'played' : ''}
          />
        );
      })}
    </svg>
  );
}

/**
 * A voice or video note with its own controls. The total time is the one recorded in the
 * attachment: a recorder's WebM states no duration, so the element reports Infinity.
 */
function NotePlayer({
  client,
  attachment: a,
  onPlayed,
}: {
  client: ParleyClient;
  attachment: Attachment;
  onPlayed: () => void;
}) {
  const video = a.kind === 'video';
  const noun = video ? 'video note' : 'voice note';
  // Voice notes are small: fetch them with the bubble. Video notes wait for the first play.
  const [wanted, setWanted] = useState(!video);
  const { url, error } = useMediaUrl(client, a, wanted);
  const poster = useMediaUrl(client, video ? a.thumbnail : undefined);
  const media = useRef<HTMLAudioElement & HTMLVideoElement>(null);
  const [playing, setPlaying] = useState(false);
  const [position, setPosition] = useState(0);
  const [speed, setSpeed] = useState<(typeof SPEEDS)[number]>(1);
  const playAfterLoad = useRef(false);
  const reported = useRef(false);
  const peaks = useMemo(() => (a.waveform ? [...fromB64(a.waveform)] : []), [a.waveform]);
  const totalMs = a.durationMs ?? 0;
  const progress = totalMs ? Math.min(1, position / totalMs) : 0;

  // Follow the playhead smoothly while playing (timeupdate alone comes only every ~250 ms).
  useEffect(() => {
    if (!playing) return undefined;
    let frame = requestAnimationFrame(function tick() {
      if (media.current) setPosition(media.current.currentTime * 1000);
      frame = requestAnimationFrame(tick);
    });
    return () => cancelAnimationFrame(frame);
  }, [playing]);

  useEffect(() => {
    if (media.current) media.current.playbackRate = speed;
  }, [speed, url]);

  const play = async () => {
    const el = media.current;
    if (!el) return;
    el.playbackRate = speed;
    await el.play();
    if (!reported.current) {
      reported.current = true;
      onPlayed();
    }
  };

  useEffect(() => {
    if (url && playAfterLoad.current) {
      playAfterLoad.current = false;
      void play().catch(() => undefined);
    }
    // `play` reads refs only.
  }, [url]);

  const toggle = () => {
    if (!url) {
      playAfterLoad.current = true;
      setWanted(true);
      return;
    }
    const el = media.current;
    if (!el) return;
    if (el.paused) void play().catch(() => setPlaying(false));
    else el.pause();
  };

  const seekTo = (fraction: number) => {
    const el = media.current;
    if (!el || !totalMs) return;
    const t = Math.min(1, Math.max(0, fraction)) * totalMs;
    el.currentTime = t / 1000;
    setPosition(t);
  };
  const onSeekPointer = (e: PointerEvent<HTMLDivElement>) => {
    const box = e.currentTarget.getBoundingClientRect();
    seekTo((e.clientX - box.left) / box.width);
  };
  const onSeekKey = (e: KeyboardEvent<HTMLDivElement>) => {
    const step = 5000 / (totalMs || 1);
    if (e.key === 'ArrowRight' || e.key === 'ArrowUp') seekTo(progress + step);
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowDown') seekTo(progress - step);
    else if (e.key === 'Home') seekTo(0);
    else if (e.key === 'End') seekTo(1);
    else return;
    e.preventDefault();
  };

  const speedLabel = String(speed);
  const mediaProps = {
    ref: media,
    src: url,
    preload: 'auto' as const,
    onPlay: () => setPlaying(true),
    onPause: () => setPlaying(false),
    onEnded: () => {
      setPlaying(false);
      setPosition(0);
      if (media.current) media.current.currentTime = 0;
    },
    onTimeUpdate: () => media.current && setPosition(media.current.currentTime * 1000),
  };

  return (
    <div className={`note note-${a.kind}`}>
      {video ? (
        <div className="video-frame">
          <video {...mediaProps} poster={poster.url} playsInline aria-label="Video note" onClick={toggle} />
          {!playing && (
            <span className="video-play" aria-hidden="true">
              <PlayIcon />
            </span>
          )}
        </div>
      ) : (
        url && <audio {...mediaProps} />
      )}
      <div className="note-controls">
        <button
          type="button"
          className="note-play"
          onClick={toggle}
          aria-label={`${playing ? 'Pause' : 'Play'} ${noun}`}
          disabled={!!error}
        >
          {playing ? <PauseIcon /> : <PlayIcon />}
        </button>
        <div
          className="note-track"
          role="slider"
          tabIndex={0}
          aria-label={`Position in ${noun}`}
          aria-valuemin={0}
          aria-valuemax={Math.round(totalMs / 1000)}
          aria-valuenow={Math.round(position / 1000)}
          aria-valuetext={`${clock(position)} of ${clock(totalMs)}`}
          onPointerDown={onSeekPointer}
          onKeyDown={onSeekKey}
        >
          {video ? (
            <div className="bar">
              <div className="bar-fill" style={{ width: `${progress * 100}%` }} />
            </div>
          ) : (
            <Waveform peaks={peaks} progress={progress} />
          )}
        </div>
        <span className="note-time">
          {playing || position ? clock(position) : clock(totalMs)}
          <span className="visually-hidden"> of {clock(totalMs)}</span>
        </span>
        <button
          type="button"
          className="note-speed"
          onClick={() => setSpeed(SPEEDS[(SPEEDS.indexOf(speed) + 1) % SPEEDS.length]!)}
          aria-label={`Playback speed ${speedLabel}×`}
        >
          {speedLabel}×
        </button>
      </div>
      {error && (
        <span className="error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
