/**
 * The call manager, `client.calls` (C6, C7, C8): starts and answers 1:1 calls whose signalling is
 * MLS application messages, keeps this device's calls and their timers, answers `busy` while a
 * call is on, records calls that arrived too late to ring as missed, keeps group-call frame keys
 * and sends and receives live reactions. The sender of every message is the device MLS
 * authenticated, never a field of the content.
 */
import {
  ParleyError,
  isSingleEmoji,
  reactionContent,
  toB64,
  type CallContent,
  type CallKeyContent,
  type CallLogContent,
  type CallMedia,
  type ReactionContent,
} from '@parley/protocol';
import { Emitter } from '../events.ts';
import { randomBytes } from '../random.ts';
import { Call, type CallContext, type ResolvedCallOptions } from './call.ts';
import { FrameKeys } from './frame-keys.ts';
import { GroupCalls, type GroupCall, type GroupSignalling, type JoinGroupOptions } from './group.ts';
import {
  type CallHost,
  type CallOptions,
  type CallState,
  type DeviceRef,
  type PeerConnectionCtor,
  type SignalRejection,
} from './types.ts';

/** How many finished calls are remembered, so late messages about them are recognised. */
const KEEP_FINISHED = 200;

/** Delivery facts the client passes along with a call content. */
export interface SignalMeta {
  messageId: string;
  /** Server time the message was stored (or relayed), ms. */
  serverTime: number;
}

/**
 * Events of the call manager (`client.calls`). Declared here, next to `Call`, rather than in
 * `types.ts`: `call.ts` imports `types.ts`, so `types.ts` must not import `call.ts`.
 */
export interface CallManagerEvents extends Record<string, unknown> {
  /** Someone calls this device: `accept()` or `decline()` it. */
  'incoming-call': Call;
  /** A call reached this device too late to ring (it was offline) or while it was busy. */
  'missed-call': {
    conversationId: string;
    callId: string;
    from: DeviceRef;
    media: CallMedia;
    at: number;
    reason: 'offline' | 'busy';
  };
  /** Any call on this device changed state. */
  'call-state': { call: Call; state: CallState };
  /** A signalling message was ignored; nothing changed. */
  'call-signal-rejected': {
    conversationId: string;
    callId: string;
    action: string;
    from: DeviceRef;
    reason: SignalRejection;
  };
  /** A live reaction arrived (`target` is the tile it belongs on). */
  reaction: {
    conversationId: string;
    callId: string;
    from: DeviceRef;
    emoji: string;
    target: DeviceRef;
    auto: boolean;
  };
  /** A device's group-call frame key arrived. */
  'frame-key': { conversationId: string; callId: string; from: DeviceRef; keyId: number };
  /** A call-log entry was stored in a chat (sent by this device or received). */
  'call-log': { conversationId: string; messageId: string; log: Omit<CallLogContent, 'type'> };
}

/** Content kinds the manager handles. */
export type CallLayerContent = CallContent | CallLogContent | CallKeyContent | ReactionContent;

/** 1:1 calls, group-call frame keys and reactions of one device. */
export class CallManager extends Emitter<CallManagerEvents> {
  private readonly calls = new Map<string, Call>();
  /** Calls this device knows are over or not its own (missed while offline, answered busy, dialled by a sibling device). */
  private readonly settled = new Set<string>();
  private readonly keys = new Map<string, FrameKeys>();
  private readonly opts: ResolvedCallOptions & { frameKeysKept: number; audioLevel: boolean };
  /** Group calls through the server's SFU (`group.ts`). */
  readonly groups: GroupCalls;

  constructor(
    private readonly host: CallHost,
    options: CallOptions = {},
  ) {
    super();
    this.opts = {
      RTCPeerConnection:
        options.RTCPeerConnection ??
        (globalThis as unknown as { RTCPeerConnection?: PeerConnectionCtor }).RTCPeerConnection,
      peerConnectionConfig: options.peerConnectionConfig ?? {},
      iceServers: options.iceServers ?? [],
      getLocalMedia: options.getLocalMedia,
      ringTimeoutMs: options.ringTimeoutMs ?? 30_000,
      unavailableAfterMs: options.unavailableAfterMs ?? 5_000,
      gatherTimeoutMs: options.gatherTimeoutMs ?? 3_000,
      frameKeysKept: options.frameKeysKept ?? 4,
      audioLevel: options.audioLevel ?? true,
    };
    this.groups = new GroupCalls({
      self: () => host.self(),
      conversation: (id) => host.conversation(id),
      send: (id, content) => host.send(id, content, {}),
      frameKeys: (callId, conversationId) => this.frameKeys(callId, { conversationId }),
      dropFrameKeys: (callId) => this.leaveFrameKeys(callId),
      sendReaction: (id, callId, emoji, target, auto) => this.sendReaction(id, callId, emoji, target, auto),
      onReaction: (fn) => this.on('reaction', fn),
      error: (error, context) => host.error(error, context),
      RTCPeerConnection: this.opts.RTCPeerConnection,
      peerConnectionConfig: this.opts.peerConnectionConfig,
      audioLevel: this.opts.audioLevel,
      iceServers: this.opts.iceServers,
      gatherTimeoutMs: this.opts.gatherTimeoutMs,
    });
  }

