/**
 * `@parley/sfu/testing`: a werift-based call participant for Node tests and benchmarks (C6, C8).
 *
 * It does what a browser does in an SFU call, minus codecs: answers the SFU's offers, uploads an
 * Opus-like audio stream whose payloads are opaque bytes (in a real call, frames end-to-end
 * encrypted by the client's transform) with the RFC 6464 audio level set per packet, optionally a
 * VP8-like video stream, and records what the SFU forwards to it, by publisher, and the key-frame
 * requests it gets.
 */
import {
  PictureLossIndication,
  RTCPeerConnection,
  RtcpPayloadSpecificFeedback,
  RtpHeader,
  RtpPacket,
  type RTCRtpTransceiver,
} from 'werift';
import { AUDIO_LEVEL_URI, decodeAudioLevel, encodeAudioLevel, type AudioLevel } from './audio-level.ts';
import { PAYLOAD_TYPES, sfuCodecs, sfuHeaderExtensionConfig } from './media.ts';
import type { MediaKind, SfuAnswer, SfuOffer, SfuTrack } from './types.ts';

/** One packet the SFU forwarded to this client. */
export interface ReceivedPacket {
  readonly publisherId: string;
  readonly kind: MediaKind;
  readonly mid: string;
  readonly sequenceNumber: number;
  readonly payload: Buffer;
  /** The audio level the SFU copied into the forwarded header, if any. */
  readonly level: AudioLevel | undefined;
  /** `performance.now()` at arrival. */
  readonly at: number;
}

export interface SfuTestClientOptions {
  /** Keep every received packet in `received` (default true; benchmarks only count). */
  keepPackets?: boolean;
  /** Upload video too (default false: a voice-chat participant leaves its video slot unused). */
  video?: boolean;
  iceAdditionalHostAddresses?: string[];
  iceUseIpv6?: boolean;
}

export class SfuTestClient {
  readonly pc: RTCPeerConnection;
  /** Packets received, in arrival order (when `keepPackets`). */
  readonly received: ReceivedPacket[] = [];
  /** Packets received per publisher. */
  readonly receivedCount = new Map<string, number>();
  /** Payloads this client sent, as hex (when `keepPackets`), to check forwarding byte for byte. */
  readonly sentPayloads = new Set<string>();
  sentCount = 0;
  /** Key-frame requests (PLI) received for this client's video upload. */
  keyframeRequests = 0;
  /** Tracks of the latest offer applied. */
  tracks: readonly SfuTrack[] = [];
  private readonly keep: boolean;
  private readonly sendsVideo: boolean;
  private video: RTCRtpTransceiver | undefined;
  private videoSeq = Math.floor(Math.random() * 0x10000);
  private videoTimestamp = Math.floor(Math.random() * 0x1_0000_0000);
  private rtcpWatched = false;
  private readonly listening = new Set<string>();
  private readonly packetListeners = new Set<(p: ReceivedPacket) => void>();
  private audio: RTCRtpTransceiver | undefined;
  private levelExtId: number | undefined;
  private seq = Math.floor(Math.random() * 0x10000);
  private timestamp = Math.floor(Math.random() * 0x1_0000_0000);

  constructor(
    readonly id: string,
    opts: SfuTestClientOptions = {},
  ) {
    this.keep = opts.keepPackets ?? true;
    this.sendsVideo = opts.video ?? false;
    this.pc = new RTCPeerConnection({
      iceServers: [],
      iceAdditionalHostAddresses: opts.iceAdditionalHostAddresses ?? ['127.0.0.1'],
      iceUseIpv6: opts.iceUseIpv6 ?? false,
      bundlePolicy: 'max-bundle',
      codecs: sfuCodecs(),
      headerExtensions: sfuHeaderExtensionConfig(),
    });
  }

  /** Applies an SFU offer and returns the answer to hand back (candidates included). */
  async answer(offer: SfuOffer): Promise<SfuAnswer> {
    // werift hands an m-line that was answered `inactive` (our unused video slot) to the next new
    // m-line of any kind; marking transceivers as used for sending turns that recycling off.
    for (const t of this.pc.getTransceivers()) t.usedForSender = true;
    await this.pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
    this.tracks = offer.tracks;
    for (const track of offer.tracks) {
      const t = this.pc.getTransceivers().find((x) => x.mid === track.mid);
      if (!t) throw new Error(`no transceiver for mid ${track.mid}`);
      if (track.role === 'publish') {
        // Without `video`, the video slot stays unused (answered inactive), as in a voice chat.
        if (track.kind === 'audio') {
          t.setDirection('sendonly');
          this.audio = t;
        } else if (this.sendsVideo) {
          t.setDirection('sendonly');
          this.video = t;
        }
        continue;
      }
      this.listen(t, track);
    }
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    const sdp = this.pc.localDescription?.sdp;
    if (!sdp) throw new Error('no local description');
    if (this.audio) this.levelExtId = this.audio.headerExtensions.find((e) => e.uri === AUDIO_LEVEL_URI)?.id;
    this.watchRtcp();
    return { sdp, revision: offer.revision };
  }

