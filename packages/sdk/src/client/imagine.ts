/**
 * Image generation on this device (C9, docs/image-generation.md): the models it may use — its own
 * (a provider key kept in the device store with the device's keys, never sent to the Parley
 * server), the server's hosted ones, and the offline pattern renderer, which runs here — each
 * saying where the prompt goes; a job's variants with progress; and sending the one chosen as an
 * ordinary end-to-end-encrypted attachment that always carries its provenance label.
 */
import {
  createProvider,
  modelSpecSchema,
  recipientOf,
  PatternProvider,
  PATTERN_MODEL,
  type GenerationResult,
  type ModelSpec,
  type Progress,
} from '@parley/imagegen';
import {
  ParleyError,
  PATTERN_PROVIDER,
  PATTERN_TEXT,
  fromB64,
  type GeneratedLabel,
  type ImageModelWhere,
} from '@parley/protocol';
import type { LocalMessage } from '../history.ts';
import type { DeviceStore } from '../store/types.ts';
import type { Session } from './session.ts';
import type { Sending } from './sending.ts';

/** Where the device keeps its own provider models (keys included), next to its other keys. */
const DEVICE_MODELS_KEY = 'imagegen-device-models';
/** Ids of this device's own models start with this, so they never clash with the server's. */
export const DEVICE_MODEL_PREFIX = 'device:';
/** The pattern renderer's id: it runs on this device. */
export const PATTERN_MODEL_ID = 'pattern';
/** Extra time a hosted job's answer may take beyond the job's own deadline on the server. */
const HOSTED_SLACK_MS = 30_000;
/** A hosted job's deadline when the server's is not known (its default is 120 s). */
const HOSTED_JOB_MS = 3_600_000;

/** One model this device may generate with. */
export interface ImageModel {
  /** Pass as `model` to `imagine`. */
  readonly id: string;
  readonly displayName: string;
  readonly where: ImageModelWhere;
  /** Adapter id (`bfl`, `openai`, …, `pattern`). */
  readonly provider: string;
  /** Who receives the prompt. */
  readonly recipient: string;
  /**
   * The sentence to show before this model's first use: whether the prompt leaves end-to-end
   * encryption, and who receives it.
   */
  readonly notice: string;
  readonly maxVariants: number;
  /** Hosted models: images left today for this account. */
  readonly leftToday?: number;
}

/** A model this device calls itself, with its key: `id` is shown with the `device:` prefix. */
export type DeviceModel = ModelSpec & { id: string };

/** A provider key kept on this device, as it may be shown: the key itself only as its last characters. */
export interface DeviceKeyInfo {
  /** As `imagine` takes it: `device:<id>`. */
  readonly id: string;
  readonly provider: string;
  readonly baseUrl: string;
  readonly model: string;
  readonly displayName: string;
  /** "…" and the key's last four characters (nothing more for keys under 12 characters). */
  readonly keyHint: string;
}

/** A key as it may be shown: never in full. */
export function keyHint(key: string | undefined): string {
  if (!key) return '';
  return key.length >= 12 ? `…${key.slice(-4)}` : '…';
}

/** What to generate. */
export interface ImagineOptions {
  model: string;
  prompt: string;
  width?: number;
  height?: number;
  aspectRatio?: string;
  variants?: number;
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

/** One generated image, ready to send with `sendImagined`. */
export interface ImagineVariant {
  readonly bytes: Uint8Array;
  readonly mimeType: string;
  readonly width?: number;
  readonly height?: number;
  /** The provenance label it will be sent with. */
  readonly label: GeneratedLabel;
}

/** The first-use sentence for a model, by where it runs. */
export function noticeFor(where: ImageModelWhere, recipient: string): string {
  if (where === 'offline') return 'Nothing leaves this device: the pattern renderer draws offline and is not AI.';
  if (where === 'device')
    return `Your prompt leaves end-to-end encryption: this device sends it with your key straight to ${recipient}; the Parley server never sees it.`;
  return `Your prompt leaves end-to-end encryption: this Parley server receives it and sends it to ${recipient}; the server keeps neither the prompt nor the image.`;
}

/** Image generation of one device. */
export class Imagine {
  constructor(
    private readonly session: Session,
    private readonly store: DeviceStore,
    private readonly sending: Sending,
  ) {}

