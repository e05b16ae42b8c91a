/**
 * One 1:1 call on this device (C6, C7): its state machine and its peer connection. Every
 * signalling step is an MLS application message in the direct conversation, sent through the
 * client; the server relays ciphertext and learns nothing about the call.
 */
import {
  ParleyError,
  type CallAction,
  type CallContent,
  type CallLogContent,
  type CallMedia,
  type CallOutcome,
  type CallReason,
  type IceCandidateJson,
} from '@parley/protocol';
import { Emitter } from '../events.ts';
import { KeyedLock } from '../lock.ts';
import {
  TERMINAL_STATES,
  type CallEvents,
  type CallHost,
  type CallState,
  type DeviceRef,
  type IceCandidateLike,
  type IceServerLike,
  type LocalMedia,
  type PeerConnectionCtor,
  type PeerConnectionLike,
  type SignalRejection,
} from './types.ts';
import { candidateJson, iceGathered } from './ice.ts';

/** Options of the manager after defaults, shared by its calls. */
export interface ResolvedCallOptions {
  RTCPeerConnection: PeerConnectionCtor | undefined;
  peerConnectionConfig: Record<string, unknown>;
  iceServers: IceServerLike[] | (() => Promise<IceServerLike[]>);
  getLocalMedia: ((media: CallMedia) => Promise<LocalMedia>) | undefined;
  ringTimeoutMs: number;
  unavailableAfterMs: number;
  gatherTimeoutMs: number;
}

/** What a call needs from its manager. */
export interface CallContext {
  host: CallHost;
  opts: ResolvedCallOptions;
  /** Called on every state change (the manager re-emits it and tracks busy devices). */
  changed(call: Call, state: CallState): void;
  /** Called once this device stored the call-log entry it sent (the manager emits `call-log`). */
  logged(conversationId: string, messageId: string, log: Omit<CallLogContent, 'type'>): void;
}

/** The exhaustiveness guard of the signal switches: a new action must be handled in both. */
function unknownAction(action: never): never {
  throw new Error(`unknown call action ${String(action)}`);
}

/** A 1:1 call as this device sees it; outgoing from `startCall`, incoming from `incoming-call`. */
export class Call extends Emitter<CallEvents> {
  readonly callId: string;
  readonly conversationId: string;
  readonly direction: 'outgoing' | 'incoming';
  readonly media: CallMedia;
  /** The calling account (this one for outgoing calls). */
  readonly caller: string;
  /** The other account. */
  readonly peerAccount: string;
  /** The other device once known: the caller's device, or the callee device that accepted. */
  peerDevice: DeviceRef | null;
  state: CallState = 'ringing';
  /** When the offer was sent (outgoing) or stored by the server (incoming). */
  readonly startedAt: number;
  acceptedAt: number | undefined;
  connectedAt: number | undefined;
  endedAt: number | undefined;
  /** What the call-log entry says, once the call is over. */
  outcome: CallOutcome | undefined;
  /** Time from connection (or acceptance) to the end; 0 unless completed. */
  durationMs = 0;
  /** The WebRTC connection, from dialling (outgoing) or accepting (incoming) on. */
  pc: PeerConnectionLike | null = null;
  /** Callee devices that said they ring. */
  readonly ringingDevices: DeviceRef[] = [];
  /** Signalling messages already handled, by `deviceId:seq`. */
  readonly seen = new Set<string>();
  /** True once `incoming-call` was emitted for this call. */
  announced = false;

  private seq = 0;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private remoteOffer: string | undefined;
  private remoteApplied = false;
  private pendingRemote: IceCandidateJson[] = [];
  /** Local candidates found after the description was taken; sent once it has left. */
  private trickle: IceCandidateJson[] | null = null;
  private descriptionTaken = false;
  /** Accepting and handling signals run one at a time, in order. */
  private readonly steps = new KeyedLock();

  constructor(
    private readonly ctx: CallContext,
    init: {
      callId: string;
      conversationId: string;
      direction: 'outgoing' | 'incoming';
      media: CallMedia;
      caller: string;
      peerAccount: string;
      peerDevice: DeviceRef | null;
      startedAt: number;
      offerSdp?: string;
    },
  ) {
    super();
    this.callId = init.callId;
    this.conversationId = init.conversationId;
    this.direction = init.direction;
    this.media = init.media;
    this.caller = init.caller;
    this.peerAccount = init.peerAccount;
    this.peerDevice = init.peerDevice;
    this.startedAt = init.startedAt;
    this.remoteOffer = init.offerSdp;
  }

