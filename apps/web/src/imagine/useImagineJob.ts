/**
 * One image job at a time for the generation sheet (C9): runs `client.imagine`, reports progress,
 * keeps the variants (with object URLs for the grid, revoked when replaced or closed), and cancels
 * through an AbortController, which the SDK passes to the device-side adapter or to the hosted
 * job's request (the server then cancels at the provider).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { ParleyError } from '@parley/protocol';
import type { ImagineOptions, ImagineVariant, ParleyClient } from '@parley/sdk';
import { describeError } from '../errors.ts';
import type { Progress } from './progress.ts';

/** A variant with the object URL the grid shows. */
export interface ShownVariant {
  readonly variant: ImagineVariant;
  readonly url: string;
}

/** What the sheet renders. */
export interface JobState {
  running: boolean;
  progress: Progress | null;
  variants: ShownVariant[];
  error: string | null;
}

/** A seed the person did not choose: a new one for each try. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/** The job runner. `start` replaces any shown variants; `cancel` stops a running job. */
export function useImagineJob(client: ParleyClient) {
  const [state, setState] = useState<JobState>({ running: false, progress: null, variants: [], error: null });
  const abort = useRef<AbortController | null>(null);
  const shown = useRef<ShownVariant[]>([]);

  const replace = (variants: ShownVariant[]) => {
    for (const v of shown.current) URL.revokeObjectURL(v.url);
    shown.current = variants;
  };

  const start = useCallback(
    async (opts: Omit<ImagineOptions, 'signal' | 'onProgress'>) => {
      abort.current?.abort();
      const controller = new AbortController();
      abort.current = controller;
      replace([]);
      setState({ running: true, progress: null, variants: [], error: null });
      try {
        const variants = await client.imagine({
          ...opts,
          signal: controller.signal,
          onProgress: (p) => {
            if (abort.current === controller) setState((s) => ({ ...s, progress: p }));
          },
        });
        if (abort.current !== controller) return;
        const list = variants.map((variant) => ({
          variant,
          url: URL.createObjectURL(new Blob([variant.bytes as Uint8Array<ArrayBuffer>], { type: variant.mimeType })),
        }));
        replace(list);
        setState({ running: false, progress: null, variants: list, error: null });
      } catch (err) {
        if (abort.current !== controller) return;
        // Cancelled by the person: no error to read out, the sheet says it stopped.
        const canceled =
          controller.signal.aborted || (err instanceof ParleyError && err.code === 'image_generation_canceled');
        setState({ running: false, progress: null, variants: [], error: canceled ? null : describeError(err) });
      } finally {
        if (abort.current === controller) abort.current = null;
      }
    },
    [client],
  );

  const cancel = useCallback(() => {
    const c = abort.current;
    abort.current = null;
    c?.abort();
    setState((s) => ({ ...s, running: false, progress: null }));
  }, []);

  // Closing the sheet stops the job and lets the pictures go.
  useEffect(
    () => () => {
      abort.current?.abort();
      replace([]);
    },
    [],
  );

  return { ...state, start, cancel, setError: (error: string | null) => setState((s) => ({ ...s, error })) };
}
