/**
 * Link previews made on the sending device (C15). The device fetches the page itself, with a
 * deadline and a size cap, http and https only, `text/html` only, reads its title, description and
 * image (Open Graph tags first, then `<title>` and the description meta tag), fetches the image
 * with the same limits and puts its bytes in the preview, which travels inside the encrypted
 * message. Receivers show it and fetch nothing; the server never fetches anything. The site does
 * see the sender's address. Anything that goes wrong (no answer in time, too big, not HTML, a
 * browser's cross-origin refusal) means no preview: `makeLinkPreview` answers null, never throws.
 */
import {
  LINK_PREVIEW_IMAGE_TYPES,
  LINK_PREVIEW_LIMITS,
  linkPreviewSchema,
  toB64,
  type LinkPreview,
} from '@parley/protocol';
import { findLinks } from './links.ts';

/** Options of {@link makeLinkPreview}. */
export interface LinkPreviewOptions {
  /** The fetch to use (default: the global one). A browser's refuses most sites (CORS). */
  fetch?: typeof fetch;
  /** Deadline of the page fetch, and again of the image fetch (default 5 s). */
  timeoutMs?: number;
  /** Most bytes of the page read (default 512 KiB); a longer page gets no preview. */
  maxPageBytes?: number;
  /**
   * Turn a fetched image into one that fits the message (at most `LINK_PREVIEW_LIMITS.imageBytes`),
   * e.g. a browser draws it smaller on a canvas. Without it, an image already that small is
   * taken as it is and a larger one is left out.
   */
  shrinkImage?: (bytes: Uint8Array, type: string) => Promise<{ bytes: Uint8Array; type: string } | null>;
}

/** The first link of a text that a preview can be made for, or null. */
export function previewableLink(text: string): string | null {
  return findLinks(text)[0]?.href ?? null;
}

/** The preview of `url`, or null when none can be made (see the module comment). */
export async function makeLinkPreview(url: string, opts: LinkPreviewOptions = {}): Promise<LinkPreview | null> {
  try {
    const page = httpUrl(url);
    if (!page) return null;
    const timeoutMs = opts.timeoutMs ?? LINK_PREVIEW_LIMITS.fetchMs;
    const html = await fetchCapped(page, opts, timeoutMs, opts.maxPageBytes ?? LINK_PREVIEW_LIMITS.pageBytes, (t) =>
      /^text\/html\b/i.test(t),
    );
    if (!html) return null;
    const meta = readMeta(new TextDecoder().decode(html.bytes));
    const title = clip(meta.title, LINK_PREVIEW_LIMITS.titleChars);
    if (!title) return null;
    const description = clip(meta.description, LINK_PREVIEW_LIMITS.descriptionChars);
    const image = meta.image ? await fetchImage(meta.image, html.url, opts, timeoutMs) : undefined;
    const preview: LinkPreview = {
      url: page,
      title,
      ...(description ? { description } : {}),
      ...(image ? { image } : {}),
    };
    // What receivers check, checked before sending too.
    return linkPreviewSchema.parse(preview);
  } catch {
    return null;
  }
}

/** `url` (resolved against `base`) when it is http or https, else null. */
function httpUrl(url: string, base?: string): string | null {
  try {
    const u = new URL(url, base);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    if (u.username || u.password || u.href.length > LINK_PREVIEW_LIMITS.urlChars) return null;
    return u.href;
  } catch {
    return null;
  }
}

/**
 * GET `url` within `timeoutMs`, reading at most `maxBytes` (more: null) of a body whose type
 * `typeOk` accepts. Redirects are followed by fetch; the final address must still be http(s).
 */
