/**
 * Private contact discovery (C12), server side: the OPRF key, the blind evaluation (libsodium, the
 * hot path), the index of discoverable accounts, the per-account allowance of unseen numbers and
 * the global enumeration alarm. The server never receives a phone number here: it multiplies
 * blinded elements by its key and answers which tags belong to accounts that allow being found.
 * See docs/discovery.md and docs/privacy.md.
 */
import { createHmac, randomBytes } from 'node:crypto';
import sodium from 'libsodium-wrappers-sumo';
import type { Logger } from 'pino';
import { ParleyError } from '@parley/protocol';
import { discoveryTag, evaluateNumber, generateOprfKey, OPRF_ELEMENT_BYTES } from '@parley/crypto';
import type { Config } from '../config/index.ts';
import type { Storage } from '../storage/types.ts';
import type { ServerSecrets } from './server-secrets.ts';
import { DAY } from '../durations.ts';

const OPRF_KEY = 'discovery-oprf-key';
const SEEN_KEY = 'discovery-seen-key';
const USERNAME_KEY = 'username-key';
/** How long a read of today's global count is trusted (other processes add to it too). */
const ALARM_REFRESH_MS = 10_000;
const MEDIAN_DAYS = 30;

/** The UTC day number of a time (days since the epoch): the unit of the global daily count. */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY);
}

/** The quota figures (from configuration) that shape an account's allowance. */
export interface AllowanceRule {
  firstDay: number;
  firstWeek: number;
  perDay: number;
}

/**
 * Unseen numbers an account `ageDays` whole days old may have looked up in total: `firstDay` on
 * its first day, growing evenly to `firstWeek` on day 7, then `perDay` more each day.
 */
export function allowanceFor(ageDays: number, rule: AllowanceRule): number {
  const d = Math.max(0, Math.floor(ageDays));
  if (d >= 7) return rule.firstWeek + (d - 7) * rule.perDay;
  return Math.floor(rule.firstDay + ((rule.firstWeek - rule.firstDay) * d) / 7);
}

/**
 * Milliseconds until an account created at `createdAt` may have looked up `needed` numbers in
 * total, or null when its allowance never reaches that within ten years.
 */
export function waitForAllowance(createdAt: number, now: number, needed: number, rule: AllowanceRule): number | null {
  const today = Math.floor((now - createdAt) / DAY);
  for (let d = today + 1; d < today + 3650; d++) {
    if (allowanceFor(d, rule) >= needed) return createdAt + d * DAY - now;
  }
  return null;
}

