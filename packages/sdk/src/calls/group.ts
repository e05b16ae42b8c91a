/**
 * Group voice and video chats (C6, C8) through the server's SFU. The device joins with `callJoin`
 * over its WebSocket, answers every offer the SFU makes (the first one and each renegotiation,
 * echoing its `revision`), trickles its ICE candidates, uploads its microphone and camera on the
 * `publish` m-lines and receives every other participant's media on `subscribe` m-lines.
 *
 * Media frames are sealed end to end with the call's frame keys (`FrameKeys`, sent inside MLS and
 * rotated whenever the participants change), so the SFU forwards frames it cannot read; the RTP
 * header, with its RFC 6464 audio level, stays readable so the SFU can still name the speaker.
 * Sealing happens where the frames are: the SDK stays runtime-neutral and hands the app the
 * senders and receivers (`prepareSender`, `prepareReceiver`) and the keys (`frameKeys`), and the app
 * installs its frame transform (a worker with `RTCRtpScriptTransform` in the web client).
 *
 * How members learn about a call: joining sends this device's first frame key as a `call-key`
 * message to the conversation, so every member's device sees the call id (`frame-key` event on the
 * manager) and can offer "Join". A `call-key` may also carry the sender's microphone and camera
 * state; a device re-sends its current key with the new state when it mutes or unmutes.
 */
import {
  CALL_EVENTS,
  ParleyError,
  callEndedEvent,
  callOfferSchema,
  callParticipantsEvent,
  callSpeakerEvent,
  iceServersResponse,
  toB64,
  type CallEndedEvent,
  type CallKeyContent,
  type CallOffer,
  type CallParticipant,
  type CallTrack,
  type Content,
} from '@parley/protocol';
import { Emitter } from '../events.ts';
import { KeyedLock } from '../lock.ts';
import { randomBytes } from '../random.ts';
import type { FrameKeys } from './frame-keys.ts';
import type { DeviceRef, IceCandidateLike, IceServerLike, PeerConnectionCtor } from './types.ts';
import { candidateJson, iceGathered } from './ice.ts';

/** Sends a WebSocket op and resolves with its answer (the client's socket). */
export interface GroupSignalling {
  request<T = unknown>(op: string, body: unknown): Promise<T>;
}

/** What group calls need from the call manager and the client. */
export interface GroupCallHost {
  self(): DeviceRef;
  conversation(conversationId: string): { kind: 'direct' | 'group'; active: boolean } | undefined;
  send(conversationId: string, content: Content): Promise<unknown>;
  frameKeys(callId: string, conversationId: string): Promise<FrameKeys>;
  dropFrameKeys(callId: string): void;
  sendReaction(conversationId: string, callId: string, emoji: string, target: DeviceRef, auto: boolean): Promise<void>;
  onReaction(fn: (r: GroupReaction & { conversationId: string }) => void): () => void;
  error(error: unknown, context: string): void;
  RTCPeerConnection: PeerConnectionCtor | undefined;
  peerConnectionConfig: Record<string, unknown>;
  /** Ask for the RFC 6464 audio-level header extension in the configuration (`CallOptions.audioLevel`). */
  audioLevel: boolean;
  /** ICE servers configured on the client; used when the server's `iceServers` op fails. */
  iceServers: IceServerLike[] | (() => Promise<IceServerLike[]>);
  gatherTimeoutMs: number;
}

/** Options of `client.calls.joinGroup`. */
export interface JoinGroupOptions {
  /** The call to join; omitted, a new call id is made (starting a call). */
  callId?: string;
  /** Whether this device sends audio (default true). */
  audio?: boolean;
  /** Whether this device sends video (default false). */
  video?: boolean;
  /** Local tracks to publish: a microphone track and/or a camera track (`kind` 'audio' | 'video'). */
  tracks?: unknown[];
  /** Join with the microphone off (the track is attached but disabled). */
  muted?: boolean;
  /**
   * Called once for each `publish` sender before the local track is attached, so a frame transform
   * is in place before the first frame leaves (`sender.transform = new RTCRtpScriptTransform(…)`).
   */
  prepareSender?: (sender: unknown, kind: 'audio' | 'video') => void | Promise<void>;
  /**
   * Called once for each forwarded stream inside the `track` event, which is where a browser needs
   * the receiver's transform set (one set later misses the first offer's frames).
   */
  prepareReceiver?: (receiver: unknown, track: CallTrack) => void;
}

