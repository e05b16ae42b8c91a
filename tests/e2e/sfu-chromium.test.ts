/**
 * The SFU with real Chromium participants (C6, C8). Two browsers, one whose microphone plays a
 * tone and one whose microphone is silent, join an SFU room; each encrypts its outgoing audio
 * frames with an `RTCRtpScriptTransform` (a stand-in cipher: every byte XORed, which only the
 * receivers' transform undoes). Shows that Chromium accepts the SFU's offers and renegotiations
 * (including the port-0 m-lines left by someone leaving), that the SFU forwards frames it cannot
 * decode, and that it still reads the audio level and names the tone's owner as the speaker.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Sfu, type SfuAnswer, type SfuOffer } from '@parley/sfu';
import { SfuTestClient } from '@parley/sfu/testing';
import { CHROMIUM, CHROMIUM_ARGS, browserUnavailable } from './helpers/browser.ts';
import { expect } from './helpers/expect.ts';

const skip = browserUnavailable();
const ROOM = 'call_chromium';

/** A 16-bit mono 48 kHz WAV: a 440 Hz sine at half scale (about −9 dBov), or digital silence. */
function wav(path: string, tone: boolean): void {
  const rate = 48000;
  const samples = rate * 2;
  const buf = Buffer.alloc(44 + samples * 2);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + samples * 2, 4);
  buf.write('WAVEfmt ', 8);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++)
    buf.writeInt16LE(tone ? Math.round(16383 * Math.sin((2 * Math.PI * 440 * i) / rate)) : 0, 44 + i * 2);
  writeFileSync(path, buf);
}

// The "cipher" runs in a worker, as end-to-end encryption of media frames does in the web client.
const WORKER = `
onrtctransform = (event) => {
  const { readable, writable } = event.transformer;
  readable.pipeThrough(new TransformStream({
    transform(frame, controller) {
      const data = new Uint8Array(frame.data);
      for (let i = 0; i < data.length; i++) data[i] ^= 0x5a;
      frame.data = data.buffer;
      controller.enqueue(frame);
    },
  })).pipeTo(writable);
};`;

// The page's side of the call: answer SFU offers, upload the microphone behind the transform,
// decrypt and play what the SFU forwards. Two Chromium behaviours matter here: a receiver's
// transform must be set in the \`track\` event (during setRemoteDescription), because one set after
// it resolves gets no frames for m-lines of the first offer; and remote audio must play through an
// unmuted <audio> element, or the decoded level reads 0.
const PAGE = `<!doctype html><meta charset="utf-8"><title>sfu</title><script>
const worker = new Worker('/worker.js');
const pc = new RTCPeerConnection();
const wired = new Set(); // senders given the transform and mic, receivers given an <audio> element
pc.ontrack = (e) => {
  e.receiver.transform = new RTCRtpScriptTransform(worker, { side: 'receive' });
};
let mic;
window.applyOffer = async (offer) => {
  mic ??= (await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } })).getAudioTracks()[0];
  await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
  for (const track of offer.tracks) {
    const t = pc.getTransceivers().find((x) => x.mid === track.mid);
    if (track.role === 'publish') {
      if (track.kind !== 'audio') { t.direction = 'inactive'; continue; }
      t.direction = 'sendonly';
      if (!wired.has(t.sender)) {
        // The transform goes on before the track, or the first frames would leave unencrypted.
        t.sender.transform = new RTCRtpScriptTransform(worker, { side: 'send' });
        wired.add(t.sender);
        await t.sender.replaceTrack(mic);
      }
    } else if (!wired.has(t.receiver)) {
      wired.add(t.receiver);
      const el = document.createElement('audio');
      el.autoplay = true;
      el.srcObject = new MediaStream([t.receiver.track]);
      el.dataset.from = track.participantId;
      document.body.append(el);
    }
  }
  await pc.setLocalDescription(await pc.createAnswer());
  if (pc.iceGatheringState !== 'complete') {
    await new Promise((r) => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r()));
  }
  return { sdp: pc.localDescription.sdp, revision: offer.revision };
};
// Decoded level and packet count of what arrives from each publisher (by the offer's mids).
window.inbound = async (mids) => {
  const out = {};
  const stats = await pc.getStats();
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio' && mids[s.mid]) out[mids[s.mid]] = { packets: s.packetsReceived, level: s.audioLevel ?? 0 };
  });
  return out;
};
window.state = () => pc.connectionState;
</script>`;

