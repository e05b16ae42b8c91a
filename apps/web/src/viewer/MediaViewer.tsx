/**
 * The full-screen media viewer (C15): a chat's pictures and videos one at a time, opened from a
 * bubble. It is a modal dialog that keeps the focus (Escape or Close gives it back to the
 * thumbnail of the item on screen); zoom by buttons, the wheel, a double click or tap and a pinch,
 * pan while zoomed; swipe, the arrow keys or the side buttons go to the previous or next item;
 * "3 of 7" says where in the chat's media the item is. Download saves the decrypted file; Forward
 * hands the message to the chat's forward dialog. Everything shown was decrypted on this device.
 */
import { useEffect, useRef } from 'react';
import { generatedLabelText } from '@parley/protocol';
import type { LocalMessage, ParleyClient } from '@parley/sdk';
import { mediaUrl, useMediaUrl } from '../media/blobs.ts';
import { useFocusTrap } from '../calls/focus-trap.ts';
import { useTask } from '../hooks.ts';
import { DOUBLE_TAP_SCALE, MAX_SCALE, useZoomPan } from './gestures.ts';
import './viewer.css';

/** Whether a message's attachment opens in the viewer: pictures, and videos sent as files. */
export function isViewable(m: LocalMessage): boolean {
  const a = m.attachment;
  if (!a || m.deletedAt !== undefined) return false;
  return a.kind === 'image' || (a.kind === 'file' && a.mimeType.startsWith('video/'));
}

/** The name of one item, for labels. */
export function mediaName(m: LocalMessage): string {
  const a = m.attachment!;
  return a.fileName ?? (a.kind === 'image' ? 'Image' : 'Video');
}

const ZOOM_STEP = 1.5;

/** The viewer over the chat; `index` is the item on screen, `onIndex` moves it. */
export function MediaViewer({
  client,
  items,
  index,
  onIndex,
  onClose,
  onForward,
  senderName,
}: {
  client: ParleyClient;
  items: LocalMessage[];
  index: number;
  onIndex: (index: number) => void;
  onClose: () => void;
  /** Forward the message on screen; absent when its message actions do not offer forwarding. */
  onForward?: (m: LocalMessage) => void;
  senderName: (m: LocalMessage) => string;
}) {
  const m = items[index]!;
  const a = m.attachment!;
  const isVideo = a.kind !== 'image';
  const name = mediaName(m);
  const root = useRef<HTMLDivElement>(null);
  const stage = useRef<HTMLDivElement>(null);
  const full = useMediaUrl(client, a);
  const thumb = useMediaUrl(client, a.thumbnail);
  const src = full.url ?? thumb.url;
  const save = useTask();

  const go = (step: -1 | 1) => {
    const next = index + step;
    if (next >= 0 && next < items.length) onIndex(next);
  };
  const { view, setScale, dragging, dragX } = useZoomPan(stage, go, m.id);
  useFocusTrap(root, onClose);
  // Reaching the first or last item removes the side button that was pressed, and focus would
  // fall to the page's body: hand it to the side button that remains (or Close), so a keyboard
  // user stays in the viewer.
  useEffect(() => {
    const el = root.current;
    if (!el || el.contains(document.activeElement)) return;
    (el.querySelector<HTMLElement>('.viewer-nav') ?? el.querySelector<HTMLElement>('.viewer-close'))?.focus();
  }, [index]);

  // Arrow keys move between items; + and - zoom, 0 fits. Keys inside a video's controls are its own.
  const keys = useRef<(e: KeyboardEvent) => void>(() => undefined);
  keys.current = (e: KeyboardEvent) => {
    if ((e.target as HTMLElement).closest?.('video')) return;
    if (e.key === 'ArrowLeft') go(-1);
    else if (e.key === 'ArrowRight') go(1);
    else if (e.key === '+' || e.key === '=') setScale(view.scale * ZOOM_STEP);
    else if (e.key === '-') setScale(view.scale / ZOOM_STEP);
    else if (e.key === '0') setScale(1);
    else return;
    e.preventDefault();
  };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => keys.current(e);
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const download = () =>
    save.run(async () => {
      const link = document.createElement('a');
      link.href = await mediaUrl(client, a);
      link.download = name;
      link.click();
    });

  const zoomPct = Math.round(view.scale * 100);
  const transform = `translate(${view.x + dragX}px, ${view.y}px) scale(${view.scale})`;
  return (
    <div
      ref={root}
      className="viewer"
      role="dialog"
      aria-modal="true"
      aria-label={`${isVideo ? 'Video' : 'Image'} viewer: ${name}`}
    >
      <div className="viewer-bar">
        <p className="viewer-title">
          <span className="viewer-count">
            {index + 1} of {items.length}
          </span>{' '}
          <span className="viewer-from">{senderName(m)}</span>
        </p>
        <div className="viewer-actions">
          <button
            type="button"
            onClick={() => setScale(view.scale / ZOOM_STEP)}
            disabled={view.scale <= 1}
            aria-label="Zoom out"
          >
            −
          </button>
          <span className="viewer-zoom" role="status" aria-label={`Zoom ${zoomPct}%`}>
            {zoomPct}%
          </span>
          <button
            type="button"
            onClick={() => setScale(view.scale * ZOOM_STEP)}
            disabled={view.scale >= MAX_SCALE}
            aria-label="Zoom in"
          >
            +
          </button>
          <button type="button" onClick={() => void download()} disabled={save.busy} aria-label={`Download ${name}`}>
            ⤓
          </button>
          {onForward && (
            <button type="button" onClick={() => onForward(m)} aria-label="Forward">
              ↪
            </button>
          )}
          <button
            type="button"
            className="viewer-close"
            onClick={onClose}
            aria-label="Close viewer"
            aria-keyshortcuts="Escape"
          >
            ✕
          </button>
        </div>
      </div>
      <div
        ref={stage}
        className={`viewer-stage ${dragging ? 'dragging' : ''} ${view.scale > 1 ? 'zoomed' : ''}`}
        title={`Double-click to zoom to ${DOUBLE_TAP_SCALE * 100}%`}
      >
        {src ? (
          isVideo ? (
            <video
              key={m.id}
              className="viewer-media"
              src={full.url}
              poster={thumb.url}
              controls
              playsInline
              aria-label={name}
              style={{ transform }}
            />
          ) : (
            <img
              key={m.id}
              className={`viewer-media ${full.url ? '' : 'preview'}`}
              src={src}
              alt={name}
              draggable={false}
              style={{ transform }}
            />
          )
        ) : (
          <p className="viewer-loading" role="status">
            {full.error ?? 'Loading…'}
          </p>
        )}
        {index > 0 && (
          <button
            type="button"
            className="viewer-nav prev"
            onClick={() => go(-1)}
            aria-label="Previous"
            aria-keyshortcuts="ArrowLeft"
          >
            ‹
          </button>
        )}
        {index < items.length - 1 && (
          <button
            type="button"
            className="viewer-nav next"
            onClick={() => go(1)}
            aria-label="Next"
            aria-keyshortcuts="ArrowRight"
          >
            ›
          </button>
        )}
      </div>
      {(m.text || save.error) && (
        <p className={`viewer-caption ${save.error ? 'error' : ''}`} role={save.error ? 'alert' : undefined}>
          {save.error ?? m.text}
        </p>
      )}
      {m.generated && <p className="viewer-caption viewer-generated">{generatedLabelText(m.generated)}</p>}
      <p className="viewer-hint">Arrow keys: previous and next · + and −: zoom · Esc: close</p>
    </div>
  );
}
