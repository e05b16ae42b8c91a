/**
 * Helpers for the SDK call tests: a real Parley server (the server's own harness) and SDK clients
 * whose calls use werift's RTCPeerConnection on loopback, with an audio track that sends RTP.
 */
import WebSocket from 'ws';
import { MediaStreamTrack, RTCPeerConnection as WeriftPeerConnection, RtpHeader, RtpPacket } from 'werift';
import { ParleyClient, MemoryStore, type CallOptions, type PeerConnectionCtor, type WebSocketCtor } from '@parley/sdk';
import { nextPhone, outboxCode } from '../../server/test/helpers/harness.ts';

export { startServer, until, type TestServer } from '../../server/test/helpers/harness.ts';

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

/** A local audio source for a werift call: `send` writes one RTP packet with the given payload. */
export class FakeMicrophone {
  readonly track = new MediaStreamTrack({ kind: 'audio' });
  private seq = 1;
  private ts = 1000;

  send(payload: Uint8Array): void {
    this.track.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 111, sequenceNumber: this.seq, timestamp: this.ts, marker: true }), Buffer.from(payload)));
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + 960) >>> 0;
  }
}

/** Register a device and connect it (unless `connect: false`), with werift calls and `calls` overrides. */
export async function callClient(url: string, opts: { connect?: boolean; calls?: Partial<CallOptions>; phone?: string } = {}): Promise<ParleyClient & { phone: string }> {
  const phone = opts.phone ?? nextPhone();
  const client = await ParleyClient.open({
    store: new MemoryStore(),
    WebSocket: WebSocket as unknown as WebSocketCtor,
    keyPackageTarget: 12,
    calls: { ...weriftCalls, ...opts.calls },
  });
  await client.requestCode(url, phone);
  await client.verify(await outboxCode(url, phone), { deviceName: 'test' });
  if (opts.connect !== false) await client.connect();
  return Object.assign(client, { phone });
}