  /** Resolves once ICE and DTLS are up. */
  async waitConnected(timeoutMs = 10_000): Promise<void> {
    if (this.pc.connectionState === 'connected') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        off.unSubscribe();
        reject(new Error(`${this.id}: not connected after ${timeoutMs} ms (${this.pc.connectionState})`));
      }, timeoutMs);
      const off = this.pc.connectionStateChange.subscribe((state) => {
        if (state === 'connected') {
          clearTimeout(timer);
          off.unSubscribe();
          resolve();
        }
      });
    });
  }

  /**
   * Sends one 20 ms audio packet with `payload` as its (opaque) body and `level` (-dBov) in the
   * audio-level extension. Returns false before the connection is up.
   */
  sendAudio(payload: Uint8Array, level: number, voice = level < 127): boolean {
    const sender = this.audio?.sender;
    if (!sender || this.pc.connectionState !== 'connected') return false;
    const header = new RtpHeader({
      payloadType: PAYLOAD_TYPES.opus,
      sequenceNumber: this.seq,
      timestamp: this.timestamp,
      extensions:
        this.levelExtId === undefined
          ? []
          : [{ id: this.levelExtId, payload: Buffer.from(encodeAudioLevel(level, voice)) }],
    });
    this.seq = (this.seq + 1) & 0xffff;
    this.timestamp = (this.timestamp + 960) >>> 0; // 20 ms at 48 kHz
    const body = Buffer.from(payload);
    if (this.keep) this.sentPayloads.add(body.toString('hex'));
    this.sentCount++;
    sender.sendRtp(new RtpPacket(header, body)).catch(() => undefined);
    return true;
  }

  /** Sends one video packet (one frame per packet here) with `payload` as its opaque body. */
  sendVideo(payload: Uint8Array): boolean {
    const sender = this.video?.sender;
    if (!sender || this.pc.connectionState !== 'connected') return false;
    const header = new RtpHeader({
      payloadType: PAYLOAD_TYPES.vp8,
      sequenceNumber: this.videoSeq,
      timestamp: this.videoTimestamp,
      marker: true,
    });
    this.videoSeq = (this.videoSeq + 1) & 0xffff;
    this.videoTimestamp = (this.videoTimestamp + 3000) >>> 0; // 30 frames/s at 90 kHz
    const body = Buffer.from(payload);
    if (this.keep) this.sentPayloads.add(body.toString('hex'));
    sender.sendRtp(new RtpPacket(header, body)).catch(() => undefined);
    return true;
  }

  /** Asks the SFU for a key frame of `publisherId`'s video, as a decoder that lost one does (PLI). */
  requestKeyframe(publisherId: string): boolean {
    const track = this.tracks.find(
      (t) => t.role === 'subscribe' && t.kind === 'video' && t.participantId === publisherId,
    );
    const receiver = this.pc.getTransceivers().find((t) => t.mid === track?.mid)?.receiver;
    const ssrc = receiver?.tracks[0]?.ssrc;
    if (!receiver || ssrc === undefined) return false;
    void receiver.sendRtcpPLI(ssrc);
    return true;
  }

  /**
   * Sends a packet every `intervalMs` (default 20: 50 packets/s) with random payloads of
   * `payloadBytes` (default 80, ~32 kbit/s Opus) and the level `level()` returns at that moment.
   * Returns the stop function.
   */
  startAudio(opts: {
    level: () => number;
    intervalMs?: number;
    payloadBytes?: number;
    onSent?: (level: number) => void;
  }): () => void {
    const bytes = opts.payloadBytes ?? 80;
    const timer = setInterval(() => {
      const level = opts.level();
      if (this.sendAudio(crypto.getRandomValues(new Uint8Array(bytes)), level)) opts.onSent?.(level);
    }, opts.intervalMs ?? 20);
    return () => clearInterval(timer);
  }

  /** Calls `listener` for every packet received; returns the unsubscribe function. */
  onPacket(listener: (p: ReceivedPacket) => void): () => void {
    this.packetListeners.add(listener);
    return () => this.packetListeners.delete(listener);
  }

  /** Resolves when `predicate` holds, checking every 20 ms. */
  async waitFor(predicate: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (!predicate()) {
      if (performance.now() > end) throw new Error(`${this.id}: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    await this.pc.close();
  }

  /** Counts PLIs for our video upload, read off the transport (as the SFU does). */
  private watchRtcp(): void {
    if (this.rtcpWatched) return;
    this.rtcpWatched = true;
    for (const dtls of this.pc.dtlsTransports) {
      dtls.onRtcp.subscribe((packet) => {
        if (packet.type !== RtcpPayloadSpecificFeedback.type) return;
        const fb: unknown = (packet as RtcpPayloadSpecificFeedback).feedback;
        if (fb instanceof PictureLossIndication && this.video && fb.mediaSsrc === this.video.sender.ssrc)
          this.keyframeRequests++;
      });
    }
  }

  private listen(t: RTCRtpTransceiver, track: SfuTrack): void {
    if (this.listening.has(track.mid)) return;
    const remote = t.receiver.tracks[0];
    if (!remote) return;
    this.listening.add(track.mid);
    remote.onReceiveRtp.subscribe((rtp) => {
      const element = rtp.header.extensions.find((e) => e.id === this.levelExtIdFor(t));
      const packet: ReceivedPacket = {
        publisherId: track.participantId,
        kind: track.kind,
        mid: track.mid,
        sequenceNumber: rtp.header.sequenceNumber,
        payload: rtp.payload,
        level: decodeAudioLevel(element?.payload),
        at: performance.now(),
      };
      this.receivedCount.set(track.participantId, (this.receivedCount.get(track.participantId) ?? 0) + 1);
      if (this.keep) this.received.push(packet);
      for (const l of this.packetListeners) l(packet);
    });
  }

  private levelExtIdFor(t: RTCRtpTransceiver): number | undefined {
    return t.headerExtensions.find((e) => e.uri === AUDIO_LEVEL_URI)?.id;
  }
}