/** A device in the call, as this device shows it. */
export interface GroupParticipant {
  deviceId: string;
  accountId: string;
  /** Microphone on (from its latest `call-key`, else what it declared on joining). */
  audio: boolean;
  /** Camera on. */
  video: boolean;
  joinedAt: number;
  /** True for this device. */
  self: boolean;
}

/** A live reaction in the call, already placed on its target's tile. */
export interface GroupReaction {
  callId: string;
  from: DeviceRef;
  emoji: string;
  target: DeviceRef;
  auto: boolean;
}

/** A stream the SFU forwards: `participantId` is the device whose media it is. */
export interface GroupRemoteTrack {
  participantId: string;
  kind: 'audio' | 'video';
  mid: string;
  track: unknown;
  receiver: unknown;
}

/** Where a group call stands on this device. */
export type GroupCallState = 'joining' | 'connected' | 'ended';

/** Why a group call ended here: left on purpose, or told by the server (`call-ended`), or the socket dropped. */
export type GroupCallEndReason = 'left' | CallEndedEvent['reason'] | 'connection_lost' | 'failed';

/** The dominant speaker the SFU named (a `call-speaker` event). */
export interface GroupSpeaker extends DeviceRef {
  /** When the winning talk spurt began: its first loud packet's arrival at the SFU (ms since the epoch, server clock). */
  at: number;
  /**
   * When the SFU decided (ms since the epoch, server clock); `decidedAt − at` is the detector's
   * latency. Absent when the server does not send it.
   */
  decidedAt?: number;
}

/** Events of one group call. */
export interface GroupCallEvents extends Record<string, unknown> {
  state: GroupCallState;
  participants: GroupParticipant[];
  /** The dominant speaker changed (null: nobody). */
  speaker: GroupSpeaker | null;
  /** A forwarded stream arrived (the first offer's arrive during `joinGroup`: see `remoteTracks`). */
  track: GroupRemoteTrack;
  reaction: GroupReaction;
  ended: { reason: GroupCallEndReason };
}

interface TransceiverLike {
  readonly mid: string | null;
  /** werift only: true stops werift from handing this transceiver to a later m-line (see `offer`). */
  usedForSender?: boolean;
  direction?: string;
  setDirection?: (d: string) => void;
  readonly sender: { replaceTrack(track: unknown): Promise<unknown> };
  readonly receiver: unknown;
}

/** The part of `RTCPeerConnection` a group call uses on top of the 1:1 surface. */
interface GroupPeer {
  readonly iceGatheringState: string;
  readonly connectionState: string;
  readonly localDescription: { sdp: string } | null;
  onicecandidate: ((e: { candidate?: IceCandidateLike | null }) => void) | null;
  onconnectionstatechange: (() => void) | null;
  ontrack: ((e: { track: unknown; receiver?: unknown; transceiver?: { mid: string | null } }) => void) | null;
  setRemoteDescription(d: { type: 'offer'; sdp: string }): Promise<unknown>;
  createAnswer(): Promise<{ sdp?: string }>;
  setLocalDescription(d: { type: 'answer'; sdp: string }): Promise<unknown>;
  getTransceivers(): TransceiverLike[];
  close(): unknown;
}

interface LocalTrack {
  kind: string;
  enabled: boolean;
}

