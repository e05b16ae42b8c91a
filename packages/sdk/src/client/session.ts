/**
 * Session and registration (C1): the device's own record and credentials, the code request and
 * verification that create them, the HTTP API bound to the device's token, and the one-time
 * KeyPackages kept on the server. Every other service reads who this device is from here.
 */
import { ParleyError, deviceCertMessage, identityProofMessage, toB64 } from '@parley/protocol';
import { generateSigningKeyPair, sign } from '@parley/crypto';
import { HttpApi, type FetchLike } from '../transport/http.ts';
import type { DeviceStore } from '../store/types.ts';
import * as mls from '../mls.ts';
import type { DeviceRecord, PendingRegistration } from './types.ts';

const KP_TARGET = 40;
const KP_LOW_WATER = 10;

/** What other services need to know about this device and its server. */
export interface DeviceSession {
  /** This device's record; throws `unauthenticated` before registration. */
  device(): DeviceRecord;
  /** The HTTP API of this device's server; throws `unauthenticated` before registration. */
  readonly api: HttpApi;
}

/** Registration state of one device, and its credentials once registered. */
export class Session implements DeviceSession {
  /** This device's record, null until registered. */
  record: DeviceRecord | null = null;
  private pending: PendingRegistration | null = null;
  private http: HttpApi | null = null;
  private readonly keyPackageTarget: number;

  constructor(
    private readonly store: DeviceStore,
    private readonly transport: { fetch?: FetchLike | undefined; requestMs: number },
    keyPackageTarget: number | undefined,
  ) {
    this.keyPackageTarget = keyPackageTarget ?? KP_TARGET;
  }

  /** Read the device record and any pending code request from the store. */
  async load(): Promise<void> {
    this.record = (await this.store.get<DeviceRecord>('device')) ?? null;
    this.pending = (await this.store.get<PendingRegistration>('pending-registration')) ?? null;
    if (this.record) this.http = this.httpApi(this.record.serverUrl, () => this.record?.token);
  }

  device(): DeviceRecord {
    if (!this.record) throw new ParleyError('unauthenticated', { message: 'This device is not registered.' });
    return this.record;
  }

  get api(): HttpApi {
    if (!this.http) throw new ParleyError('unauthenticated', { message: 'This device is not registered.' });
    return this.http;
  }

  /** This device's account id (undefined before registration). */
  get accountId(): string | undefined {
    return this.record?.accountId;
  }

  /** This device's token (undefined before registration); read at each request, never copied. */
  token(): string | undefined {
    return this.record?.token;
  }

  /** An HTTP API for `serverUrl` with this client's fetch and request deadline. */
  private httpApi(serverUrl: string, token: () => string | undefined): HttpApi {
    return new HttpApi(serverUrl, token, this.transport.fetch, this.transport.requestMs);
  }

  /** Ask for a verification code; the session id it answers with is kept for `verify`. */
  async requestCode(serverUrl: string, phone: string) {
    const res = await this.httpApi(serverUrl, () => undefined).requestCode(phone);
    this.pending = { serverUrl, phone, sessionId: res.sessionId };
    await this.store.set('pending-registration', this.pending);
    return res;
  }

  /** Register with the code: make identity and device keys, prove possession, store the credentials. */
  async verify(
    code: string,
    opts: { deviceName?: string; pin?: string; serverUrl?: string; phone?: string; sessionId?: string } = {},
  ) {
    const serverUrl = opts.serverUrl ?? this.pending?.serverUrl;
    const phone = opts.phone ?? this.pending?.phone;
    const sessionId = opts.sessionId ?? this.pending?.sessionId;
    if (!serverUrl || !phone || !sessionId) throw new ParleyError('code_expired', { message: 'Request a code first.' });
    const identity = generateSigningKeyPair();
    const signing = generateSigningKeyPair();
    const identityKey = toB64(identity.publicKey);
    const signingKey = toB64(signing.publicKey);
    const res = await this.httpApi(serverUrl, () => undefined).verify({
      sessionId,
      phone,
      code,
      identityKey,
      identityProof: toB64(sign(identity.privateKey, identityProofMessage(phone, code, identityKey))),
      ...(opts.pin ? { registrationLockPin: opts.pin } : {}),
      device: {
        name: opts.deviceName ?? 'Parley device',
        signingKey,
        signingKeyCert: toB64(sign(identity.privateKey, deviceCertMessage(signingKey))),
      },
    });
    this.record = {
      serverUrl,
      phone,
      accountId: res.accountId,
      deviceId: res.deviceId,
      token: res.token,
      identity,
      signing,
    };
    await this.store.set('device', this.record);
    await this.store.delete('pending-registration');
    this.http = this.httpApi(serverUrl, () => this.record?.token);
    await this.replenishKeyPackages(true);
    return res;
  }

  /** An HTTP API for a server this device has no token for yet (a device being linked). */
  anonymousApi(serverUrl: string): HttpApi {
    return this.httpApi(serverUrl, () => undefined);
  }

  /**
   * Take on the credentials a link gave this device (C1, docs/devices.md): store the record, then
   * put KeyPackages on the server so the existing device can add this one to every chat.
   */
  async adopt(record: DeviceRecord): Promise<void> {
    if (this.record) throw new ParleyError('bad_request', { message: 'This device is already registered.' });
    this.record = record;
    await this.store.set('device', record);
    await this.store.delete('pending-registration');
    this.http = this.httpApi(record.serverUrl, () => this.record?.token);
    await this.replenishKeyPackages(true);
  }

  /** Keep enough one-time KeyPackages (and a last-resort one) on the server. */
  async replenishKeyPackages(initial = false): Promise<number> {
    const d = this.device();
    const count = initial ? { available: 0, lastResort: false } : await this.api.countKeyPackages();
    if (count.available >= KP_LOW_WATER && count.lastResort) return 0;
    const need = Math.max(0, this.keyPackageTarget - count.available);
    const made = await mls.makeKeyPackages(d, need, !count.lastResort);
    const secrets = (await this.store.get<unknown[]>('kp-secrets')) ?? [];
    await this.store.set('kp-secrets', [...secrets, ...made.secrets]);
    await this.api.uploadKeyPackages(made.oneTime.map(toB64), made.lastResort ? toB64(made.lastResort) : undefined);
    return need;
  }
}
