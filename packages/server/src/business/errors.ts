/**
 * Business API errors (C10): the Cloud API's numeric codes and error body, which the business
 * client libraries read (`error.code`, `error.error_subcode`), from the one list in
 * @parley/protocol (`BUSINESS_ERRORS`). Parley's own catalogue stays for Parley's own API.
 */
import { BUSINESS_ERRORS, type BusinessErrorBody, type BusinessErrorName } from '@parley/protocol';

/** A Business API error: which one, and a sentence for `error_data.details`. */
export class BusinessApiError extends Error {
  constructor(
    readonly kind: BusinessErrorName,
    readonly details: string,
    readonly retryAfterMs?: number,
    /** Values for the catalogue message's `{placeholders}`. */
    readonly fill: Record<string, string> = {},
  ) {
    super(`${kind}: ${details}`);
    this.name = 'BusinessApiError';
  }

  get status(): number {
    return BUSINESS_ERRORS[this.kind].status;
  }

  /** The documented body, `fbtrace_id` being the request id the server logs under. */
  toBody(traceId: string): BusinessErrorBody {
    const spec: { code: number; subcode?: number; type: string; message: string } = BUSINESS_ERRORS[this.kind];
    return {
      error: {
        message: spec.message.replace(/\{(\w+)\}/g, (_m, k: string) => this.fill[k] ?? ''),
        type: spec.type,
        code: spec.code,
        error_data: { messaging_product: 'whatsapp', details: this.details },
        ...(spec.subcode !== undefined ? { error_subcode: spec.subcode } : {}),
        fbtrace_id: traceId,
      },
    };
  }
}
