/**
 * Trust (C13): whether a key the server serves for an account may be used. Checks identity keys
 * against the server's key-transparency log, remembers each contact's identity key (a change is
 * `identityChanged`), checks that claimed KeyPackages belong to certified devices, and computes
 * safety numbers from the keys this device trusts.
 */
import { ParleyError, deviceCertMessage, deviceListMessage, fromB64, toB64 } from '@parley/protocol';
import { inspectKeyPackage, safetyNumber, safetyNumberQrPayload, verifySignature } from '@parley/crypto';
import type { FetchLike } from '../transport/http.ts';
import type { DeviceStore } from '../store/types.ts';
import { KeyTransparencyChecker, KtApi, isKtWarning, type BindingCheck } from '../transparency.ts';
import type { Session } from './session.ts';
import type { ClientEventSink } from './types.ts';

/** A KeyPackage the server handed out for a device of an account. */
export interface ClaimedKeyPackage {
  accountId: string;
  deviceId: string;
  keyPackage: string;
}

/** A device list whose signature this device checked (`Trust.deviceListOf`). */
export interface VerifiedDeviceList {
  version: number;
  issuedAt: number;
  devices: { deviceId: string; signingKey: string }[];
  /** Devices the server lists for the account that the signed list does not hold. */
  unlisted: string[];
}

/** Options of the key-transparency checks (from `ClientOptions`). */
export interface TrustOptions {
  fetch?: FetchLike | undefined;
  requestMs: number;
  ktLogKey?: string | undefined;
  ktMaxHeadAgeMs?: number | undefined;
}

/** Key transparency, remembered identity keys and safety numbers. */
export class Trust {
  constructor(
    private readonly session: Session,
    private readonly store: DeviceStore,
    private readonly opts: TrustOptions,
    private readonly events: ClientEventSink,
  ) {}

  private checker(): KeyTransparencyChecker {
    const api = new KtApi(this.session.api.baseUrl, () => this.session.token(), this.opts.fetch, this.opts.requestMs);
    return new KeyTransparencyChecker(api, this.store, {
      ...(this.opts.ktLogKey !== undefined ? { logKey: this.opts.ktLogKey } : {}),
      ...(this.opts.ktMaxHeadAgeMs !== undefined ? { maxHeadAgeMs: this.opts.ktMaxHeadAgeMs } : {}),
    });
  }

  /**
   * Check the key-transparency proof of a key the server served for an account; a failure is
   * emitted as `key-transparency-warning` and thrown (the key is not used).
   */
  async checkTransparency(accountId: string, identityKey: string, force = false): Promise<BindingCheck> {
    const d = this.session.device();
    try {
      // The server must serve this device's own account with the key this device holds.
      if (accountId === d.accountId && identityKey !== toB64(d.identity.publicKey)) {
        throw new ParleyError('kt_key_mismatch', {
          message: "The server serves another identity key for this device's own account.",
          details: { accountId },
        });
      }
      return await this.checker().checkBinding(accountId, identityKey, { force });
    } catch (e) {
      if (isKtWarning(e)) {
        this.events.emit('key-transparency-warning', { accountId, code: e.code, message: e.message });
      }
      throw e;
    }
  }

  /** Fetch an account's identity key and check now that the server's transparency log binds it. */
  async verifyKeyTransparency(accountId: string): Promise<BindingCheck> {
    const info = await this.session.api.getAccount(accountId);
    return this.checkTransparency(accountId, info.identityKey, true);
  }

