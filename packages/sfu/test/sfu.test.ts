/**
 * The SFU end to end in Node: real werift peer connections over loopback UDP (ICE, DTLS, SRTP),
 * the SFU in this process, signalling relayed by the test the way the server will relay it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { isParleyError, type ErrorCode } from '@parley/protocol';
import { Sfu, type RoomSpeakerChange, type SfuOffer } from '../src/index.ts';
import { SfuTestClient } from '../src/testing.ts';

const ROOM = 'call_test_1';
const MEMBERS = new Set(['alice', 'bob', 'carol', 'dave']);
const LOUD = 10;
const SILENT = 127;

let sfu: Sfu;
const clients = new Map<string, SfuTestClient>();
const offersRelayed: Array<{ participantId: string; offer: SfuOffer }> = [];
const speakerChanges: RoomSpeakerChange[] = [];
const left: string[] = [];
const leftReasons: string[] = [];
const closedRooms: string[] = [];
const stops: Array<() => void> = [];
let loud = 'alice';
/** Participants whose offers the test answers by hand instead of the relay. */
const manual = new Set<string>();

async function rejects(p: Promise<unknown>, code: ErrorCode, status: number): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isParleyError(e, code), `expected ${code}, got ${String(e)}`);
    assert.equal(e.status, status);
    return true;
  });
}

/** Joins like a client would: join, answer the first offer, wait for ICE/DTLS, start talking. */
async function connect(id: string): Promise<SfuTestClient> {
  const c = new SfuTestClient(id);
  clients.set(id, c);
  const offer = await sfu.join(ROOM, id);
  assert.deepEqual(
    offer.tracks.filter((t) => t.role === 'publish').map((t) => t.kind),
    ['audio', 'video'],
    'every offer carries the upload slots',
  );
  await sfu.answer(ROOM, id, await c.answer(offer));
  await c.waitConnected();
  stops.push(c.startAudio({ level: () => (loud === id ? LOUD : SILENT) }));
  return c;
}

before(async () => {
  sfu = new Sfu({
    authorize: (roomId, id) => roomId === ROOM && MEMBERS.has(id),
    maxParticipants: 3,
    iceUseIpv6: false,
  });
  // The server's part: relay every renegotiation offer to the device and its answer back.
  sfu.onOffer((roomId, participantId, offer) => {
    offersRelayed.push({ participantId, offer });
    const c = clients.get(participantId);
    if (!c || manual.has(participantId)) return;
    void c.answer(offer).then((answer) => sfu.answer(roomId, participantId, answer));
  });
  sfu.onSpeakerChange(ROOM, (c) => speakerChanges.push(c));
  sfu.onParticipantLeft((_r, id, reason) => {
    left.push(id);
    leftReasons.push(reason);
  });
  sfu.onRoomClosed((r) => closedRooms.push(r));
  for (const id of ['alice', 'bob', 'carol']) await connect(id);
});

after(async () => {
  for (const stop of stops) stop();
  sfu.close();
  await Promise.all([...clients.values()].map((c) => c.close()));
});

test('three participants each receive the other two streams, payloads byte for byte', async () => {
  const ids = ['alice', 'bob', 'carol'];
  for (const id of ids) {
    const c = clients.get(id)!;
    await c.waitFor(() => ids.every((o) => o === id || (c.receivedCount.get(o) ?? 0) >= 50), 15_000, 'two streams');
    assert.equal(c.receivedCount.get(id), undefined, 'nobody receives their own stream');
  }
  for (const id of ids) {
    const c = clients.get(id)!;
    for (const p of c.received) {
      // The payload is opaque to the SFU (random bytes here, encrypted frames in a real call):
      // each one must be exactly a payload its publisher sent.
      const publisher = clients.get(p.publisherId)!;
      assert.ok(
        publisher.sentPayloads.has(p.payload.toString('hex')),
        `${id} got a payload ${p.publisherId} never sent`,
      );
      // The audio level travels on to subscribers in the forwarded header.
      assert.equal(p.level?.level, p.publisherId === 'alice' ? LOUD : SILENT);
    }
    // Sequence numbers pass through, so receivers see an unbroken run.
    const fromOthers = ids
      .filter((o) => o !== id)
      .map((o) => c.received.filter((p) => p.publisherId === o).map((p) => p.sequenceNumber));
    for (const seqs of fromOthers) {
      const gaps = seqs.slice(1).filter((s, i) => s !== ((seqs[i]! + 1) & 0xffff)).length;
      assert.ok(gaps <= 2, `at most a reordering or two on loopback, saw ${gaps}`);
    }
  }
  const stats = sfu.stats();
  assert.equal(stats.rooms, 1);
  assert.equal(stats.participants, 3);
  assert.ok(stats.forwardedPackets > stats.receivedPackets, 'each packet goes to two subscribers');
});

