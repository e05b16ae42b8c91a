/**
 * Groups (C2): this device's MLS state of each conversation, changed one operation at a time per
 * conversation (a keyed lock). Encrypts and decrypts, joins from a Welcome (which replaces an
 * older state: a member removed, or gone, and added back), applies commits, catches up from the
 * server's handshake log, and submits commits, rebuilding them on `stale_epoch`. Group state is
 * adopted only once the server accepted the commit.
 */
import { ParleyError, fromB64, type DeliverEvent } from '@parley/protocol';
import type { DeviceStore } from '../store/types.ts';
import { KeyedLock } from '../lock.ts';
import { newClientMessageId } from '../random.ts';
import * as mls from '../mls.ts';
import type { Requester } from './connection.ts';
import type { DeviceSession } from './session.ts';

/** A commit built on a group state, with what the server must route for it. */
export interface BuiltCommit {
  commit: Uint8Array;
  welcome?: Uint8Array | undefined;
  next: Uint8Array;
  adds: { accountId: string; deviceId: string }[];
  removes: string[];
}

/** The MLS groups of one device. */
export class Groups {
  private readonly lock = new KeyedLock();

  constructor(
    private readonly session: DeviceSession,
    private readonly store: DeviceStore,
    private readonly requests: Requester,
  ) {}

  /** Run `task` while holding the conversation's group lock. */
  locked<T>(conversationId: string, task: () => Promise<T>): Promise<T> {
    return this.lock.run(conversationId, task);
  }

  /** The local MLS state of a conversation (`conversation_not_found` without one). */
  async state(conversationId: string): Promise<Uint8Array> {
    const g = await this.store.get<Uint8Array>(`group:${conversationId}`);
    if (!g) throw new ParleyError('conversation_not_found', { message: 'No local MLS state for this conversation.' });
    return g;
  }

  private save(conversationId: string, group: Uint8Array): Promise<void> {
    return this.store.set(`group:${conversationId}`, group);
  }

  /** Start a new group with this device as its only member. Caller holds the lock. */
  create(groupId: Uint8Array): Promise<Uint8Array> {
    return mls.newGroup(this.session.device(), groupId);
  }

  /** Keep the state of a group the server accepted. Caller holds the lock. */
  adopt(conversationId: string, group: Uint8Array): Promise<void> {
    return this.save(conversationId, group);
  }

  /**
   * Encrypt for a conversation under its lock, and hand the ciphertext to `deliver` while the lock
   * is still held, so messages leave in encryption order. `deliver` only queues: the lock does not
   * wait for the server's answer.
   */
  async encrypt<T>(
    conversationId: string,
    plaintext: Uint8Array,
    deliver: (ciphertext: Uint8Array) => Promise<T>,
  ): Promise<T> {
    const d = this.session.device();
    const { out } = await this.lock.run(conversationId, async () => {
      const r = await mls.encrypt(d, await this.state(conversationId), plaintext);
      await this.save(conversationId, r.next);
      return { out: deliver(r.ciphertext) };
    });
    return out;
  }

  /** Decrypt an application message, catching up first when it comes from a later epoch. */
  async decrypt(event: DeliverEvent, payload: Uint8Array): Promise<Uint8Array> {
    const d = this.session.device();
    return this.lock.run(event.conversationId, async () => {
      let group = await this.store.get<Uint8Array>(`group:${event.conversationId}`);
      if (!group) throw new ParleyError('conversation_not_found', { message: 'message for an unknown group' });
      if (event.epoch > mls.epochOf(group)) {
        // Only up to the message's epoch: a later commit in the log may remove this device, and
        // the message was still meant for it.
        await this.catchUp(event.conversationId, event.epoch);
        group = await this.state(event.conversationId);
      }
      const r = await mls.decrypt(d, group, payload);
      await this.save(event.conversationId, r.next);
      return r.plaintext;
    });
  }