/** One group call this device is in. Made by `client.calls.joinGroup`. */
export class GroupCall extends Emitter<GroupCallEvents> {
  readonly callId: string;
  readonly conversationId: string;
  state: GroupCallState = 'joining';
  /** Everyone in the call (this device included), in joining order. */
  participants: GroupParticipant[] = [];
  /** The dominant speaker the SFU named last (null: nobody yet, or they left). */
  speaker: GroupSpeaker | null = null;
  /** The m-lines of the latest offer. */
  tracks: CallTrack[] = [];
  /** Every forwarded stream received so far, in arrival order (m-lines are never reused). */
  readonly remoteTracks: GroupRemoteTrack[] = [];
  /** The call's frame keys (own key rotates on every participant change). */
  frameKeys!: FrameKeys;
  /** The peer connection to the SFU (set once joining starts). */
  pc: unknown = null;
  /** Microphone off. */
  muted: boolean;
  /** Camera off (or no camera). */
  cameraOff: boolean;

  private peer: GroupPeer | null = null;
  private revision = -1;
  private version = 0;
  private joined: CallParticipant[] = [];
  private readonly wired = new Set<unknown>();
  private readonly local: LocalTrack[];
  /** SFU offers are applied one at a time, in arrival order. */
  private readonly offers = new KeyedLock();
  private trickle: IceCandidateLike[] | null = null;
  private descriptionTaken = false;
  private readonly offs: Array<() => void> = [];

  constructor(
    private readonly host: GroupCallHost,
    private readonly remote: Map<string, { audio: boolean; video: boolean }>,
    conversationId: string,
    private readonly opts: JoinGroupOptions,
  ) {
    super();
    this.conversationId = conversationId;
    this.callId = opts.callId ?? toB64(randomBytes(16));
    this.local = (opts.tracks ?? []) as LocalTrack[];
    // Without a microphone track the device is muted for good.
    this.muted = (opts.muted ?? false) || !this.local.some((t) => t.kind === 'audio');
    this.cameraOff = !(opts.video ?? false) || !this.local.some((t) => t.kind === 'video');
    for (const t of this.local) t.enabled = t.kind === 'audio' ? !this.muted : !this.cameraOff;
  }

  /** True once the call is over here. */
  get ended(): boolean {
    return this.state === 'ended';
  }

  /**
   * The header-extension id this device's answer gave the RFC 6464 audio level on its audio upload
   * m-line, or undefined (not answered yet, or not negotiated: the SFU then never names this device
   * speaker). Browsers fill the level in themselves; a Node device that writes its own RTP packets
   * puts the level under this id.
   */
  get audioLevelExtensionId(): number | undefined {
    const mid = this.tracks.find((t) => t.role === 'publish' && t.kind === 'audio')?.mid;
    const sdp = this.peer?.localDescription?.sdp;
    return mid === undefined || !sdp ? undefined : extensionIdIn(sdp, mid, AUDIO_LEVEL_URI);
  }

  /** Join: frame key first (it announces the call), then the SFU. Driven by the manager. */
  async start(signalling: GroupSignalling): Promise<void> {
    this.frameKeys = await this.host.frameKeys(this.callId, this.conversationId);
    this.offs.push(
      this.host.onReaction((r) => {
        if (r.callId === this.callId && r.conversationId === this.conversationId && !this.ended)
          this.emit('reaction', r);
      }),
    );
    const Ctor = this.host.RTCPeerConnection;
    if (!Ctor)
      throw new ParleyError('bad_request', {
        message: 'No RTCPeerConnection here: pass options.calls.RTCPeerConnection.',
      });
    const iceServers = await this.iceServers(signalling);
    const config = this.host.audioLevel
      ? withAudioLevel(this.host.peerConnectionConfig)
      : this.host.peerConnectionConfig;
    const peer = new Ctor({ ...config, iceServers }) as unknown as GroupPeer;
    this.peer = peer;
    this.pc = peer;
    peer.onicecandidate = (e) => this.onLocalCandidate(signalling, e.candidate ?? null);
    peer.ontrack = (e) => this.onTrack(e);
    peer.onconnectionstatechange = () => {
      if (peer.connectionState === 'connected' && this.state === 'joining') this.setState('connected');
      else if (peer.connectionState === 'failed' && !this.ended) this.end('failed', signalling);
    };
    const audio = (this.opts.audio ?? true) && !this.muted;
    const video = (this.opts.video ?? false) && !this.cameraOff;
    const raw = await signalling.request('callJoin', {
      conversationId: this.conversationId,
      callId: this.callId,
      audio,
      video,
    });
    await this.offer(signalling, callOfferSchema.parse(raw));
    await this.flushTrickle(signalling);
  }

