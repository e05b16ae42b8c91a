/**
 * The "Generate image" sheet of a chat (C9, docs/image-generation.md): a model picker listing the
 * models this device may use (`client.imageModels()`), each saying where the prompt goes; before
 * the first generation with a model, its one-sentence notice, acknowledged once per device; the
 * prompt, size and number of variants; progress while the job runs; the variants side by side;
 * then "Send" (the chosen one, with its provenance label, via `sendImagined`), "Try again" (a new
 * seed) or "Cancel". Loaded on first use (`LazyImagine.tsx`).
 */
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { PATTERN_PROVIDER, PATTERN_TEXT } from '@parley/protocol';
import { PATTERN_MODEL_ID, noticeFor, type ImageModel, type ParleyClient } from '@parley/sdk';
import { Modal } from '../safety/SafetyNumber.tsx';
import { describeError } from '../errors.ts';
import { rememberSentMedia } from '../media/blobs.ts';
import { acknowledgeNotice, noticeAcknowledged } from './notice.ts';
import { progressText } from './progress.ts';
import { randomSeed, useImagineJob } from './useImagineJob.ts';
import { ModelPicker } from './ModelPicker.tsx';
import { VariantGrid } from './VariantGrid.tsx';
import './imagine.css';

/** The sizes offered, as the adapters take them (the pattern renderer caps sides at 1024). */
export const SIZES = [
  { label: 'Square', width: 512, height: 512 },
  { label: 'Landscape', width: 768, height: 512 },
  { label: 'Portrait', width: 512, height: 768 },
  { label: 'Large square', width: 1024, height: 1024 },
] as const;

/**
 * The pattern renderer runs on this device: when the model list cannot be fetched (no connection),
 * it is still offered, alone.
 */
const OFFLINE_ONLY: ImageModel[] = [
  {
    id: PATTERN_MODEL_ID,
    displayName: PATTERN_TEXT,
    where: 'offline',
    provider: PATTERN_PROVIDER,
    recipient: 'nobody',
    notice: noticeFor('offline', 'nobody'),
    maxVariants: 4,
  },
];

/** Longest prompt the adapters take. */
const PROMPT_MAX = 4000;

