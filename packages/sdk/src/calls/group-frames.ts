/**
 * The frame cipher of a group call (C6), in a form that runs wherever frames are: inside an
 * `RTCRtpScriptTransform` worker in browsers, or next to werift in Node. It holds this device's
 * current frame key and one frame counter that only goes up (across key changes too, and shared by
 * audio and video, so no key and counter pair repeats), and the last few keys of every other
 * device. Keys come from `FrameKeys` (sent inside MLS); the SFU never has them.
 *
 * Each codec keeps the bytes its packetiser reads in clear (the Opus TOC byte, the VP8 payload
 * header) and authenticates them, so the SFU can forward and the receiver can depacketise, and the
 * audio level in the RTP header extension stays readable for the dominant-speaker signal.
 */
import {
  CLEAR_BYTES,
  decryptFrame,
  deriveSFrameKey,
  encryptFrame,
  type ClearBytes,
  type SFrameKey,
} from '@parley/crypto';

/** Media kinds a group call carries. */
export type GroupFrameKind = 'audio' | 'video';

/** Counts of what the cipher did, for status displays and tests. */
export interface GroupFrameStats {
  /** Frames this device sealed. */
  sealed: number;
  /** Frames from others that opened. */
  opened: number;
  /** Outgoing frames dropped because this device had no key yet (never sent in clear). */
  unsealed: number;
  /** Incoming frames that did not open: unknown key id, wrong key, or changed bytes. */
  rejected: number;
}

const clearOf = (kind: GroupFrameKind): ClearBytes => (kind === 'audio' ? CLEAR_BYTES.opus : CLEAR_BYTES.vp8);

/** Seals this device's frames and opens everyone else's. */
export class GroupFrameCipher {
  private own: SFrameKey | null = null;
  private counter = 0;
  private readonly remote = new Map<string, Map<number, SFrameKey>>();
  readonly stats: GroupFrameStats = { sealed: 0, opened: 0, unsealed: 0, rejected: 0 };

  /** @param keep keys kept per remote device, so frames sealed just before a rotation still open. */
  constructor(private readonly keep = 4) {}

  /** Switch this device's outgoing frames to a new key. */
  async setOwnKey(keyId: number, baseKey: Uint8Array): Promise<void> {
    this.own = await deriveSFrameKey(keyId, baseKey);
  }

  /** Add (or replace) a key of another device; the oldest beyond `keep` is forgotten. */
  async addKey(deviceId: string, keyId: number, baseKey: Uint8Array): Promise<void> {
    const key = await deriveSFrameKey(keyId, baseKey);
    let keys = this.remote.get(deviceId);
    if (!keys) this.remote.set(deviceId, (keys = new Map()));
    keys.delete(keyId);
    keys.set(keyId, key);
    while (keys.size > this.keep) keys.delete(keys.keys().next().value!);
  }

  /** Seal one outgoing frame; null (drop it) before this device has a key. */
  async seal(kind: GroupFrameKind, frame: Uint8Array): Promise<Uint8Array | null> {
    if (!this.own) {
      this.stats.unsealed++;
      return null;
    }
    const sealed = await encryptFrame(this.own, this.counter++, frame, clearOf(kind));
    this.stats.sealed++;
    return sealed;
  }

  /** Open one frame of `deviceId`; null (drop it) when it does not open with that device's keys. */
  async open(deviceId: string, kind: GroupFrameKind, sealed: Uint8Array): Promise<Uint8Array | null> {
    try {
      const keys = this.remote.get(deviceId);
      const { frame } = await decryptFrame((keyId) => keys?.get(keyId), sealed, clearOf(kind));
      this.stats.opened++;
      return frame;
    } catch {
      this.stats.rejected++;
      return null;
    }
  }
}
