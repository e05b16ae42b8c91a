/**
 * A voice (or video) note on the watch (C5, C15): one large button plays it from the start or
 * pauses it, with its length beside it. The note is decrypted on this device when the button is
 * first pressed, if it was not already (`media/blobs.ts`); a video note plays its sound only.
 */
import { useEffect, useRef, useState } from 'react';
import type { LocalMessage, ParleyClient } from '@parley/sdk';
import { useMediaUrl } from '../media/blobs.ts';
import { clock } from '../media/recorder.ts';
import { PauseIcon, PlayIcon } from '../media/icons.tsx';

/** The note of `message`; `onPlayed` fires on the first play, `onReact` adds a "React" button. */
export function WatchNote({
  client,
  message,
  sender,
  onPlayed,
  onReact,
}: {
  client: ParleyClient;
  message: LocalMessage;
  sender: string;
  onPlayed: () => void;
  onReact?: () => void;
}) {
  const a = message.attachment!;
  const noun = a.kind === 'video' ? 'video note' : 'voice note';
  const [wanted, setWanted] = useState(a.kind === 'voice');
  const { url, error } = useMediaUrl(client, a, wanted);
  const audio = useRef<HTMLAudioElement>(null);
  const [playing, setPlaying] = useState(false);
  const pending = useRef(false);
  const reported = useRef(false);

  const play = () => {
    const el = audio.current;
    if (!el) return;
    void el.play().then(
      () => {
        if (!reported.current) {
          reported.current = true;
          onPlayed();
        }
      },
      () => setPlaying(false),
    );
  };
  // A press before the note was decrypted plays it once it is.
  useEffect(() => {
    if (url && pending.current) {
      pending.current = false;
      play();
    }
  }, [url]);

  const toggle = () => {
    if (!url) {
      pending.current = true;
      setWanted(true);
      return;
    }
    if (audio.current?.paused) play();
    else audio.current?.pause();
  };

  return (
    <div className={`watch-note note-${a.kind}`}>
      <button
        type="button"
        className="watch-play"
        onClick={toggle}
        aria-label={`${playing ? 'Pause' : 'Play'} ${noun} from ${sender}`}
      >
        {playing ? <PauseIcon /> : <PlayIcon />}
      </button>
      <span className="watch-note-time">{a.durationMs ? clock(a.durationMs) : noun}</span>
      {onReact && (
        <button
          type="button"
          className="watch-icon watch-react"
          onClick={onReact}
          aria-label={`React to ${noun} from ${sender}`}
        >
          <span aria-hidden="true">☺</span>
        </button>
      )}
      {url && (
        <audio
          ref={audio}
          src={url}
          preload="auto"
          onPlay={() => setPlaying(true)}
          onPause={() => setPlaying(false)}
          onEnded={() => {
            setPlaying(false);
            if (audio.current) audio.current.currentTime = 0;
          }}
        />
      )}
      {error && (
        <span className="watch-error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