test('the SFU names the loud participant, then follows when another takes over', async () => {
  const c = clients.get('alice')!;
  await c.waitFor(() => sfu.room(ROOM)?.dominantSpeaker === 'alice', 5000, 'alice dominant');
  assert.equal(speakerChanges[0]?.speakerId, 'alice');
  assert.equal(speakerChanges[0]?.roomId, ROOM);
  const switchedAt = performance.now();
  loud = 'bob';
  await c.waitFor(() => sfu.room(ROOM)?.dominantSpeaker === 'bob', 5000, 'bob dominant');
  const change = speakerChanges.at(-1)!;
  assert.equal(change.speakerId, 'bob');
  assert.equal(change.previousSpeakerId, 'alice');
  assert.ok(change.at >= switchedAt, "the change is dated from bob's first loud packet");
  assert.ok(change.decidedAt >= change.at);
  assert.deepEqual(
    speakerChanges.map((s) => s.speakerId),
    ['alice', 'bob'],
    'no flapping in between',
  );
});

test('a non-member cannot join: catalogued error, room unchanged', async () => {
  const before = { room: sfu.room(ROOM), stats: sfu.stats(), offers: offersRelayed.length };
  await rejects(sfu.join(ROOM, 'mallory'), 'not_in_call', 403);
  await rejects(sfu.join('call_other', 'alice'), 'not_in_call', 403);
  // A member, but the room is at its limit of three.
  await rejects(sfu.join(ROOM, 'dave'), 'call_full', 409);
  await rejects(sfu.join(ROOM, 'bad id!'), 'bad_request', 400);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(sfu.room(ROOM), before.room);
  assert.equal(sfu.room('call_other'), undefined);
  assert.equal(sfu.stats().participants, before.stats.participants);
  assert.equal(sfu.stats().rooms, before.stats.rooms);
  assert.equal(offersRelayed.length, before.offers, 'nobody was asked to renegotiate');
});

test('bad answers and candidates are refused with catalogued errors', async () => {
  await rejects(sfu.answer(ROOM, 'alice', { sdp: 'v=0', revision: 999 }), 'call_negotiation_stale', 409);
  await rejects(sfu.answer('call_none', 'alice', { sdp: 'v=0', revision: 1 }), 'call_not_found', 404);
  await rejects(sfu.answer(ROOM, 'dave', { sdp: 'v=0', revision: 1 }), 'not_in_call', 403);
  await rejects(sfu.answer(ROOM, 'alice', null as never), 'call_sdp_invalid', 400);
  await rejects(sfu.addIceCandidate(ROOM, 'alice', { candidate: 'x'.repeat(5000) }), 'call_sdp_invalid', 400);
  // A garbage answer to a live offer is refused, and the offer stays answerable.
  manual.add('carol');
  const count = offersRelayed.length;
  sfu.renegotiate(ROOM, 'carol');
  const carol = clients.get('carol')!;
  await carol.waitFor(() => offersRelayed.length > count, 5000, 'a fresh offer');
  const { participantId, offer } = offersRelayed.at(-1)!;
  assert.equal(participantId, 'carol');
  await rejects(
    sfu.answer(ROOM, 'carol', { sdp: 'this is not sdp', revision: offer.revision }),
    'call_sdp_invalid',
    400,
  );
  await rejects(
    sfu.answer(ROOM, 'carol', { sdp: 'x'.repeat(300 * 1024), revision: offer.revision }),
    'call_sdp_invalid',
    400,
  );
  await rejects(sfu.answer(ROOM, 'carol', { sdp: 'v=0', revision: offer.revision - 1 }), 'call_negotiation_stale', 409);
  const real = await carol.answer(offer);
  // Real SDP with an m-line missing, or with two m-lines swapped, does not answer this offer.
  const sections = real.sdp.split(/(?=^m=)/m);
  await rejects(
    sfu.answer(ROOM, 'carol', { sdp: sections.slice(0, -1).join(''), revision: offer.revision }),
    'call_sdp_invalid',
    400,
  );
  const swapped = [sections[0], sections[2], sections[1], ...sections.slice(3)].join('');
  await rejects(sfu.answer(ROOM, 'carol', { sdp: swapped, revision: offer.revision }), 'call_sdp_invalid', 400);
  await sfu.answer(ROOM, 'carol', real);
  manual.delete('carol');
  await rejects(sfu.answer(ROOM, 'carol', { sdp: 'v=0', revision: offer.revision }), 'call_negotiation_stale', 409);
  // Media still flows to carol after all that.
  const n = carol.receivedCount.get('alice') ?? 0;
  await carol.waitFor(() => (carol.receivedCount.get('alice') ?? 0) > n + 10, 5000, 'media after renegotiation');
});

