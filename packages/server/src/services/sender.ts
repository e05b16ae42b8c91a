/**
 * Verification-code senders (C1). Pluggable: the embedded default is a dev outbox an operator reads
 * at `GET /dev/outbox`; `http` posts `{to, text}` to an SMS gateway (a stand-in for a commercial
 * SMS API, which this project cannot reach; the contract is documented in docs/operations.md).
 */

/** One message the server asked a sender to deliver. */
export interface OutboxEntry {
  to: string;
  text: string;
  code: string;
  sentAt: number;
}

/** Something that delivers a verification code to a phone number. */
export interface VerificationSender {
  readonly name: string;
  send(to: string, code: string): Promise<void>;
}

/**
 * Keeps the last 1,000 codes in memory for `GET /dev/outbox`; never use it in production.
 * `readToken` is the operator token that route asks for (printed at start).
 */
export class DevOutboxSender implements VerificationSender {
  readonly name = 'dev-outbox';
  readonly entries: OutboxEntry[] = [];
  constructor(readonly readToken: string) {}
  async send(to: string, code: string): Promise<void> {
    this.entries.push({ to, code, text: `Your Parley code is ${code}`, sentAt: Date.now() });
    if (this.entries.length > 1000) this.entries.splice(0, this.entries.length - 1000);
  }
}

/** Posts JSON `{to, text}` with an optional bearer token; any non-2xx answer is a failure. */
export class HttpSmsSender implements VerificationSender {
  readonly name = 'http';
  constructor(
    private readonly url: string,
    private readonly token?: string,
  ) {}
  async send(to: string, code: string): Promise<void> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      body: JSON.stringify({ to, text: `Your Parley code is ${code}` }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`SMS gateway answered ${res.status}`);
  }
}