describe('SFU with Chromium participants', { skip }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-sfu-'));
  let http: Server;
  let origin: string;
  let sfu: Sfu;
  const browsers: Browser[] = [];
  const pages = new Map<string, Page>();
  const mids = new Map<string, Record<string, string>>();
  const speakers: Array<string | null> = [];
  let werift: SfuTestClient | undefined;

  async function relay(id: string, offer: SfuOffer): Promise<SfuAnswer> {
    mids.set(
      id,
      Object.fromEntries(offer.tracks.filter((t) => t.role === 'subscribe').map((t) => [t.mid, t.participantId])),
    );
    return pages
      .get(id)!
      .evaluate((o) => (window as unknown as { applyOffer(o: unknown): Promise<SfuAnswer> }).applyOffer(o), offer);
  }

  async function inbound(id: string): Promise<Record<string, { packets: number; level: number }>> {
    return pages
      .get(id)!
      .evaluate(
        (m) =>
          (
            window as unknown as { inbound(m: unknown): Promise<Record<string, { packets: number; level: number }>> }
          ).inbound(m),
        mids.get(id) ?? {},
      );
  }

  before(async () => {
    http = createServer((req, res) => {
      const worker = req.url === '/worker.js';
      res.writeHead(200, { 'content-type': worker ? 'text/javascript' : 'text/html' });
      res.end(worker ? WORKER : PAGE);
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const addr = http.address();
    origin = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    sfu = new Sfu({ authorize: () => true, iceUseIpv6: false });
    sfu.onSpeakerChange(ROOM, (c) => speakers.push(c.speakerId));
    sfu.onOffer((roomId, id, offer) => {
      if (id === 'werift' && werift) void werift.answer(offer).then((a) => sfu.answer(roomId, id, a));
      else if (pages.has(id)) void relay(id, offer).then((a) => sfu.answer(roomId, id, a));
    });
    for (const [id, tone] of [
      ['tone', true],
      ['quiet', false],
    ] as const) {
      const file = join(tmp, `${id}.wav`);
      wav(file, tone);
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [...CHROMIUM_ARGS, `--use-file-for-fake-audio-capture=${file}`],
      });
      browsers.push(browser);
      const page = await browser.newPage();
      await page.goto(origin);
      pages.set(id, page);
    }
  });

  after(async () => {
    sfu?.close();
    await werift?.close();
    for (const b of browsers) await b.close().catch(() => undefined);
    await new Promise((r) => http?.close(r));
    rmSync(tmp, { recursive: true, force: true });
  });

  it(
    'forwards encrypted frames both ways and names the speaker from the audio level',
    { timeout: 60_000 },
    async () => {
      for (const id of ['tone', 'quiet']) {
        const offer = await sfu.join(ROOM, id);
        await sfu.answer(ROOM, id, await relay(id, offer));
      }
      await expect(
        async () =>
          ((await inbound('quiet'))['tone']?.packets ?? 0) > 100 &&
          ((await inbound('tone'))['quiet']?.packets ?? 0) > 100,
        'audio both ways',
        20_000,
      );
      // The receiver decrypts and decodes the tone: a high level after the SFU, which saw only XORed frames.
      await expect(
        async () => ((await inbound('quiet'))['tone']?.level ?? 0) > 0.2,
        'tone decoded at the receiver',
        10_000,
      );
      assert.ok(((await inbound('tone'))['quiet']?.level ?? 1) < 0.01, 'silence stays silent');
      await expect(() => sfu.room(ROOM)?.dominantSpeaker === 'tone', 'the SFU names the tone speaker', 10_000);
      assert.deepEqual(speakers, ['tone']);
    },
  );

  it('survives renegotiation: a third participant joins and leaves', { timeout: 60_000 }, async () => {
    werift = new SfuTestClient('werift', { iceUseIpv6: false });
    const offer = await sfu.join(ROOM, 'werift');
    await sfu.answer(ROOM, 'werift', await werift.answer(offer));
    await werift.waitConnected();
    const stop = werift.startAudio({ level: () => 127 });
    // Both browsers take the renegotiation adding the newcomer and receive its packets.
    await expect(
      async () =>
        ((await inbound('tone'))['werift']?.packets ?? 0) > 20 &&
        ((await inbound('quiet'))['werift']?.packets ?? 0) > 20,
      'browsers receive the newcomer',
      20_000,
    );
    await werift.waitFor(() => (werift!.receivedCount.get('tone') ?? 0) > 20, 10_000, 'newcomer receives the browsers');
    stop();
    sfu.leave(ROOM, 'werift');
    // The next offers carry the newcomer's m-lines with port 0; the browsers must accept them.
    const before = (await inbound('quiet'))['tone']!.packets;
    await expect(
      async () => ((await inbound('quiet'))['tone']?.packets ?? 0) > before + 100,
      'media after the leave',
      20_000,
    );
    for (const id of ['tone', 'quiet']) {
      assert.equal(
        await pages.get(id)!.evaluate(() => (window as unknown as { state(): string }).state()),
        'connected',
      );
    }
    assert.deepEqual(sfu.room(ROOM)?.participants, ['tone', 'quiet']);
  });
});
