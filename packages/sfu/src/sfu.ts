/**
 * The group-call Selective Forwarding Unit (C6, C8), built on werift. The server owns signalling
 * (it authenticates devices and relays SDP over its WebSocket); this class owns media.
 *
 * Signalling, SFU-offers style:
 * 1. `join(roomId, participantId)` checks `authorize`, then returns the SFU's offer: the
 *    participant's upload slots plus one m-line per stream already in the room.
 * 2. The client answers; the server passes it to `answer(...)`. Candidates the client trickles go
 *    to `addIceCandidate(...)` (the SFU's own candidates are all in its offers).
 * 3. Whenever the room changes (someone publishes or leaves), affected participants get a new
 *    offer through `onOffer`; the server relays it and the answer comes back through `answer`.
 * 4. `onSpeakerChange(roomId, cb)` reports the dominant speaker; the server relays it to the
 *    room's clients, which attach live reactions to that speaker's tile.
 *
 * What the SFU sees: RTP headers (SSRCs, sequence numbers, timestamps, the audio level) and
 * payload sizes. Payloads are end-to-end-encrypted frames forwarded byte for byte; the SFU never
 * has, asks for or needs a media key (it imports neither `@parley/crypto` nor the SDK).
 */
import { ParleyError } from '@parley/protocol';
import { Listeners } from './listeners.ts';
import type { Participant, PeerSettings } from './participant.ts';
import { Room } from './room.ts';
import type {
  LeaveReason,
  RoomInfo,
  RoomSpeakerChange,
  SfuAnswer,
  SfuIceCandidate,
  SfuOffer,
  SfuOptions,
  SfuStats,
} from './types.ts';

/** Room (call) and participant (device) ids: what the server's ids look like, and safe in SDP. */
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export const DEFAULT_MAX_PARTICIPANTS = 16;

export class Sfu {
  private readonly rooms = new Map<string, Room>();
  private readonly settings: PeerSettings;
  private readonly now: () => number;
  private readonly maxParticipants: number;
  private readonly speakerListeners = new Map<string, Listeners<[RoomSpeakerChange]>>();
  private readonly offerListeners = new Listeners<[roomId: string, participantId: string, offer: SfuOffer]>();
  private readonly leftListeners = new Listeners<[roomId: string, participantId: string, reason: LeaveReason]>();
  private readonly roomClosedListeners = new Listeners<[roomId: string]>();
  private readonly counters: SfuStats = {
    rooms: 0,
    participants: 0,
    receivedPackets: 0,
    forwardedPackets: 0,
    keyframeRequests: 0,
    droppedPackets: 0,
  };
  private closed = false;

  constructor(private readonly options: SfuOptions) {
    if (typeof options?.authorize !== 'function')
      throw new TypeError('Sfu needs an authorize(roomId, participantId) hook');
    this.now = options.now ?? (() => performance.now());
    this.maxParticipants = options.maxParticipants ?? DEFAULT_MAX_PARTICIPANTS;
    this.settings = {
      iceServers: options.iceServers ?? [],
      iceTransportPolicy: options.iceTransportPolicy ?? 'all',
      iceAdditionalHostAddresses: options.iceAdditionalHostAddresses ?? ['127.0.0.1'],
      icePortRange: options.icePortRange,
      iceUseIpv6: options.iceUseIpv6 ?? true,
      connectTimeoutMs: options.connectTimeoutMs ?? 30_000,
      negotiationTimeoutMs: options.negotiationTimeoutMs ?? 30_000,
    };
  }

  /**
   * Admits `participantId` to the call `roomId` (creating the room on first join) and returns
   * the SFU's first offer. Joining again with the same id replaces the earlier session (a client
   * reconnecting). Refused joins change nothing.
   * @throws ParleyError `bad_request` (malformed ids), `not_in_call` (authorize said no),
   * `call_full`, `unavailable` (the SFU is closed).
   */
  async join(roomId: string, participantId: string): Promise<SfuOffer> {
    checkIds(roomId, participantId);
    if (this.closed) throw new ParleyError('unavailable');
    if (!(await this.options.authorize(roomId, participantId))) {
      throw new ParleyError('not_in_call', { details: { roomId } });
    }
    if (this.closed) throw new ParleyError('unavailable');
    // Checked after the (possibly slow) authorize, so concurrent joins cannot overfill a room.
    const existing = this.rooms.get(roomId);
    const rejoin = existing?.participants.has(participantId) ?? false;
    if (existing && !rejoin && existing.participants.size >= this.maxParticipants) {
      throw new ParleyError('call_full', { details: { roomId, maxParticipants: this.maxParticipants } });
    }
    if (rejoin) this.removeParticipant(roomId, participantId, 'replaced', false);
    const room = this.rooms.get(roomId) ?? this.openRoom(roomId);
    let p: Participant;
    try {
      p = room.add(participantId);
    } catch (e) {
      // werift refused the configuration (e.g. a bad port range): leave no empty room behind.
      if (room.participants.size === 0) this.closeRoom(room);
      throw e;
    }
    this.counters.participants++;
    try {
      const offer = await p.createOffer();
      if (p.closed) throw new ParleyError('not_in_call', { message: 'The participant left while joining.' });
      return offer;
    } catch (e) {
      if (!p.closed) this.removeParticipant(roomId, participantId, 'connection_failed');
      throw e;
    }
  }

