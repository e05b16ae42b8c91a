/**
 * The Parley client (C1–C4, C12, C13, C15): a facade over the services in `client/` (table in
 * docs/architecture.md). `client/wiring.ts` builds them once, each handed the few others it uses
 * as small interfaces (`Requester`, `ContentSender`, `DeliveryHandler`, `ClientEventSink`); none
 * imports this file. Most public methods are a service's own, forwarded by name from the
 * `FORWARDED` table in `client/forwarding.ts`, with the service's signature and doc comment; the
 * few written out below add something (a default argument, a follow-up after `connect`). Runs
 * unchanged in Node and browsers: what differs (WebSocket class, device store) is passed in.
 */
import { Emitter } from './events.ts';
import type { HttpApi } from './transport/http.ts';
import type { History, LocalConversation, LocalMessage } from './history.ts';
import type { CallManager } from './calls/index.ts';
import type { BindingCheck } from './transparency.ts';
import { wireServices, type Wiring } from './client/wiring.ts';
import { installForwarders, type ForwardedApi } from './client/forwarding.ts';
import { reportError, type ClientEvents, type ClientOptions, type DeviceRecord } from './client/types.ts';

export type { ClientEvents, ClientOptions, DeviceRecord, PendingRegistration } from './client/types.ts';

/** Set by {@link ParleyClient}'s static block: it alone can read its private services. */
let readServices: (client: ParleyClient) => Wiring;

/**
 * The services behind a client. Not re-exported by the package: `@parley/sdk/testing` builds its
 * few hooks on it (a device's token, an unchecked send, a stale record saved), so tests and
 * benchmarks need no casts to private fields; apps never need it.
 */
export function servicesOf(client: ParleyClient): Wiring {
  return readServices(client);
}

// The forwarded methods (registration, connection, directory and profiles, trust, conversations,
// messages and their actions, search, blocking, timers, linked devices, push, image generation):
// this interface merges into the class's type, and the static block puts a forwarder for each on
// the prototype.
export interface ParleyClient extends ForwardedApi {}

/** A Parley device: register, connect, chat. */
export class ParleyClient extends Emitter<ClientEvents> {
  /** Conversations and messages as this device stores them. */
  readonly history: History;
  /** 1:1 calls, group calls, frame keys and live reactions (C6–C8), all signalled inside MLS. */
  readonly calls: CallManager;
  private readonly services: Wiring;

  private constructor(opts: ClientOptions) {
    super();
    this.services = wireServices(opts, this);
    this.history = this.services.history;
    this.calls = this.services.calls;
  }

  /** Load (or start) a device from its store. */
  static async open(opts: ClientOptions): Promise<ParleyClient> {
    const c = new ParleyClient(opts);
    const { session, history, safety, timers } = c.services;
    await session.load();
    await history.load();
    await safety.load();
    // Messages that expired while the device was off go before anything shows them (C17).
    await timers.sweepExpired();
    return c;
  }

  static {
    installForwarders(ParleyClient.prototype, (c) => c.services);
    readServices = (c) => c.services;
  }

  /** True once this device has an account. */
  get registered(): boolean {
    return this.services.session.record !== null;
  }

  /** This device's account id, device id and number. */
  get self(): { accountId: string; deviceId: string; phone: string; serverUrl: string } {
    const d = this.services.session.device();
    return { accountId: d.accountId, deviceId: d.deviceId, phone: d.phone, serverUrl: d.serverUrl };
  }

  /** The HTTP API of the server this device is registered with. */
  get api(): HttpApi {
    return this.services.session.api;
  }

  /** Set or clear the registration-lock PIN. */
  setPin(pin: string | null) {
    return this.api.setPin(pin);
  }

  /**
   * Open the WebSocket and start receiving; resolves once authenticated, rejects with the retryable
   * `timeout` past `timeoutMs` (default: the connect deadline; 0 or `Infinity`: no limit). Attempts
   * go on in the background with backoff and a `reconnecting` event each, until `close()`.
   */
  async connect(opts: { timeoutMs?: number } = {}): Promise<void> {
    const { connection, session, safety } = this.services;
    if (await connection.connect(opts)) {
      void session.replenishKeyPackages().catch(reportError(this, 'keypackages'));
      // A linked device may have changed the block list meanwhile.
      void safety.blockedAccounts().catch(reportError(this, 'block list'));
    }
  }

  /** Check now that the server's transparency log binds an account's identity key (default: this account's). */
  verifyKeyTransparency(accountId: string = this.self.accountId): Promise<BindingCheck> {
    return this.services.trust.verifyKeyTransparency(accountId);
  }

  /**
   * Log this device out (C1): the server revokes its credentials (its token is refused from then
   * on; the account, its other devices and contacts are unaffected), the connection closes, and
   * every key of the device store is deleted: keys, groups and local history are gone from this
   * device. Do not use the client afterwards; a browser should also drop the store's database.
   */
  async logout(): Promise<void> {
    const { store, connection } = this.services;
    connection.setLoggingOut(true);
    await this.api.logout().catch((e: unknown) => {
      connection.setLoggingOut(false);
      throw e;
    });
    for (const key of await store.keys('')) await store.delete(key);
    await connection.close();
  }

  /** Conversations, most recent first. */
  conversations(): LocalConversation[] {
    return this.history.conversations();
  }
  /** Messages of one conversation, oldest first. */
  messages(conversationId: string): Promise<LocalMessage[]> {
    return this.history.messages(conversationId);
  }
}
