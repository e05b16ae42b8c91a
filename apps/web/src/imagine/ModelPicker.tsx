/**
 * The model picker of the generation sheet (C9): one radio per model this device may use, each
 * with where its prompt goes ("Prompt goes to …", or "Stays on this device") and, for hosted
 * models, how many images are left today. The pattern renderer is listed by its own label,
 * "Pattern — offline, not AI", never as a model of a provider.
 */
import { useId } from 'react';
import type { ImageModel } from '@parley/sdk';

/** Where a model's prompt goes, in a few words. */
export function whereText(m: ImageModel): string {
  if (m.where === 'offline') return 'Drawn on this device; nothing leaves it';
  if (m.where === 'device') return `Prompt goes from this device to ${m.recipient} with your key`;
  return `Prompt goes to this server, then ${m.recipient}`;
}

/** The radio group. */
export function ModelPicker({
  models,
  value,
  disabled,
  onChange,
}: {
  models: ImageModel[];
  value: string;
  disabled: boolean;
  onChange: (id: string) => void;
}) {
  const id = useId();
  return (
    <fieldset className="imagine-models" disabled={disabled}>
      <legend>Model</legend>
      {models.map((m, i) => (
        <label key={m.id} className="imagine-model">
          <input
            type="radio"
            name={`${id}-model`}
            value={m.id}
            checked={m.id === value}
            onChange={() => onChange(m.id)}
            aria-describedby={`${id}-where-${i}`}
          />
          <span className="imagine-model-text">
            <span className="imagine-model-name">{m.displayName}</span>
            <span className="imagine-model-where" id={`${id}-where-${i}`}>
              {whereText(m)}
              {m.leftToday !== undefined ? ` · ${m.leftToday} left today` : ''}
            </span>
          </span>
        </label>
      ))}
    </fieldset>
  );
}
