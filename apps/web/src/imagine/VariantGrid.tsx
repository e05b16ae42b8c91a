/**
 * The variants of a finished job side by side (C9): each a toggle button ("Variant 2 of 4",
 * pressed when chosen) around its picture; the label it will carry is shown under the grid.
 */
import type { ShownVariant } from './useImagineJob.ts';
import { generatedLabelText } from '@parley/protocol';

/** The grid; `onPick` gets the index chosen. */
export function VariantGrid({
  variants,
  picked,
  onPick,
  prompt,
}: {
  variants: ShownVariant[];
  picked: number;
  onPick: (i: number) => void;
  prompt: string;
}) {
  const chosen = variants[picked]?.variant;
  return (
    <div className="imagine-results">
      <ul className="imagine-grid" aria-label="Variants">
        {variants.map((v, i) => (
          <li key={v.url}>
            <button
              type="button"
              className="imagine-variant"
              aria-pressed={i === picked}
              aria-label={`Variant ${i + 1} of ${variants.length}`}
              onClick={() => onPick(i)}
            >
              <img src={v.url} alt={`Variant ${i + 1}: ${prompt}`} />
            </button>
          </li>
        ))}
      </ul>
      {chosen && <p className="imagine-label">Sent as: {generatedLabelText(chosen.label)}</p>}
    </div>
  );
}
