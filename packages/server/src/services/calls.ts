/**
 * Group calls (C6, C8): hosts the SFU in this process and relays its signalling to devices over
 * their WebSockets. The SFU owns media; this service owns who may be in which call, binds each
 * call id to the conversation of its first join, turns SFU callbacks into `call-*` events, and
 * mints short-lived TURN credentials for clients.
 *
 * Authorization runs inside the SFU's `authorize` hook, so no code path can admit a device
 * without it: the device must be a current member of the conversation, and a call id already
 * bound to another conversation is refused (`not_in_call`, the same answer as a non-member, so a
 * call id reveals nothing about other conversations).
 *
 * Several processes (Redis configured): a room lives in the process where it was created, and
 * presence records `call:<callId>` → node. A join that reaches another process is refused with
 * `call_on_other_node` rather than silently starting a second, separate room.
 */
import type { Logger } from 'pino';
import {
  CALL_EVENTS,
  ParleyError,
  type CallEndedEvent,
  type CallOffer,
  type CallParticipant,
  type CallParticipantsEvent,
  type CallSpeakerEvent,
  type IceServer,
  type IceServersResponse,
} from '@parley/protocol';
import {
  Sfu,
  mintTurnCredentials,
  type LeaveReason,
  type RoomSpeakerChange,
  type SfuIceCandidate,
  type SfuOffer,
} from '@parley/sfu';
import type { Config } from '../config/index.ts';
import type { Presence } from '../bus/types.ts';
import type { Delivery, DeviceConnection } from './delivery.ts';
import type { RoutingCache } from './routing.ts';

/** What the call service needs from the composition root. */
export interface CallServiceDeps {
  readonly config: Config;
  readonly nodeId: string;
  readonly routing: RoutingCache;
  /** Whose sockets are where: call events go to the device's current socket on this process. */
  readonly delivery: Delivery;
  readonly presence: Presence;
  /** True when other processes may host calls (Redis configured). */
  readonly distributed: boolean;
  readonly log: Logger;
  readonly now: () => number;
}

/** A device asking for something, as the gateway authenticated it. */
export interface CallCaller {
  readonly accountId: string;
  readonly deviceId: string;
}

interface CallState {
  readonly callId: string;
  readonly conversationId: string;
  readonly participants: Map<string, CallParticipant>;
  /** Increases with every change of `participants`; sent as `version`. */
  version: number;
  /** The latest `call-speaker` event, repeated to each device that joins later. */
  lastSpeaker?: CallSpeakerEvent;
  readonly offSpeaker: () => void;
}

/** Presence key of a call (device ids start with `d_`, so the two never collide). */
const presenceKey = (callId: string) => `call:${callId}`;
const PRESENCE_REFRESH_MS = 20_000;
/** Leave reasons that the device did not choose itself: it is told with `call-ended`. */
const ENDED_REASONS = new Set<LeaveReason>(['closed', 'connection_failed', 'connect_timeout', 'negotiation_timeout']);

