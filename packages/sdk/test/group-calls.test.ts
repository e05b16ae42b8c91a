/**
 * SDK group calls with werift as the peer connection (Node devices: bots, tests, the bench),
 * against a real server and its SFU, on loopback (C6, C8):
 * - the first participant publishes, two more join later: every renegotiation offer is answered
 *   (werift's transceiver recycling would otherwise fail the first one with "Transceiver with mid=1
 *   not found") and everyone receives everyone else's packets, each on the m-line of its sender;
 * - the SDK negotiates the RFC 6464 audio-level extension for werift by itself, so a Node device
 *   playing loud becomes the dominant speaker for the others; the `speaker` event carries the
 *   event's `at` and `decidedAt`.
 * Plain `ParleyClient`s with werift's class as it is: no subclass, no extra configuration.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { GroupCall, GroupRemoteTrack, GroupSpeaker, ParleyClient } from '@parley/sdk';
import { FakeMicrophone, LOUD, SILENT, callClient, startServer, until, type TestServer } from './calls-helpers.ts';

type Client = ParleyClient & { phone: string };

interface Person {
  name: string;
  client: Client;
  mic: FakeMicrophone;
  call?: GroupCall;
  /** Packets received, by the participant id of the m-line they came on. */
  received: Map<string, number>;
  /** Forwarded packets whose payload names someone other than the m-line's participant. */
  misrouted: number;
  errors: string[];
  speakers: Array<GroupSpeaker | null>;
}

