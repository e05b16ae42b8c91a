/**
 * One generation job's HTTP life (C9): a deadline over every call (the caller's AbortSignal and the
 * adapter's own timeout), 429 retried after Retry-After while the deadline allows, capped reads,
 * zod-checked answers, and every failure turned into a catalogued `image_*` error. Adapters
 * describe their provider's shape; this module owns the rules they all share.
 */
import { ParleyError } from '@parley/protocol';
import type { z } from 'zod';
import { isPng, pngC2pa, pngSize } from './png.ts';
import type { GenerateOptions, GeneratedImage, Progress } from './types.ts';

/** What every HTTP adapter takes besides its own settings. */
export interface HttpProviderConfig {
  /** The provider's base address, e.g. `https://api.bfl.ai` or `http://127.0.0.1:8188`. */
  readonly baseUrl: string;
  /** The provider key (absent for local servers that need none). */
  readonly apiKey?: string;
  /** Deadline of one `generate` call; default 120 s. */
  readonly timeoutMs?: number;
  /** Wait between two status polls; default 1 s. */
  readonly pollIntervalMs?: number;
  /** Cap on one JSON answer (base64 images ride in it); default 64 MiB. */
  readonly maxJsonBytes?: number;
  /** Cap on one downloaded image; default 32 MiB. */
  readonly maxImageBytes?: number;
  /** The fetch to use (a proxying one on the server); default the global fetch. */
  readonly fetch?: typeof fetch;
}

export const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_POLL_MS = 1000;
const DEFAULT_MAX_JSON = 64 * 1024 * 1024;
const DEFAULT_MAX_IMAGE = 32 * 1024 * 1024;
/** A cancel call at the provider gets this long, outside the job's own (already spent) deadline. */
const CANCEL_TIMEOUT_MS = 5000;
/** A 429 without Retry-After waits this long first, doubling after. */
const DEFAULT_RETRY_MS = 1000;
const MAX_RATE_LIMIT_RETRIES = 5;

/** How an adapter reads one failed answer: a catalogued error, or undefined for the common mapping. */
export type ErrorReader = (status: number, body: unknown) => ParleyError | undefined;

/** Options of one request inside a job. */
export interface CallOptions {
  /** Names the call in error details (`submit`, `poll`, `download`). */
  readonly what: string;
  /** The provider's own failure shapes (refusals, validation), read before the common mapping. */
  readonly readError?: ErrorReader;
  /** A download of a result: 403, 404 and 410 mean the result address expired. */
  readonly result?: boolean;
}

/** A running job: its signal, deadline and the calls it makes. */
export class Job {
  readonly signal: AbortSignal;
  readonly pollIntervalMs: number;
  private readonly controller = new AbortController();
  private readonly deadlineAt: number;
  private readonly fetchImpl: typeof fetch;
  private readonly maxJson: number;
  private readonly maxImage: number;
  private ended: 'timeout' | 'canceled' | undefined;
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly onCallerAbort: () => void;

