/**
 * 1:1 calls through the SDK against a real server (C6, C7): signalling as MLS messages, werift
 * peer connections on loopback carrying RTP, call states, call-log entries on both sides, decline
 * with a missed-call voice note, busy, missed by ring timeout, callee offline, and replayed or
 * foreign signalling.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Call, CallManagerEvents, ParleyClient } from '@parley/sdk';
import type { CallContent } from '@parley/protocol';
import { FakeMicrophone, callClient, startServer, until, type TestServer } from './calls-helpers.ts';

type Client = ParleyClient & { phone: string };
type MissedCall = CallManagerEvents['missed-call'];

/** The call-log entries of a chat. */
async function callLogs(c: ParleyClient, conv: string) {
  return (await c.messages(conv)).filter((m) => m.callLog);
}

function ended(call: Call): Promise<{ state: string; outcome: string; durationMs: number }> {
  if (call.ended) return Promise.resolve({ state: call.state, outcome: call.outcome!, durationMs: call.durationMs });
  return call.once('ended');
}

/**
 * Connect a device that was offline while a call rang for it and let it take in its queue: the
 * missed-call event it raised, and whether anything rang on it meanwhile.
 */
async function connectAfterCall(c: Client): Promise<{ missed: MissedCall; rang: boolean }> {
  let rang = false;
  c.calls.on('incoming-call', () => (rang = true));
  const missed = c.calls.once('missed-call');
  await c.connect();
  const m = await missed;
  await c.drain();
  return { missed: m, rang };
}

