/**
 * A voice reply recorded on the watch (C5, C15): recording starts as the panel opens (the press on
 * the microphone asked for it), a timer runs, "Send voice note" sends it encrypted like any note
 * (duration and waveform measured here) and "Cancel recording" drops it without sending anything.
 */
import { useEffect, useRef, useState } from 'react';
import type { ParleyClient } from '@parley/sdk';
import { describeError, describeRecordingError } from '../errors.ts';
import { rememberSentMedia } from '../media/blobs.ts';
import { MIN_NOTE_MS, clock } from '../media/recorder.ts';
import { NoteRecorder, noteMediaInput } from '../media/note-recorder.ts';

/** The recording panel; `onDone` closes it (sent or cancelled). */
export function VoiceReply({
  client,
  conversationId,
  onDone,
}: {
  client: ParleyClient;
  conversationId: string;
  onDone: () => void;
}) {
  const active = useRef<NoteRecorder | null>(null);
  const [recorder, setRecorder] = useState<NoteRecorder | null>(null);
  const [phase, setPhase] = useState<'starting' | 'recording' | 'sending'>('starting');
  const [elapsed, setElapsed] = useState(0);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let alive = true;
    NoteRecorder.start('voice').then(
      (r) => {
        if (!alive) return r.cancel();
        active.current = r;
        setRecorder(r);
        setPhase('recording');
      },
      (e: unknown) => alive && setError(describeRecordingError(e, 'voice')),
    );
    return () => {
      alive = false;
      active.current?.cancel();
      active.current = null;
    };
  }, []);

  useEffect(() => {
    if (!recorder) return undefined;
    const timer = setInterval(() => setElapsed(recorder.elapsedMs), 200);
    return () => clearInterval(timer);
  }, [recorder]);

  // The focus waits on "Send voice note" once there is something to send.
  const sendButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (recorder) sendButton.current?.focus();
  }, [recorder]);

  const send = async () => {
    const r = active.current;
    if (!r) return;
    active.current = null;
    setPhase('sending');
    try {
      // A quick second press still sends a note of the shortest length worth sending.
      if (r.elapsedMs < MIN_NOTE_MS) await new Promise((ok) => setTimeout(ok, MIN_NOTE_MS - r.elapsedMs + 50));
      const note = await r.stop();
      const input = await noteMediaInput(note);
      const sent = await client.sendMedia(conversationId, input);
      rememberSentMedia(sent, input, note.blob);
      onDone();
    } catch (e) {
      setError(describeError(e));
      setRecorder(null);
    }
  };

  return (
    <div className="watch-panel watch-recording" role="group" aria-label="Voice reply">
      <div className="watch-timer" role="timer" aria-label={`Recording voice note, ${clock(elapsed)}`}>
        <span className="rec-dot" aria-hidden="true" />
        <span>{phase === 'starting' ? 'Starting…' : phase === 'sending' ? 'Sending…' : clock(elapsed)}</span>
      </div>
      {error && (
        <p className="watch-error" role="alert">
          {error}
        </p>
      )}
      <button
        ref={sendButton}
        type="button"
        className="watch-wide watch-send"
        onClick={() => void send()}
        disabled={phase !== 'recording' || !recorder}
      >
        Send voice note
      </button>
      <button
        type="button"
        className="watch-wide ghost-button"
        autoFocus
        onClick={onDone}
        disabled={phase === 'sending'}
      >
        Cancel recording
      </button>
    </div>
  );
}