  /**
   * Join a group from a Welcome (which starts epoch `welcomeEpoch`, as the server says) and return
   * whether it was used. A device that already holds the group keeps its state when that state is
   * at the Welcome's epoch or later: the Welcome is a duplicate, or later commits overtook it.
   * Otherwise the Welcome replaces the state. A member is only ever added by a Welcome when it is
   * not in the group, so an older state (removed, left, or removed by a commit that never reached
   * this device) is dead: being added back is a fresh membership, and only the Welcome's state can
   * read and send in it. The server's epoch is checked against the joined state too, so a wrong
   * one can only make this device skip a Welcome, never go back to an older state.
   */
  async join(conversationId: string, welcome: Uint8Array, welcomeEpoch: number): Promise<boolean> {
    const d = this.session.device();
    return this.lock.run(conversationId, async () => {
      const old = await this.store.get<Uint8Array>(`group:${conversationId}`);
      if (old && mls.epochOf(old) >= welcomeEpoch) return false;
      const secrets = (await this.store.get<unknown[]>('kp-secrets')) ?? [];
      const joined = await mls.join(d, welcome, secrets);
      // The KeyPackage is used up either way: the server handed it out once.
      await this.store.set('kp-secrets', joined.remainingSecrets);
      if (old && mls.epochOf(old) >= mls.epochOf(joined.group)) return false;
      await this.save(conversationId, joined.group);
      return true;
    });
  }

  /** Whether this device is a live member of the conversation's group (false without state). */
  async isMember(conversationId: string): Promise<boolean> {
    const g = await this.store.get<Uint8Array>(`group:${conversationId}`);
    return g !== undefined && mls.isActive(g);
  }

  /**
   * Apply a delivered commit (catching up first if it is ahead). `removed` is true when this
   * device is out of the group afterwards and was a member before; `byThisCommit` when this very
   * commit removed it (so its sender is who removed it).
   */
  async applyCommit(event: DeliverEvent, payload: Uint8Array): Promise<{ removed: boolean; byThisCommit: boolean }> {
    const d = this.session.device();
    const none = { removed: false, byThisCommit: false };
    return this.lock.run(event.conversationId, async () => {
      const group = await this.store.get<Uint8Array>(`group:${event.conversationId}`);
      if (!group || !mls.isActive(group)) return none;
      const epoch = mls.epochOf(group);
      if (event.epoch < epoch) return none; // already applied while catching up
      if (event.epoch > epoch) {
        await this.catchUp(event.conversationId, event.epoch);
        if (!(await this.isMember(event.conversationId))) return { removed: true, byThisCommit: false };
      }
      const current = await this.state(event.conversationId);
      if (mls.epochOf(current) !== event.epoch) return none;
      const applied = await mls.applyCommit(d, current, payload);
      await this.save(event.conversationId, applied.group);
      return { removed: applied.selfRemoved, byThisCommit: applied.selfRemoved };
    });
  }

  /**
   * Build a commit on the current epoch and submit it; on `stale_epoch` catch up from the
   * handshake log and rebuild (at most 5 times). Adopts the new state only once accepted; `build`
   * returning null means there is nothing to commit. Caller holds the lock.
   */
  async commitWithRetry(
    conversationId: string,
    build: (group: Uint8Array) => Promise<BuiltCommit | null>,
  ): Promise<void> {
    const clientMessageId = newClientMessageId();
    for (let attempt = 0; ; attempt++) {
      const group = await this.state(conversationId);
      const built = await build(group);
      if (!built) return;
      const epoch = mls.epochOf(group);
      const payload = built.welcome ? concat(built.commit, built.welcome) : built.commit;
      try {
        await this.requests.request(
          'commit',
          {
            conversationId,
            clientMessageId: `${clientMessageId.slice(0, 20)}${attempt}`,
            epoch,
            adds: built.adds,
            removes: built.removes,
            welcomeLength: built.welcome?.length ?? 0,
          },
          { payload, idempotent: true },
        );
        await this.save(conversationId, built.next);
        return;
      } catch (e) {
        if (e instanceof ParleyError && e.code === 'stale_epoch' && attempt < 5) {
          await this.catchUp(conversationId);
          continue;
        }
        throw e;
      }
    }
  }

  /**
   * Apply the commits since our epoch from the server's handshake log, those built on an epoch
   * before `upTo` only when it is given. Caller holds the lock.
   */
  private async catchUp(conversationId: string, upTo = Infinity): Promise<void> {
    const d = this.session.device();
    let group = await this.state(conversationId);
    const log = await this.session.api.listCommits(conversationId, mls.epochOf(group));
    for (const c of log.commits) {
      if (c.epoch >= upTo) break;
      if (c.epoch < mls.epochOf(group)) continue;
      if (c.senderDevice === d.deviceId) continue;
      group = (await mls.applyCommit(d, group, fromB64(c.commit))).group;
      if (!mls.isActive(group)) break;
    }
    await this.save(conversationId, group);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
