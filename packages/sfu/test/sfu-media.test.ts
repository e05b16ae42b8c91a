/**
 * Media handling through the SFU with werift participants: video frames forwarded untouched, key
 * frames requested from the publisher when a subscriber comes live or reports picture loss, and a
 * flooding publisher policed so it cannot flood everyone else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sfu, type SfuOffer } from '../src/index.ts';
import { SfuTestClient } from '../src/testing.ts';

test('video is forwarded byte for byte and key frames are requested for subscribers', { timeout: 60_000 }, async () => {
  const sfu = new Sfu({ authorize: () => true, iceUseIpv6: false });
  const clients = new Map<string, SfuTestClient>();
  sfu.onOffer((roomId, id, offer: SfuOffer) => {
    const c = clients.get(id);
    if (c) void c.answer(offer).then((a) => sfu.answer(roomId, id, a));
  });
  const stops: Array<() => void> = [];
  try {
    const cam = new SfuTestClient('cam', { video: true });
    clients.set('cam', cam);
    const offer = await sfu.join('call_video', 'cam');
    await sfu.answer('call_video', 'cam', await cam.answer(offer));
    await cam.waitConnected();
    const frames = setInterval(() => cam.sendVideo(crypto.getRandomValues(new Uint8Array(600))), 33);
    stops.push(() => clearInterval(frames));
    assert.equal(cam.keyframeRequests, 0, 'nobody watches yet');

    const viewer = new SfuTestClient('viewer');
    clients.set('viewer', viewer);
    const first = await sfu.join('call_video', 'viewer');
    assert.deepEqual(
      first.tracks.filter((t) => t.role === 'subscribe').map((t) => [t.kind, t.participantId]),
      [
        ['audio', 'cam'],
        ['video', 'cam'],
      ],
      'the newcomer is offered what is already published',
    );
    await sfu.answer('call_video', 'viewer', await viewer.answer(first));
    await viewer.waitConnected();

    const video = () => viewer.received.filter((p) => p.kind === 'video' && p.publisherId === 'cam');
    await viewer.waitFor(() => video().length > 30, 10_000, 'video frames');
    for (const p of video())
      assert.ok(cam.sentPayloads.has(p.payload.toString('hex')), 'a frame the camera never sent');
    // A subscriber coming live needs a key frame to start decoding.
    await cam.waitFor(() => cam.keyframeRequests >= 1, 5000, 'key-frame request for the new subscriber');
    assert.ok(sfu.stats().keyframeRequests >= 1);

    // The viewer loses a frame and asks; the SFU passes it on (after its 300 ms spacing).
    await new Promise((r) => setTimeout(r, 400));
    const before = cam.keyframeRequests;
    assert.equal(viewer.requestKeyframe('cam'), true);
    await cam.waitFor(() => cam.keyframeRequests > before, 5000, "the viewer's PLI reaching the camera");
    // A burst of requests yields one key-frame request per 300 ms, not one per PLI.
    const burstStart = cam.keyframeRequests;
    for (let i = 0; i < 10; i++) viewer.requestKeyframe('cam');
    await new Promise((r) => setTimeout(r, 150));
    assert.ok(cam.keyframeRequests - burstStart <= 1, `throttled, got ${cam.keyframeRequests - burstStart}`);
  } finally {
    for (const stop of stops) stop();
    sfu.close();
    await Promise.all([...clients.values()].map((c) => c.close()));
  }
});

test('a publisher flooding the SFU is cut to the per-slot packet rate', { timeout: 60_000 }, async () => {
  const sfu = new Sfu({ authorize: () => true, iceUseIpv6: false });
  const clients = new Map<string, SfuTestClient>();
  sfu.onOffer((roomId, id, offer: SfuOffer) => {
    const c = clients.get(id);
    if (c) void c.answer(offer).then((a) => sfu.answer(roomId, id, a));
  });
  try {
    for (const id of ['flood', 'victim']) {
      const c = new SfuTestClient(id);
      clients.set(id, c);
      const offer = await sfu.join('call_flood', id);
      await sfu.answer('call_flood', id, await c.answer(offer));
      await c.waitConnected();
    }
    const flood = clients.get('flood')!;
    const victim = clients.get('victim')!;
    // Wait until the victim's forward is live, then send 600 audio packets at once (6 s of audio).
    const probe = setInterval(() => flood.sendAudio(Uint8Array.of(1, 2, 3), 127), 20);
    await victim.waitFor(() => (victim.receivedCount.get('flood') ?? 0) > 0, 10_000, 'forward live');
    clearInterval(probe);
    await new Promise((r) => setTimeout(r, 1100)); // a fresh policing window
    const before = victim.receivedCount.get('flood') ?? 0;
    const stats0 = sfu.stats();
    for (let i = 0; i < 600; i++) flood.sendAudio(Uint8Array.of(i & 255, 7, 7), 127);
    await new Promise((r) => setTimeout(r, 700));
    const got = (victim.receivedCount.get('flood') ?? 0) - before;
    const stats1 = sfu.stats();
    // Loopback UDP itself drops part of such a burst; whatever reaches the SFU above the cap is cut.
    const arrived = stats1.receivedPackets - stats0.receivedPackets;
    assert.ok(arrived > 150, `the burst must exceed the cap to test it (${arrived} arrived)`);
    assert.equal(stats1.droppedPackets - stats0.droppedPackets, arrived - 150);
    assert.ok(got > 0 && got <= 150, `forwarded ${got} of the ${arrived} that arrived`);
  } finally {
    sfu.close();
    await Promise.all([...clients.values()].map((c) => c.close()));
  }
});
