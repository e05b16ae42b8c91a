/**
 * A link preview as a card (C15): the image from the bytes inside the message (a `data:` address
 * made here: nothing is fetched), the title, the description and the site's host. The whole card
 * is a link to the page, opened like every link in a message (new tab, no opener, no referrer).
 */
import { fromB64 } from '@parley/protocol';
import type { LinkPreview } from '@parley/sdk';
import './linkpreview.css';

/** The image of a preview as an address the page can show without fetching anything. */
function imageSrc(image: NonNullable<LinkPreview['image']>): string {
  let binary = '';
  for (const b of fromB64(image.data)) binary += String.fromCharCode(b);
  return `data:${image.type};base64,${btoa(binary)}`;
}

/** The host a preview's address names, for the card's last line. */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

/** The card in a bubble (or above the composer, with `onRemove`). */
export function PreviewCard({ preview, onRemove }: { preview: LinkPreview; onRemove?: () => void }) {
  return (
    <div className="link-preview">
      <a
        href={preview.url}
        target="_blank"
        rel="noopener noreferrer"
        className="link-preview-body"
        aria-label={`Link preview: ${preview.title}, ${hostOf(preview.url)}`}
      >
        {preview.image && <img src={imageSrc(preview.image)} alt="" className="link-preview-image" />}
        <span className="link-preview-text">
          <span className="link-preview-title">{preview.title}</span>
          {preview.description && <span className="link-preview-description">{preview.description}</span>}
          <span className="link-preview-host">{hostOf(preview.url)}</span>
        </span>
      </a>
      {onRemove && (
        <button type="button" className="link-preview-remove" aria-label="Remove link preview" onClick={onRemove}>
          ✕
        </button>
      )}
    </div>
  );
}