describe('1:1 calls [sqlite]', () => {
  let t: TestServer;
  const clients: Client[] = [];
  const make = async (opts: Parameters<typeof callClient>[1] = {}) => {
    const c = await callClient(t.url, opts);
    clients.push(c);
    return c;
  };
  const pair = async (
    aliceOpts: Parameters<typeof callClient>[1] = {},
    bobOpts: Parameters<typeof callClient>[1] = {},
  ) => {
    const alice = await make(aliceOpts);
    const bob = await make(bobOpts);
    const conv = await alice.startDirect(bob.self.accountId);
    if (bobOpts.connect !== false)
      await until(() => bob.conversations().find((c) => c.id === conv), 10_000, 'bob joins the chat');
    return { alice, bob, conv };
  };

  before(async () => {
    t = await startServer('sqlite');
  });
  after(async () => {
    for (const c of clients) {
      await c.calls.active?.hangUp().catch(() => undefined);
      await c.close().catch(() => undefined);
    }
    await t?.close();
  });

  it('completes a real call: ringing, accepted, connected, RTP flows, hang-up, same call-log on both sides', async () => {
    const aliceMic = new FakeMicrophone();
    const bobMic = new FakeMicrophone();
    const { alice, bob, conv } = await pair(
      { calls: { getLocalMedia: async () => ({ tracks: [aliceMic.track] }) } },
      { calls: { getLocalMedia: async () => ({ tracks: [bobMic.track] }) } },
    );
    const incoming = bob.calls.once('incoming-call');
    const call = await alice.calls.startCall(conv);
    assert.equal(call.state, 'ringing');
    assert.equal(call.direction, 'outgoing');
    const ringing = call.once('ringing');
    const bobCall = await incoming;
    assert.equal(bobCall.callId, call.callId);
    assert.equal(bobCall.direction, 'incoming');
    assert.deepEqual(
      bobCall.peerDevice,
      { accountId: alice.self.accountId, deviceId: alice.self.deviceId },
      'the caller is who MLS says sent the offer',
    );
    assert.equal((await ringing).deviceId, bob.self.deviceId);

    // Bob's side: count the RTP packets that arrive on the remote audio track.
    const received: string[] = [];
    bobCall.on('track', ({ track }) => {
      (track as { onReceiveRtp: { subscribe(f: (p: { payload: Buffer }) => void): void } }).onReceiveRtp.subscribe(
        (p) => received.push(p.payload.toString('hex')),
      );
    });
    await bobCall.accept();
    await until(() => call.state === 'connected' && bobCall.state === 'connected', 15_000, 'both connected');
    assert.equal(call.pc?.connectionState, 'connected');
    assert.equal(bobCall.pc?.connectionState, 'connected');
    assert.deepEqual(call.peerDevice, { accountId: bob.self.accountId, deviceId: bob.self.deviceId });

    const sent = new Set<string>();
    for (let i = 0; i < 40 && received.length < 10; i++) {
      const payload = new Uint8Array(60).map((_, j) => (i * 7 + j) & 255);
      sent.add(Buffer.from(payload).toString('hex'));
      aliceMic.send(payload);
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => received.length >= 10, 5_000, 'audio packets at bob');
    for (const p of received) assert.ok(sent.has(p), 'bob receives exactly the bytes alice sent');

    const aliceEnded = ended(call);
    await bobCall.hangUp();
    const a = await aliceEnded;
    assert.equal(a.state, 'ended');
    assert.equal(a.outcome, 'completed');
    assert.ok(a.durationMs > 0, 'a completed call has a duration');
    assert.equal(bobCall.state, 'ended');
    assert.ok(bobCall.durationMs > 0);

    const aliceLog = await until(
      async () => (await callLogs(alice, conv)).find((m) => m.status !== 'sending'),
      10_000,
      'call-log stored at alice',
    );
    const bobLog = await until(async () => (await callLogs(bob, conv))[0], 10_000, 'call-log at bob');
    assert.equal(aliceLog.id, bobLog.id, 'one entry, the same message on both sides');
    assert.deepEqual(bobLog.callLog, aliceLog.callLog);
    assert.equal(aliceLog.callLog!.outcome, 'completed');
    assert.equal(aliceLog.callLog!.durationMs, call.durationMs);
    assert.equal(aliceLog.callLog!.caller, alice.self.accountId);
    assert.equal(aliceLog.callId, call.callId);
    assert.equal(aliceLog.outgoing, true);
    assert.equal(bobLog.outgoing, false);
    // Signalling never shows up as chat messages.
    assert.deepEqual((await bob.messages(conv)).filter((m) => !m.callLog).length, 0);
    assert.equal(alice.calls.active, undefined);
    assert.equal(bob.calls.active, undefined);
  });

  it('decline: the caller sees declined, both chats log it, and a voice note tied to the call follows', async () => {
    const { alice, bob, conv } = await pair();
    const incoming = bob.calls.once('incoming-call');
    const call = await alice.calls.startCall(conv, { video: true });
    const bobCall = await incoming;
    assert.equal(bobCall.media, 'video');
    await bobCall.decline();
    const r = await ended(call);
    assert.equal(r.state, 'declined');
    assert.equal(r.outcome, 'declined');
    assert.equal(r.durationMs, 0);
    assert.equal(bobCall.state, 'declined');

    // Missed-call note (C7): the UI offers a voice message tied to the call id.
    const note = await alice.sendMedia(conv, {
      bytes: new Uint8Array(3000).fill(7),
      mimeType: 'audio/webm;codecs=opus',
      kind: 'voice',
      durationMs: 1000,
      callId: call.callId,
    });
    const got = await until(
      async () => (await bob.messages(conv)).find((m) => m.id === note.id),
      10_000,
      'voice note at bob',
    );
    const log = await until(async () => (await callLogs(bob, conv))[0], 10_000, 'call-log at bob');
    assert.equal(log.callLog!.outcome, 'declined');
    assert.equal(log.callLog!.media, 'video');
    assert.equal(got.callId, log.callId, 'the note is tied to the declined call');
    assert.equal(got.attachment?.kind, 'voice');
  });

  it('busy: a device already in a call answers busy by itself and keeps its call', async () => {
    const { alice, bob, conv } = await pair();
    const carol = await make();
    const carolConv = await carol.startDirect(bob.self.accountId);
    await until(() => bob.conversations().find((c) => c.id === carolConv), 10_000, 'bob joins carol chat');
    const incoming = bob.calls.once('incoming-call');
    const first = await alice.calls.startCall(conv);
    const bobCall = await incoming;
    await bobCall.accept();
    await until(() => first.state === 'connected' && bobCall.state === 'connected', 15_000, 'first call connected');

    const missed = bob.calls.once('missed-call');
    let rang = false;
    bob.calls.on('incoming-call', () => (rang = true));
    const second = await carol.calls.startCall(carolConv);
    const r = await ended(second);
    assert.equal(r.state, 'busy');
    assert.equal(r.outcome, 'busy');
    const m = await missed;
    assert.equal(m.reason, 'busy');
    assert.equal(m.callId, second.callId);
    assert.equal(rang, false, 'a busy device never rings');
    assert.equal(bobCall.state, 'connected', 'the first call goes on');
    assert.equal(first.state, 'connected');
    const log = await until(async () => (await callLogs(bob, carolConv))[0], 10_000, 'busy call-log at bob');
    assert.equal(log.callLog!.outcome, 'busy');
    await first.hangUp();
    await ended(bobCall);
  });

  it('missed: an unanswered call stops ringing at the ring timeout on both sides', async () => {
    const { alice, bob, conv } = await pair({ calls: { ringTimeoutMs: 1500 } });
    const incoming = bob.calls.once('incoming-call');
    const call = await alice.calls.startCall(conv);
    const bobCall = await incoming;
    const r = await ended(call);
    assert.equal(r.state, 'missed');
    assert.equal(r.outcome, 'missed');
    await until(() => bobCall.state === 'missed', 5_000, 'bob stops ringing');
    const log = await until(async () => (await callLogs(bob, conv))[0], 10_000, 'call-log at bob');
    assert.equal(log.callLog!.outcome, 'missed');
    assert.equal(log.callLog!.durationMs, 0);
    await assert.rejects(
      bobCall.accept(),
      (e: unknown) => (e as { code?: string }).code === 'bad_request',
      'a missed call cannot be accepted',
    );
  });

  it('unavailable: no callee device online; later the callee sees a missed call and never rings', async () => {
    const { alice, bob, conv } = await pair(
      { calls: { unavailableAfterMs: 800 } },
      { connect: false, calls: { ringTimeoutMs: 1500 } },
    );
    const call = await alice.calls.startCall(conv);
    const r = await ended(call);
    assert.equal(r.state, 'unavailable');
    assert.equal(r.outcome, 'unavailable');
    assert.equal(call.ringingDevices.length, 0);
    const aliceLog = await until(
      async () => (await callLogs(alice, conv)).find((m) => m.status !== 'sending'),
      10_000,
      'call-log stored at alice',
    );
    assert.equal(aliceLog.callLog!.outcome, 'unavailable');
    // Bob comes online after the call could have rung.
    await until(() => Date.now() - call.startedAt > 1600, 5_000, 'offer older than the ring timeout');
    const { missed: m, rang } = await connectAfterCall(bob);
    assert.equal(m.callId, call.callId);
    assert.equal(m.reason, 'offline');
    assert.equal(m.from.deviceId, alice.self.deviceId);
    const bobLog = await until(async () => (await callLogs(bob, conv))[0], 10_000, 'call-log at bob');
    assert.equal(bobLog.id, aliceLog.id);
    assert.equal(rang, false, 'the stale offer never rang');
    assert.equal(bob.calls.active, undefined);
  });

  it('briefly offline: an offer and its cancel waiting together never ring', async () => {
    const { alice, bob, conv } = await pair({ calls: { unavailableAfterMs: 500 } }, { connect: false });
    const call = await alice.calls.startCall(conv);
    assert.equal((await ended(call)).state, 'unavailable');
    await until(
      async () => (await callLogs(alice, conv)).find((m) => m.status !== 'sending'),
      10_000,
      'call-log stored at alice',
    );
    // Well within bob's 30 s ring timeout: only the queued cancel says the call is over.
    assert.ok(Date.now() - call.startedAt < 30_000);
    const { missed: m, rang } = await connectAfterCall(bob);
    assert.equal(m.callId, call.callId);
    assert.equal(m.reason, 'offline');
    assert.equal(rang, false);
    assert.equal(bob.calls.get(call.callId)?.state, 'missed');
  });

  it("accept or decline on a sibling device of the callee's account stops ringing here", async () => {
    const { alice, bob, conv } = await pair();
    // The server has no linked devices yet, so the sibling's message is handed to the manager as
    // the client would after MLS authenticated it as bob's other device.
    const sibling = { accountId: bob.self.accountId, deviceId: 'd_SIBLINGSIBLINGSIBLING' };
    const meta = { messageId: 'm_BBBBBBBBBBBBBBBBBBBBBB', serverTime: Date.now() };
    for (const action of ['accept', 'decline'] as const) {
      const incoming = bob.calls.once('incoming-call');
      const call = await alice.calls.startCall(conv);
      const bobCall = await incoming;
      await bob.calls.receive(
        conv,
        sibling,
        { type: 'call', callId: call.callId, action, media: 'audio', seq: 0, at: Date.now() },
        meta,
      );
      await until(() => bobCall.ended, 5_000, 'ringing stops');
      assert.equal(bobCall.state, action === 'accept' ? 'answered-elsewhere' : 'declined');
      assert.equal(call.state, 'ringing', 'the caller only listens to what the callee account really sends');
      await call.hangUp();
      assert.equal(bob.calls.active, undefined);
    }
  });

  it('replayed and foreign signalling changes nothing and is reported', async () => {
    const { alice, bob, conv } = await pair({ calls: { unavailableAfterMs: 60_000 } }, { connect: false });
    const carol = await make();
    const call = await alice.calls.startCall(conv);
    // The server (or anyone on the path) replays alice's stored offer ciphertext to bob as a new message.
    const pending = await t.server.ctx.storage.conversations.pendingDeliveries(bob.self.deviceId, 0, 100);
    const offer = pending.filter((p) => p.message.kind === 'application').at(-1)!.message;
    await t.server.ctx.delivery.submit({
      ...offer,
      id: 'm_REPLAYREPLAYREPLAYREPL',
      clientMessageId: 'replayed-offer-1',
      recipients: [bob.self.deviceId],
    });

    const incomingCalls: Call[] = [];
    const rejected: { reason: string; action: string; callId: string }[] = [];
    const errors: string[] = [];
    bob.calls.on('incoming-call', (c) => incomingCalls.push(c));
    bob.calls.on('call-signal-rejected', (e) => rejected.push(e));
    bob.on('error', (e) => errors.push(e.context));
    await bob.connect();
    await until(() => incomingCalls.length === 1, 10_000, 'the call rings once');
    await bob.drain();
    assert.equal(incomingCalls.length, 1, 'the replay does not ring again');
    assert.deepEqual(
      errors,
      ['deliver application m_REPLAYREPLAYREPLAYREPL'],
      'MLS refuses the replayed ciphertext (its key was used up)',
    );
    assert.equal(rejected.length, 0);
    const bobCall = incomingCalls[0]!;
    assert.equal(bobCall.state, 'ringing');

    // The same signalling content handed over again (e.g. re-sent by a buggy client): a duplicate.
    const aliceDev = { accountId: alice.self.accountId, deviceId: alice.self.deviceId };
    const meta = { messageId: 'm_AAAAAAAAAAAAAAAAAAAAAA', serverTime: Date.now() };
    const sig = (
      action: CallContent['action'],
      extra: Partial<CallContent> = {},
      callId = call.callId,
    ): CallContent => ({ type: 'call', callId, action, media: 'audio', seq: 0, at: Date.now(), ...extra });
    await bob.calls.receive(conv, aliceDev, sig('offer', { sdp: 'v=0' }), meta);
    // Signalling from a device that is not the call's peer (carol's, in alice and bob's chat).
    await bob.calls.receive(
      conv,
      { accountId: carol.self.accountId, deviceId: carol.self.deviceId },
      sig('cancel', { seq: 5 }),
      meta,
    );
    // An answer to a call for which bob made no offer, and an answer for a call nobody made.
    await bob.calls.receive(conv, aliceDev, sig('answer', { seq: 6, sdp: 'v=0' }), meta);
    await bob.calls.receive(conv, aliceDev, sig('answer', { seq: 0, sdp: 'v=0' }, 'no-such-call-123'), meta);
    // Signalling for an unknown call id.
    await bob.calls.receive(conv, aliceDev, sig('end', { seq: 0 }, 'no-such-call-456'), meta);
    await until(() => rejected.length >= 5, 5_000, 'rejections');
    // One rejection per bad message, each for its own call and reason (the two answers are told
    // apart by call id, so neither can pass for the other); the manager may finish them in any order.
    const byCall = (rows: string[][]) => rows.map((r) => r.join(' ')).sort();
    assert.deepEqual(
      byCall(rejected.map((r) => [r.action, r.reason, r.callId])),
      byCall([
        ['offer', 'duplicate', call.callId],
        ['cancel', 'not-peer', call.callId],
        ['answer', 'no-offer', call.callId],
        ['answer', 'no-offer', 'no-such-call-123'],
        ['end', 'unknown-call', 'no-such-call-456'],
      ]),
    );
    assert.equal(bobCall.state, 'ringing', 'nothing changed');
    assert.equal(call.state, 'ringing');

    // Alice's side: an answer from a device of another account is refused; the call still rings.
    const aliceRejected = alice.calls.once('call-signal-rejected');
    await alice.calls.receive(
      conv,
      { accountId: carol.self.accountId, deviceId: carol.self.deviceId },
      sig('answer', { sdp: 'v=0' }),
      meta,
    );
    assert.equal((await aliceRejected).reason, 'not-peer');
    assert.equal(call.state, 'ringing');
    await call.hangUp();
    assert.equal(call.state, 'cancelled');
    await until(() => bobCall.state === 'missed', 5_000, 'bob stops ringing after the cancel');
  });
});