  /**
   * Keep a provider key on this device (C9 device-direct mode): stored with the device's keys, used
   * only by this device to call the provider itself, never sent to the Parley server. Replaces a
   * model with the same id. Returns the model's id as `imagine` takes it (`device:<id>`).
   */
  async addImageProvider(model: DeviceModel): Promise<string> {
    const { id, ...spec } = model;
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id))
      throw new ParleyError('image_request_invalid', { details: [{ path: 'id', problem: '1–64 of A-Za-z0-9._-' }] });
    const parsed = modelSpecSchema.safeParse(spec);
    if (!parsed.success)
      throw new ParleyError('image_request_invalid', {
        details: parsed.error.issues.map((i) => ({ path: i.path.join('.'), problem: i.message })),
      });
    const list = (await this.deviceModels()).filter((m) => m.id !== id);
    await this.store.set(DEVICE_MODELS_KEY, [...list, { id, ...spec }]);
    return DEVICE_MODEL_PREFIX + id;
  }

  /** Forget a provider key kept on this device (`id` with or without `device:`). */
  async removeImageProvider(id: string): Promise<void> {
    const bare = id.startsWith(DEVICE_MODEL_PREFIX) ? id.slice(DEVICE_MODEL_PREFIX.length) : id;
    await this.store.set(
      DEVICE_MODELS_KEY,
      (await this.deviceModels()).filter((m) => m.id !== bare),
    );
  }

  /**
   * The provider keys kept on this device (device-direct mode), without asking the server, each
   * with only a hint of its key: nothing here shows a key in full.
   */
  async imageProviders(): Promise<DeviceKeyInfo[]> {
    return (await this.deviceModels()).map((m) => ({
      id: DEVICE_MODEL_PREFIX + m.id,
      provider: m.provider,
      baseUrl: m.baseUrl,
      model: m.model,
      displayName: m.displayName,
      keyHint: keyHint(m.apiKey),
    }));
  }

  /**
   * Every model this device may use: its own (device-direct), the server's hosted ones, then the
   * offline pattern renderer; each says where the prompt goes and gives the first-use sentence.
   */
  async imageModels(): Promise<ImageModel[]> {
    const out: ImageModel[] = [];
    for (const m of await this.deviceModels()) {
      const recipient = recipientOf(m);
      out.push({
        id: DEVICE_MODEL_PREFIX + m.id,
        displayName: m.displayName,
        where: 'device',
        provider: m.provider,
        recipient,
        notice: noticeFor('device', recipient),
        maxVariants: 4,
      });
    }
    const hosted = await this.session.api.imageModels();
    for (const m of hosted.models) {
      if (m.where === 'offline') continue;
      out.push({
        id: m.id,
        displayName: m.displayName,
        where: 'server',
        provider: m.provider,
        recipient: m.recipient,
        notice: noticeFor('server', m.recipient),
        maxVariants: m.maxVariants,
        leftToday: m.leftToday,
      });
    }
    out.push({
      id: PATTERN_MODEL_ID,
      displayName: PATTERN_TEXT,
      where: 'offline',
      provider: PATTERN_PROVIDER,
      recipient: 'nobody',
      notice: noticeFor('offline', 'nobody'),
      maxVariants: 4,
    });
    return out;
  }

  /**
   * Generate variants (1–4) with one model: on this device for `device:` models and the pattern
   * renderer, on the server for hosted ones. Each variant carries the label it will be sent with.
   */
  async imagine(opts: ImagineOptions): Promise<ImagineVariant[]> {
    const { model, signal, onProgress, ...request } = opts;
    const createdAt = Date.now();
    if (model === PATTERN_MODEL_ID) {
      const r = await new PatternProvider().generate(
        { ...request, model: PATTERN_MODEL },
        { ...(signal ? { signal } : {}), ...(onProgress ? { onProgress } : {}) },
      );
      return variantsOf(r, PATTERN_TEXT, createdAt);
    }
    if (model.startsWith(DEVICE_MODEL_PREFIX)) {
      const bare = model.slice(DEVICE_MODEL_PREFIX.length);
      const m = (await this.deviceModels()).find((x) => x.id === bare);
      if (!m) throw new ParleyError('image_model_unknown', { details: { model } });
      const { id: _id, ...spec } = m;
      const r = await createProvider(spec).generate(
        { ...request, model: m.model },
        { ...(signal ? { signal } : {}), ...(onProgress ? { onProgress } : {}) },
      );
      return variantsOf(r, m.displayName, createdAt);
    }
    const last = await this.session.api.imagineJob(
      { ...request, model },
      {
        ms: HOSTED_JOB_MS + HOSTED_SLACK_MS,
        ...(signal ? { signal } : {}),
        ...(onProgress
          ? {
              onLine: (l) => {
                if (l.type === 'progress') {
                  const { type: _t, ...p } = l;
                  onProgress(p);
                }
              },
            }
          : {}),
      },
    );
    if (last.type === 'error') throw ParleyError.fromBody({ error: last.error });
    if (last.type !== 'result') throw new ParleyError('unavailable');
    return last.images.map((i) => ({
      bytes: fromB64(i.data),
      mimeType: i.mimeType,
      ...(i.width ? { width: i.width } : {}),
      ...(i.height ? { height: i.height } : {}),
      label: {
        provider: last.provider,
        model: last.model,
        modelName: last.modelName,
        ...((i.seed ?? last.seed) !== undefined ? { seed: i.seed ?? last.seed } : {}),
        createdAt: last.createdAt,
        ...(i.c2pa ? { c2pa: true as const } : {}),
      },
    }));
  }

  /**
   * Send a generated variant as an ordinary end-to-end-encrypted image, with its provenance label
   * inside the encrypted content: every client shows "AI-generated · <model>" (or "Pattern —
   * offline, not AI"). There is no way to send it without the label.
   */
  sendImagined(
    conversationId: string,
    variant: ImagineVariant,
    opts: { caption?: string } = {},
  ): Promise<LocalMessage> {
    const ext = variant.mimeType === 'image/jpeg' ? 'jpg' : variant.mimeType === 'image/webp' ? 'webp' : 'png';
    return this.sending.sendGenerated(
      conversationId,
      {
        bytes: variant.bytes,
        mimeType: variant.mimeType,
        kind: 'image',
        fileName: `generated-${variant.label.seed ?? variant.label.createdAt}.${ext}`,
        ...(variant.width ? { width: variant.width } : {}),
        ...(variant.height ? { height: variant.height } : {}),
        ...(opts.caption ? { caption: opts.caption } : {}),
      },
      variant.label,
    );
  }

  private async deviceModels(): Promise<DeviceModel[]> {
    return (await this.store.get<DeviceModel[]>(DEVICE_MODELS_KEY)) ?? [];
  }
}

/** A device-side result as variants with their labels. */
function variantsOf(r: GenerationResult, modelName: string, createdAt: number): ImagineVariant[] {
  return r.images.map((i) => ({
    bytes: i.bytes,
    mimeType: i.mimeType,
    ...(i.width ? { width: i.width } : {}),
    ...(i.height ? { height: i.height } : {}),
    label: {
      provider: r.provider,
      model: r.model,
      modelName,
      ...((i.seed ?? r.seed) !== undefined ? { seed: i.seed ?? r.seed } : {}),
      createdAt,
      ...(i.c2pa ? { c2pa: true as const } : {}),
    },
  }));
}
