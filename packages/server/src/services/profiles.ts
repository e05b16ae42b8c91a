/**
 * Who counts as a contact, and presence, for profile visibility (C12). A contact of an account is
 * a member of a conversation that account has accepted, i.e. written in (the SDK flags that first
 * message with `accept`); a chat someone else merely opened with it, and the delivered receipts it
 * provokes, do not count. Last seen is the time its last socket closed.
 */
import type { Logger } from 'pino';
import type { Storage } from '../storage/types.ts';
import type { Presence } from '../bus/types.ts';
import type { Delivery } from './delivery.ts';

/** Remembered (account, conversation) acceptances per process before the set is reset. */
const MAX_REMEMBERED = 200_000;

export class ProfileService {
  /** Acceptances already written, so a chat's later messages cost one set lookup. */
  private readonly accepted = new Set<string>();

  constructor(
    private readonly storage: Storage,
    private readonly delivery: Delivery,
    private readonly presence: Presence,
    private readonly distributed: boolean,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** An account wrote in a conversation (a send flagged `accept`): it has accepted that chat. */
  async noteAccepted(accountId: string, conversationId: string): Promise<void> {
    const key = `${accountId}|${conversationId}`;
    if (this.accepted.has(key)) return;
    await this.storage.profiles.noteAccepted(accountId, conversationId);
    if (this.accepted.size >= MAX_REMEMBERED) this.accepted.clear();
    this.accepted.add(key);
  }

  /** A socket of the account closed: record last seen (best effort). */
  noteOffline(accountId: string): void {
    this.storage.profiles
      .setLastSeen(accountId, this.now())
      .catch((err) => this.log.warn({ err }, 'last seen not recorded'));
  }

  /** True when any active device of the account holds a socket on any node. */
  async isOnline(accountId: string): Promise<boolean> {
    // listDevices returns active devices only.
    const devices = (await this.storage.accounts.listDevices(accountId)).map((d) => d.id);
    if (devices.some((d) => this.delivery.isConnected(d))) return true;
    if (!this.distributed || !devices.length) return false;
    return (await this.presence.locate(devices)).size > 0;
  }
}