async function fetchCapped(
  url: string,
  opts: LinkPreviewOptions,
  timeoutMs: number,
  maxBytes: number,
  typeOk: (type: string) => boolean,
): Promise<{ bytes: Uint8Array; type: string; url: string } | null> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const res = await (opts.fetch ?? fetch)(url, {
      signal: abort.signal,
      redirect: 'follow',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
      headers: { accept: 'text/html,image/*;q=0.9' },
    });
    const type = res.headers.get('content-type') ?? '';
    if (!res.ok || !typeOk(type) || !httpUrl(res.url || url)) {
      await res.body?.cancel().catch(() => undefined);
      return null;
    }
    const length = Number(res.headers.get('content-length') ?? NaN);
    if (length > maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      return null;
    }
    if (!res.body) return null;
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        return null;
      }
      chunks.push(value);
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.byteLength;
    }
    return { bytes, type: type.split(';')[0]!.trim().toLowerCase(), url: res.url || url };
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

/** The page's image as bytes for the preview, or undefined. */
async function fetchImage(
  src: string,
  pageUrl: string,
  opts: LinkPreviewOptions,
  timeoutMs: number,
): Promise<LinkPreview['image']> {
  const url = httpUrl(src, pageUrl);
  if (!url) return undefined;
  const got = await fetchCapped(url, opts, timeoutMs, LINK_PREVIEW_LIMITS.imageFetchBytes, (t) =>
    /^image\//i.test(t),
  ).catch(() => null);
  if (!got) return undefined;
  let { bytes, type } = got;
  if (bytes.byteLength > LINK_PREVIEW_LIMITS.imageBytes || !isPreviewType(type)) {
    const smaller = opts.shrinkImage ? await opts.shrinkImage(bytes, type).catch(() => null) : null;
    if (!smaller) return undefined;
    ({ bytes, type } = smaller);
  }
  if (bytes.byteLength > LINK_PREVIEW_LIMITS.imageBytes || !isPreviewType(type)) return undefined;
  return { type, data: toB64(bytes) };
}

function isPreviewType(type: string): type is (typeof LINK_PREVIEW_IMAGE_TYPES)[number] {
  return (LINK_PREVIEW_IMAGE_TYPES as readonly string[]).includes(type);
}

/** Title, description and image address from a page's head: `og:` tags, then `<title>` and `description`. */
export function readMeta(html: string): { title?: string; description?: string; image?: string } {
  const head = html.slice(0, LINK_PREVIEW_LIMITS.pageBytes);
  const metas = new Map<string, string>();
  for (const tag of head.matchAll(/<meta\b[^>]*>/gi)) {
    const attrs = attributes(tag[0]);
    const key = (attrs.get('property') ?? attrs.get('name') ?? '').toLowerCase();
    const content = attrs.get('content');
    if (key && content !== undefined && !metas.has(key)) metas.set(key, decodeEntities(content));
  }
  const titleTag = /<title\b[^>]*>([\s\S]*?)<\/title>/i.exec(head)?.[1];
  const pick = (...keys: string[]) => keys.map((k) => metas.get(k)?.trim()).find((v) => v);
  return {
    title: pick('og:title', 'twitter:title') ?? (titleTag ? decodeEntities(titleTag).trim() : undefined),
    description: pick('og:description', 'twitter:description', 'description'),
    image: pick('og:image', 'og:image:url', 'og:image:secure_url', 'twitter:image'),
  };
}

/** The attributes of one tag, names in lower case. */
function attributes(tag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of tag.matchAll(/([a-zA-Z:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))/g))
    out.set(m[1]!.toLowerCase(), m[2] ?? m[3] ?? m[4] ?? '');
  return out;
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** HTML character references in text (named: the common ones; numeric: all valid code points). */
function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (all, ref: string) => {
    if (ref[0] !== '#') return NAMED[ref.toLowerCase()] ?? all;
    const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : all;
  });
}

/** `text` on one line (spaces collapsed), cut to `max` characters with an ellipsis; undefined when empty. */
function clip(text: string | undefined, max: number): string | undefined {
  const t = text?.replace(/\s+/g, ' ').trim();
  if (!t) return undefined;
  return t.length <= max ? t : `${t.slice(0, max - 1).trimEnd()}…`;
}