  /** A `call-*` event for this call (already matched by call id). */
  event(signalling: GroupSignalling, name: string, body: unknown): void {
    if (this.ended) return;
    switch (name) {
      case CALL_EVENTS.offer: {
        const offer = callOfferSchema.safeParse(body);
        if (offer.success)
          void this.offer(signalling, offer.data).catch((error) => this.report(error, 'group call offer'));
        break;
      }
      case CALL_EVENTS.participants: {
        const ev = callParticipantsEvent.safeParse(body);
        if (!ev.success || ev.data.conversationId !== this.conversationId || ev.data.version <= this.version) break;
        this.version = ev.data.version;
        this.joined = ev.data.participants;
        this.refreshParticipants();
        // Someone joined or left: a fresh own key, so they cannot read what was said before or after.
        void this.frameKeys
          .setParticipants(this.joined.map((p) => p.deviceId))
          .catch((error) => this.report(error, 'group call frame key'));
        break;
      }
      case CALL_EVENTS.speaker: {
        const ev = callSpeakerEvent.safeParse(body);
        if (!ev.success) break;
        const { deviceId, accountId, at, decidedAt } = ev.data;
        this.speaker =
          deviceId && accountId ? { deviceId, accountId, at, ...(decidedAt !== undefined ? { decidedAt } : {}) } : null;
        this.emit('speaker', this.speaker);
        break;
      }
      case CALL_EVENTS.ended: {
        const ev = callEndedEvent.safeParse(body);
        if (ev.success) this.end(ev.data.reason, null);
        break;
      }
      default:
        break;
    }
  }

  /** A participant's microphone/camera state arrived (inside its `call-key`). */
  mediaChanged(): void {
    this.refreshParticipants();
  }

  /**
   * Send a live reaction. Without `target` it goes to the dominant speaker named last (`auto`);
   * `bad_request` when nobody is speaking or the target is not in the call.
   */
  async react(emoji: string, target?: DeviceRef): Promise<GroupReaction> {
    const to = target ?? this.speaker;
    if (!to)
      throw new ParleyError('bad_request', {
        message: 'Nobody is speaking; pick whom to react to.',
        details: { field: 'target' },
      });
    if (!this.participants.some((p) => p.deviceId === to.deviceId && p.accountId === to.accountId)) {
      throw new ParleyError('bad_request', {
        message: 'That device is not in the call.',
        details: { field: 'target' },
      });
    }
    const auto = target === undefined;
    await this.host.sendReaction(this.conversationId, this.callId, emoji, to, auto);
    // Own messages do not come back to the sending device: show it here.
    const reaction: GroupReaction = {
      callId: this.callId,
      from: this.host.self(),
      emoji,
      target: { accountId: to.accountId, deviceId: to.deviceId },
      auto,
    };
    this.emit('reaction', reaction);
    return reaction;
  }

  /** Turn the microphone off or on; the others learn it from this device's current key, sent again. */
  async setMuted(muted: boolean): Promise<void> {
    if (!muted && !this.local.some((t) => t.kind === 'audio'))
      throw new ParleyError('bad_request', { message: 'This call has no microphone track.' });
    this.muted = muted;
    for (const t of this.local) if (t.kind === 'audio') t.enabled = !muted;
    this.refreshParticipants();
    await this.announceMedia();
  }

  /** Turn the camera off or on (only when a camera track was given). */
  async setCameraOff(off: boolean): Promise<void> {
    if (!this.local.some((t) => t.kind === 'video'))
      throw new ParleyError('bad_request', { message: 'This call has no camera track.' });
    this.cameraOff = off;
    for (const t of this.local) if (t.kind === 'video') t.enabled = !off;
    this.refreshParticipants();
    await this.announceMedia();
  }