  /** True once the call is over on this device. */
  get ended(): boolean {
    return TERMINAL_STATES.includes(this.state);
  }

  // ------------------------------------------------------------------ user actions

  /** Pick up an incoming call: tells the caller (and this account's other devices), then connects. */
  async accept(): Promise<void> {
    if (this.direction !== 'incoming' || this.state !== 'ringing')
      throw new ParleyError('bad_request', { message: `Cannot accept a call that is ${this.state} here.` });
    this.acceptedAt = Date.now();
    this.clearTimers();
    this.setState('accepted');
    await this.signal('accept');
    await this.steps
      .run(this.callId, async () => {
        if (this.ended) return;
        const pc = await this.createPeer();
        await pc.setRemoteDescription({ type: 'offer', sdp: this.remoteOffer! });
        this.remoteApplied = true;
        await this.applyPendingCandidates();
        await this.addLocalMedia(pc);
        const answer = await pc.createAnswer();
        await pc.setLocalDescription({ type: 'answer', sdp: answer.sdp ?? '' });
        const sdp = await this.gathered(pc);
        if (this.ended) return;
        await this.signal('answer', { sdp });
        await this.flushTrickle();
      })
      .catch((error) => this.fail(error, 'accept'));
  }

  /** Refuse an incoming call (stops it ringing on this account's other devices too). */
  async decline(): Promise<void> {
    if (this.direction !== 'incoming' || this.state !== 'ringing')
      throw new ParleyError('bad_request', { message: `Cannot decline a call that is ${this.state} here.` });
    await this.finish('declined', 'declined', { action: 'decline' });
  }

  /** Hang up: cancels an outgoing call that still rings, declines a ringing incoming one, ends a live one. */
  async hangUp(): Promise<void> {
    if (this.ended) return;
    if (this.state === 'ringing') {
      if (this.direction === 'incoming') return this.decline();
      return this.finish('cancelled', 'cancelled', { action: 'cancel', reason: 'hangup' });
    }
    await this.finish('ended', 'completed', { action: 'end', reason: 'hangup' });
  }

  // ------------------------------------------------------------------ driven by the manager

  /** Outgoing: build the offer, send it, and start the unavailable and ring timers. */
  async dial(): Promise<void> {
    const pc = await this.createPeer();
    await this.addLocalMedia(pc);
    const offer = await pc.createOffer();
    await pc.setLocalDescription({ type: 'offer', sdp: offer.sdp ?? '' });
    const sdp = await this.gathered(pc);
    await this.signal('offer', { sdp });
    this.after(this.ctx.opts.unavailableAfterMs, () => {
      if (this.state === 'ringing' && this.ringingDevices.length === 0)
        void this.finish('unavailable', 'unavailable', { action: 'cancel', reason: 'unavailable' });
    });
    this.after(this.ctx.opts.ringTimeoutMs, () => {
      if (this.state === 'ringing') void this.finish('missed', 'missed', { action: 'cancel', reason: 'timeout' });
    });
    await this.flushTrickle();
  }

  /** Incoming: ring (once the backlog is processed and the call is still on) until the ring timeout. */
  ring(onAnnounce: () => void): void {
    if (this.state !== 'ringing') return;
    const left = this.ctx.opts.ringTimeoutMs - (Date.now() - this.startedAt);
    this.after(Math.max(0, left), () => {
      if (this.state === 'ringing') void this.finish('missed', 'missed');
    });
    this.announced = true;
    void this.signal('ringing', {}, true).catch((error) => this.ctx.host.error(error, 'call ringing'));
    onAnnounce();
  }

  /** Handle one signalling message from `from` (already de-duplicated); returns why it was ignored. */
  handle(from: DeviceRef, c: CallContent): Promise<SignalRejection | null> {
    return this.steps.run(this.callId, () =>
      this.direction === 'outgoing' ? this.onOutgoingSignal(from, c) : this.onIncomingSignal(from, c),
    );
  }

  /** End the call because it is known to be over from elsewhere (e.g. its call-log arrived). */
  async closeAsMissed(): Promise<void> {
    if (this.state === 'ringing') await this.finish('missed', 'missed');
  }

