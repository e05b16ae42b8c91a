/**
 * What the rest of the page mounts of image generation (C9): the composer's "Generate image"
 * button and the settings section for device keys. Their code loads with `import()` on first use,
 * so the entry bundle stays small.
 */
import { lazy, Suspense, useState } from 'react';
import { createPortal } from 'react-dom';
import type { ParleyClient } from '@parley/sdk';

const Sheet = lazy(() => import('./ImagineSheet.tsx'));
const Keys = lazy(() => import('./ImageKeys.tsx'));

/** A picture with a spark: make an image. */
function ImagineIcon() {
  return (
    <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false">
      <rect x="3" y="6" width="14" height="14" rx="2" fill="none" stroke="currentColor" strokeWidth="2" />
      <path d="M5 18l4-5 3 3 2-2 3 4" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinejoin="round" />
      <path d="M19 2l.9 2.1L22 5l-2.1.9L19 8l-.9-2.1L16 5l2.1-.9z" fill="currentColor" />
    </svg>
  );
}

/** The composer's "Generate image" button and, once pressed, the sheet. */
export function ImagineButton({
  client,
  conversationId,
  title,
}: {
  client: ParleyClient;
  conversationId: string;
  title: string;
}) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        className="round ghost"
        aria-label="Generate image"
        aria-haspopup="dialog"
        title="Generate image"
        onClick={() => setOpen(true)}
      >
        <ImagineIcon />
      </button>
      {/* The sheet has its own form: kept out of the composer's, as forms may not nest. */}
      {open &&
        createPortal(
          <Suspense fallback={<span role="status">Loading…</span>}>
            <Sheet client={client} conversationId={conversationId} title={title} onClose={() => setOpen(false)} />
          </Suspense>,
          document.body,
        )}
    </>
  );
}

/** Settings → "Image generation keys", loaded when Settings opens. */
export function ImageKeysSetting({ client }: { client: ParleyClient }) {
  return (
    <Suspense fallback={null}>
      <Keys client={client} />
    </Suspense>
  );
}