  constructor(
    readonly provider: string,
    readonly config: HttpProviderConfig,
    private readonly options: GenerateOptions,
  ) {
    const timeoutMs = Math.min(config.timeoutMs ?? DEFAULT_TIMEOUT_MS, options.timeoutMs ?? Infinity);
    this.deadlineAt = Date.now() + timeoutMs;
    this.fetchImpl = config.fetch ?? globalThis.fetch.bind(globalThis);
    this.pollIntervalMs = config.pollIntervalMs ?? DEFAULT_POLL_MS;
    this.maxJson = config.maxJsonBytes ?? DEFAULT_MAX_JSON;
    this.maxImage = config.maxImageBytes ?? DEFAULT_MAX_IMAGE;
    this.signal = this.controller.signal;
    this.timer = setTimeout(() => this.end('timeout'), timeoutMs);
    this.onCallerAbort = () => this.end('canceled');
    if (options.signal?.aborted) this.end('canceled');
    else options.signal?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  private end(why: 'timeout' | 'canceled'): void {
    if (this.ended) return;
    this.ended = why;
    this.controller.abort();
  }

  /** Milliseconds left before the deadline (never below 0). */
  remainingMs(): number {
    return Math.max(0, this.deadlineAt - Date.now());
  }

  /** Releases the timer and the caller's signal listener. */
  close(): void {
    clearTimeout(this.timer);
    this.options.signal?.removeEventListener('abort', this.onCallerAbort);
  }

  /** Whether the job was stopped by its deadline or the caller, and the error that says which. */
  stopped(): ParleyError | undefined {
    if (this.ended === 'timeout')
      return new ParleyError('image_provider_timeout', { details: { provider: this.provider } });
    if (this.ended === 'canceled') return new ParleyError('image_generation_canceled');
    return undefined;
  }

  /** Reports progress, never letting a throwing callback break the job. */
  progress(p: Progress): void {
    try {
      this.options.onProgress?.(p);
    } catch {
      /* the caller's display problem is not the job's */
    }
  }

  /** Waits between polls; ends early with the job's error when it is stopped. */
  async sleep(ms = this.pollIntervalMs): Promise<void> {
    const signal = this.signal;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      // Removed again after each wait: a long job polls many times on the same signal.
      function done() {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
    const stop = this.stopped();
    if (stop) throw stop;
  }

  /** Resolves a provider-given address (a polling or result URL) against the base, http(s) only. */
  url(path: string): string {
    let u: URL;
    try {
      u = new URL(path, this.config.baseUrl.endsWith('/') ? this.config.baseUrl : this.config.baseUrl + '/');
    } catch {
      throw badAnswer(this.provider, 'an address that does not parse', path);
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:')
      throw badAnswer(this.provider, 'an address that is not http(s)', path);
    return u.href;
  }

  /**
   * The headers for a provider-given address: the key goes only to the provider's own site (the
   * base host, or a host sharing its last two labels, such as a regional API host); a polling
   * address elsewhere gets the request without it.
   */
  authFor(url: string, headers: Record<string, string>, keyHeader: string): Record<string, string> {
    if (sameSite(url, this.config.baseUrl)) return headers;
    const { [keyHeader]: _dropped, ...rest } = headers;
    return rest;
  }

  /**
   * One HTTP request under the job's deadline. A 429 is retried after its Retry-After when that
   * ends before the deadline, else it is `image_provider_rate_limited` with `retryAfterMs`.
   * Any other non-2xx answer becomes a catalogued error.
   */
  async request(url: string, init: RequestInit, call: CallOptions): Promise<Response> {
    let wait = DEFAULT_RETRY_MS;
    for (let attempt = 0; ; attempt++) {
      const res = await this.send(url, init);
      if (res.status === 429) {
        const asked = retryAfterMs(res.headers.get('retry-after'));
        const delay = asked ?? wait;
        wait *= 2;
        await res.body?.cancel().catch(() => undefined);
        if (attempt >= MAX_RATE_LIMIT_RETRIES || Date.now() + delay >= this.deadlineAt)
          throw new ParleyError('image_provider_rate_limited', {
            retryAfterMs: Math.max(0, Math.ceil(delay)),
            details: { provider: this.provider, call: call.what },
          });
        this.progress({ stage: 'queued' });
        await this.sleep(delay);
        continue;
      }
      if (res.ok) return res;
      const text = await this.readText(res, call).catch((e: unknown) => {
        if (e instanceof ParleyError && (e.code === 'image_provider_timeout' || e.code === 'image_generation_canceled'))
          throw e;
        return '';
      });
      throw this.failure(res.status, parseMaybeJson(text), call);
    }
  }

  /** A request whose answer is JSON of the given shape; anything else is `image_provider_bad_answer`. */
  async json<S extends z.ZodType>(url: string, init: RequestInit, schema: S, call: CallOptions): Promise<z.infer<S>> {
    const res = await this.request(url, init, call);
    return this.parse(await this.readText(res, call), schema, call.what);
  }

  /** Checks already-read JSON text against a schema. */
  parse<S extends z.ZodType>(text: string, schema: S, what: string): z.infer<S> {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw badAnswer(this.provider, `${what}: not JSON`, text.slice(0, 200));
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success)
      throw badAnswer(
        this.provider,
        `${what}: not the documented shape`,
        parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`),
      );
    return parsed.data;
  }

  /** Downloads one result image (a URL or a data: URI) within the image cap. */
  async download(address: string, seed?: number): Promise<GeneratedImage> {
    this.progress({ stage: 'downloading' });
    if (address.startsWith('data:')) return this.decodeDataUri(address, seed);
    // No provider key on downloads: result addresses are signed (or local) and may sit on another host.
    const res = await this.request(this.url(address), { method: 'GET' }, { what: 'download', result: true });
    return toImage(this.provider, await this.readCapped(res, this.maxImage, 'download'), seed);
  }

  /** Decodes a base64 image the provider put in its JSON answer. */
  decodeBase64(b64: string, seed?: number): GeneratedImage {
    return toImage(this.provider, this.fromBase64(b64), seed);
  }

  /**
   * Best-effort cancel at the provider after the job stopped: its own short deadline, since the
   * job's is spent; a failure here changes nothing for the caller.
   */
  async cancelAtProvider(call: (signal: AbortSignal) => Promise<unknown>): Promise<void> {
    try {
      await call(AbortSignal.timeout(CANCEL_TIMEOUT_MS));
    } catch {
      /* the provider may have finished or forgotten the job; the caller already has its answer */
    }
  }

  /** A fetch outside the job's signal (for cancel calls), with the adapter's headers. */
  async sendDetached(url: string, init: RequestInit, signal: AbortSignal): Promise<void> {
    const res = await this.fetchImpl(url, { ...init, signal });
    await res.body?.cancel().catch(() => undefined);
  }

  /** A JSON read outside the job's signal (for a cancel that first asks what is running). */
  async sendAndRead(url: string, init: RequestInit, signal: AbortSignal): Promise<unknown> {
    const res = await this.fetchImpl(url, { ...init, signal });
    const text = new TextDecoder().decode(await this.readCapped(res, 1024 * 1024, 'cancel'));
    return parseMaybeJson(text);
  }

  private decodeDataUri(uri: string, seed?: number): GeneratedImage {
    const m = /^data:([^;,]*)(;base64)?,(.*)$/s.exec(uri);
    if (!m || !m[2]) throw badAnswer(this.provider, 'a data: address that is not base64', uri.slice(0, 60));
    return toImage(this.provider, this.fromBase64(m[3]!), seed);
  }

  private fromBase64(b64: string): Uint8Array {
    const clean = b64.replace(/^data:[^,]*,/, '').replace(/\s+/g, '');
    if (clean.length * 0.75 > this.maxImage)
      throw new ParleyError('image_result_too_large', {
        details: { provider: this.provider, capBytes: this.maxImage },
      });
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1)
      throw badAnswer(this.provider, 'an image that is not base64', clean.slice(0, 40));
    const bin = atob(clean);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    const stop = this.stopped();
    if (stop) throw stop;
    try {
      return await this.fetchImpl(url, { ...init, signal: this.signal });
    } catch (e) {
      throw this.stopped() ?? unreachable(this.provider, e);
    }
  }

  private async readText(res: Response, call: CallOptions): Promise<string> {
    return new TextDecoder().decode(await this.readCapped(res, this.maxJson, call.what));
  }

  /** Reads a body, stopping at `cap` bytes with `image_result_too_large`. */
  private async readCapped(res: Response, cap: number, what: string): Promise<Uint8Array> {
    const tooLarge = () =>
      new ParleyError('image_result_too_large', { details: { provider: this.provider, call: what, capBytes: cap } });
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > cap) {
      await res.body?.cancel().catch(() => undefined);
      throw tooLarge();
    }
    if (!res.body) return new Uint8Array();
    const reader = res.body.getReader();
    const parts: Uint8Array[] = [];
    let total = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.length;
        if (total > cap) {
          await reader.cancel().catch(() => undefined);
          throw tooLarge();
        }
        parts.push(value);
      }
    } catch (e) {
      if (e instanceof ParleyError) throw e;
      throw this.stopped() ?? unreachable(this.provider, e);
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  private failure(status: number, body: unknown, call: CallOptions): ParleyError {
    const own = call.readError?.(status, body);
    if (own) return own;
    const details = { provider: this.provider, call: call.what, status, body: excerpt(body) };
    if (call.result && (status === 403 || status === 404 || status === 410))
      return new ParleyError('image_result_expired', { details });
    if (status === 401 || status === 402 || status === 403)
      return new ParleyError('image_provider_key_rejected', { details });
    if (status === 400 || status === 422) return new ParleyError('image_request_invalid', { details });
    if (status === 404 && call.what === 'submit') return new ParleyError('image_model_unknown', { details });
    if (status === 404 || status === 410) return new ParleyError('image_result_expired', { details });
    return new ParleyError('image_provider_unavailable', { details });
  }
}

/** Failures after which a job may still be running at the provider, so it is cancelled there too. */
const CANCEL_AFTER: ReadonlySet<string> = new Set(['image_provider_bad_answer', 'image_provider_unavailable']);

/**
 * Runs a job: the body under its deadline, and the provider's cancel when the deadline or the
 * caller stops it, or when the provider stopped answering sensibly mid-job (it may still be
 * working, and billing, on it).
 */
export async function runJob<T>(
  provider: string,
  config: HttpProviderConfig,
  options: GenerateOptions,
  body: (job: Job) => Promise<T>,
  cancel?: (job: Job, signal: AbortSignal) => Promise<unknown>,
): Promise<T> {
  const job = new Job(provider, config, options);
  try {
    return await body(job);
  } catch (e) {
    const stop = job.stopped();
    if (cancel && (stop || (e instanceof ParleyError && CANCEL_AFTER.has(e.code))))
      await job.cancelAtProvider((signal) => cancel(job, signal));
    throw stop ?? e;
  } finally {
    job.close();
  }
}

/** Whether two addresses belong to the same site: same scheme and port, and the same host or last two labels. */
export function sameSite(a: string, b: string): boolean {
  const x = new URL(a);
  const y = new URL(b);
  if (x.protocol !== y.protocol || x.port !== y.port) return false;
  if (x.hostname === y.hostname) return true;
  const isName = (h: string) => /[a-z]/i.test(h) && !h.includes(':') && h.split('.').length >= 2;
  if (!isName(x.hostname) || !isName(y.hostname)) return false;
  const site = (h: string) => h.split('.').slice(-2).join('.');
  return site(x.hostname) === site(y.hostname);
}

/** Milliseconds from a Retry-After header: delta seconds or an HTTP date. */
export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const s = header.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** `image_provider_bad_answer` naming what did not match. */
export function badAnswer(provider: string, problem: string, got?: unknown): ParleyError {
  return new ParleyError('image_provider_bad_answer', { details: { provider, problem, got: excerpt(got) } });
}

function unreachable(provider: string, e: unknown): ParleyError {
  return new ParleyError('image_provider_unavailable', {
    details: { provider, problem: e instanceof Error ? e.message : String(e) },
  });
}

function parseMaybeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A short, safe copy of a provider answer for error details (never a whole image). */
function excerpt(v: unknown): unknown {
  if (v === undefined) return undefined;
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 300 ? s.slice(0, 300) + '…' : typeof v === 'string' ? v : JSON.parse(s);
}

/** Sniffs the bytes: PNG, JPEG or WebP, else `image_provider_bad_answer`. */
export function toImage(provider: string, bytes: Uint8Array, seed?: number): GeneratedImage {
  const withSeed = seed === undefined ? {} : { seed };
  if (isPng(bytes)) {
    const size = pngSize(bytes);
    const c2pa = pngC2pa(bytes);
    return { bytes, mimeType: 'image/png', ...size, ...withSeed, ...(c2pa ? { c2pa } : {}) };
  }
  if (bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff)
    return { bytes, mimeType: 'image/jpeg', ...withSeed };
  const ascii = (a: number, b: number) => String.fromCharCode(...bytes.subarray(a, b));
  if (bytes.length > 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP')
    return { bytes, mimeType: 'image/webp', ...withSeed };
  throw badAnswer(provider, 'bytes that are not a PNG, JPEG or WebP image', `${bytes.length} bytes`);
}

/** Base64 of bytes (for input images sent to providers), without Node's Buffer. */
export function toBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}