  private async onOutgoingSignal(from: DeviceRef, c: CallContent): Promise<SignalRejection | null> {
    const self = this.ctx.host.self();
    if (from.accountId === self.accountId) return null; // this account's other devices see our signalling too
    if (from.accountId !== this.peerAccount) return 'not-peer';
    const fromPeer = this.peerDevice?.deviceId === from.deviceId;
    switch (c.action) {
      case 'ringing':
        if (this.state !== 'ringing') return null; // late, harmless
        if (!this.ringingDevices.some((d) => d.deviceId === from.deviceId)) this.ringingDevices.push(from);
        this.emit('ringing', from);
        return null;
      case 'accept':
        if (this.state !== 'ringing') return fromPeer ? null : 'wrong-state';
        this.accepted(from);
        return null;
      case 'answer': {
        if (this.state === 'ringing') this.accepted(from);
        else if (!fromPeer) return 'not-peer';
        if (this.ended || this.remoteApplied) return 'wrong-state';
        try {
          await this.pc!.setRemoteDescription({ type: 'answer', sdp: c.sdp! });
        } catch (error) {
          this.ctx.host.error(error, 'call answer');
          await this.finish('ended', 'completed', { action: 'end', reason: 'failed' });
          return 'bad-sdp';
        }
        this.remoteApplied = true;
        await this.applyPendingCandidates();
        return null;
      }
      case 'ice':
        if (this.peerDevice && !fromPeer) return 'not-peer';
        await this.addCandidates(c.candidates ?? []);
        return null;
      case 'decline':
      case 'busy':
        if (this.state !== 'ringing') return fromPeer ? 'wrong-state' : null;
        if (c.action === 'busy') await this.finish('busy', 'busy', { action: 'cancel', reason: 'busy' });
        else await this.finish('declined', 'declined');
        return null;
      case 'end':
        if (!fromPeer) return 'not-peer';
        await this.finish('ended', 'completed');
        return null;
      case 'offer':
      case 'cancel':
        return 'wrong-state';
      default:
        return unknownAction(c.action);
    }
  }

  private async onIncomingSignal(from: DeviceRef, c: CallContent): Promise<SignalRejection | null> {
    if (c.action === 'answer') return 'no-offer';
    const self = this.ctx.host.self();
    if (from.accountId === self.accountId) {
      // Another device of this account picked up or refused: stop ringing here.
      if (this.state !== 'ringing') return null;
      if (c.action === 'accept') await this.finish('answered-elsewhere', 'completed');
      else if (c.action === 'decline') await this.finish('declined', 'declined');
      return null;
    }
    if (from.deviceId !== this.peerDevice?.deviceId || from.accountId !== this.peerDevice.accountId) return 'not-peer';
    switch (c.action) {
      case 'ice':
        await this.addCandidates(c.candidates ?? []);
        return null;
      case 'cancel':
        if (this.state === 'ringing') await this.finish('missed', 'missed');
        else await this.finish('ended', 'completed');
        return null;
      case 'end':
        await this.finish('ended', 'completed');
        return null;
      case 'offer':
      case 'ringing':
      case 'accept':
      case 'decline':
      case 'busy':
        return 'wrong-state';
      default:
        return unknownAction(c.action);
    }
  }

  private accepted(by: DeviceRef): void {
    this.peerDevice = by;
    this.acceptedAt = Date.now();
    this.clearTimers();
    this.setState('accepted');
  }

  // ------------------------------------------------------------------ plumbing

  private setState(state: CallState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
    this.ctx.changed(this, state);
  }

  /** Move to a terminal state once: tell the peer if asked, close the connection, log the call. */
  private async finish(
    state: CallState,
    outcome: CallOutcome,
    notify?: { action: 'cancel' | 'end' | 'decline'; reason?: CallReason },
  ): Promise<void> {
    if (this.ended) return;
    this.clearTimers();
    this.endedAt = Date.now();
    const from = this.connectedAt ?? this.acceptedAt;
    this.durationMs = outcome === 'completed' && from !== undefined ? Math.max(0, this.endedAt - from) : 0;
    this.outcome = outcome;
    const pc = this.pc;
    this.setState(state);
    this.emit('ended', { state, outcome, durationMs: this.durationMs });
    try {
      pc?.close();
    } catch {
      // already closed
    }
    try {
      if (notify) await this.signal(notify.action, notify.reason ? { reason: notify.reason } : {});
      // The caller's device writes the chat entry every device of both accounts shows.
      if (this.direction === 'outgoing') {
        const entry: CallLogContent = {
          type: 'call-log',
          callId: this.callId,
          media: this.media,
          outcome,
          durationMs: Math.min(this.durationMs, 24 * 3_600_000),
          startedAt: this.startedAt,
          caller: this.caller,
        };
        const stored = await this.ctx.host.sendCallLog(this.conversationId, entry);
        const { type: _type, ...log } = entry;
        this.ctx.logged(this.conversationId, stored.id, log);
      }
    } catch (error) {
      this.ctx.host.error(error, `call ${state}`);
    }
  }