  /**
   * Join a group conversation's voice or video chat through the server's SFU, or start one (no
   * `callId`). Resolves once the SFU's first offer is answered. See `group.ts` and docs/calls.md.
   */
  joinGroup(conversationId: string, opts: JoinGroupOptions = {}): Promise<GroupCall> {
    return this.groups.join(conversationId, opts);
  }

  /** Where group-call ops go; the client passes its socket. */
  useGroupSignalling(signalling: GroupSignalling): void {
    this.groups.use(signalling);
  }

  /** The call this device is in or ringing for, if any. */
  get active(): Call | undefined {
    return [...this.calls.values()].find((c) => !c.ended);
  }

  /** A call by id (finished ones are kept for a while). */
  get(callId: string): Call | undefined {
    return this.calls.get(callId);
  }

  /**
   * Call the other member of a direct conversation. Resolves once the offer is stored, with the
   * call in state `ringing`; follow it with `call.on('state' | 'ended', …)`.
   */
  async startCall(conversationId: string, opts: { video?: boolean } = {}): Promise<Call> {
    const conv = this.host.conversation(conversationId);
    if (!conv || !conv.active) throw new ParleyError('conversation_not_found');
    if (conv.kind !== 'direct' || !conv.peer)
      throw new ParleyError('bad_request', {
        message: '1:1 calls happen in direct conversations; group calls go through the SFU.',
        details: { field: 'conversationId' },
      });
    if (this.active)
      throw new ParleyError('bad_request', {
        message: 'This device is already in a call.',
        details: { callId: this.active.callId },
      });
    const self = this.host.self();
    const call = new Call(this.context(), {
      callId: toB64(randomBytes(16)),
      conversationId,
      direction: 'outgoing',
      media: opts.video ? 'video' : 'audio',
      caller: self.accountId,
      peerAccount: conv.peer,
      peerDevice: null,
      startedAt: Date.now(),
    });
    this.track(call);
    try {
      await call.dial();
    } catch (e) {
      await call.hangUp().catch(() => undefined);
      throw e;
    }
    return call;
  }