describe('SDK group calls on werift [sqlite]', () => {
  let t: TestServer;
  const people: Person[] = [];
  const stops: Array<() => void> = [];
  let group: string;

  before(async () => {
    t = await startServer('sqlite');
    for (const name of ['alice', 'bob', 'carol']) {
      const client = await callClient(t.url);
      const p: Person = {
        name,
        client,
        mic: new FakeMicrophone({ level: SILENT }),
        received: new Map(),
        misrouted: 0,
        errors: [],
        speakers: [],
      };
      client.on('error', ({ error, context }) => p.errors.push(`${context}: ${String(error)}`));
      people.push(p);
    }
    const [alice, bob, carol] = people as [Person, Person, Person];
    group = await alice.client.createGroup('Voice chat', [bob.client.self.accountId, carol.client.self.accountId]);
    await until(
      () => people.every((p) => p.client.conversations().some((c) => c.id === group && c.active)),
      15_000,
      'everyone has the group',
    );
  });

  after(async () => {
    for (const stop of stops) stop();
    for (const p of people) {
      if (p.call) await p.client.calls.groups.leave(p.call).catch(() => undefined);
      await p.client.close().catch(() => undefined);
    }
    await t?.close();
  });

  /** Joins `p` to the group's call (the first joiner starts it), publishing its microphone. */
  async function join(p: Person, callId?: string): Promise<GroupCall> {
    const call = await p.client.calls.joinGroup(group, { tracks: [p.mic.track], ...(callId ? { callId } : {}) });
    p.call = call;
    call.on('speaker', (s) => p.speakers.push(s));
    const ids = new Map(people.map((q, i) => [q.client.self.deviceId, i]));
    const listen = (r: GroupRemoteTrack) => {
      if (r.kind !== 'audio') return;
      (r.track as { onReceiveRtp: { subscribe(f: (rtp: { payload: Buffer }) => void): void } }).onReceiveRtp.subscribe(
        (rtp) => {
          p.received.set(r.participantId, (p.received.get(r.participantId) ?? 0) + 1);
          if (rtp.payload[0] !== ids.get(r.participantId)) p.misrouted++;
        },
      );
    };
    call.remoteTracks.forEach(listen);
    call.on('track', listen);
    // Payloads name their sender (first byte), so a packet on the wrong m-line shows.
    const index = people.indexOf(p);
    stops.push(p.mic.start((n) => new Uint8Array(40).map((_, j) => (j === 0 ? index : (n + j) & 255))));
    return call;
  }

  const heardFromAll = (p: Person, min: number) =>
    people.every((q) => q === p || (p.received.get(q.client.self.deviceId) ?? 0) >= min);

  it(
    'a werift participant who joined first keeps the call through two renegotiations; media reaches everyone',
    { timeout: 90_000 },
    async () => {
      const [alice, bob, carol] = people as [Person, Person, Person];
      const first = await join(alice);
      await until(() => first.state === 'connected', 15_000, 'alice connected');
      assert.deepEqual(
        first.tracks.filter((x) => x.role === 'publish').map((x) => x.kind),
        ['audio', 'video'],
        'two upload slots; the video one stays unused',
      );

      // Bob, then Carol: each join makes the SFU renegotiate with everyone already in the call.
      await join(bob, first.callId);
      await until(
        () => (alice.received.get(bob.client.self.deviceId) ?? 0) >= 10,
        20_000,
        'alice hears bob (her first renegotiation)',
      ).catch((e: Error) => {
        throw new Error(`${e.message}; alice's errors: ${alice.errors.join('; ') || 'none'}`);
      });
      await join(carol, first.callId);
      await until(() => people.every((p) => heardFromAll(p, 10)), 30_000, 'everyone hears everyone');

      for (const p of people) {
        assert.equal(p.call!.state, 'connected', `${p.name} connected`);
        assert.equal(p.call!.participants.length, 3, `${p.name} sees three participants`);
        assert.equal(p.misrouted, 0, `${p.name}: every packet came on its sender's m-line`);
        assert.deepEqual(
          p.errors.filter((e) => e.startsWith('group call offer')),
          [],
          `${p.name} answered every offer`,
        );
      }
      // Alice answered three offers (join, Bob, Carol); her subscriptions are Bob's and Carol's audio.
      assert.deepEqual(
        first.tracks
          .filter((x) => x.role === 'subscribe')
          .map((x) => [x.kind, x.participantId])
          .sort(),
        [
          ['audio', bob.client.self.deviceId],
          ['audio', carol.client.self.deviceId],
        ].sort(),
      );
    },
  );

  it(
    'negotiates the audio level for werift, so a Node device playing loud is named speaker for the others',
    { timeout: 90_000 },
    async () => {
      const [alice, bob, carol] = people as [Person, Person, Person];
      for (const p of people) {
        assert.equal(
          p.call!.audioLevelExtensionId,
          2,
          `${p.name}'s answer kept the SFU's audio-level extension (id 2)`,
        );
      }
      // Everyone has been silent so far: nobody is speaker yet.
      assert.ok(
        people.every((p) => p.call!.speaker === null),
        'silence names nobody',
      );

      const loudAt = Date.now();
      alice.mic.level = LOUD;
      const named = (p: Person, who: Person) => p.call!.speaker?.deviceId === who.client.self.deviceId;
      await until(() => people.every((p) => named(p, alice)), 10_000, 'everyone names alice speaker');
      for (const p of [bob, carol]) {
        const s = p.call!.speaker!;
        assert.deepEqual(
          { accountId: s.accountId, deviceId: s.deviceId },
          { accountId: alice.client.self.accountId, deviceId: alice.client.self.deviceId },
        );
        assert.equal(typeof s.at, 'number', "the event's at is passed through");
        assert.equal(typeof s.decidedAt, 'number', 'and the decision time');
        // Same host, so the server's clock is this one (ms rounding and scheduling aside).
        assert.ok(s.at >= loudAt - 50 && s.at <= loudAt + 500, `at ${s.at - loudAt} ms after alice got loud`);
        const latency = s.decidedAt! - s.at;
        assert.ok(
          latency >= 200 && latency <= 1000,
          `detector latency ${latency} ms (the first speaker of a call: ~0.34 s)`,
        );
        assert.deepEqual(p.speakers.at(-1), s, 'the speaker event carries the same');
      }

      // Alice stops, Carol talks: Carol takes over.
      alice.mic.level = SILENT;
      carol.mic.level = LOUD;
      await until(() => named(bob, carol) && named(alice, carol), 10_000, 'carol takes over');
      const s = bob.call!.speaker!;
      assert.ok(s.decidedAt! >= s.at, 'decided after the talk spurt began');
    },
  );
});
