/**
 * Op results that are not JSON (C4): a blob download is answered with raw bytes and its own
 * headers. The HTTP layer sends a {@link BinaryAnswer} as is; ops that return one are HTTP-only.
 */
import type { Readable } from 'node:stream';

/** Raw bytes to send as the HTTP response body, with status and headers. */
export class BinaryAnswer {
  constructor(
    readonly body: Readable,
    readonly headers: Record<string, string>,
    readonly status = 200,
  ) {}
}
