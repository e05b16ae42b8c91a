/**
 * The composer of a chat (C3, C4, C5): text that sends on Enter and reports typing, files and
 * images from the picker (with upload progress), and voice and video notes. The microphone button
 * records while held and sends on release; a tap starts recording and a second tap sends. Files
 * dropped on the chat (`dropped`) or pasted into the text box go through a preview with a caption
 * first (`media/SendPreview.tsx`).
 */
import {
  useCallback,
  useEffect,
  useRef,
  useState,
  type ClipboardEvent as ReactClipboardEvent,
  type KeyboardEvent,
  type PointerEvent,
} from 'react';
import { MEDIA_LIMITS } from '@parley/protocol';
import type { LocalMessage, ParleyClient, SendMediaInput } from '@parley/sdk';
import { describeError, describeRecordingError } from './errors.ts';
import { rememberSentMedia } from './media/blobs.ts';
import { AttachIcon, CancelIcon, MicIcon, SendIcon, VideoIcon } from './media/icons.tsx';
import { VideoPreview } from './media/VideoPreview.tsx';
import { SendPreview } from './media/SendPreview.tsx';
import { EmojiButton } from './emoji/LazyEmojiPicker.tsx';
import { ImagineButton } from './imagine/LazyImagine.tsx';
import { useComposerPreview } from './linkpreview/useComposerPreview.tsx';
import {
  MAX_NOTE_MS,
  MIN_NOTE_MS,
  bytesOf,
  clock,
  inspectImage,
  sendableMimeType,
  thumbnailInput,
  type NoteKind,
  type RecordedNote,
} from './media/recorder.ts';
import type { NoteRecorder } from './media/note-recorder.ts';
import { loadNoteRecorder } from './media/load-note-recorder.ts';

/** A press on the microphone at least this long is a hold (send on release); shorter is a tap. */
const HOLD_MS = 350;

interface Upload {
  key: number;
  label: string;
  fraction: number;
}

/** The note being recorded; `recorder` is there once the devices are on (until then "Starting…"). */
type Recording = { kind: NoteKind; recorder?: NoteRecorder } | null;

/** Keep a file name within the protocol's 255 characters, keeping its extension. */
function fitName(name: string): string {
  if (name.length <= 255) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
  return name.slice(0, 255 - ext.length) + ext;
}

