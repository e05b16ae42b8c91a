/**
 * The web client's group voice/video chat (C6, C8): one call at a time per page. Joins through the
 * SDK (`client.calls.joinGroup`), wires the end-to-end frame worker into every sender and receiver,
 * feeds it the call's frame keys, and keeps what the call screen shows: participants, the dominant
 * speaker, forwarded streams, live reactions and the worker's frame counters. Components read it
 * with `useGroupCall`.
 */
import { useSyncExternalStore } from 'react';
import type {
  DeviceRef,
  GroupCall,
  GroupFrameStats,
  GroupParticipant,
  GroupReaction,
  GroupRemoteTrack,
  ParleyClient,
} from '@parley/sdk';

/** A reaction as the screen shows it. */
export interface ShownReaction extends GroupReaction {
  id: number;
  at: number;
}

/** Everything the call screen renders. */
export interface GroupCallSnapshot {
  conversationId: string;
  callId: string;
  status: 'joining' | 'connected' | 'ended';
  video: boolean;
  participants: GroupParticipant[];
  speaker: DeviceRef | null;
  muted: boolean;
  cameraOff: boolean;
  layout: 'grid' | 'speaker';
  /** Shown as a small bar over the app, so the person can keep chatting; the call goes on. */
  minimised: boolean;
  /** Forwarded streams by device id (one MediaStream per device, audio and video together). */
  streams: Record<string, MediaStream>;
  /** The local camera, for this device's own tile. */
  localStream: MediaStream | null;
  /** Newest last; tiles show the last few seconds of them, the log all. */
  reactions: ShownReaction[];
  stats: GroupFrameStats;
  error: string | null;
}

/** Calls announced in chats (a member's frame key arrived) that this device is not in. */
export interface Announced {
  callId: string;
  from: DeviceRef;
  at: number;
}

const ZERO: GroupFrameStats = { sealed: 0, opened: 0, unsealed: 0, rejected: 0 };
/** How long a reaction floats on its tile. */
export const REACTION_SHOWN_MS = 6_000;

/** Whether this page is in a group call that has not ended. */
export const inGroupCall = (snap: GroupCallSnapshot | null): snap is GroupCallSnapshot =>
  !!snap && snap.status !== 'ended';

interface ScriptTransformCtor {
  new (worker: Worker, options: unknown): unknown;
}

class GroupCallController {
  snapshot: GroupCallSnapshot | null = null;
  /** Latest call announced per conversation. */
  announced: Record<string, Announced> = {};
  private readonly listeners = new Set<() => void>();
  private call: GroupCall | null = null;
  private client: ParleyClient | null = null;
  private worker: Worker | null = null;
  private local: MediaStream | null = null;
  private offs: Array<() => void> = [];
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private nextReaction = 1;
  private watching: ParleyClient | null = null;

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  private changed(patch: Partial<GroupCallSnapshot> | null): void {
    if (patch && this.snapshot) this.snapshot = { ...this.snapshot, ...patch };
    for (const fn of this.listeners) fn();
  }

  /** Listen for calls announced in this client's chats (frame keys of other devices). */
  watch(client: ParleyClient): void {
    if (this.watching === client) return;
    this.watching = client;
    client.calls.on('frame-key', ({ conversationId, callId, from }) => {
      if (from.deviceId === client.self.deviceId) return;
      this.announced = { ...this.announced, [conversationId]: { callId, from, at: Date.now() } };
      this.changed(null);
    });
  }