/** The group-call host of one server process. */
export class CallService {
  /** The SFU, or null when group calls are turned off (`PARLEY_SFU=off`). */
  readonly sfu: Sfu | null;
  private readonly calls = new Map<string, CallState>();
  /** Joins in progress, by `callId deviceId`: the conversation and account the hook checks. */
  private readonly joining = new Map<string, { conversationId: string; accountId: string }>();
  private refreshTimer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: CallServiceDeps) {
    const { config } = deps;
    if (!config.sfu) {
      this.sfu = null;
      return;
    }
    this.sfu = new Sfu({
      authorize: (callId, deviceId) => this.authorize(callId, deviceId),
      maxParticipants: config.sfuMaxParticipants,
      ...(config.sfuPortRange ? { icePortRange: config.sfuPortRange } : {}),
    });
    this.sfu.onOffer((callId, deviceId, offer) => this.push(deviceId, CALL_EVENTS.offer, toCallOffer(callId, offer)));
    this.sfu.onParticipantLeft((callId, deviceId, reason) => this.onLeft(callId, deviceId, reason));
    this.sfu.onRoomClosed((callId) => this.onRoomClosed(callId));
    if (deps.distributed) {
      this.refreshTimer = setInterval(() => {
        const keys = [...this.calls.keys()].map(presenceKey);
        if (keys.length)
          deps.presence
            .refresh(keys, deps.nodeId)
            .catch((err) => deps.log.warn({ err }, 'call presence refresh failed'));
      }, PRESENCE_REFRESH_MS);
      this.refreshTimer.unref();
    }
  }

  /** A socket closed (after `delivery.detach`): the device leaves every call it was in, unless a newer open socket took over. */
  detach(conn: DeviceConnection): void {
    const current = this.deps.delivery.connection(conn.deviceId);
    if (current && current !== conn && current.isOpen()) return;
    const mine = [...this.calls.values()].filter((s) => s.participants.has(conn.deviceId));
    for (const s of mine) this.sfu?.leave(s.callId, conn.deviceId);
  }

  /** STUN servers and TURN servers with fresh credentials bound to the device. */
  iceServers(caller: CallCaller): IceServersResponse {
    const { config, now } = this.deps;
    const iceServers: IceServer[] = [];
    if (config.stunUrls.length) iceServers.push({ urls: [...config.stunUrls] });
    if (config.turnUrls.length && config.turnSecret) {
      const creds = mintTurnCredentials({
        secret: config.turnSecret,
        userId: caller.deviceId,
        urls: config.turnUrls,
        ttlSeconds: config.turnTtlSeconds,
        now,
      });
      iceServers.push({ urls: creds.urls, username: creds.username, credential: creds.credential });
    }
    return { iceServers, ttlSeconds: config.turnTtlSeconds };
  }

  /**
   * Admits the device to the call (creating it, bound to `conversationId`, on first join) and
   * returns the SFU's first offer. Everyone in the call then gets `call-participants`.
   * A device is in (or joining) at most `callsPerDevice` calls at once; rejoining a call it is in
   * does not count twice.
   * @throws ParleyError `calls_disabled`, `call_on_other_node`, `not_in_call`, `call_full`, `too_many_calls`, `unavailable`.
   */
  async join(
    caller: CallCaller,
    body: { conversationId: string; callId: string; audio?: boolean; video?: boolean },
  ): Promise<CallOffer> {
    const sfu = this.requireSfu();
    const { callId, conversationId } = body;
    if (!this.deps.delivery.isConnected(caller.deviceId))
      throw new ParleyError('unavailable', { message: "Call signalling needs the device's WebSocket." });
    if (this.deps.distributed && !this.calls.has(callId)) {
      const where = (await this.deps.presence.locate([presenceKey(callId)])).get(presenceKey(callId));
      if (where && where !== this.deps.nodeId) throw new ParleyError('call_on_other_node', { details: { callId } });
    }
    const key = `${callId} ${caller.deviceId}`;
    if (this.joining.has(key))
      throw new ParleyError('bad_request', {
        details: [{ path: 'callId', problem: 'a join of this call by this device is already in progress' }],
      });
    // Checked and claimed in one synchronous step, so joins racing on one socket cannot all pass.
    if (this.callsOf(caller.deviceId, callId) >= this.deps.config.callsPerDevice)
      throw new ParleyError('too_many_calls', { details: { maxCalls: this.deps.config.callsPerDevice } });
    this.joining.set(key, { conversationId, accountId: caller.accountId });
    let offer: SfuOffer;
    try {
      offer = await sfu.join(callId, caller.deviceId);
    } catch (e) {
      // A failed rejoin may have removed the earlier session without reporting it (`replaced`).
      if (
        this.calls.get(callId)?.participants.has(caller.deviceId) &&
        !sfu.room(callId)?.participants.includes(caller.deviceId)
      ) {
        this.onLeft(callId, caller.deviceId, 'left');
      }
      this.dropIfEmpty(callId);
      throw e;
    } finally {
      this.joining.delete(key);
    }
    const state = this.calls.get(callId);
    if (!state || !sfu.room(callId)?.participants.includes(caller.deviceId)) {
      // The participant failed between its offer and here; the leave listener has cleaned up.
      throw new ParleyError('not_in_call', { message: 'The participant left while joining.' });
    }
    state.participants.set(caller.deviceId, {
      deviceId: caller.deviceId,
      accountId: caller.accountId,
      audio: body.audio ?? true,
      video: body.video ?? false,
      joinedAt: this.deps.now(),
    });
    state.version++;
    // After the join's answer frame is written, so the joiner sees its offer first.
    setImmediate(() => {
      this.broadcastParticipants(state);
      if (state.lastSpeaker && this.calls.get(callId) === state)
        this.push(caller.deviceId, CALL_EVENTS.speaker, state.lastSpeaker);
    });
    if (this.deps.distributed)
      this.deps.presence
        .setOnline(presenceKey(callId), this.deps.nodeId)
        .catch((err) => this.deps.log.warn({ err }, 'call presence failed'));
    return toCallOffer(callId, offer);
  }

  /**
   * Applies the device's answer to the SFU's latest offer.
   * @throws ParleyError `calls_disabled`, `not_in_call`, `call_negotiation_stale`, `call_sdp_invalid`.
   */
  async answer(
    caller: CallCaller,
    body: { callId: string; sdp: string; revision: number },
  ): Promise<Record<string, never>> {
    const sfu = this.requireParticipant(caller, body.callId);
    await sfu.answer(body.callId, caller.deviceId, { sdp: body.sdp, revision: body.revision });
    return {};
  }

  /**
   * Adds an ICE candidate the device trickled.
   * @throws ParleyError `calls_disabled`, `not_in_call`, `call_sdp_invalid`.
   */
  async candidate(
    caller: CallCaller,
    body: {
      callId: string;
      candidate: string;
      sdpMid?: string | null;
      sdpMLineIndex?: number | null;
      usernameFragment?: string | null;
    },
  ): Promise<Record<string, never>> {
    const sfu = this.requireParticipant(caller, body.callId);
    const candidate: SfuIceCandidate = { candidate: body.candidate };
    if (body.sdpMid !== undefined) candidate.sdpMid = body.sdpMid;
    if (body.sdpMLineIndex !== undefined) candidate.sdpMLineIndex = body.sdpMLineIndex;
    if (body.usernameFragment !== undefined) candidate.usernameFragment = body.usernameFragment;
    await sfu.addIceCandidate(body.callId, caller.deviceId, candidate);
    return {};
  }

  /**
   * The device hangs up; the others get `call-participants` and offers without its media.
   * @throws ParleyError `calls_disabled`, `not_in_call`.
   */
  leave(caller: CallCaller, body: { callId: string }): Record<string, never> {
    this.requireParticipant(caller, body.callId).leave(body.callId, caller.deviceId);
    return {};
  }

  /** The call's conversation and participants, or undefined when it is not running here. */
  info(callId: string): { conversationId: string; participants: CallParticipant[]; version: number } | undefined {
    const s = this.calls.get(callId);
    return s && { conversationId: s.conversationId, participants: [...s.participants.values()], version: s.version };
  }

  /** Ends every call (participants get `call-ended` with `closed`) and stops timers. */
  stop(): void {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = null;
    this.sfu?.close();
  }

  /** Calls other than `except` that the device is in or joining. */
  private callsOf(deviceId: string, except: string): number {
    const busy = new Set<string>();
    for (const state of this.calls.values()) if (state.participants.has(deviceId)) busy.add(state.callId);
    for (const key of this.joining.keys()) {
      const [callId, device] = key.split(' ');
      if (device === deviceId) busy.add(callId!);
    }
    busy.delete(except);
    return busy.size;
  }

  private requireSfu(): Sfu {
    if (!this.sfu) throw new ParleyError('calls_disabled');
    return this.sfu;
  }

  /** A device not in the call gets `not_in_call` whether or not the call exists: no oracle for call ids. */
  private requireParticipant(caller: CallCaller, callId: string): Sfu {
    const sfu = this.requireSfu();
    if (!this.calls.get(callId)?.participants.has(caller.deviceId))
      throw new ParleyError('not_in_call', { details: { callId } });
    return sfu;
  }

  /**
   * The SFU's admission hook. After the (awaited) membership check, binding the call id to the
   * conversation is synchronous, so two first joins from different conversations cannot both win.
   */
  private async authorize(callId: string, deviceId: string): Promise<boolean> {
    const intent = this.joining.get(`${callId} ${deviceId}`);
    if (!intent) return false;
    const routing = await this.deps.routing.get(intent.conversationId);
    if (!routing?.devices.some((d) => d.deviceId === deviceId && d.accountId === intent.accountId)) return false;
    const existing = this.calls.get(callId);
    if (existing) return existing.conversationId === intent.conversationId;
    const sfu = this.sfu!;
    const state: CallState = {
      callId,
      conversationId: intent.conversationId,
      participants: new Map(),
      version: 0,
      offSpeaker: sfu.onSpeakerChange(callId, (change) => this.onSpeaker(state, change)),
    };
    this.calls.set(callId, state);
    return true;
  }

  private onLeft(callId: string, deviceId: string, reason: LeaveReason): void {
    // A rejoin replaces the session; the join that caused it reports the new one.
    if (reason === 'replaced') return;
    const state = this.calls.get(callId);
    if (!state?.participants.delete(deviceId)) return;
    if (ENDED_REASONS.has(reason)) {
      const ended: CallEndedEvent = {
        callId,
        conversationId: state.conversationId,
        reason: reason as CallEndedEvent['reason'],
      };
      this.push(deviceId, CALL_EVENTS.ended, ended);
    }
    state.version++;
    if (state.participants.size) this.broadcastParticipants(state);
  }

  private onRoomClosed(callId: string): void {
    const state = this.calls.get(callId);
    if (!state) return;
    state.offSpeaker();
    this.calls.delete(callId);
    if (this.deps.distributed)
      this.deps.presence
        .setOffline(presenceKey(callId), this.deps.nodeId)
        .catch((err) => this.deps.log.warn({ err }, 'call presence failed'));
  }

  /** A join failed after its hook created the call: forget a call that never got a room. */
  private dropIfEmpty(callId: string): void {
    const state = this.calls.get(callId);
    if (state && state.participants.size === 0 && !this.sfu?.room(callId)) this.onRoomClosed(callId);
  }

  private onSpeaker(state: CallState, change: RoomSpeakerChange): void {
    const speaker = change.speakerId ? state.participants.get(change.speakerId) : undefined;
    const event: CallSpeakerEvent = {
      callId: state.callId,
      deviceId: speaker?.deviceId ?? null,
      accountId: speaker?.accountId ?? null,
      // The detector's clock is monotonic; clients get wall-clock time.
      at: Math.round(this.deps.now() - (performance.now() - change.at)),
      decidedAt: Math.round(this.deps.now() - (performance.now() - change.decidedAt)),
    };
    state.lastSpeaker = event;
    for (const id of state.participants.keys()) this.push(id, CALL_EVENTS.speaker, event);
  }

  private broadcastParticipants(state: CallState): void {
    if (this.calls.get(state.callId) !== state || state.participants.size === 0) return;
    const event: CallParticipantsEvent = {
      callId: state.callId,
      conversationId: state.conversationId,
      version: state.version,
      participants: [...state.participants.values()],
    };
    for (const id of state.participants.keys()) this.push(id, CALL_EVENTS.participants, event);
  }

  private push(deviceId: string, name: string, body: unknown): void {
    const conn = this.deps.delivery.connection(deviceId);
    if (conn?.isOpen()) conn.event(name, body);
  }
}

function toCallOffer(callId: string, offer: SfuOffer): CallOffer {
  return {
    callId,
    sdp: offer.sdp,
    revision: offer.revision,
    tracks: offer.tracks.map((t) => ({ mid: t.mid, kind: t.kind, role: t.role, participantId: t.participantId })),
  };
}
