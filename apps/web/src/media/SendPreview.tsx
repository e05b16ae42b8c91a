/**
 * The confirm step for dropped and pasted files (C4, C15): what is about to be sent (pictures as
 * previews, other files by name and size) with a caption box, filled with what the composer held,
 * and Cancel or Send. Nothing leaves the device before Send; then the files go out encrypted, as
 * from the file picker.
 */
import { useEffect, useMemo, useState } from 'react';
import { MEDIA_LIMITS } from '@parley/protocol';
import { Modal } from '../safety/SafetyNumber.tsx';
import { formatBytes } from './recorder.ts';
import { FileIcon } from './icons.tsx';
import './media-drop.css';

/** The preview dialog; `onSend` gets the caption (empty for none). */
export function SendPreview({
  files,
  title,
  initialCaption,
  onSend,
  onCancel,
}: {
  files: File[];
  /** The chat's name: "Send to NAME". */
  title: string;
  initialCaption: string;
  onSend: (caption: string) => void;
  onCancel: () => void;
}) {
  const [caption, setCaption] = useState(initialCaption);
  // Object URLs for the pictures, revoked when the dialog goes.
  const previews = useMemo(
    () => files.map((f) => (f.type.startsWith('image/') ? URL.createObjectURL(f) : null)),
    [files],
  );
  useEffect(() => () => previews.forEach((u) => u && URL.revokeObjectURL(u)), [previews]);
  const what = files.length === 1 ? (files[0]!.type.startsWith('image/') ? 'photo' : 'file') : `${files.length} files`;
  return (
    <Modal labelledBy="send-preview-title" onClose={onCancel} className="send-preview">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          onSend(caption.trim());
        }}
      >
        <div className="modal-head">
          <h2 id="send-preview-title">
            Send {what} to {title}
          </h2>
        </div>
        <ul className="send-preview-list" aria-label="Files to send">
          {files.map((f, i) => (
            <li key={i}>
              {previews[i] ? (
                <img src={previews[i]} alt={`Preview of ${f.name || 'image'}`} />
              ) : (
                <span className="file-icon" aria-hidden="true">
                  <FileIcon />
                </span>
              )}
              <span className="send-preview-name">{f.name || 'Pasted image'}</span>
              <span className="send-preview-size">{formatBytes(f.size)}</span>
            </li>
          ))}
        </ul>
        <label htmlFor="send-preview-caption" className="visually-hidden">
          Caption
        </label>
        <input
          id="send-preview-caption"
          type="text"
          placeholder="Add a caption"
          aria-label="Caption"
          maxLength={MEDIA_LIMITS.captionChars}
          value={caption}
          autoFocus
          onChange={(e) => setCaption(e.target.value)}
        />
        <div className="dialog-buttons">
          <button type="button" className="secondary" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit">Send</button>
        </div>
      </form>
    </Modal>
  );
}
