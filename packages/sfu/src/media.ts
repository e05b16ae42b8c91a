/**
 * What the SFU negotiates (C6): one codec per kind and a fixed set of RTP header extensions with
 * fixed ids. Shared by the SFU's peer connections and the Node test client so both sides agree.
 *
 * Why one codec per kind: the SFU forwards packets without looking inside them, so publisher and
 * subscriber must use the same codec; offering a single one (Opus, VP8) guarantees it.
 * Why fixed extension ids: werift numbers extensions per kind by default (the MID extension
 * would get one id for audio and another for video); in a BUNDLE every URI should keep one id,
 * and the SFU must know the audio-level id it reads.
 */
import { RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters, RTP_EXTENSION_URI, useNACK, usePLI } from 'werift';
import { AUDIO_LEVEL_URI } from './audio-level.ts';

/** A media kind the SFU forwards. */
export type MediaKind = 'audio' | 'video';

/** Header-extension ids the SFU offers; clients echo them in their answers. */
export const EXTENSION_IDS = {
  /** `urn:ietf:params:rtp-hdrext:sdes:mid`: lets a bundled receiver route a packet to its m-line. */
  mid: 1,
  /** RFC 6464 client-to-mixer audio level: what the dominant-speaker detector reads. */
  audioLevel: 2,
} as const;

/** Payload types: the values Chromium uses for Opus and VP8, so SDP stays familiar in logs. */
export const PAYLOAD_TYPES = { opus: 111, vp8: 96 } as const;

/** Fresh codec parameters (werift mutates them while negotiating, so never share instances). */
export function sfuCodecs(): { audio: RTCRtpCodecParameters[]; video: RTCRtpCodecParameters[] } {
  return {
    audio: [
      new RTCRtpCodecParameters({
        mimeType: 'audio/opus',
        clockRate: 48000,
        channels: 2,
        payloadType: PAYLOAD_TYPES.opus,
        parameters: 'minptime=10;useinbandfec=1',
      }),
    ],
    video: [
      // NACK lets werift repair loss on each leg; PLI lets the SFU ask a publisher for a key frame
      // when a subscriber joins or loses one. No RTX: retransmissions reuse the media SSRC.
      new RTCRtpCodecParameters({
        mimeType: 'video/VP8',
        clockRate: 90000,
        payloadType: PAYLOAD_TYPES.vp8,
        rtcpFeedback: [useNACK(), usePLI()],
      }),
    ],
  };
}

/** Fresh header-extension parameters for one kind, with the fixed ids above. */
export function sfuHeaderExtensions(kind: MediaKind): RTCRtpHeaderExtensionParameters[] {
  const list = [new RTCRtpHeaderExtensionParameters({ uri: RTP_EXTENSION_URI.sdesMid, id: EXTENSION_IDS.mid })];
  if (kind === 'audio')
    list.push(new RTCRtpHeaderExtensionParameters({ uri: AUDIO_LEVEL_URI, id: EXTENSION_IDS.audioLevel }));
  return list;
}

/** The header-extension lists for a peer connection's configuration (matched by URI). */
export function sfuHeaderExtensionConfig(): {
  audio: RTCRtpHeaderExtensionParameters[];
  video: RTCRtpHeaderExtensionParameters[];
} {
  return { audio: sfuHeaderExtensions('audio'), video: sfuHeaderExtensions('video') };
}
