/**
 * The hosted mode's platform side (C10, docs/business.md "Where the keys live"): the server gives
 * the hosted business devices what they need and nothing more: a device store per number whose
 * values are sealed (AES-256-GCM under a server secret, bound to the number and the key) before
 * they reach the database, the verification code of their own registration (handed over in
 * process, never sent), and a queue for what their webhooks should hear.
 *
 * The devices themselves are SDK clients (`@parley/sdk/node` `BusinessDeviceHost`), which the
 * server may not import: whoever builds the server passes one in, and it is used through the
 * structural interface below.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { HostedContent, HostedEvent, HostedNumber } from '@parley/protocol';

export type { HostedContent, HostedEvent, HostedNumber } from '@parley/protocol';
import type { Storage } from '../storage/types.ts';
import type { ServerSecrets } from '../services/server-secrets.ts';
import type { Logger } from 'pino';

/** A device's key-value store, as the SDK's `DeviceStore` is shaped. */
export interface HostedDeviceStore {
  get<T = unknown>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
  keys(prefix: string): Promise<string[]>;
}

/** What the server gives the host. */
export interface BusinessPlatform {
  readonly url: string;
  deviceStore(phoneNumberId: string): HostedDeviceStore;
  expectCode(phone: string): Promise<string>;
  event(event: HostedEvent): Promise<void>;
  warn(err: unknown, context: string): void;
}

/** The host of the devices (the SDK's `BusinessDeviceHost` has this shape). */
export interface BusinessDevices {
  start(platform: BusinessPlatform): Promise<void>;
  ensure(number: HostedNumber): Promise<unknown>;
  send(
    number: HostedNumber,
    to: string,
    content: HostedContent,
    replyTo?: string,
  ): Promise<{ conversationId: string; messageId: string; at: number }>;
  message(
    number: HostedNumber,
    conversationId: string,
    messageId: string,
  ): Promise<{ from: string; outgoing: boolean } | null>;
  markRead(number: HostedNumber, conversationId: string, messageId: string): Promise<void>;
  close(): Promise<void>;
}

/** Name of the key that seals the hosted devices' state among the server secrets. */
const STATE_KEY = 'business-device-state-key';
/** How long a registration waits for its code. */
const CODE_WAIT_MS = 30_000;

/** JSON that keeps bytes (`{"$b": base64}`), as the SDK's stores write them. */
function encodeValue(value: unknown): Buffer {
  return Buffer.from(
    JSON.stringify(value, (_k, v: unknown) =>
      v instanceof Uint8Array ? { $b: Buffer.from(v).toString('base64') } : v,
    ),
  );
}

function decodeValue(bytes: Buffer): unknown {
  return JSON.parse(bytes.toString('utf8'), (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1) {
      const b = (v as { $b?: unknown }).$b;
      if (typeof b === 'string') return new Uint8Array(Buffer.from(b, 'base64'));
    }
    return v;
  });
}

/** A hosted device's store over `storage.businessMessages`, every value sealed. */
class SealedDeviceStore implements HostedDeviceStore {
  constructor(
    private readonly storage: Storage,
    private readonly key: () => Promise<Uint8Array>,
    private readonly phoneNumberId: string,
  ) {}

  private aad(key: string): Buffer {
    return Buffer.from(`parley-business-device:${this.phoneNumberId}:${key}`);
  }

  async get<T = unknown>(key: string): Promise<T | undefined> {
    const sealed = await this.storage.businessMessages.getDeviceValue(this.phoneNumberId, key);
    if (!sealed) return undefined;
    const buf = Buffer.from(sealed);
    const d = createDecipheriv('aes-256-gcm', await this.key(), buf.subarray(0, 12));
    d.setAAD(this.aad(key));
    d.setAuthTag(buf.subarray(buf.length - 16));
    return decodeValue(Buffer.concat([d.update(buf.subarray(12, buf.length - 16)), d.final()])) as T;
  }

  async set(key: string, value: unknown): Promise<void> {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', await this.key(), nonce);
    c.setAAD(this.aad(key));
    const body = Buffer.concat([c.update(encodeValue(value)), c.final()]);
    await this.storage.businessMessages.setDeviceValue(
      this.phoneNumberId,
      key,
      new Uint8Array(Buffer.concat([nonce, body, c.getAuthTag()])),
    );
  }

  delete(key: string): Promise<void> {
    return this.storage.businessMessages.deleteDeviceValue(this.phoneNumberId, key);
  }

  keys(prefix: string): Promise<string[]> {
    return this.storage.businessMessages.deviceKeys(this.phoneNumberId, prefix);
  }
}

/**
 * Verification codes of the hosted devices' own registrations: the registration route offers each
 * code here first, and a number whose device is registering right now takes it instead of an SMS.
 */
export class HostedCodes {
  private readonly waiting = new Map<string, (code: string) => void>();

  /** Wait for the next code issued for `phone`. */
  expect(phone: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(phone);
        reject(new Error(`no verification code for ${phone} within ${CODE_WAIT_MS} ms`));
      }, CODE_WAIT_MS);
      timer.unref();
      this.waiting.set(phone, (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
  }

  /** True when a hosted device waited for this number's code (and now has it). */
  take(phone: string, code: string): boolean {
    const w = this.waiting.get(phone);
    if (!w) return false;
    this.waiting.delete(phone);
    w(code);
    return true;
  }
}

/** The platform the server hands to the host. */
export function makePlatform(opts: {
  url: string;
  storage: Storage;
  secrets: ServerSecrets;
  codes: HostedCodes;
  log: Logger;
  onEvent: (event: HostedEvent) => Promise<void>;
}): BusinessPlatform {
  let key: Promise<Uint8Array> | null = null;
  const stateKey = () => (key ??= opts.secrets.getOrCreate(STATE_KEY, () => randomBytes(32)));
  return {
    url: opts.url,
    deviceStore: (id) => new SealedDeviceStore(opts.storage, stateKey, id),
    expectCode: (phone) => opts.codes.expect(phone),
    event: opts.onEvent,
    warn: (err, context) => opts.log.warn({ err }, `business device: ${context}`),
  };
}
