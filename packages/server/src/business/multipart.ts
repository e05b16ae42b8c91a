/**
 * A strict `multipart/form-data` reader for the Business API's media upload (C10): the whole body
 * is already in memory (bounded by the route's body limit), so this only splits it into its parts.
 * Anything malformed is refused rather than guessed at.
 */

/** One part of a form: a field's value, or a file with its bytes. */
export interface FormPart {
  name: string;
  filename: string | null;
  contentType: string | null;
  data: Buffer;
}

/** Bounds that keep a hostile body from costing more than its size. */
const MAX_PARTS = 16;
const MAX_HEADER_BYTES = 8 * 1024;

/** Why a form could not be read. */
export class MultipartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MultipartError';
  }
}

/** The boundary named by a `multipart/form-data` content type, or null. */
export function multipartBoundary(contentType: string | undefined): string | null {
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) return null;
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType);
  return m ? (m[1] ?? m[2]!) : null;
}

/** Split a form body into its parts. */
export function parseMultipart(body: Buffer, boundary: string): FormPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: FormPart[] = [];
  let at = body.indexOf(delimiter);
  if (at === -1) throw new MultipartError('no boundary in the body');
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString('latin1') === '--') return parts;
    if (body.subarray(at, at + 2).toString('latin1') !== '\r\n') throw new MultipartError('malformed boundary line');
    at += 2;
    const headerEnd = body.indexOf('\r\n\r\n', at);
    if (headerEnd === -1 || headerEnd - at > MAX_HEADER_BYTES) throw new MultipartError('malformed part headers');
    const headers = new Map<string, string>();
    for (const line of body.subarray(at, headerEnd).toString('utf8').split('\r\n')) {
      const i = line.indexOf(':');
      if (i <= 0) throw new MultipartError('malformed part header');
      headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
    if (next === -1) throw new MultipartError('a part does not end');
    const disposition = headers.get('content-disposition') ?? '';
    const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1];
    if (!/^form-data\s*;/i.test(disposition) || name === undefined)
      throw new MultipartError('a part without a form-data name');
    parts.push({
      name,
      filename: /;\s*filename="([^"]*)"/i.exec(disposition)?.[1] ?? null,
      contentType: headers.get('content-type') ?? null,
      data: body.subarray(headerEnd + 4, next),
    });
    if (parts.length > MAX_PARTS) throw new MultipartError(`at most ${MAX_PARTS} parts`);
    at = next + 2;
  }
}