  /** Start (no `callId`) or join the group chat's call. */
  async join(
    client: ParleyClient,
    conversationId: string,
    opts: { callId?: string; video: boolean; muted?: boolean },
  ): Promise<void> {
    if (inGroupCall(this.snapshot)) throw new Error('You are already in a voice chat.');
    const Transform = (globalThis as unknown as { RTCRtpScriptTransform?: ScriptTransformCtor }).RTCRtpScriptTransform;
    if (!Transform) throw new Error('This browser cannot encrypt call media end to end (no RTCRtpScriptTransform).');
    // The devices first: a refused microphone or camera leaves no worker behind.
    const local = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      video: opts.video,
    });
    this.client = client;
    this.local = local;
    const worker = new Worker(new URL('../sframe-worker.ts', import.meta.url), { type: 'module' });
    this.worker = worker;
    worker.onmessage = (e: MessageEvent<{ type: string; stats: GroupFrameStats }>) => {
      if (e.data.type === 'stats' && this.snapshot) this.changed({ stats: e.data.stats });
    };
    this.snapshot = {
      conversationId,
      callId: opts.callId ?? '',
      status: 'joining',
      video: opts.video,
      participants: [],
      speaker: null,
      muted: opts.muted ?? false,
      cameraOff: !opts.video,
      layout: 'grid',
      minimised: false,
      streams: {},
      localStream: opts.video ? local : null,
      reactions: [],
      stats: ZERO,
      error: null,
    };
    this.changed(null);
    let call: GroupCall;
    try {
      call = await client.calls.joinGroup(conversationId, {
        ...(opts.callId ? { callId: opts.callId } : {}),
        audio: true,
        video: opts.video,
        muted: opts.muted ?? false,
        tracks: local.getTracks(),
        prepareSender: (sender, kind) => {
          (sender as { transform: unknown }).transform = new Transform(worker, { side: 'send', kind });
        },
        prepareReceiver: (receiver, track) => {
          (receiver as { transform: unknown }).transform = new Transform(worker, {
            side: 'receive',
            kind: track.kind,
            participantId: track.participantId,
          });
        },
      });
    } catch (e) {
      this.cleanup();
      this.snapshot = null;
      this.changed(null);
      throw e;
    }
    this.call = call;
    this.wire(call);
  }

  private wire(call: GroupCall): void {
    const fk = call.frameKeys;
    const own = () => {
      const k = fk.current;
      if (k) this.worker?.postMessage({ type: 'own', keyId: k.keyId, key: k.key });
    };
    const remoteKeys = (deviceId: string) => {
      for (const keyId of fk.keyIdsOf(deviceId))
        this.worker?.postMessage({ type: 'key', deviceId, keyId, key: fk.lookup(deviceId, keyId) });
    };
    own();
    for (const p of call.participants) remoteKeys(p.deviceId);
    this.offs.push(
      fk.on('key', ({ deviceId, keyId, own: mine }) => {
        if (mine) own();
        else this.worker?.postMessage({ type: 'key', deviceId, keyId, key: fk.lookup(deviceId, keyId) });
      }),
      call.on('participants', (participants) => {
        // Keys that arrived before their device showed up in the call.
        for (const p of participants) if (!p.self) remoteKeys(p.deviceId);
        this.changed({ participants, muted: call.muted, cameraOff: call.cameraOff });
      }),
      call.on('speaker', (speaker) => this.changed({ speaker })),
      call.on('state', (state) => this.changed({ status: state })),
      call.on('track', (t) => this.addTrack(t)),
      call.on('reaction', (r) => this.addReaction(r)),
      call.on('ended', ({ reason }) => {
        this.cleanup();
        this.changed({
          status: 'ended',
          error: reason === 'left' ? null : `The voice chat ended (${reason.replace(/_/g, ' ')}).`,
        });
      }),
    );
    for (const t of call.remoteTracks) this.addTrack(t);
    this.statsTimer = setInterval(() => this.worker?.postMessage({ type: 'stats' }), 500);
    this.changed({
      callId: call.callId,
      status: call.state,
      participants: call.participants,
      speaker: call.speaker,
      muted: call.muted,
      cameraOff: call.cameraOff,
    });
  }

  private addTrack(t: GroupRemoteTrack): void {
    if (!this.snapshot) return;
    const streams = { ...this.snapshot.streams };
    const stream = streams[t.participantId] ?? new MediaStream();
    stream.addTrack(t.track as MediaStreamTrack);
    streams[t.participantId] = stream;
    this.changed({ streams });
  }

  private addReaction(r: GroupReaction): void {
    if (!this.snapshot) return;
    const shown: ShownReaction = { ...r, id: this.nextReaction++, at: Date.now() };
    this.changed({ reactions: [...this.snapshot.reactions, shown].slice(-50) });
    // Re-render once it has floated away from the tile (the log keeps it).
    setTimeout(() => this.changed(null), REACTION_SHOWN_MS + 50);
  }

  async setMuted(muted: boolean): Promise<void> {
    if (!this.call) return;
    const done = this.call.setMuted(muted);
    this.changed({ muted });
    await done;
  }

  async setCameraOff(off: boolean): Promise<void> {
    if (!this.call) return;
    const done = this.call.setCameraOff(off);
    this.changed({ cameraOff: off });
    await done;
  }

  setLayout(layout: 'grid' | 'speaker'): void {
    this.changed({ layout });
  }

  /** Shrink the call to a bar over the app, or bring the full screen back. */
  setMinimised(minimised: boolean): void {
    this.changed({ minimised });
  }

  /** React to the current speaker (no target) or to a chosen participant. */
  async react(emoji: string, target?: DeviceRef): Promise<void> {
    if (!this.call) return;
    await this.call.react(emoji, target);
  }

  async leave(): Promise<void> {
    const call = this.call;
    if (call && this.client) await this.client.calls.groups.leave(call);
    this.cleanup();
    this.snapshot = null;
    this.changed(null);
  }

  /** Close the finished call's screen. */
  dismiss(): void {
    if (this.snapshot?.status === 'ended') {
      this.snapshot = null;
      this.changed(null);
    }
  }

  private cleanup(): void {
    for (const off of this.offs.splice(0)) off();
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.statsTimer = null;
    for (const t of this.local?.getTracks() ?? []) t.stop();
    this.local = null;
    this.worker?.terminate();
    this.worker = null;
    this.call = null;
  }
}

/** The page's one group-call controller. */
export const groupCalls = new GroupCallController();

/** The current group call (null when none), re-rendering on every change. */
export function useGroupCall(): GroupCallSnapshot | null {
  return useSyncExternalStore(groupCalls.subscribe, () => groupCalls.snapshot);
}

/** Calls announced per conversation (re-rendering when one is announced). */
export function useAnnouncedCalls(client: ParleyClient): Record<string, Announced> {
  groupCalls.watch(client);
  return useSyncExternalStore(groupCalls.subscribe, () => groupCalls.announced);
}
