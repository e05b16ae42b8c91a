/**
 * The preview of the link being written (C15): once the message box holds a link and has been
 * still for a moment, this device fetches the page (`makeLinkPreview`: 5 s, 512 KiB, HTML only)
 * and shows the card above the composer with "Remove link preview". What is shown is what is
 * sent, inside the encrypted message; a removed preview is not fetched again for that link. A site
 * that refuses the page's cross-origin read (most do) gives no preview, and nothing is said.
 */
import { useEffect, useState, type ReactNode } from 'react';
import { LINK_PREVIEW_LIMITS, makeLinkPreview, previewableLink, type LinkPreview } from '@parley/sdk';
import { PreviewCard } from './PreviewCard.tsx';
import { linkPreviewsOn } from './setting.tsx';

/** How long the text must stay unchanged before its link is fetched. */
const SETTLE_MS = 600;
/** Longest side of a preview image, in pixels. */
const IMAGE_SIDE = 320;

/** A fetched image drawn smaller as a JPEG that fits a message, or null when it cannot be. */
async function shrinkImage(bytes: Uint8Array, type: string): Promise<{ bytes: Uint8Array; type: string } | null> {
  const bitmap = await createImageBitmap(new Blob([bytes.slice()], { type }));
  const scale = Math.min(1, IMAGE_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  canvas.getContext('2d')?.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  for (const quality of [0.8, 0.6, 0.4]) {
    const blob = await new Promise<Blob | null>((r) => canvas.toBlob(r, 'image/jpeg', quality));
    if (blob && blob.size <= LINK_PREVIEW_LIMITS.imageBytes)
      return { bytes: new Uint8Array(await blob.arrayBuffer()), type: 'image/jpeg' };
  }
  return null;
}

/** The preview for `draft`'s first link: the card to show, and the preview to send with `text`. */
export function useComposerPreview(draft: string): {
  card: ReactNode;
  previewFor: (text: string) => LinkPreview | undefined;
  reset: () => void;
} {
  const url = linkPreviewsOn() ? previewableLink(draft) : null;
  const [made, setMade] = useState<{ url: string; preview: LinkPreview | null } | null>(null);
  const [removed, setRemoved] = useState<ReadonlySet<string>>(new Set());

  useEffect(() => {
    if (!url || removed.has(url) || made?.url === url) return undefined;
    let alive = true;
    const timer = setTimeout(() => {
      void makeLinkPreview(url, { shrinkImage }).then((preview) => alive && setMade({ url, preview }));
    }, SETTLE_MS);
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [url, removed, made]);

  const current = url && made?.url === url && !removed.has(url) ? made.preview : null;
  return {
    card: current ? (
      <div className="composer-preview" role="group" aria-label="Link preview to send">
        <PreviewCard
          preview={current}
          onRemove={() => {
            setRemoved(new Set([...removed, current.url]));
            document.getElementById('composer')?.focus();
          }}
        />
      </div>
    ) : null,
    previewFor: (text) => (current && previewableLink(text) === current.url ? current : undefined),
    reset: () => setMade(null),
  };
}