  /** Hang up: tells the server, closes the connection, forgets the keys. */
  async leave(signalling: GroupSignalling): Promise<void> {
    if (this.ended) return;
    await this.end('left', signalling);
  }

  // ------------------------------------------------------------------ plumbing

  private async iceServers(signalling: GroupSignalling): Promise<IceServerLike[]> {
    try {
      return iceServersResponse.parse(await signalling.request('iceServers', {})).iceServers;
    } catch (error) {
      this.host.error(error, 'group call ice servers');
      const configured = this.host.iceServers;
      return typeof configured === 'function' ? configured() : configured;
    }
  }

  private async announceMedia(): Promise<void> {
    const key = this.frameKeys.current;
    if (!key || this.ended) return;
    const content: CallKeyContent = {
      type: 'call-key',
      callId: this.callId,
      keyId: key.keyId,
      key: toB64(key.key),
      media: { audio: !this.muted, video: !this.cameraOff },
    };
    await this.host.send(this.conversationId, content);
  }

  private refreshParticipants(): void {
    const self = this.host.self();
    this.participants = this.joined.map((p) => {
      const mine = p.deviceId === self.deviceId;
      const media = mine
        ? { audio: !this.muted, video: !this.cameraOff }
        : (this.remote.get(p.deviceId) ?? { audio: p.audio, video: p.video });
      return {
        deviceId: p.deviceId,
        accountId: p.accountId,
        audio: media.audio,
        video: media.video,
        joinedAt: p.joinedAt,
        self: mine,
      };
    });
    this.emit('participants', this.participants);
  }

  /** Apply one SFU offer and answer it; offers are handled one at a time, stale ones skipped. */
  private offer(signalling: GroupSignalling, offer: CallOffer): Promise<void> {
    const run = async () => {
      if (this.ended || offer.callId !== this.callId || offer.revision <= this.revision) return;
      const peer = this.peer!;
      this.revision = offer.revision;
      this.tracks = offer.tracks;
      // werift hands a transceiver negotiated `inactive` (an unused upload slot, a departed
      // publisher's m-line) to the next new m-line of any kind, and then fails the offer with
      // "Transceiver with mid=… not found". Marking every transceiver as used for sending turns that
      // recycling off (docs/calls.md, "werift notes"); browsers have no such field and skip this.
      for (const t of peer.getTransceivers()) if (typeof t.usedForSender === 'boolean') t.usedForSender = true;
      await peer.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
      const transceivers = peer.getTransceivers();
      for (const t of offer.tracks) {
        if (t.role !== 'publish') continue;
        const x = transceivers.find((tr) => tr.mid === t.mid);
        if (!x) continue;
        const track = this.local.find((l) => l.kind === t.kind);
        setDirection(x, track ? 'sendonly' : 'inactive');
        if (!track || this.wired.has(x.sender)) continue;
        this.wired.add(x.sender);
        // The transform goes on before the track: no frame may leave unsealed.
        await this.opts.prepareSender?.(x.sender, t.kind);
        await x.sender.replaceTrack(track);
      }
      const answer = await peer.createAnswer();
      await peer.setLocalDescription({ type: 'answer', sdp: answer.sdp ?? '' });
      const sdp = await this.gathered(peer);
      if (this.ended) return;
      await signalling.request('callAnswer', { callId: this.callId, sdp, revision: offer.revision });
    };
    return this.offers.run(this.callId, run);
  }

  private onTrack(e: { track: unknown; receiver?: unknown; transceiver?: { mid: string | null } }): void {
    const mid = e.transceiver?.mid;
    const info = this.tracks.find((t) => t.mid === mid && t.role === 'subscribe');
    if (!info || this.wired.has(e.receiver)) return;
    this.wired.add(e.receiver);
    this.opts.prepareReceiver?.(e.receiver, info);
    const remote: GroupRemoteTrack = {
      participantId: info.participantId,
      kind: info.kind,
      mid: info.mid,
      track: e.track,
      receiver: e.receiver,
    };
    this.remoteTracks.push(remote);
    this.emit('track', remote);
  }