/** Text, attachments and notes for one conversation. */
export function Composer({
  client,
  conversationId,
  onError,
  replyTo,
  onReplySent,
  dropped,
  onDroppedTaken,
  title = 'this chat',
}: {
  client: ParleyClient;
  conversationId: string;
  onError: (message: string | null) => void;
  /** The message the next text replies to (C15), chosen from its action menu. */
  replyTo?: LocalMessage | null;
  onReplySent?: () => void;
  /** Files dropped on the chat, for the preview step; `onDroppedTaken` says they were taken. */
  dropped?: File[] | null;
  onDroppedTaken?: () => void;
  /** The chat's name, for the preview's "Send … to NAME". */
  title?: string;
}) {
  const [draft, setDraft] = useState('');
  const textBox = useRef<HTMLTextAreaElement>(null);
  const linkPreview = useComposerPreview(draft);
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [recording, setRecording] = useState<Recording>(null);
  const [elapsed, setElapsed] = useState(0);
  const [holding, setHolding] = useState(false);
  /** Dropped or pasted files waiting in the preview for Send or Cancel. */
  const [pending, setPending] = useState<File[] | null>(null);
  const typingSent = useRef(0);
  const stopTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  // The message a file or note sent now replies to (read when the upload starts).
  const replyRef = useRef(replyTo ?? null);
  replyRef.current = replyTo ?? null;
  const uploadKey = useRef(0);
  const current = useRef<{ kind: NoteKind; started: Promise<NoteRecorder | null>; cancelled: boolean } | null>(null);
  /** The pointer press on the microphone: when it began, and whether it started the recording. */
  const press = useRef<{ at: number; started: boolean } | null>(null);

  const noteTyping = () => {
    const now = Date.now();
    if (now - typingSent.current > 2500) {
      typingSent.current = now;
      void client.setTyping(conversationId, true).catch(() => undefined);
    }
    if (stopTimer.current) clearTimeout(stopTimer.current);
    stopTimer.current = setTimeout(() => {
      typingSent.current = 0;
      void client.setTyping(conversationId, false).catch(() => undefined);
    }, 3000);
  };

  const send = async () => {
    const text = draft.trim();
    if (!text) return;
    const preview = linkPreview.previewFor(text);
    setDraft('');
    linkPreview.reset();
    if (stopTimer.current) clearTimeout(stopTimer.current);
    typingSent.current = 0;
    try {
      if (replyTo) {
        onReplySent?.();
        await client.reply(conversationId, replyTo.id, text);
      } else await client.sendText(conversationId, text, preview ? { preview } : {});
    } catch (err) {
      onError(describeError(err));
    }
  };

  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      void send();
    }
  };

  /** Upload with a progress row, then send; the sender's bubble shows the local bytes. */
  const sendMedia = useCallback(
    async (label: string, input: SendMediaInput, local: Blob) => {
      const key = ++uploadKey.current;
      setUploads((u) => [...u, { key, label, fraction: 0 }]);
      // A file, picture or note sent while replying is the reply (only the first of several).
      const quoted = replyRef.current;
      if (quoted) {
        replyRef.current = null;
        onReplySent?.();
      }
      try {
        const withProgress: SendMediaInput = {
          ...input,
          onProgress: (p) =>
            setUploads((u) =>
              u.map((x) => (x.key === key ? { ...x, fraction: p.totalBytes ? p.bytes / p.totalBytes : 1 } : x)),
            ),
        };
        const sent = quoted
          ? await client.replyWithMedia(conversationId, quoted.id, withProgress)
          : await client.sendMedia(conversationId, withProgress);
        rememberSentMedia(sent, input, local);
      } catch (err) {
        onError(describeError(err));
      } finally {
        setUploads((u) => u.filter((x) => x.key !== key));
      }
    },
    [client, conversationId, onError, onReplySent],
  );

  /**
   * Send files one by one. Without `chosenCaption` (the picker), text typed before attaching
   * becomes the caption of the first file, as people expect; the preview passes the caption its
   * box held (it started as the composer's text), and the composer is emptied.
   */
  const sendFiles = async (files: File[], chosenCaption?: string) => {
    onError(null);
    const text = chosenCaption ?? draft.trim();
    let caption = text && text.length <= MEDIA_LIMITS.captionChars ? text : undefined;
    if (caption || chosenCaption !== undefined) setDraft('');
    for (const file of files) {
      const image = file.type.startsWith('image/') ? await inspectImage(file) : undefined;
      const input: SendMediaInput = {
        bytes: await bytesOf(file),
        mimeType: sendableMimeType(file.type || 'application/octet-stream'),
        kind: image ? 'image' : 'file',
        fileName: fitName(file.name || 'file'),
        ...(caption ? { caption } : {}),
        ...(image ? { width: image.width, height: image.height } : {}),
        ...(image?.thumbnail ? { thumbnail: await thumbnailInput(image.thumbnail) } : {}),
      };
      caption = undefined;
      await sendMedia(file.name, input, file);
    }
  };

  // Files dropped on the chat wait in the preview, like pasted ones.
  useEffect(() => {
    if (!dropped?.length) return;
    setPending(dropped);
    onDroppedTaken?.();
  }, [dropped, onDroppedTaken]);

  /** Ctrl+V of a picture (or any file) in the text box: to the preview; pasted text stays text. */
  const onPaste = (e: ReactClipboardEvent<HTMLTextAreaElement>) => {
    const files = [...e.clipboardData.files];
    if (!files.length) return;
    e.preventDefault();
    setPending(files);
  };

  // ---------------------------------------------------------------- notes

  const start = (kind: NoteKind) => {
    if (current.current) return;
    onError(null);
    const entry = { kind, cancelled: false, started: Promise.resolve<NoteRecorder | null>(null) };
    current.current = entry;
    setRecording({ kind });
    setElapsed(0);
    // The recording code is a chunk of its own, fetched at the first note (then cached).
    entry.started = loadNoteRecorder()
      .then((m) => m.NoteRecorder.start(kind))
      .then(
        (recorder) => {
          if (entry.cancelled) {
            recorder.cancel();
            return null;
          }
          setRecording({ kind, recorder });
          return recorder;
        },
        (err: unknown) => {
          if (current.current === entry) current.current = null;
          setRecording(null);
          onError(describeRecordingError(err, kind));
          return null;
        },
      );
  };

  const cancel = useCallback(() => {
    const entry = current.current;
    if (!entry) return;
    entry.cancelled = true;
    current.current = null;
    setRecording(null);
    void entry.started.then((r) => r?.cancel());
  }, []);

  /**
   * Stop and send. `tapped`: a tap asked for it (the second tap of tap-to-record), which is never
   * an accident, so however quick it came the note is sent, once it holds `MIN_NOTE_MS` of sound
   * (a recorder stopped sooner may have nothing playable yet). A hold released that early is
   * taken as a slip and not sent.
   */
  const finish = useCallback(
    async (tapped = false) => {
      const entry = current.current;
      if (!entry) return;
      current.current = null;
      const recorder = await entry.started;
      if (recorder && !entry.cancelled && tapped && recorder.elapsedMs < MIN_NOTE_MS)
        await new Promise((r) => setTimeout(r, MIN_NOTE_MS - recorder.elapsedMs + 50));
      setRecording(null);
      if (!recorder || entry.cancelled) return;
      let note: RecordedNote;
      try {
        note = await recorder.stop();
      } catch (err) {
        onError(describeError(err));
        return;
      }
      if (note.elapsedMs < MIN_NOTE_MS) {
        onError('Hold the button to record, or tap it once to start and again to send.');
        return;
      }
      try {
        const input = await (await loadNoteRecorder()).noteMediaInput(note);
        await sendMedia(note.kind === 'voice' ? 'Voice note' : 'Video note', input, note.blob);
      } catch (err) {
        onError(describeError(err));
      }
    },
    [onError, sendMedia],
  );

  // Elapsed time while recording, and the automatic stop at the length limit.
  const live = recording?.recorder;
  useEffect(() => {
    if (!live) return undefined;
    const timer = setInterval(() => {
      setElapsed(live.elapsedMs);
      if (live.elapsedMs >= MAX_NOTE_MS[live.kind]) void finish();
    }, 200);
    return () => clearInterval(timer);
  }, [live, finish]);

  // Leaving the chat throws away a recording in progress.
  useEffect(() => cancel, [cancel]);

  /*
   * The microphone by pointer: a press starts recording; released after HOLD_MS it sends (a
   * hold), sooner it keeps recording (a tap) and the next press sends. Presses are handled here
   * and not by the click that follows them, because that click may never come: the button's icon
   * changes under the finger, and a browser fires no click when the element pressed is gone.
   */
  const micDown = (e: PointerEvent<HTMLButtonElement>) => {
    if (e.button !== 0) return;
    e.currentTarget.setPointerCapture?.(e.pointerId);
    const started = !current.current;
    press.current = { at: performance.now(), started };
    if (!started) return;
    setHolding(true);
    start('voice');
  };
  const micUp = () => {
    const p = press.current;
    press.current = null;
    setHolding(false);
    if (!p) return;
    if (!p.started) {
      // The second tap, however quick: stop and send.
      if (current.current?.kind === 'voice') void finish(true);
    } else if (performance.now() - p.at >= HOLD_MS) void finish();
  };
  const micCancel = () => {
    const p = press.current;
    if (!p) return;
    press.current = null;
    setHolding(false);
    if (p.started) cancel();
  };
  const noteClick = (kind: NoteKind) => {
    if (!current.current) start(kind);
    else if (current.current.kind === kind) void finish(true);
  };

  const recordingKind = recording?.kind;
  const showNotes = !draft.trim() || recordingKind;

  return (
    <div className="composer-wrap">
      {uploads.length > 0 && (
        <ul className="uploads" aria-label="Uploads">
          {uploads.map((u) => (
            <li key={u.key}>
              <span className="upload-label">Sending {u.label}</span>
              <progress aria-label={`Upload progress of ${u.label}`} value={u.fraction} max={1} />
              <span className="upload-pct">{Math.round(u.fraction * 100)}%</span>
            </li>
          ))}
        </ul>
      )}
      {recordingKind === 'video' && live && <VideoPreview stream={live.stream} />}
      {pending && (
        <SendPreview
          files={pending}
          title={title}
          initialCaption={draft.trim()}
          onCancel={() => setPending(null)}
          onSend={(caption) => {
            setPending(null);
            void sendFiles(pending, caption);
          }}
        />
      )}
      {!recording && linkPreview.card}
      <form
        className="composer"
        onSubmit={(e) => {
          e.preventDefault();
          void send();
        }}
      >
        {recording ? (
          <>
            <button key="cancel" type="button" className="round ghost" onClick={cancel} aria-label="Cancel recording">
              <CancelIcon />
            </button>
            <div
              key="status"
              className="recording-status"
              role="timer"
              aria-label={`Recording ${recording.kind} note, ${clock(elapsed)}`}
            >
              <span className="rec-dot" aria-hidden="true" />
              <span>{live ? clock(elapsed) : 'Starting…'}</span>
              <span className="rec-hint">
                {recordingKind === 'voice' && holding ? 'Release to send' : 'Tap send when done'}
              </span>
            </div>
          </>
        ) : (
          <>
            <EmojiButton key="emoji" box={textBox} value={draft} setValue={setDraft} />
            <button
              key="attach"
              type="button"
              className="round ghost"
              onClick={() => fileInput.current?.click()}
              aria-label="Attach file"
            >
              <AttachIcon />
            </button>
            <ImagineButton key="imagine" client={client} conversationId={conversationId} title={title} />
            <input
              key="file"
              ref={fileInput}
              type="file"
              multiple
              hidden
              aria-label="Choose files to send"
              onChange={(e) => {
                const files = [...(e.target.files ?? [])];
                e.target.value = '';
                if (files.length) void sendFiles(files);
              }}
            />
            <label key="label" htmlFor="composer" className="visually-hidden">
              Message
            </label>
            <textarea
              key="text"
              ref={textBox}
              id="composer"
              aria-label="Message"
              rows={1}
              placeholder="Message"
              value={draft}
              onChange={(e) => {
                setDraft(e.target.value);
                noteTyping();
              }}
              onKeyDown={onKey}
              onPaste={onPaste}
            />
          </>
        )}
        {showNotes ? (
          <>
            {recordingKind !== 'voice' && (
              <button
                key="video"
                type="button"
                className={`round ${recordingKind === 'video' ? '' : 'ghost'}`}
                onClick={() => noteClick('video')}
                aria-label={recordingKind === 'video' ? 'Send video note' : 'Record video note'}
              >
                {recordingKind === 'video' ? <SendIcon /> : <VideoIcon />}
              </button>
            )}
            {recordingKind !== 'video' && (
              <button
                key="voice"
                type="button"
                className={`round mic ${recordingKind === 'voice' ? 'active' : ''}`}
                onPointerDown={micDown}
                onPointerUp={micUp}
                onPointerCancel={micCancel}
                onContextMenu={(e) => e.preventDefault()}
                // Clicks from a pointer (detail > 0) were handled as presses; this is Enter or Space.
                onClick={(e) => e.detail === 0 && noteClick('voice')}
                aria-label={recordingKind === 'voice' ? 'Send voice note' : 'Record voice note'}
                title="Hold to record, or tap to start"
              >
                {recordingKind === 'voice' ? <SendIcon /> : <MicIcon />}
              </button>
            )}
          </>
        ) : (
          <button key="send" type="submit" className="round" aria-label="Send">
            <SendIcon />
          </button>
        )}
      </form>
    </div>
  );
}