  /**
   * Check that every claimed KeyPackage belongs to a device its account's identity key certified,
   * so the server cannot slip a device of its own into a group, that the account's device list (if
   * it has one) is signed by that key (`device_list_invalid`; a new version is `devices-changed`),
   * and remember each account's identity key (a change is reported as `identityChanged`).
   */
  async verifyClaimed(claimed: ClaimedKeyPackage[]): Promise<void> {
    const seen = (await this.store.get<Record<string, string>>('identities')) ?? {};
    for (const accountId of new Set(claimed.map((c) => c.accountId))) {
      const info = await this.session.api.getAccount(accountId);
      // Before the key is trusted for anything: the server must have logged exactly this binding.
      await this.checkTransparency(accountId, info.identityKey);
      const identityKey = fromB64(info.identityKey);
      if (seen[accountId] && seen[accountId] !== info.identityKey)
        this.events.emit('identityChanged', { accountId, previous: seen[accountId]!, current: info.identityKey });
      seen[accountId] = info.identityKey;
      // A device list the server serves must be the one the identity key signed.
      await this.checkDeviceList(accountId, info, identityKey);
      for (const c of claimed.filter((x) => x.accountId === accountId)) {
        const device = info.devices.find((d) => d.deviceId === c.deviceId);
        if (!device)
          throw new ParleyError('device_not_found', { message: `KeyPackage for unknown device ${c.deviceId}` });
        if (!verifySignature(identityKey, deviceCertMessage(device.signingKey), fromB64(device.signingKeyCert))) {
          throw new ParleyError('signature_invalid', {
            message: `Device ${c.deviceId} is not certified by its account's identity key`,
          });
        }
        inspectKeyPackage(fromB64(c.keyPackage), { deviceId: c.deviceId, signingKey: fromB64(device.signingKey) });
      }
    }
    await this.store.set('identities', seen);
  }

  /**
   * An account's device list as its identity key signed it (C1, docs/devices.md), checked against
   * the identity key this device trusts for it; null when the account has published none.
   * `unlisted` names devices the server serves that the list does not hold. A list whose signature
   * does not verify is `device_list_invalid`. A version other than the one this device saw last is
   * emitted as `devices-changed` (a contact linked or unlinked a device: compare safety numbers).
   */
  async deviceListOf(accountId: string): Promise<VerifiedDeviceList | null> {
    const info = await this.session.api.getAccount(accountId);
    return this.checkDeviceList(accountId, info, await this.trustedIdentityKey(accountId));
  }

  /** Verify the device list in an account answer under `identityKey`, and note a new version. */
  private async checkDeviceList(
    accountId: string,
    info: Awaited<ReturnType<Session['api']['getAccount']>>,
    identityKey: Uint8Array,
  ): Promise<VerifiedDeviceList | null> {
    if (!info.deviceList) return null;
    const { signature, ...list } = info.deviceList;
    if (!verifySignature(identityKey, deviceListMessage(accountId, list), fromB64(signature)))
      throw new ParleyError('device_list_invalid', { details: { accountId } });
    const listed = new Set(list.devices.map((d) => d.deviceId));
    const seen = (await this.store.get<Record<string, number>>('device-list-versions')) ?? {};
    const previous = seen[accountId];
    if (previous !== list.version) {
      await this.store.set('device-list-versions', { ...seen, [accountId]: list.version });
      if (previous !== undefined)
        this.events.emit('devices-changed', { accountId, previous, current: list.version, devices: list.devices });
    }
    return {
      version: list.version,
      issuedAt: list.issuedAt,
      devices: list.devices,
      unlisted: info.devices.map((d) => d.deviceId).filter((d) => !listed.has(d)),
    };
  }

  /** The identity key this device trusts for an account: the one it verified, else fetched and checked now. */
  private async trustedIdentityKey(accountId: string): Promise<Uint8Array> {
    const d = this.session.device();
    if (accountId === d.accountId) return d.identity.publicKey;
    const seen = (await this.store.get<Record<string, string>>('identities')) ?? {};
    if (seen[accountId]) return fromB64(seen[accountId]!);
    const info = await this.session.api.getAccount(accountId);
    await this.checkTransparency(accountId, info.identityKey);
    return fromB64(info.identityKey);
  }

  /** The 60-digit safety number to compare in person with an account (12 groups of 5 digits). */
  async safetyNumber(accountId: string): Promise<string> {
    const d = this.session.device();
    return safetyNumber(
      { accountId: d.accountId, identityKey: d.identity.publicKey },
      { accountId, identityKey: await this.trustedIdentityKey(accountId) },
    );
  }

  /** The QR payload for the same comparison (see `verifySafetyNumberQr` in @parley/crypto). */
  async safetyQr(accountId: string): Promise<string> {
    const d = this.session.device();
    return safetyNumberQrPayload(
      { accountId: d.accountId, identityKey: d.identity.publicKey },
      { accountId, identityKey: await this.trustedIdentityKey(accountId) },
    );
  }
}