  /** The local description once ICE gathering completes (or the wait ran out; later candidates trickle). */
  private async gathered(peer: GroupPeer): Promise<string> {
    await iceGathered(peer, this.host.gatherTimeoutMs);
    if (!this.descriptionTaken) {
      this.descriptionTaken = true;
      this.trickle = [];
    }
    const sdp = peer.localDescription?.sdp;
    if (!sdp) throw new Error('no local description');
    return sdp;
  }

  private onLocalCandidate(signalling: GroupSignalling, candidate: IceCandidateLike | null): void {
    if (!candidate?.candidate || !this.descriptionTaken || this.ended) return;
    const c = candidateJson(candidate);
    if (this.trickle) this.trickle.push(c);
    else void this.sendCandidate(signalling, c);
  }

  private async flushTrickle(signalling: GroupSignalling): Promise<void> {
    const queued = this.trickle ?? [];
    this.trickle = null;
    for (const c of queued) await this.sendCandidate(signalling, c);
  }

  private async sendCandidate(signalling: GroupSignalling, c: IceCandidateLike): Promise<void> {
    await signalling
      .request('callCandidate', { callId: this.callId, ...c })
      .catch((error) => this.report(error, 'group call candidate'));
  }

  /** Failures after the call ended (a late offer, a rotation racing the leave) are expected. */
  private report(error: unknown, context: string): void {
    if (!this.ended) this.host.error(error, context);
  }

  private setState(state: GroupCallState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }

  private async end(reason: GroupCallEndReason, signalling: GroupSignalling | null): Promise<void> {
    if (this.ended) return;
    this.setState('ended');
    for (const off of this.offs.splice(0)) off();
    try {
      this.peer?.close();
    } catch {
      // already closed
    }
    this.host.dropFrameKeys(this.callId);
    this.emit('ended', { reason });
    if (signalling && reason !== 'connection_lost') {
      // The server may have removed the device already (`not_in_call`): nothing left to do then.
      await signalling.request('callLeave', { callId: this.callId }).catch(() => undefined);
    }
  }

  /** The socket dropped: the server removed this device from the call. */
  lost(): void {
    void this.end('connection_lost', null);
  }
}

/** RFC 6464 client-to-mixer audio level: what the SFU's dominant-speaker detector reads. */
export const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
const MID_URI = 'urn:ietf:params:rtp-hdrext:sdes:mid';
/** The ids the SFU offers them under (werift answers with the offer's ids, so these only name a default). */
const DEFAULT_IDS = { mid: 1, audioLevel: 2 } as const;

interface HeaderExtension {
  uri: string;
  id: number;
}

/**
 * The peer-connection configuration with the audio-level extension asked for, in werift's
 * `headerExtensions` shape (per kind, matched by URI): werift answers only the extensions it is
 * configured with, so without this its answer drops the SFU's audio level and the device is never
 * named speaker. Without a `headerExtensions` of the caller's, the MID extension is asked for too,
 * as the SFU offers it. Browsers ignore the member: they negotiate the audio level by themselves.
 */
export function withAudioLevel(config: Record<string, unknown>): Record<string, unknown> {
  const given = config.headerExtensions as { audio?: HeaderExtension[]; video?: HeaderExtension[] } | undefined;
  const mid = (): HeaderExtension[] => [{ uri: MID_URI, id: DEFAULT_IDS.mid }];
  const lists = given ? { ...given, audio: [...(given.audio ?? [])] } : { audio: mid(), video: mid() };
  if (!lists.audio.some((e) => e.uri === AUDIO_LEVEL_URI)) {
    let id: number = DEFAULT_IDS.audioLevel;
    while (lists.audio.some((e) => e.id === id)) id++;
    lists.audio.push({ uri: AUDIO_LEVEL_URI, id });
  }
  return { ...config, headerExtensions: lists };
}

