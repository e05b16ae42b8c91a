/**
 * One forwarded stream (C6): the media of one publisher's track, sent to one subscriber over the
 * subscriber's own peer connection, payload untouched.
 *
 * What is rewritten and why: only the RTP header. The subscriber's sender stamps its own SSRC,
 * payload type and MID; the publisher's header extensions are dropped (their ids belong to the
 * publisher's connection, and werift would otherwise let the publisher's MID override the
 * subscriber's, sending the packet to the wrong m-line), except the audio level, which is copied
 * under the subscriber's negotiated id so clients can draw level meters. Sequence numbers and
 * timestamps pass through unchanged, and the payload, an end-to-end-encrypted frame, is the very
 * same bytes: the SFU has no key and needs none.
 */
import { RtpHeader, RtpPacket, type RTCRtpTransceiver } from 'werift';
import { AUDIO_LEVEL_URI } from './audio-level.ts';
import type { MediaKind } from './media.ts';

const ignore = (): void => undefined;

export class Forward {
  /** Audio-level extension id the subscriber accepted, once its answer is in. */
  private levelExtId: number | undefined;

  constructor(
    readonly publisherId: string,
    readonly subscriberId: string,
    readonly kind: MediaKind,
    readonly transceiver: RTCRtpTransceiver,
  ) {}

  /** The SSRC this forward sends with (what subscribers' RTCP feedback names). */
  get ssrc(): number {
    return this.transceiver.sender.ssrc;
  }

  /** True once the subscriber has answered for this m-line and its transport is up. */
  get live(): boolean {
    const sender = this.transceiver.sender;
    return sender.codec !== undefined && sender.dtlsTransport?.state === 'connected' && !this.transceiver.stopping;
  }

  /** Re-reads what the subscriber negotiated; call after each of its answers. */
  refresh(): void {
    this.levelExtId = this.transceiver.headerExtensions.find((e) => e.uri === AUDIO_LEVEL_URI)?.id;
  }

  /**
   * Sends one packet from the publisher. `level` is the raw audio-level element data, if any.
   * Returns false when the forward is not live yet (the packet is dropped, as a late joiner
   * simply starts from the next one).
   */
  send(rtp: RtpPacket, level: Buffer | undefined): boolean {
    if (!this.live) return false;
    const src = rtp.header;
    // A new packet object per subscriber: werift's sender rewrites the header in place and keeps
    // the packet for retransmission, so packets must not be shared between subscribers.
    const header = new RtpHeader({
      marker: src.marker,
      payloadType: src.payloadType,
      sequenceNumber: src.sequenceNumber,
      timestamp: src.timestamp,
      extensions: level !== undefined && this.levelExtId !== undefined ? [{ id: this.levelExtId, payload: level }] : [],
    });
    this.transceiver.sender.sendRtp(new RtpPacket(header, rtp.payload)).catch(ignore);
    return true;
  }
}
