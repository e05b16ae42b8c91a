/**
 * `parley models` and `parley imagine` (C9): the image models this profile may use, each saying
 * where the prompt goes, and one generation whose chosen variant is sent as an end-to-end-encrypted
 * image with its provenance label. Flags are checked before anything connects.
 */
import { generatedLabelText, type ImageModel, type ParleyClient } from '@parley/sdk';
import { need, opt, UsageError, type ParsedArgs } from './args.ts';

/** What `imagine` asks for, checked on the command line. */
export interface ImagineArgs {
  to: string;
  prompt: string;
  model: string;
  variants: number;
  pick: number;
  size?: { width: number; height: number };
  seed?: number;
}

function intFlag(args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const v = opt(args, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  return Number(v);
}

/** The flags of `imagine`, or a usage error. */
export function imagineArgs(args: ParsedArgs): ImagineArgs {
  const to = need(args, 'to');
  const prompt = need(args, 'prompt');
  const variants = intFlag(args, 'variants', 1, 4) ?? 1;
  const pick = intFlag(args, 'pick', 1, 4) ?? 1;
  if (pick > variants) throw new UsageError(`--pick must be at most --variants (${variants})`);
  const seed = intFlag(args, 'seed', 0, 0xffffffff);
  const sizeText = opt(args, 'size');
  let size: ImagineArgs['size'];
  if (sizeText !== undefined) {
    const m = /^(\d{2,4})x(\d{2,4})$/.exec(sizeText);
    if (!m) throw new UsageError('--size must be WIDTHxHEIGHT, e.g. 512x512');
    size = { width: Number(m[1]), height: Number(m[2]) };
  }
  return {
    to,
    prompt,
    model: opt(args, 'model') ?? 'pattern',
    variants,
    pick,
    ...(size ? { size } : {}),
    ...(seed !== undefined ? { seed } : {}),
  };
}

/** One `models` line. */
export function modelLine(m: ImageModel): Record<string, unknown> {
  return {
    id: m.id,
    name: m.displayName,
    where: m.where,
    provider: m.provider,
    recipient: m.recipient,
    notice: m.notice,
    maxVariants: m.maxVariants,
    ...(m.leftToday !== undefined ? { leftToday: m.leftToday } : {}),
  };
}

/**
 * Generate and send: progress goes to stderr, the sent message's line (with its label) to stdout.
 * Resolves with that line.
 */
export async function imagineAndSend(
  client: ParleyClient,
  a: ImagineArgs,
  conversationId: string,
): Promise<Record<string, unknown>> {
  const variants = await client.imagine({
    model: a.model,
    prompt: a.prompt,
    variants: a.variants,
    ...(a.size ?? {}),
    ...(a.seed !== undefined ? { seed: a.seed } : {}),
  });
  const chosen = variants[a.pick - 1];
  if (!chosen) throw new UsageError(`--pick ${a.pick}: the model returned ${variants.length} image(s)`);
  const m = await client.sendImagined(conversationId, chosen);
  return {
    id: m.id,
    conversationId,
    sentAt: m.serverTime ?? m.sentAt,
    variants: variants.length,
    picked: a.pick,
    label: generatedLabelText(chosen.label),
    generated: chosen.label,
    attachment: { mimeType: chosen.mimeType, bytes: chosen.bytes.length, width: chosen.width, height: chosen.height },
  };
}
