/**
 * Linked devices (C1, docs/devices.md): link a new device from this one (show a link code, wait for
 * the new device, certify its signing key, add it to every chat, publish the signed device list),
 * link this device from a code, list the account's devices, and unlink one (revoked at once, then
 * taken out of every chat's group). The channel between the two devices is end-to-end encrypted
 * (`@parley/crypto` device-link): the server relays ciphertext only.
 */
import {
  ParleyError,
  deviceCertMessage,
  deviceListMessage,
  fromB64,
  linkIdSchema,
  toB64,
  type DeviceList,
} from '@parley/protocol';
import {
  deriveLinkKey,
  generateLinkKeyPair,
  generateLinkSecret,
  generateSigningKeyPair,
  openLinkMessage,
  sealLinkMessage,
  sign,
  signingPublicKey,
  validateEd25519PublicKey,
  verifySignature,
  type LinkKeyPair,
} from '@parley/crypto';
import { randomBytes } from '../random.ts';
import type { History } from '../history.ts';
import type { Conversations } from './conversations.ts';
import type { Session } from './session.ts';
import {
  parseHistoryRef,
  type HistoryChoice,
  type HistoryProgress,
  type LinkHistory,
  type LinkHistoryRef,
} from './link-history.ts';
import { reportError, type ClientEventSink, type DeviceRecord } from './types.ts';

/** How often a waiting device asks the server whether the other side has answered. */
const POLL_MS = 400;
/** Default wait for the other device. */
const DEFAULT_WAIT_MS = 5 * 60_000;

/** What a link code holds: `parley://link?v=1&server=…&id=…&key=…&secret=…`. */
export interface LinkCode {
  serverUrl: string;
  linkId: string;
  /** The existing device's ephemeral X25519 public key. */
  key: Uint8Array;
  secret: Uint8Array;
}

/** Write a link code as its URI (also what the QR code holds). */
export function linkUri(code: LinkCode): string {
  const q = new URLSearchParams({
    v: '1',
    server: code.serverUrl,
    id: code.linkId,
    key: toB64(code.key),
    secret: toB64(code.secret),
  });
  return `parley://link?${q.toString()}`;
}