  private fail(error: unknown, context: string): void {
    this.ctx.host.error(error, `call ${context}`);
    void this.finish('ended', 'completed', { action: 'end', reason: 'failed' });
  }

  private async signal(
    action: CallAction,
    extra: Partial<Pick<CallContent, 'sdp' | 'candidates' | 'reason'>> = {},
    ephemeral = false,
  ): Promise<void> {
    const content: CallContent = {
      type: 'call',
      callId: this.callId,
      action,
      media: this.media,
      seq: this.seq++,
      at: Date.now(),
      ...extra,
    };
    await this.ctx.host.send(this.conversationId, content, { ephemeral });
  }

  private after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private async createPeer(): Promise<PeerConnectionLike> {
    const Ctor = this.ctx.opts.RTCPeerConnection;
    if (!Ctor)
      throw new ParleyError('bad_request', {
        message: 'No RTCPeerConnection here: pass options.calls.RTCPeerConnection.',
      });
    const servers =
      typeof this.ctx.opts.iceServers === 'function' ? await this.ctx.opts.iceServers() : this.ctx.opts.iceServers;
    const pc = new Ctor({ ...this.ctx.opts.peerConnectionConfig, iceServers: servers });
    this.pc = pc;
    pc.onicecandidate = (e) => this.onLocalCandidate(e.candidate ?? null);
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'connected' && this.state === 'accepted') {
        this.connectedAt = Date.now();
        this.setState('connected');
      } else if (pc.connectionState === 'failed' && !this.ended) {
        void this.finish('ended', 'completed', { action: 'end', reason: 'failed' });
      }
    };
    pc.ontrack = (e) => this.emit('track', { track: e.track, streams: e.streams ?? [] });
    return pc;
  }

  /** Send the local microphone/camera, or at least ask for the call's kinds of media. */
  private async addLocalMedia(pc: PeerConnectionLike): Promise<void> {
    const local = this.ctx.opts.getLocalMedia ? await this.ctx.opts.getLocalMedia(this.media) : { tracks: [] };
    const kinds = new Set<string>();
    for (const track of local.tracks) {
      kinds.add(String((track as { kind?: unknown }).kind));
      if (local.stream !== undefined) pc.addTrack(track as never, local.stream as never);
      else pc.addTrack(track as never);
    }
    if (this.direction === 'incoming') return; // the offer's m-lines are already there
    if (!kinds.has('audio')) pc.addTransceiver('audio', { direction: 'sendrecv' });
    if (this.media === 'video' && !kinds.has('video')) pc.addTransceiver('video', { direction: 'sendrecv' });
  }

  /**
   * The local description once ICE gathering completes (or `gatherTimeoutMs` passed): the
   * candidates found so far travel inside the SDP, later ones trickle as `ice` messages.
   */
  private async gathered(pc: PeerConnectionLike): Promise<string> {
    await iceGathered(pc, this.ctx.opts.gatherTimeoutMs);
    this.descriptionTaken = true;
    this.trickle = [];
    const sdp = pc.localDescription?.sdp;
    if (!sdp) throw new Error('no local description');
    return sdp;
  }

  private onLocalCandidate(candidate: IceCandidateLike | null): void {
    if (!candidate || !candidate.candidate || !this.descriptionTaken || this.ended) return;
    const json = candidateJson(candidate);
    if (this.trickle) this.trickle.push(json);
    else void this.signal('ice', { candidates: [json] }, true).catch((error) => this.ctx.host.error(error, 'call ice'));
  }

  private async flushTrickle(): Promise<void> {
    const queued = this.trickle ?? [];
    this.trickle = null;
    for (let i = 0; i < queued.length; i += 32) await this.signal('ice', { candidates: queued.slice(i, i + 32) }, true);
  }

  private async addCandidates(candidates: IceCandidateJson[]): Promise<void> {
    if (!this.remoteApplied || !this.pc) {
      this.pendingRemote.push(...candidates);
      return;
    }
    for (const c of candidates)
      await this.pc.addIceCandidate(c).catch((error) => this.ctx.host.error(error, 'call ice'));
  }

  private async applyPendingCandidates(): Promise<void> {
    const pending = this.pendingRemote.splice(0);
    await this.addCandidates(pending);
  }
}
