/**
 * Helpers for the SDK call tests: a real Parley server (`@parley/testkit`) and SDK clients
 * whose calls use werift's RTCPeerConnection on loopback, with an audio track that sends RTP.
 */
import WebSocket from 'ws';
import { MediaStreamTrack, RTCPeerConnection as WeriftPeerConnection, RtpHeader, RtpPacket } from 'werift';
import { EXTENSION_IDS, encodeAudioLevel } from '@parley/sfu';
import type { CallOptions, ParleyClient, PeerConnectionCtor, WebSocketCtor } from '@parley/sdk';
import { registerTestClient } from '@parley/sdk/testing';

export { startServer, type TestServer } from '@parley/testkit';
export { until } from '@parley/sdk/testing';

/**
 * werift implements the W3C surface the call manager uses (`onicecandidate`, `ontrack`,
 * `onconnectionstatechange`, `addTrack`, `addTransceiver`, descriptions and candidates), so its
 * class is passed as it is. Loopback needs `iceAdditionalHostAddresses`.
 */
export const weriftCalls: CallOptions = {
  RTCPeerConnection: WeriftPeerConnection as unknown as PeerConnectionCtor,
  peerConnectionConfig: { iceAdditionalHostAddresses: ['127.0.0.1'], iceUseIpv6: false },
  gatherTimeoutMs: 1500,
};

/** RFC 6464 levels in -dBov: a half-scale tone (what a browser reports for someone talking) and silence. */
export const LOUD = 9;
export const SILENT = 127;

/**
 * A local audio source for a werift call: `send` writes one RTP packet with the given payload and,
 * unless `level` is null, the RFC 6464 audio level in its header (werift's sender keeps a packet's
 * own header extensions), which is what the SFU's dominant-speaker detector reads.
 */
export class FakeMicrophone {
  readonly track = new MediaStreamTrack({ kind: 'audio' });
  /** Level of the next packets in -dBov (0 loudest … 127 silence); null: no audio-level element. */
  level: number | null;
  /**
   * Extension id the level goes under: the id the SFU offers it with (werift answers with the
   * offer's ids); `call.audioLevelExtensionId` tells what a group call's answer gave it.
   */
  levelExtensionId: number = EXTENSION_IDS.audioLevel;
  private seq = 1;
  private ts = 1000;

  constructor(opts: { level?: number | null } = {}) {
    this.level = opts.level === undefined ? SILENT : opts.level;
  }

  send(payload: Uint8Array): void {
    const extensions =
      this.level === null
        ? []
        : [{ id: this.levelExtensionId, payload: Buffer.from(encodeAudioLevel(this.level, this.level < SILENT)) }];
    this.track.writeRtp(
      new RtpPacket(
        new RtpHeader({ payloadType: 111, sequenceNumber: this.seq, timestamp: this.ts, marker: true, extensions }),
        Buffer.from(payload),
      ),
    );
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + 960) >>> 0;
  }

  /** Sends a packet every 20 ms (50 packets/s, as Opus does), its payload from `payload(n)`; returns the stop function. */
  start(payload: (n: number) => Uint8Array): () => void {
    let n = 0;
    const timer = setInterval(() => this.send(payload(n++)), 20);
    return () => clearInterval(timer);
  }
}

/** Register a device and connect it (unless `connect: false`), with werift calls and `calls` overrides. */
export async function callClient(
  url: string,
  opts: { connect?: boolean; calls?: Partial<CallOptions>; phone?: string } = {},
): Promise<ParleyClient & { phone: string }> {
  return registerTestClient(url, {
    WebSocket: WebSocket as unknown as WebSocketCtor,
    calls: { ...weriftCalls, ...opts.calls },
    ...(opts.phone ? { phone: opts.phone } : {}),
    ...(opts.connect === false ? { connect: false } : {}),
  });
}