  /**
   * Applies the client's answer to its latest offer.
   * @throws ParleyError `call_not_found`, `not_in_call`, `call_negotiation_stale`, `call_sdp_invalid`.
   */
  async answer(roomId: string, participantId: string, answer: SfuAnswer): Promise<void> {
    const p = this.participant(roomId, participantId);
    if (typeof answer !== 'object' || answer === null || !Number.isInteger(answer.revision)) {
      throw new ParleyError('call_sdp_invalid', { details: { reason: 'answer must be {sdp, revision}' } });
    }
    await p.applyAnswer(answer);
  }

  /**
   * Adds an ICE candidate the client trickled (an empty `candidate` string ends the candidates).
   * @throws ParleyError `call_not_found`, `not_in_call`, `call_sdp_invalid`.
   */
  async addIceCandidate(roomId: string, participantId: string, candidate: SfuIceCandidate): Promise<void> {
    await this.participant(roomId, participantId).addIceCandidate(candidate);
  }

  /**
   * Asks for a fresh offer for one participant, delivered through `onOffer` (for example after
   * the client turned its camera on for the first time and wants the video slot answered again).
   * @throws ParleyError `call_not_found`, `not_in_call`.
   */
  renegotiate(roomId: string, participantId: string): void {
    this.participant(roomId, participantId).negotiate();
  }

  /**
   * Removes a participant; the others get offers without its media. Closes the room when it was
   * the last one. Returns false when it was not in the room (leaving is idempotent).
   */
  leave(roomId: string, participantId: string): boolean {
    return this.removeParticipant(roomId, participantId, 'left');
  }

  /** The room's participants and dominant speaker, or `undefined` when no such call is running. */
  room(roomId: string): RoomInfo | undefined {
    return this.rooms.get(roomId)?.info;
  }

  /** Every running room. */
  listRooms(): RoomInfo[] {
    return [...this.rooms.values()].map((r) => r.info);
  }

  /** Counters for metrics and benchmarks. */
  stats(): SfuStats {
    return { ...this.counters };
  }

  /**
   * Calls `listener` whenever the dominant speaker of `roomId` changes. The subscription does not
   * need the room to exist yet and outlives it; call the returned function to stop.
   */
  onSpeakerChange(roomId: string, listener: (change: RoomSpeakerChange) => void): () => void {
    let set = this.speakerListeners.get(roomId);
    if (!set) {
      set = new Listeners();
      this.speakerListeners.set(roomId, set);
    }
    const off = set.add(listener);
    return () => {
      off();
      if (set.size === 0 && this.speakerListeners.get(roomId) === set) this.speakerListeners.delete(roomId);
    };
  }

  /** Calls `listener` with every renegotiation offer the server must relay to a client. */
  onOffer(listener: (roomId: string, participantId: string, offer: SfuOffer) => void): () => void {
    return this.offerListeners.add(listener);
  }

  /** Calls `listener` whenever a participant leaves a room, for any reason. */
  onParticipantLeft(listener: (roomId: string, participantId: string, reason: LeaveReason) => void): () => void {
    return this.leftListeners.add(listener);
  }

  /** Calls `listener` when a room closes (its last participant left). */
  onRoomClosed(listener: (roomId: string) => void): () => void {
    return this.roomClosedListeners.add(listener);
  }

  /** Closes every room and refuses new joins. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const room of [...this.rooms.values()]) {
      for (const id of [...room.participants.keys()]) this.removeParticipant(room.id, id, 'closed');
    }
  }

  private participant(roomId: string, participantId: string): Participant {
    checkIds(roomId, participantId);
    const room = this.rooms.get(roomId);
    if (!room) throw new ParleyError('call_not_found', { details: { roomId } });
    const p = room.participants.get(participantId);
    if (!p) throw new ParleyError('not_in_call', { details: { roomId } });
    return p;
  }

  private openRoom(roomId: string): Room {
    const room = new Room(
      roomId,
      this.settings,
      this.options.detector ?? {},
      this.now,
      {
        offer: (rid, pid, offer) => this.offerListeners.emit(rid, pid, offer),
        speaker: (rid, change) => this.speakerListeners.get(rid)?.emit({ roomId: rid, ...change }),
        failed: (rid, pid, reason) => this.removeParticipant(rid, pid, reason),
      },
      this.counters,
    );
    this.rooms.set(roomId, room);
    this.counters.rooms++;
    return room;
  }

  private removeParticipant(
    roomId: string,
    participantId: string,
    reason: LeaveReason,
    closeEmptyRoom = true,
  ): boolean {
    const room = this.rooms.get(roomId);
    if (!room?.remove(participantId)) return false;
    this.counters.participants--;
    this.leftListeners.emit(roomId, participantId, reason);
    if (closeEmptyRoom && room.participants.size === 0) this.closeRoom(room);
    return true;
  }

  private closeRoom(room: Room): void {
    if (this.rooms.get(room.id) !== room) return;
    room.close();
    this.rooms.delete(room.id);
    this.counters.rooms--;
    this.roomClosedListeners.emit(room.id);
  }
}

function checkIds(roomId: unknown, participantId: unknown): void {
  const bad: Array<{ path: string; problem: string }> = [];
  if (typeof roomId !== 'string' || !ID_PATTERN.test(roomId))
    bad.push({ path: 'roomId', problem: 'must be 1-64 characters of [A-Za-z0-9_-]' });
  if (typeof participantId !== 'string' || !ID_PATTERN.test(participantId))
    bad.push({ path: 'participantId', problem: 'must be 1-64 characters of [A-Za-z0-9_-]' });
  if (bad.length) throw new ParleyError('bad_request', { details: bad });
}
