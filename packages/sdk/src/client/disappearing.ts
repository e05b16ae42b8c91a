/**
 * Disappearing messages (C17, docs/disappearing.md): each chat's timer, the device's default for
 * new chats, the expiry of what this device sends, and the local sweep that deletes expired
 * messages (their text, attachment keys and quotes go with the stored message) from the history.
 *
 * The timer is end-to-end encrypted state: a `timer` content every member's devices apply in the
 * order they receive it (and a `group-meta`'s `timer` for members added later). Any member may
 * change it; every device records a system line saying who did. The server only ever learns the
 * expiry of each message (`send`'s `expiresAt`) and of its media.
 */
import type { GroupEvent, History, LocalConversation, LocalMessage } from '../history.ts';
import { ParleyError } from '@parley/protocol';
import type { DeviceStore } from '../store/types.ts';
import { checkTimer } from '../disappearing.ts';
import type { GroupLog } from './group-log.ts';
import type { ContentSender } from './outbox.ts';
import type { Session } from './session.ts';
import { reportError, type ClientEventSink } from './types.ts';

/** Where this device keeps its default timer for new chats (never sent anywhere). */
const DEFAULT_KEY = 'disappearing:default';
/** Longest single wait of the sweep timer; it re-checks then (timers cannot wait 2^31 ms or more). */
const MAX_WAIT_MS = 3600_000;

/** What the conversations service asks of the timers. */
export interface TimerKeeper {
  /** Give a chat this device just created the device's default timer, if one is set. */
  applyDefault(conversationId: string): Promise<void>;
}

/** Timers, expiries and the local sweep of one device. */
export class Disappearing implements TimerKeeper {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private nextAt = Infinity;
  private stopped = false;

  constructor(
    private readonly session: Session,
    private readonly history: History,
    private readonly sender: ContentSender,
    private readonly store: DeviceStore,
    private readonly log: GroupLog,
    private readonly events: ClientEventSink,
    /** The device's clock (tests pass a simulated one). */
    readonly now: () => number,
  ) {}

  /**
   * Set a chat's disappearing-messages timer in seconds (5 s … 1 year), or turn it off (`null`).
   * It travels end-to-end encrypted to every member's devices, which show "… set disappearing
   * messages to 7 days"; messages sent afterwards disappear that long after they were sent.
   * `timer_out_of_range` for any other duration, `conversation_not_found` for a chat this device
   * does not hold, `not_member` once this account left it or was removed: nothing is sent then.
   */
  async setTimer(conversationId: string, seconds: number | null): Promise<LocalConversation> {
    checkTimer(seconds);
    const conv = this.history.conversation(conversationId);
    if (!conv) throw new ParleyError('conversation_not_found');
    if (!conv.active) throw new ParleyError('not_member');
    const me = this.session.device().accountId;
    await this.sender.send(conversationId, { type: 'timer', seconds });
    return this.apply(conversationId, me, seconds, this.now());
  }

  /** The chat's timer in seconds, or null when its messages do not disappear. */
  timerOf(conversationId: string): number | null {
    return this.history.conversation(conversationId)?.timer ?? null;
  }

  /**
   * Set this device's default timer for chats it creates from now on (`null`: off); kept on this
   * device only. `timer_out_of_range` outside 5 s … 1 year.
   */
  async setDefaultTimer(seconds: number | null): Promise<void> {
    checkTimer(seconds);
    if (seconds === null) await this.store.delete(DEFAULT_KEY);
    else await this.store.set(DEFAULT_KEY, seconds);
  }

  /** This device's default timer for new chats, or null (off). */
  async defaultTimer(): Promise<number | null> {
    return (await this.store.get<number>(DEFAULT_KEY)) ?? null;
  }

  async applyDefault(conversationId: string): Promise<void> {
    const seconds = await this.defaultTimer();
    if (seconds !== null) await this.setTimer(conversationId, seconds);
  }

  /**
   * A timer change from `by` (this account, or a member whose `timer` content arrived): keep it
   * and record the system line. A change from someone who is not a member changes nothing.
   */
  async apply(conversationId: string, by: string, seconds: number | null, at: number): Promise<LocalConversation> {
    const conv = this.history.conversation(conversationId);
    if (!conv) throw new ParleyError('conversation_not_found');
    if (!conv.members.includes(by)) return conv;
    if (seconds === null) delete conv.timer;
    else conv.timer = seconds;
    conv.timerKnown = true;
    await this.history.saveConversation(conv);
    this.events.emit('conversation', conv);
    const line: GroupEvent = { kind: 'timer', by, seconds };
    await this.log.record(conversationId, line, at);
    return conv;
  }

  /**
   * The timer a group's `group-meta` carried, for a member that joined after it was set: kept once,
   * without a line. A device that has applied a `timer` change ignores it: a `group-meta` written
   * by a device that had not yet read the latest change would otherwise undo it silently.
   */
  async learn(conversationId: string, seconds: number | null): Promise<void> {
    const conv = this.history.conversation(conversationId);
    if (!conv || conv.timerKnown) return;
    conv.timerKnown = true;
    if (seconds === null) delete conv.timer;
    else conv.timer = seconds;
    await this.history.saveConversation(conv);
    this.events.emit('conversation', conv);
  }

  /** The expiry of a message this device sends now (`sentAt`), or undefined when the chat has no timer. */
  expiryFor(conversationId: string, sentAt: number): number | undefined {
    const seconds = this.timerOf(conversationId);
    return seconds === null ? undefined : sentAt + seconds * 1000;
  }

  /** True when a message with this expiry must not be shown or stored any more. */
  expired(expiresAt: number | undefined): boolean {
    return expiresAt !== undefined && expiresAt <= this.now();
  }

  /** A stored message will expire at `expiresAt`: make sure the sweep runs by then. */
  schedule(expiresAt: number | undefined): void {
    if (expiresAt === undefined || this.stopped || expiresAt >= this.nextAt) return;
    this.nextAt = expiresAt;
    if (this.timer) clearTimeout(this.timer);
    const wait = Math.min(Math.max(0, expiresAt - this.now()), MAX_WAIT_MS);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.nextAt = Infinity;
      void this.sweepExpired().catch(reportError(this.events, 'disappearing sweep'));
    }, wait);
    // Node: a pending expiry never keeps a process (the CLI, a bot) alive by itself.
    (this.timer as { unref?: () => void }).unref?.();
  }

  /**
   * Delete every message whose expiry has passed from this device's history (text, attachment
   * reference with its key, quote, reactions: the stored message goes as a whole), each announced
   * as `message-removed`, and schedule the next sweep. Runs by itself at each expiry; returns how
   * many went.
   */
  async sweepExpired(): Promise<number> {
    const now = this.now();
    let removed = 0;
    let next = Infinity;
    for (const conv of this.history.conversations()) {
      const gone: LocalMessage[] = await this.history.removeExpired(conv.id, now);
      for (const m of gone) this.events.emit('message-removed', { conversationId: conv.id, messageId: m.id });
      removed += gone.length;
      const left = await this.history.messages(conv.id);
      for (const m of left) if (m.expiresAt !== undefined && m.expiresAt < next) next = m.expiresAt;
      // A chat cannot have more unread messages than it still holds from others.
      const incoming = left.filter((m) => !m.outgoing && !m.system).length;
      if (gone.length && conv.unread > incoming) {
        conv.unread = incoming;
        await this.history.saveConversation(conv);
        this.events.emit('conversation', conv);
      }
    }
    if (next !== Infinity) this.schedule(next);
    return removed;
  }

  /** Stop the sweep timer (the client closes). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