test('leaving renegotiates the others, and the room closes with its last participant', async () => {
  const alice = clients.get('alice')!;
  const bob = clients.get('bob')!;
  const offersBefore = offersRelayed.length;
  assert.equal(sfu.leave(ROOM, 'carol'), true);
  assert.equal(sfu.leave(ROOM, 'carol'), false, 'leaving is idempotent');
  await alice.waitFor(
    () => offersRelayed.slice(offersBefore).some((o) => o.participantId === 'alice'),
    5000,
    'offer to alice',
  );
  await bob.waitFor(
    () => offersRelayed.slice(offersBefore).some((o) => o.participantId === 'bob'),
    5000,
    'offer to bob',
  );
  for (const o of offersRelayed.slice(offersBefore)) {
    assert.ok(!o.offer.tracks.some((t) => t.participantId === 'carol'), "carol's m-lines are gone");
  }
  assert.deepEqual(sfu.room(ROOM)?.participants, ['alice', 'bob']);
  // alice and bob still hear each other after renegotiating.
  const fromBob = alice.receivedCount.get('bob') ?? 0;
  const fromAlice = bob.receivedCount.get('alice') ?? 0;
  await alice.waitFor(
    () =>
      (alice.receivedCount.get('bob') ?? 0) > fromBob + 25 && (bob.receivedCount.get('alice') ?? 0) > fromAlice + 25,
    5000,
    'media after leave',
  );
  // Now there is room for dave, who receives both streams.
  const dave = await connect('dave');
  await dave.waitFor(
    () => (dave.receivedCount.get('alice') ?? 0) > 10 && (dave.receivedCount.get('bob') ?? 0) > 10,
    10_000,
    'dave receives',
  );
  await alice.waitFor(() => (alice.receivedCount.get('dave') ?? 0) > 10, 10_000, 'alice receives dave');
  // bob reconnects from scratch: the new session replaces the old one, the room stays at three.
  const oldBob = bob;
  const newBob = await connect('bob');
  await oldBob.close();
  assert.deepEqual(sfu.room(ROOM)?.participants, ['alice', 'dave', 'bob']);
  await newBob.waitFor(
    () => (newBob.receivedCount.get('alice') ?? 0) > 10 && (newBob.receivedCount.get('dave') ?? 0) > 10,
    10_000,
    'new bob receives',
  );
  const fromNewBob = alice.receivedCount.get('bob') ?? 0;
  await alice.waitFor(
    () => (alice.receivedCount.get('bob') ?? 0) > fromNewBob + 10,
    10_000,
    'alice receives the new bob',
  );
  for (const id of ['alice', 'bob', 'dave']) sfu.leave(ROOM, id);
  assert.equal(sfu.room(ROOM), undefined);
  assert.deepEqual(closedRooms, [ROOM]);
  assert.deepEqual(left, ['carol', 'bob', 'alice', 'bob', 'dave']);
  assert.deepEqual(leftReasons.slice(0, 2), ['left', 'replaced']);
  assert.equal(sfu.stats().participants, 0);
  await rejects(sfu.answer(ROOM, 'alice', { sdp: 'v=0', revision: 1 }), 'call_not_found', 404);
});
