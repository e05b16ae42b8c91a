/**
 * Group-call frame keys (C6): each device in a group call seals its frames (SFrame-style, see
 * `@parley/crypto` sframe) under a random key of its own, sent to the conversation as a
 * `call-key` MLS message. A device makes a fresh key when it joins and whenever the participants
 * change, so someone who left cannot read what is said after, and someone who joined cannot read
 * what was said before. Receivers keep the last few keys of every sender, so frames sealed just
 * before a change still open.
 */
import { CALL_CONTENT_LIMITS, fromB64, toB64, type Content } from '@parley/protocol';
import { SFrameReceiver, SFrameSender, type ClearBytes } from '@parley/crypto';
import { Emitter } from '../events.ts';
import { randomBytes } from '../random.ts';

/** A frame key: its id in frame headers and the 32-byte base key. */
export interface FrameKey {
  keyId: number;
  key: Uint8Array;
}

/** Events of one call's frame keys. */
export interface FrameKeyEvents extends Record<string, unknown> {
  /** A key of `deviceId` arrived (or this device made one: `own`). */
  key: { deviceId: string; keyId: number; own: boolean };
}

/** The frame keys of one group call on this device. */
export class FrameKeys extends Emitter<FrameKeyEvents> {
  private own: FrameKey | null = null;
  private readonly byDevice = new Map<string, Map<number, Uint8Array>>();
  private participants = new Set<string>();
  private readonly senders = new Set<{ sender: SFrameSender }>();
  private readonly receivers = new Map<string, Set<SFrameReceiver>>();

  constructor(
    readonly callId: string,
    readonly conversationId: string,
    private readonly send: (conversationId: string, content: Content) => Promise<unknown>,
    private readonly keep: number,
  ) {
    super();
  }

  /** The key this device seals its frames with now (null before the first rotation). */
  get current(): FrameKey | null {
    return this.own;
  }

  /**
   * Make a fresh random key, send it to the conversation (MLS-encrypted) and switch to it once the
   * server has it. Key ids count up from a random start, so a rejoin does not reuse an old id.
   */
  async rotate(): Promise<FrameKey> {
    const keyId = this.own
      ? (this.own.keyId + 1) % (CALL_CONTENT_LIMITS.maxKeyId + 1)
      : new DataView(randomBytes(4).buffer).getUint32(0) >>> 8;
    const next: FrameKey = { keyId, key: randomBytes(CALL_CONTENT_LIMITS.frameKeyBytes) };
    await this.send(this.conversationId, { type: 'call-key', callId: this.callId, keyId, key: toB64(next.key) });
    this.own = next;
    for (const s of this.senders) await s.sender.setKey(keyId, next.key);
    this.emit('key', { deviceId: '', keyId, own: true });
    return next;
  }

  /**
   * Tell the key layer who is in the call now (device ids from the SFU's participant events);
   * rotates when the set changed. Returns true if it rotated.
   */
  async setParticipants(deviceIds: Iterable<string>): Promise<boolean> {
    const next = new Set(deviceIds);
    const same = next.size === this.participants.size && [...next].every((d) => this.participants.has(d));
    this.participants = next;
    if (same && this.own) return false;
    await this.rotate();
    return true;
  }

  /** The base key a remote device used for `keyId`, if this device still has it. */
  lookup(deviceId: string, keyId: number): Uint8Array | undefined {
    return this.byDevice.get(deviceId)?.get(keyId);
  }

  /** Key ids held for a device, oldest first. */
  keyIdsOf(deviceId: string): number[] {
    return [...(this.byDevice.get(deviceId)?.keys() ?? [])];
  }

  /** An SFrame sender that follows this device's key rotations. */
  async createSender(clear: ClearBytes = 0): Promise<SFrameSender> {
    const entry = { sender: new SFrameSender(clear) };
    if (this.own) await entry.sender.setKey(this.own.keyId, this.own.key);
    this.senders.add(entry);
    return entry.sender;
  }

  /** An SFrame receiver for one remote device that follows that device's keys. */
  async createReceiver(deviceId: string, clear: ClearBytes = 0): Promise<SFrameReceiver> {
    const receiver = new SFrameReceiver(clear, this.keep);
    for (const [keyId, key] of this.byDevice.get(deviceId) ?? []) await receiver.addKey(keyId, key);
    let set = this.receivers.get(deviceId);
    if (!set) this.receivers.set(deviceId, (set = new Set()));
    set.add(receiver);
    return receiver;
  }

  /** A key from another device (the manager calls this with what MLS authenticated). */
  async receive(deviceId: string, keyId: number, keyB64: string): Promise<void> {
    const key = fromB64(keyB64);
    let keys = this.byDevice.get(deviceId);
    if (!keys) this.byDevice.set(deviceId, (keys = new Map()));
    keys.delete(keyId);
    keys.set(keyId, key);
    while (keys.size > this.keep) keys.delete(keys.keys().next().value!);
    for (const r of this.receivers.get(deviceId) ?? []) await r.addKey(keyId, key);
    this.emit('key', { deviceId, keyId, own: false });
  }
}
