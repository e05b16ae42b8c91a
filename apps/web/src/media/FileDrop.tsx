/**
 * Files dropped on a chat (C4, C15): while files are dragged over the chat it shows a drop target,
 * "Drop to send to NAME"; the dropped files go to the composer's preview step (`SendPreview`),
 * never straight out. Only drags that carry files count, so dragging text inside the page does
 * nothing here.
 */
import { useRef, useState, type DragEvent, type ReactNode } from 'react';

const carriesFiles = (e: DragEvent) => [...e.dataTransfer.types].includes('Files');

/** Drop handling for one chat; spread `handlers` on its root, place `target` inside it. */
export function useFileDrop(
  enabled: boolean,
  title: string,
): {
  handlers: {
    onDragEnter: (e: DragEvent) => void;
    onDragOver: (e: DragEvent) => void;
    onDragLeave: (e: DragEvent) => void;
    onDrop: (e: DragEvent) => void;
  };
  target: ReactNode;
  dropped: File[] | null;
  takeDropped: () => void;
} {
  const [over, setOver] = useState(false);
  const [dropped, setDropped] = useState<File[] | null>(null);
  // dragenter and dragleave fire for every child crossed: count them to know when the drag left.
  const depth = useRef(0);
  const handlers = {
    onDragEnter: (e: DragEvent) => {
      if (!enabled || !carriesFiles(e)) return;
      e.preventDefault();
      depth.current += 1;
      setOver(true);
    },
    onDragOver: (e: DragEvent) => {
      if (!enabled || !carriesFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    },
    onDragLeave: (e: DragEvent) => {
      if (!enabled || !carriesFiles(e)) return;
      depth.current = Math.max(0, depth.current - 1);
      if (!depth.current) setOver(false);
    },
    onDrop: (e: DragEvent) => {
      if (!enabled || !carriesFiles(e)) return;
      e.preventDefault();
      depth.current = 0;
      setOver(false);
      const files = [...e.dataTransfer.files];
      if (files.length) setDropped(files);
    },
  };
  const target = over ? (
    <div className="drop-target">
      <p>Drop to send to {title}</p>
    </div>
  ) : null;
  return { handlers, target, dropped, takeDropped: () => setDropped(null) };
}