/** Read a link URI, or `bad_request` naming what is wrong with it. */
export function parseLinkUri(uri: string): LinkCode {
  const bad = (problem: string) =>
    new ParleyError('bad_request', { message: `This is not a Parley link code: ${problem}.`, details: { problem } });
  if (typeof uri !== 'string' || !uri.startsWith('parley://link?') || uri.length > 1000)
    throw bad('not a parley://link URI');
  const q = new URLSearchParams(uri.slice('parley://link?'.length));
  if (q.get('v') !== '1') throw bad('unknown version');
  const serverUrl = q.get('server') ?? '';
  let url: URL;
  try {
    url = new URL(serverUrl);
  } catch {
    throw bad('no server address');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw bad('no server address');
  const linkId = q.get('id') ?? '';
  if (!linkIdSchema.safeParse(linkId).success) throw bad('no link id');
  const decode = (name: string) => {
    try {
      const v = fromB64(q.get(name) ?? '');
      if (v.length === 32) return v;
    } catch {
      // reported below
    }
    throw bad(`no valid ${name}`);
  };
  return { serverUrl, linkId, key: decode('key'), secret: decode('secret') };
}

/** What the new device asks for, sealed to the existing device. */
interface LinkRequest {
  signingKey: string;
  name: string;
}

/** What the existing device answers, sealed to the new device: the account's keys and ids. */
interface LinkReply {
  accountId: string;
  phone: string;
  identityPublic: string;
  identityPrivate: string;
  signingKeyCert: string;
  /** The transferred history (C16): absent when the user chose none. */
  history?: LinkHistoryRef;
}

/** A device of this account as `devices()` lists it. */
export interface AccountDevice {
  deviceId: string;
  name: string;
  createdAt: number;
  /** True for the device this client runs on. */
  current: boolean;
}

/** The result of linking a device from this one. */
export interface LinkedDevice {
  deviceId: string;
  name: string;
  /** Conversations the new device was added to. */
  conversations: number;
  /** Messages sent to it as history (0 for none). */
  historyMessages: number;
}

/** How the existing device completes a link. */
export interface LinkWaitOptions {
  /** Default 5 minutes; past it the link is cancelled and `wait` fails with `timeout`. */
  timeoutMs?: number;
  /**
   * The history the new device gets (default none), or a function read when the new device has
   * answered, so a UI can let the user choose while the code is shown.
   */
  history?: HistoryChoice | (() => HistoryChoice);
  /** Packing and uploading the history. */
  onHistoryProgress?: (p: HistoryProgress) => void;
}

/** A link this device opened, waiting for the new device. */
export interface PendingLink {
  /** The link code as a URI: show it, and as a QR code. */
  readonly uri: string;
  readonly linkId: string;
  /** When the code stops working (ms since the epoch). */
  readonly expiresAt: number;
  /**
   * Wait for the new device (default up to 5 minutes; past it the link is cancelled and this fails
   * with `timeout`), send it the chosen history, approve it, add it to every conversation and
   * publish the device list.
   */
  wait(opts?: LinkWaitOptions): Promise<LinkedDevice>;
  /** Give up: the code stops working. */
  cancel(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}

function parseJson<T>(bytes: Uint8Array): T {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch {
    throw new ParleyError('link_message_invalid');
  }
}

/** Linking, listing and unlinking this account's devices. */
export class DeviceLinks {
  constructor(
    private readonly session: Session,
    private readonly history: History,
    private readonly chats: Conversations,
    private readonly events: ClientEventSink,
    private readonly linkHistory: LinkHistory,
  ) {}

  /** Open a link code on this (already registered) device; `wait()` on the answer completes the link. */
  async startLink(): Promise<PendingLink> {
    const d = this.session.device();
    const started = await this.session.api.linkStart();
    const keys = generateLinkKeyPair();
    const code: LinkCode = {
      serverUrl: d.serverUrl,
      linkId: started.linkId,
      key: keys.publicKey,
      secret: generateLinkSecret(),
    };
    const expiresAt = Date.now() + started.expiresInSeconds * 1000;
    return {
      uri: linkUri(code),
      linkId: code.linkId,
      expiresAt,
      wait: (opts = {}) => this.completeLink(code, keys, opts),
      cancel: async () => {
        await this.session.api.linkCancel(code.linkId);
      },
    };
  }

  private async completeLink(code: LinkCode, keys: LinkKeyPair, opts: LinkWaitOptions): Promise<LinkedDevice> {
    const d = this.session.device();
    const api = this.session.api;
    const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_WAIT_MS);
    const giveUp = async (error: ParleyError): Promise<never> => {
      await api.linkCancel(code.linkId).catch(() => undefined);
      throw error;
    };
    // 1. The new device's answer.
    let status = await api.linkStatus(code.linkId);
    while (status.state === 'open') {
      if (Date.now() > deadline)
        await giveUp(new ParleyError('timeout', { message: 'No device answered the link code in time.' }));
      await sleep(POLL_MS);
      status = await api.linkStatus(code.linkId);
    }
    if (status.state !== 'joined' || !status.ephemeralKey || !status.request) throw new ParleyError('link_used');
    // 2. Open its request: only a device that read the code can have sealed it.
    let request: LinkRequest;
    let channel: Uint8Array;
    try {
      const newKey = fromB64(status.ephemeralKey);
      channel = deriveLinkKey({
        ownPrivateKey: keys.privateKey,
        peerPublicKey: newKey,
        secret: code.secret,
        linkId: code.linkId,
        existingDeviceKey: keys.publicKey,
        newDeviceKey: newKey,
      });
      request = parseJson<LinkRequest>(openLinkMessage(channel, 'request', fromB64(status.request)));
      if (typeof request.signingKey !== 'string' || typeof request.name !== 'string')
        throw new ParleyError('link_message_invalid');
      validateEd25519PublicKey(fromB64(request.signingKey));
    } catch (e) {
      return giveUp(
        e instanceof ParleyError && e.code === 'link_message_invalid' ? e : new ParleyError('link_message_invalid'),
      );
    }
    // 3. The chosen history, packed and uploaded encrypted under a fresh key (C16); its key goes in the reply.
    const choice = typeof opts.history === 'function' ? opts.history() : (opts.history ?? 'none');
    let history: LinkHistoryRef | undefined;
    try {
      history = await this.linkHistory.send(choice, opts.onHistoryProgress);
    } catch (e) {
      return giveUp(e instanceof ParleyError ? e : new ParleyError('internal'));
    }
    // 4. Certify its signing key with the identity key, and hand it the account's keys.
    const signingKeyCert = toB64(sign(d.identity.privateKey, deviceCertMessage(request.signingKey)));
    const reply: LinkReply = {
      accountId: d.accountId,
      phone: d.phone,
      identityPublic: toB64(d.identity.publicKey),
      identityPrivate: toB64(d.identity.privateKey),
      signingKeyCert,
      ...(history ? { history } : {}),
    };
    const sealed = sealLinkMessage(channel, 'reply', new TextEncoder().encode(JSON.stringify(reply)));
    const name = request.name.slice(0, 64) || 'Linked device';
    let approved;
    try {
      approved = await api.linkApprove({
        linkId: code.linkId,
        device: { name, signingKey: request.signingKey, signingKeyCert },
        reply: toB64(sealed),
      });
    } catch (e) {
      // Refused (the account is full, the key was used): the code stops working for the new device too.
      return giveUp(e instanceof ParleyError ? e : new ParleyError('internal'));
    }
    // 5. The device list names it at once (before it can have KeyPackages for anyone to claim);
    // once it has KeyPackages on the server, it joins every conversation.
    await this.publishDeviceList();
    status = await api.linkStatus(code.linkId);
    while (!status.ready) {
      if (Date.now() > deadline)
        throw new ParleyError('timeout', {
          message: 'The new device is linked but put no KeyPackages on the server in time; add it again later.',
        });
      await sleep(POLL_MS);
      status = await api.linkStatus(code.linkId);
    }
    let conversations = 0;
    for (const conv of this.history.conversations().filter((c) => c.active)) {
      try {
        if (await this.chats.addOwnDevice(conv.id, approved.deviceId)) conversations++;
      } catch (e) {
        reportError(this.events, `adding linked device to ${conv.id}`)(e);
      }
    }
    return { deviceId: approved.deviceId, name, conversations, historyMessages: history?.messages ?? 0 };
  }

  /**
   * Link this (unregistered) device from a link code: answer it, wait (default up to 5 minutes)
   * for the existing device's approval, take on the credentials it sealed for this device and put
   * KeyPackages on the server, then import the history the other device sent, if any (an import
   * that fails is reported as an `error` event and kept for `resumeLinkHistory`). Connect
   * afterwards: the existing device adds this one to every chat.
   */
  async joinLink(
    uri: string,
    opts: { deviceName?: string; timeoutMs?: number; onHistoryProgress?: (p: HistoryProgress) => void } = {},
  ): Promise<DeviceRecord> {
    if (this.session.record)
      throw new ParleyError('bad_request', { message: 'This device is already registered; link a fresh profile.' });
    const code = parseLinkUri(uri);
    const api = this.session.anonymousApi(code.serverUrl);
    const keys = generateLinkKeyPair();
    const signing = generateSigningKeyPair();
    const channel = deriveLinkKey({
      ownPrivateKey: keys.privateKey,
      peerPublicKey: code.key,
      secret: code.secret,
      linkId: code.linkId,
      existingDeviceKey: code.key,
      newDeviceKey: keys.publicKey,
    });
    const request: LinkRequest = { signingKey: toB64(signing.publicKey), name: opts.deviceName ?? 'Linked device' };
    // The token is chosen here and only its hash goes to the server until the device exists.
    const token = toB64(randomBytes(32));
    await api.linkJoin({
      linkId: code.linkId,
      ephemeralKey: toB64(keys.publicKey),
      request: toB64(sealLinkMessage(channel, 'request', new TextEncoder().encode(JSON.stringify(request)))),
      tokenHash: toB64(await sha256(token)),
    });
    const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_WAIT_MS);
    let answer = await api.linkFetch(code.linkId, token);
    while (answer.state === 'joined') {
      if (Date.now() > deadline)
        throw new ParleyError('timeout', { message: 'The existing device did not approve the link in time.' });
      await sleep(POLL_MS);
      answer = await api.linkFetch(code.linkId, token);
    }
    if (!answer.reply || !answer.deviceId || !answer.accountId) throw new ParleyError('link_message_invalid');
    const reply = parseJson<LinkReply>(openLinkMessage(channel, 'reply', fromB64(answer.reply)));
    let identity: { publicKey: Uint8Array; privateKey: Uint8Array };
    try {
      identity = { publicKey: fromB64(reply.identityPublic), privateKey: fromB64(reply.identityPrivate) };
    } catch {
      throw new ParleyError('link_message_invalid');
    }
    // The sealed keys must hang together: the private key is the public one's, and it certified us.
    const consistent =
      reply.accountId === answer.accountId &&
      toB64(signingPublicKey(identity.privateKey)) === reply.identityPublic &&
      verifySignature(identity.publicKey, deviceCertMessage(request.signingKey), fromB64(reply.signingKeyCert));
    if (!consistent) throw new ParleyError('link_message_invalid');
    const history = reply.history === undefined ? undefined : parseHistoryRef(reply.history);
    const record: DeviceRecord = {
      serverUrl: code.serverUrl,
      phone: reply.phone,
      accountId: reply.accountId,
      deviceId: answer.deviceId,
      token,
      identity,
      signing,
    };
    await this.session.adopt(record);
    if (history) {
      await this.linkHistory.expect(history);
      await this.linkHistory
        .resume(opts.onHistoryProgress)
        .catch(reportError(this.events, 'importing the linked device history'));
    }
    return record;
  }

  /**
   * Finish importing history a link transferred to this device, if an earlier import was
   * interrupted (resumes from the first conversation not done; messages already held are skipped).
   * Returns what was added, and `pending: false` when nothing was waiting.
   */
  resumeLinkHistory(
    onProgress?: (p: HistoryProgress) => void,
  ): Promise<{ conversations: number; messages: number; pending: boolean }> {
    return this.linkHistory
      .pending()
      .then(async (pending) =>
        pending
          ? { ...(await this.linkHistory.resume(onProgress)), pending: true }
          : { conversations: 0, messages: 0, pending: false },
      );
  }

  /** This account's active devices, oldest first. */
  async devices(): Promise<AccountDevice[]> {
    const d = this.session.device();
    const me = await this.session.api.me();
    return me.devices.map((x) => ({
      deviceId: x.deviceId,
      name: x.name ?? '',
      createdAt: x.createdAt,
      current: x.deviceId === d.deviceId,
    }));
  }

  /**
   * Unlink a device of this account (any device may unlink any other; to remove this one, use
   * `logout`): its credentials are revoked at once, it is taken out of every conversation's group
   * (MLS remove), and the device list is published again. Returns the conversations it left.
   */
  async unlinkDevice(deviceId: string): Promise<{ deviceId: string; conversations: number }> {
    const d = this.session.device();
    if (deviceId === d.deviceId)
      throw new ParleyError('bad_request', { message: 'This is the current device: log it out instead.' });
    await this.session.api.unlinkDevice(deviceId);
    await this.publishDeviceList();
    let conversations = 0;
    for (const conv of this.history.conversations().filter((c) => c.active)) {
      try {
        if (await this.chats.removeOwnDevices(conv.id, [deviceId])) conversations++;
      } catch (e) {
        reportError(this.events, `removing unlinked device from ${conv.id}`)(e);
      }
    }
    return { deviceId, conversations };
  }

  /**
   * Sign and publish the account's device list (every active device and its signing key) under
   * the identity key, one version above the stored one; retried once if another device of the
   * account published meanwhile.
   */
  async publishDeviceList(): Promise<number> {
    const d = this.session.device();
    for (let attempt = 0; ; attempt++) {
      const me = await this.session.api.getAccount(d.accountId);
      const list: Omit<DeviceList, 'signature'> = {
        version: (me.deviceList?.version ?? 0) + 1,
        issuedAt: Date.now(),
        devices: me.devices.map((x) => ({ deviceId: x.deviceId, signingKey: x.signingKey })),
      };
      const signature = toB64(sign(d.identity.privateKey, deviceListMessage(d.accountId, list)));
      try {
        await this.session.api.putDeviceList({ ...list, signature });
        return list.version;
      } catch (e) {
        if (attempt === 0 && e instanceof ParleyError && e.code === 'device_list_invalid') continue;
        throw e;
      }
    }
  }
}