/** The id of `uri` in the `a=extmap` lines of the m-section with `a=mid:<mid>`, if any. */
function extensionIdIn(sdp: string, mid: string, uri: string): number | undefined {
  for (const section of sdp.split(/\r?\n(?=m=)/)) {
    const lines = section.split(/\r?\n/);
    if (!lines.some((l) => l.trim() === `a=mid:${mid}`)) continue;
    for (const l of lines) {
      const m = /^a=extmap:(\d+)(?:\/\w+)?\s+(\S+)/.exec(l.trim());
      if (m && m[2] === uri) return Number(m[1]);
    }
    return undefined;
  }
  return undefined;
}

function setDirection(t: TransceiverLike, direction: string): void {
  if (typeof t.setDirection === 'function') t.setDirection(direction);
  else t.direction = direction;
}

/** The group calls of one device: routes `call-*` events and media states to them. */
export class GroupCalls {
  private readonly calls = new Map<string, GroupCall>();
  /** Microphone/camera state of remote devices by call id, from their `call-key` messages. */
  private readonly media = new Map<string, Map<string, { audio: boolean; video: boolean }>>();
  private signalling: GroupSignalling | null = null;

  constructor(private readonly host: GroupCallHost) {}

  /** Where call ops go (the client's socket); set by the client. */
  use(signalling: GroupSignalling): void {
    this.signalling = signalling;
  }

  /** The group call this device is in, if any. */
  get active(): GroupCall | undefined {
    return [...this.calls.values()].find((c) => !c.ended);
  }

  /** Join (or start) a conversation's group call. */
  async join(conversationId: string, opts: JoinGroupOptions): Promise<GroupCall> {
    const sig = this.signalling;
    if (!sig) throw new ParleyError('unavailable', { message: 'Call connect() first.' });
    const conv = this.host.conversation(conversationId);
    if (!conv || !conv.active) throw new ParleyError('conversation_not_found');
    if (conv.kind !== 'group')
      throw new ParleyError('bad_request', {
        message: 'Group calls happen in group conversations; 1:1 calls use startCall.',
        details: { field: 'conversationId' },
      });
    if (this.active)
      throw new ParleyError('bad_request', {
        message: 'This device is already in a group call.',
        details: { callId: this.active.callId },
      });
    const callId = opts.callId ?? toB64(randomBytes(16));
    const call = new GroupCall(this.host, this.mediaOf(callId), conversationId, { ...opts, callId });
    this.calls.set(call.callId, call);
    call.on('ended', () => {
      if (this.calls.get(call.callId) === call) this.calls.delete(call.callId);
    });
    try {
      await call.start(sig);
    } catch (e) {
      await call.leave(sig).catch(() => undefined);
      throw e;
    }
    return call;
  }

  /** Leave a group call. */
  async leave(call: GroupCall): Promise<void> {
    if (this.signalling) await call.leave(this.signalling);
  }

  /** A `call-*` event the server pushed. */
  event(name: string, body: unknown): void {
    const callId = (body as { callId?: unknown } | null)?.callId;
    const call = typeof callId === 'string' ? this.calls.get(callId) : undefined;
    if (call && this.signalling) call.event(this.signalling, name, body);
  }

  /** The socket closed: the server has removed this device from its calls. */
  socketLost(): void {
    for (const c of [...this.calls.values()]) c.lost();
  }

  /** A `call-key` arrived (MLS authenticated `from`): keep the media state it carries. */
  keyArrived(conversationId: string, from: DeviceRef, content: CallKeyContent): void {
    if (!content.media) return;
    const call = this.calls.get(content.callId);
    if (call && call.conversationId !== conversationId) return;
    this.mediaOf(content.callId).set(from.deviceId, { ...content.media });
    call?.mediaChanged();
  }

  private mediaOf(callId: string): Map<string, { audio: boolean; video: boolean }> {
    let m = this.media.get(callId);
    if (!m) {
      this.media.set(callId, (m = new Map()));
      // Bounded: media states of calls long over are dropped first.
      if (this.media.size > 50) this.media.delete(this.media.keys().next().value!);
    }
    return m;
  }
}