/** The sheet for one chat; `onClose` after a send or Cancel. */
export default function ImagineSheet({
  client,
  conversationId,
  title,
  onClose,
}: {
  client: ParleyClient;
  conversationId: string;
  /** The chat's name: "Generate an image for NAME". */
  title: string;
  onClose: () => void;
}) {
  const ids = useId();
  const [models, setModels] = useState<ImageModel[] | null>(null);
  const [modelId, setModelId] = useState('');
  const [prompt, setPrompt] = useState('');
  const [size, setSize] = useState(0);
  const [variants, setVariants] = useState(2);
  const [picked, setPicked] = useState(0);
  const [sending, setSending] = useState(false);
  // Bumped by "I understand" so the notice check reads the stored answer again.
  const [acks, setAcks] = useState(0);
  const [stopped, setStopped] = useState(false);
  /** Why only the offline pattern is offered (the model list could not be fetched). */
  const [listError, setListError] = useState<string | null>(null);
  const job = useImagineJob(client);
  const form = useRef<HTMLFormElement>(null);

  useEffect(() => {
    let alive = true;
    client.imageModels().then(
      (list) => {
        if (!alive) return;
        setModels(list);
        setModelId((id) => id || list[0]?.id || '');
      },
      (e: unknown) => {
        if (!alive) return;
        setModels(OFFLINE_ONLY);
        setModelId(PATTERN_MODEL_ID);
        setListError(`${describeError(e)} Only the offline pattern can be made until then.`);
      },
    );
    return () => {
      alive = false;
    };
  }, [client]);

  const model = models?.find((m) => m.id === modelId);
  const maxVariants = model?.maxVariants ?? 4;
  const count = Math.min(variants, maxVariants);
  void acks;
  const noticePending = model !== undefined && model.where !== 'offline' && !noticeAcknowledged(model.notice);

  const generate = () => {
    if (!model || noticePending || job.running) return;
    if (!prompt.trim()) {
      job.setError('Write what the image should show first.');
      return;
    }
    setPicked(0);
    setStopped(false);
    const s = SIZES[size]!;
    void job.start({ model: model.id, prompt, width: s.width, height: s.height, variants: count, seed: randomSeed() });
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    // React passes events up its own tree: the composer's form (the button's parent) must not see it.
    e.stopPropagation();
    generate();
  };

  const send = async () => {
    const chosen = job.variants[picked];
    if (!chosen || sending) return;
    setSending(true);
    try {
      const v = chosen.variant;
      const sent = await client.sendImagined(conversationId, v);
      rememberSentMedia(
        sent,
        { bytes: v.bytes, mimeType: v.mimeType, kind: 'image', fileName: 'generated' },
        new Blob([v.bytes as Uint8Array<ArrayBuffer>], { type: v.mimeType }),
      );
      onClose();
    } catch (err) {
      job.setError(describeError(err));
      setSending(false);
    }
  };

  const titleId = `${ids}-title`;
  const noticeId = `${ids}-notice`;
  return (
    <Modal labelledBy={titleId} onClose={onClose} className="imagine-sheet">
      <form ref={form} onSubmit={submit} aria-busy={job.running}>
        <div className="modal-head">
          <h2 id={titleId}>Generate an image for {title}</h2>
        </div>
        {!models && <p role="status">Loading models…</p>}
        {listError && <p className="imagine-list-error">{listError}</p>}
        {model && noticePending && (
          <div className="imagine-notice" role="note" aria-labelledby={`${noticeId}-h`}>
            <h3 id={`${noticeId}-h`}>Before your first image with {model.displayName}</h3>
            <p id={noticeId}>{model.notice}</p>
            <button
              type="button"
              onClick={() => {
                acknowledgeNotice(model.notice);
                setAcks((n) => n + 1);
                // The button goes with the notice: the focus moves on to the chosen model.
                requestAnimationFrame(() =>
                  form.current?.querySelector<HTMLInputElement>('input[type="radio"]:checked')?.focus(),
                );
              }}
            >
              I understand
            </button>
          </div>
        )}
        {models && (
          <ModelPicker
            models={models}
            value={modelId}
            disabled={job.running}
            onChange={(id) => {
              setModelId(id);
              job.setError(null);
            }}
          />
        )}
        <label htmlFor={`${ids}-prompt`}>Prompt</label>
        <textarea
          id={`${ids}-prompt`}
          className="imagine-prompt"
          rows={3}
          maxLength={PROMPT_MAX}
          placeholder="What should the image show?"
          value={prompt}
          disabled={job.running}
          onChange={(e) => setPrompt(e.target.value)}
        />
        <div className="imagine-options">
          <div>
            <label htmlFor={`${ids}-size`}>Size</label>
            <select
              id={`${ids}-size`}
              value={size}
              disabled={job.running}
              onChange={(e) => setSize(Number(e.target.value))}
            >
              {SIZES.map((s, i) => (
                <option key={s.label} value={i}>
                  {s.label} ({s.width}×{s.height})
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor={`${ids}-variants`}>Variants</label>
            <select
              id={`${ids}-variants`}
              value={count}
              disabled={job.running}
              onChange={(e) => setVariants(Number(e.target.value))}
            >
              {Array.from({ length: maxVariants }, (_, i) => (
                <option key={i} value={i + 1}>
                  {i + 1}
                </option>
              ))}
            </select>
          </div>
        </div>
        {job.running && (
          <div className="imagine-progress">
            <span role="status">{progressText(job.progress)}</span>
            <progress
              aria-label="Generation progress"
              {...(job.progress?.fraction !== undefined ? { value: job.progress.fraction, max: 1 } : {})}
            />
          </div>
        )}
        {stopped && !job.running && <p role="status">Stopped. Nothing was sent.</p>}
        {job.error && (
          <p className="error" role="alert">
            {job.error}
          </p>
        )}
        {job.variants.length > 0 && (
          <VariantGrid variants={job.variants} picked={picked} onPick={setPicked} prompt={prompt} />
        )}
        <div className="dialog-buttons">
          {job.running ? (
            <button
              type="button"
              className="secondary"
              onClick={() => {
                job.cancel();
                setStopped(true);
              }}
            >
              Stop generating
            </button>
          ) : (
            <button type="button" className="secondary" onClick={onClose}>
              Cancel
            </button>
          )}
          {job.variants.length > 0 && !job.running ? (
            <>
              <button type="submit" className="secondary" disabled={noticePending}>
                Try again
              </button>
              <button type="button" disabled={sending} onClick={() => void send()}>
                Send
              </button>
            </>
          ) : (
            <button
              type="submit"
              disabled={!model || noticePending || job.running}
              {...(noticePending ? { 'aria-describedby': noticeId } : {})}
            >
              Generate
            </button>
          )}
        </div>
      </form>
    </Modal>
  );
}
