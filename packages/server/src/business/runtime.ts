/**
 * The Business API's running parts in one server process (C10): the hosted devices (when this
 * process was given a host), the codes of their registrations and the webhook queue's worker. The
 * composition root builds it; the routes reach it as `ctx.business`.
 */
import type { Logger } from 'pino';
import type { Storage } from '../storage/types.ts';
import type { BusinessNumberRow } from '../storage/business.ts';
import type { ServerSecrets } from '../services/server-secrets.ts';
import { HostedCodes, makePlatform, type BusinessDevices, type HostedNumber } from './hosted.ts';
import { BusinessWebhooks } from './webhooks.ts';
import { BusinessRules, type BusinessLimits } from './rules.ts';
import type { RateLimiter } from '../limits/index.ts';

/** How often new business numbers are looked for, so their devices register without a first send. */
const NUMBERS_EVERY_MS = 10_000;

export class BusinessRuntime {
  readonly codes = new HostedCodes();
  readonly webhooks: BusinessWebhooks;
  /** The window, opt-outs and send limits (rules.ts). */
  readonly rules: BusinessRules;
  private timer: NodeJS.Timeout | null = null;
  private started = false;

  constructor(
    private readonly storage: Storage,
    secrets: ServerSecrets,
    private readonly log: Logger,
    now: () => number,
    retryBaseMs: number,
    /** The hosted devices; null when this process hosts none (sending then answers an error). */
    readonly devices: BusinessDevices | null,
    limiter: RateLimiter,
    limits: BusinessLimits,
  ) {
    this.webhooks = new BusinessWebhooks(storage, secrets, log, now, retryBaseMs);
    this.rules = new BusinessRules(storage, limiter, this.webhooks, now, limits);
    this.secrets = secrets;
  }

  private readonly secrets: ServerSecrets;

  /** Once the server listens at `url`: start the webhook worker and the hosted devices. */
  async start(url: string): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.webhooks.start();
    if (!this.devices) return;
    await this.devices.start(
      makePlatform({
        url,
        storage: this.storage,
        secrets: this.secrets,
        codes: this.codes,
        log: this.log,
        onEvent: async (e) => {
          // The window opens before the webhook hears of the message, so a reply to it is admitted.
          await this.rules.observe(e);
          await this.webhooks.fromHostedEvent(e);
        },
      }),
    );
    const sweep = () => void this.ensureAll().catch((err: unknown) => this.log.warn({ err }, 'business devices'));
    sweep();
    this.timer = setInterval(sweep, NUMBERS_EVERY_MS);
    this.timer.unref();
  }

  /** Start the device of every business number (registering new ones). */
  private async ensureAll(): Promise<void> {
    for (const b of await this.storage.business.listBusinesses())
      for (const n of await this.storage.business.listNumbers(b.id)) await this.devices?.ensure(hosted(n));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.devices?.close();
    await this.webhooks.stop();
  }
}

/** What the host needs of a number. */
export function hosted(n: BusinessNumberRow): HostedNumber {
  return { phoneNumberId: n.id, phone: n.phone, verifiedName: n.verifiedName };
}