  /**
   * Send a live reaction in a call, aimed at one participant's tile (`auto`: chosen by the
   * dominant-speaker signal). Ephemeral: only devices online now get it. `bad_request` when the
   * emoji is not exactly one emoji.
   */
  async sendReaction(
    conversationId: string,
    callId: string,
    emoji: string,
    target: DeviceRef,
    auto = false,
  ): Promise<void> {
    const parsed = reactionContent.safeParse({
      type: 'reaction',
      callId,
      emoji,
      target: { accountId: target.accountId, deviceId: target.deviceId },
      auto,
    });
    if (!parsed.success)
      throw new ParleyError('bad_request', {
        details: { issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
      });
    await this.host.send(conversationId, parsed.data, { ephemeral: true });
  }

  /**
   * The frame keys of a group call. The first call for a call id (with its conversation) joins:
   * it makes and sends this device's first key. Later calls return the same object.
   */
  async frameKeys(callId: string, opts: { conversationId?: string } = {}): Promise<FrameKeys> {
    let fk = this.keys.get(callId);
    if (!fk) {
      if (!opts.conversationId)
        throw new ParleyError('bad_request', {
          message: 'Pass the conversation id the first time.',
          details: { field: 'conversationId' },
        });
      fk = this.newFrameKeys(callId, opts.conversationId);
    }
    if (!fk.current) await fk.rotate();
    return fk;
  }

  /** Forget a group call's keys (after leaving it). */
  leaveFrameKeys(callId: string): void {
    this.keys.delete(callId);
  }

  /**
   * Handle a decrypted call content. The client calls this with the sender MLS authenticated;
   * anything that does not fit a call of this device is ignored (and reported when suspicious).
   */
  async receive(conversationId: string, from: DeviceRef, content: CallLayerContent, meta: SignalMeta): Promise<void> {
    switch (content.type) {
      case 'call':
        this.onSignal(conversationId, from, content, meta);
        break;
      case 'call-log': {
        const { type: _type, ...log } = content;
        this.emit('call-log', { conversationId, messageId: meta.messageId, log });
        // The caller's log says the call is over: a ringing device that missed the cancel stops.
        const call = this.calls.get(content.callId);
        if (call && call.conversationId === conversationId && content.caller === from.accountId)
          await call.closeAsMissed();
        break;
      }
      case 'call-key': {
        const fk = this.keys.get(content.callId) ?? this.newFrameKeys(content.callId, conversationId);
        if (fk.conversationId !== conversationId) break; // a key for this call id from another conversation: not ours
        await fk.receive(from.deviceId, content.keyId, content.key);
        this.groups.keyArrived(conversationId, from, content);
        this.emit('frame-key', { conversationId, callId: content.callId, from, keyId: content.keyId });
        break;
      }
      case 'reaction':
        if (!isSingleEmoji(content.emoji)) break;
        this.emit('reaction', {
          conversationId,
          callId: content.callId,
          from,
          emoji: content.emoji,
          target: content.target,
          auto: content.auto,
        });
        break;
      default: {
        const never: never = content;
        throw new Error(`unknown call content ${JSON.stringify(never)}`);
      }
    }
  }

  private onSignal(conversationId: string, from: DeviceRef, c: CallContent, meta: SignalMeta): void {
    const self = this.host.self();
    const reject = (reason: SignalRejection) =>
      this.emit('call-signal-rejected', { conversationId, callId: c.callId, action: c.action, from, reason });
    const existing = this.calls.get(c.callId);
    if (existing && existing.conversationId !== conversationId) return reject('unknown-call');
    if (c.action === 'offer' && !existing) {
      if (from.accountId === self.accountId) {
        this.remember(c.callId); // a sibling device is calling: not ours to ring
        return;
      }
      if (this.settled.has(c.callId)) return reject('duplicate');
      const conv = this.host.conversation(conversationId);
      if (conv?.kind !== 'direct') return reject('not-direct');
      if (conv.peer && conv.peer !== from.accountId) return reject('not-peer');
      this.onOffer(conversationId, from, c, meta);
      return;
    }
    if (!existing) {
      // Late messages about calls that were settled, or our own account's, are expected.
      if (this.settled.has(c.callId) || from.accountId === self.accountId) return;
      return reject(c.action === 'answer' ? 'no-offer' : 'unknown-call');
    }
    const key = `${from.deviceId}:${c.seq}`;
    if (existing.seen.has(key)) return reject('duplicate');
    existing.seen.add(key);
    void existing.handle(from, c).then(
      (reason) => reason && reject(reason),
      (error) => this.host.error(error, `call ${c.action}`),
    );
  }

  private onOffer(conversationId: string, from: DeviceRef, c: CallContent, meta: SignalMeta): void {
    const announceMissed = (reason: 'offline' | 'busy') =>
      this.emit('missed-call', { conversationId, callId: c.callId, from, media: c.media, at: meta.serverTime, reason });
    // An offer that waited in the queue longer than a call rings (this device was offline) is history.
    if (Date.now() - meta.serverTime >= this.opts.ringTimeoutMs) {
      this.remember(c.callId);
      announceMissed('offline');
      return;
    }
    if (this.active) {
      this.remember(c.callId);
      const busy: CallContent = {
        type: 'call',
        callId: c.callId,
        action: 'busy',
        media: c.media,
        seq: 0,
        at: Date.now(),
      };
      void this.host.send(conversationId, busy, {}).catch((error) => this.host.error(error, 'call busy'));
      announceMissed('busy');
      return;
    }
    const call = new Call(this.context(), {
      callId: c.callId,
      conversationId,
      direction: 'incoming',
      media: c.media,
      caller: from.accountId,
      peerAccount: from.accountId,
      peerDevice: from,
      startedAt: meta.serverTime,
      offerSdp: c.sdp!,
    });
    call.seen.add(`${from.deviceId}:${c.seq}`);
    this.track(call);
    call.on('ended', ({ state }) => {
      if (state === 'missed' && !call.announced) announceMissed('offline');
    });
    // Ring only once everything already queued is processed: a cancel waiting behind the offer
    // means the call is over, and it must not ring at all.
    void this.host.idle().then(() => call.ring(() => this.emit('incoming-call', call)));
  }

  private newFrameKeys(callId: string, conversationId: string): FrameKeys {
    const fk = new FrameKeys(
      callId,
      conversationId,
      (id, content) => this.host.send(id, content, {}),
      this.opts.frameKeysKept,
    );
    this.keys.set(callId, fk);
    return fk;
  }

  private context(): CallContext {
    return {
      host: this.host,
      opts: this.opts,
      changed: (call: Call, state: CallState) => this.emit('call-state', { call, state }),
      logged: (conversationId, messageId, log) => this.emit('call-log', { conversationId, messageId, log }),
    };
  }

  private track(call: Call): void {
    this.calls.set(call.callId, call);
    // Keep the map bounded: forget the oldest finished calls, remembering only their ids.
    if (this.calls.size > KEEP_FINISHED) {
      for (const [id, c] of this.calls) {
        if (this.calls.size <= KEEP_FINISHED) break;
        if (c.ended) {
          this.calls.delete(id);
          this.remember(id);
        }
      }
    }
  }

  private remember(callId: string): void {
    this.settled.add(callId);
    if (this.settled.size > KEEP_FINISHED * 5) this.settled.delete(this.settled.values().next().value!);
  }
}
