/**
 * RFC 6464 client-to-mixer audio level (C8), read from RTP header extensions in either RFC 8285
 * form (one-byte `0xBEDE` or two-byte `0x100X`).
 *
 * Why the SFU can read it: the level travels in the RTP header, outside the media payload, so it
 * stays readable when the payload is an end-to-end-encrypted frame the SFU has no key for. That
 * is what lets the SFU pick the dominant speaker without ever holding media keys.
 *
 * Every function here runs on the forwarding path for every audio packet, so none of them throws:
 * malformed, truncated or hostile input yields `undefined`, never an exception or a made-up level.
 */

/** The extension URI negotiated in SDP (`a=extmap:<id> urn:ietf:params:rtp-hdrext:ssrc-audio-level`). */
export const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';

/** RFC 8285 one-byte header profile. */
export const ONE_BYTE_PROFILE = 0xbede;
/** RFC 8285 two-byte header profile; the low 4 bits ("appbits") are free for the application. */
export const TWO_BYTE_PROFILE = 0x1000;

/** An RFC 6464 audio level: how loud one packet's audio was, as the sender measured it. */
export interface AudioLevel {
  /** Level in -dBov, 0 (loudest, 0 dBov) … 127 (−127 dBov, silence). */
  readonly level: number;
  /** The sender's voice-activity flag (the `V` bit); senders may leave it unset, so treat it as a hint. */
  readonly voice: boolean;
}

/** One header-extension element as an RTP stack splits it out: its local id and its data bytes. */
export interface HeaderExtensionElement {
  readonly id: number;
  readonly payload: Uint8Array;
}

/**
 * Decodes the audio-level element data (`V` bit then a 7-bit level). The element is one byte;
 * a longer element (some senders pad it) is read from its first byte. Empty data is malformed.
 */
export function decodeAudioLevel(data: Uint8Array | undefined): AudioLevel | undefined {
  if (!data || data.length < 1) return undefined;
  const b = data[0]!;
  return { level: b & 0x7f, voice: (b & 0x80) !== 0 };
}

/** Encodes an audio level into its one-byte element data (for senders and tests). */
export function encodeAudioLevel(level: number, voice: boolean): Uint8Array {
  const clamped = Math.max(0, Math.min(127, Math.round(level)));
  return Uint8Array.of((voice ? 0x80 : 0) | clamped);
}

/**
 * Finds the data of the element with local id `id` inside an RTP header-extension block
 * (`profile` is the 16-bit "defined by profile" field, `block` the `length × 4` bytes after it).
 * Returns `undefined` when the id is absent, the profile is not an RFC 8285 one, or the block is
 * malformed before the element is reached.
 */
export function findExtensionElement(profile: number, block: Uint8Array, id: number): Uint8Array | undefined {
  if (profile === ONE_BYTE_PROFILE) {
    // One-byte form: ids 1–14; id 0 is a padding byte; id 15 ends parsing (RFC 8285 §4.2).
    if (id < 1 || id > 14) return undefined;
    let i = 0;
    while (i < block.length) {
      const b = block[i]!;
      const elementId = b >> 4;
      if (elementId === 0) {
        i += 1;
        continue;
      }
      if (elementId === 15) return undefined;
      const len = (b & 0x0f) + 1;
      const start = i + 1;
      const end = start + len;
      if (end > block.length) return undefined;
      if (elementId === id) return block.subarray(start, end);
      i = end;
    }
    return undefined;
  }
  if ((profile & 0xfff0) === TWO_BYTE_PROFILE) {
    // Two-byte form: ids 1–255, an explicit length byte (0–255); a zero byte is padding (§4.3).
    if (id < 1 || id > 255) return undefined;
    let i = 0;
    while (i < block.length) {
      const elementId = block[i]!;
      if (elementId === 0) {
        i += 1;
        continue;
      }
      if (i + 1 >= block.length) return undefined;
      const len = block[i + 1]!;
      const start = i + 2;
      const end = start + len;
      if (end > block.length) return undefined;
      if (elementId === id) return block.subarray(start, end);
      i = end;
    }
    return undefined;
  }
  return undefined;
}

/**
 * Reads the audio level from a whole (decrypted-SRTP, i.e. plain RTP) packet, given the extension
 * id negotiated for {@link AUDIO_LEVEL_URI}. Walks the fixed header, the CSRC list and the
 * extension header itself, so it needs nothing from an RTP library.
 */
export function readAudioLevel(packet: Uint8Array, extId: number): AudioLevel | undefined {
  if (packet.length < 12) return undefined;
  const first = packet[0]!;
  if (first >> 6 !== 2) return undefined; // RTP version 2 only
  if ((first & 0x10) === 0) return undefined; // X bit clear: no header extension at all
  const csrcCount = first & 0x0f;
  const extStart = 12 + 4 * csrcCount;
  if (extStart + 4 > packet.length) return undefined;
  const profile = (packet[extStart]! << 8) | packet[extStart + 1]!;
  const words = (packet[extStart + 2]! << 8) | packet[extStart + 3]!;
  const blockStart = extStart + 4;
  const blockEnd = blockStart + 4 * words;
  if (blockEnd > packet.length) return undefined;
  return decodeAudioLevel(findExtensionElement(profile, packet.subarray(blockStart, blockEnd), extId));
}

/**
 * Reads the audio level from header-extension elements an RTP stack has already split out (werift
 * hands packets over as `{id, payload}` elements). Validates the data itself rather than trusting
 * the stack's own decoding, which reads an empty element as "0 dBov, loudest".
 */
export function audioLevelFromElements(
  elements: readonly HeaderExtensionElement[],
  extId: number,
): AudioLevel | undefined {
  for (const e of elements) {
    if (e.id === extId) return decodeAudioLevel(e.payload);
  }
  return undefined;
}
