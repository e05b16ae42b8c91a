/**
 * The emoji picker as the page uses it (C15): its code and data load with `import()` the first time
 * it opens, so the entry bundle stays small. `EmojiButton` is the composer's "Emoji" button, which
 * inserts picks at the caret of the message box.
 */
import { lazy, Suspense, useState, type RefObject } from 'react';
import type { PickerProps } from './EmojiPicker.tsx';

const Picker = lazy(() => import('./EmojiPicker.tsx'));

/** The picker, loaded on first use ("Loading emoji…" meanwhile). */
export function LazyEmojiPicker(props: PickerProps) {
  return (
    <Suspense
      fallback={
        <div className="emoji-picker emoji-loading" role="status">
          Loading emoji…
        </div>
      }
    >
      <Picker {...props} />
    </Suspense>
  );
}

/** `emoji` put into `value` in place of the selection `[start, end)`, and where the caret goes. */
export function insertAt(value: string, start: number, end: number, emoji: string): { value: string; caret: number } {
  return { value: value.slice(0, start) + emoji + value.slice(end), caret: start + emoji.length };
}

/** A smiling face. */
function SmileIcon() {
  return (
    <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false">
      <circle cx="12" cy="12" r="9" fill="none" stroke="currentColor" strokeWidth="2" />
      <circle cx="9" cy="10" r="1.3" fill="currentColor" />
      <circle cx="15" cy="10" r="1.3" fill="currentColor" />
      <path
        d="M8 14.5c1 1.5 2.4 2.2 4 2.2s3-.7 4-2.2"
        fill="none"
        stroke="currentColor"
        strokeWidth="2"
        strokeLinecap="round"
      />
    </svg>
  );
}

/**
 * The composer's "Emoji" button and its panel. A pick goes in at the caret of `box` (replacing a
 * selection) through `setValue`; the panel stays open for more until Escape or the button closes it.
 */
export function EmojiButton({
  box,
  value,
  setValue,
}: {
  box: RefObject<HTMLTextAreaElement | null>;
  value: string;
  setValue: (value: string) => void;
}) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        className="round ghost"
        aria-label="Emoji"
        aria-haspopup="dialog"
        aria-expanded={open}
        title="Emoji"
        onClick={() => setOpen(!open)}
      >
        <SmileIcon />
      </button>
      {open && (
        <LazyEmojiPicker
          label="Emoji"
          onClose={() => setOpen(false)}
          onPick={(emoji) => {
            const el = box.current;
            const start = el?.selectionStart ?? value.length;
            const end = el?.selectionEnd ?? value.length;
            const next = insertAt(value, start, end, emoji);
            setValue(next.value);
            // After React wrote the new value: the caret goes just after the emoji.
            requestAnimationFrame(() => box.current?.setSelectionRange(next.caret, next.caret));
          }}
        />
      )}
    </>
  );
}