/** Median of a list of numbers (0 for an empty list). */
export function median(values: number[]): number {
  if (!values.length) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The discovery engine of one server process (all processes share key and counts through storage). */
export class DiscoveryService {
  private oprfKey: Uint8Array | null = null;
  private seenKey: Uint8Array | null = null;
  private usernameKey: Uint8Array | null = null;
  private heap: { lib: SodiumModule; sk: number; input: number; output: number } | null = null;
  private alarm = { day: -1, readAt: 0, active: false };
  private backfilling: Promise<void> | null = null;

  constructor(
    private readonly storage: Storage,
    private readonly secrets: ServerSecrets,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** Load (or make, once per deployment) the keys and prepare libsodium. */
  async start(): Promise<void> {
    await sodium.ready;
    const random = () => new Uint8Array(randomBytes(32));
    const [oprfKey, seenKey, usernameKey] = await Promise.all([
      this.secrets.getOrCreate(OPRF_KEY, generateOprfKey),
      this.secrets.getOrCreate(SEEN_KEY, random),
      this.secrets.getOrCreate(USERNAME_KEY, random),
    ]);
    this.oprfKey = oprfKey;
    this.seenKey = seenKey;
    this.usernameKey = usernameKey;
    // Call the WebAssembly export directly with buffers kept on its heap: the wrapper's per-call
    // allocation and copying cost about a fifth of the evaluation rate.
    const lib = (sodium as unknown as { libsodium: SodiumModule }).libsodium;
    const sk = lib._malloc(OPRF_ELEMENT_BYTES);
    lib.HEAPU8.set(oprfKey, sk);
    this.heap = { lib, sk, input: lib._malloc(OPRF_ELEMENT_BYTES), output: lib._malloc(OPRF_ELEMENT_BYTES) };
    this.backfilling = this.backfill().catch((err) => this.log.error({ err }, 'discovery index backfill failed'));
  }

  /** Wait for the start-up backfill of the index (tests, orderly shutdown). */
  async idle(): Promise<void> {
    await this.backfilling;
  }

  /**
   * Check that every blinded element is a valid, canonical ristretto255 encoding of a point other
   * than the identity (decoding only: about a tenth of an evaluation's cost).
   * @throws ParleyError `discovery_element_invalid` naming the first bad element.
   */
  validate(blinded: Uint8Array[]): void {
    const h = this.ready();
    for (let i = 0; i < blinded.length; i++) {
      const el = blinded[i]!;
      if (el.length !== OPRF_ELEMENT_BYTES || el.every((b) => b === 0))
        throw new ParleyError('discovery_element_invalid', { details: { index: i } });
      h.lib.HEAPU8.set(el, h.input);
      if (h.lib._crypto_core_ristretto255_is_valid_point(h.input) !== 1)
        throw new ParleyError('discovery_element_invalid', { details: { index: i } });
    }
  }

  /** Multiply each (validated) blinded element by the OPRF key. */
  evaluate(blinded: Uint8Array[]): Uint8Array[] {
    const h = this.ready();
    const out: Uint8Array[] = [];
    for (let i = 0; i < blinded.length; i++) {
      h.lib.HEAPU8.set(blinded[i]!, h.input);
      if (h.lib._crypto_scalarmult_ristretto255(h.output, h.sk, h.input) !== 0)
        throw new ParleyError('discovery_element_invalid', { details: { index: i } });
      out.push(h.lib.HEAPU8.slice(h.output, h.output + OPRF_ELEMENT_BYTES));
    }
    return out;
  }

  private ready(): NonNullable<DiscoveryService['heap']> {
    if (!this.heap) throw new ParleyError('unavailable');
    return this.heap;
  }

  /** The index tag of a number this server knows (its own users'). */
  tagFor(e164: string): Uint8Array {
    if (!this.oprfKey) throw new ParleyError('unavailable');
    return discoveryTag(evaluateNumber(this.oprfKey, e164));
  }

  /** What the quota table holds for a looked-up tag: a keyed digest, not the tag itself. */
  seenDigest(accountId: string, tag: Uint8Array): Uint8Array {
    if (!this.seenKey) throw new ParleyError('unavailable');
    return new Uint8Array(createHmac('sha256', this.seenKey).update(accountId).update(tag).digest().subarray(0, 16));
  }

  /** What the usernames table holds for a username hash sent by a device: keyed again with a server secret. */
  usernameKeyed(hash: Uint8Array): Uint8Array {
    if (!this.usernameKey) throw new ParleyError('unavailable');
    return new Uint8Array(createHmac('sha256', this.usernameKey).update(hash).digest());
  }

  /** Make an account findable by its number, or (false) remove it from the index. */
  async setFindable(accountId: string, phone: string, findable: boolean): Promise<void> {
    await this.storage.discovery.setDiscoverable(accountId, findable ? this.tagFor(phone) : null);
  }

  /** The allowance rule from configuration. */
  get rule(): AllowanceRule {
    return {
      firstDay: this.config.discoveryFirstDay,
      firstWeek: this.config.discoveryFirstWeek,
      perDay: this.config.discoveryPerDay,
    };
  }

  /**
   * True while today's lookups of unseen numbers exceed the alarm factor times the median of the
   * previous 30 days (and the absolute floor). While it holds, accounts younger than a week get no
   * new allowance.
   */
  async alarmActive(): Promise<boolean> {
    const now = this.now();
    const today = dayOf(now);
    if (this.alarm.day !== today || now - this.alarm.readAt > ALARM_REFRESH_MS) {
      const days = await this.storage.discovery.discoveryDays(today - MEDIAN_DAYS, today);
      const previous: number[] = [];
      for (let d = today - MEDIAN_DAYS; d < today; d++) previous.push(days.get(d) ?? 0);
      const med = median(previous);
      const count = days.get(today) ?? 0;
      const active = count > this.config.discoveryAlarmFactor * med && count > this.config.discoveryAlarmFloor;
      if (active && !(this.alarm.active && this.alarm.day === today)) {
        this.log.warn(
          { alert: 'discovery_alarm', today: count, median: med, factor: this.config.discoveryAlarmFactor },
          'contact discovery alarm: lookups far above normal; new accounts paused',
        );
      }
      this.alarm = { day: today, readAt: now, active };
    }
    return this.alarm.active;
  }

  /** Index discoverable accounts that have no entry (accounts made before discovery existed). */
  private async backfill(): Promise<void> {
    for (;;) {
      const batch = await this.storage.discovery.listUnindexedDiscoverable(200);
      if (!batch.length) return;
      for (const a of batch) await this.storage.discovery.setDiscoverable(a.accountId, this.tagFor(a.phone));
    }
  }
}

/** The parts of libsodium's WebAssembly module the evaluator calls. */
interface SodiumModule {
  _malloc(n: number): number;
  _crypto_scalarmult_ristretto255(out: number, scalar: number, point: number): number;
  _crypto_core_ristretto255_is_valid_point(point: number): number;
  HEAPU8: Uint8Array;
}
