/**
 * Group calls through the server (C6, C8), on SQLite and PostgreSQL: werift participants join a
 * conversation's call over the WebSocket ops of a real server, answer the SFU's offers (first and
 * renegotiated), and RTP flows between them through the SFU byte for byte; dominant-speaker and
 * participant events arrive; closing a socket leaves the call, and so does revoking its device (at
 * once, before the close handshake ends); ICE servers carry TURN credentials
 * that verify under coturn's shared-secret scheme; and every kind of bad signalling gets a
 * catalogued error and leaves the room as it was.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { ERRORS, callOfferSchema, callParticipantsEvent, callSpeakerEvent, type CallOffer } from '@parley/protocol';
import { SfuTestClient } from '@parley/sfu/testing';
import type { ParleyClient } from '@parley/sdk';
import { availableDrivers, newClient, startServer, until, type TestServer } from '@parley/testkit';
import { deviceToken } from '@parley/sdk/testing';
import { revokeDevices } from '../src/actions/devices.ts';

const drivers = await availableDrivers();
const TURN_SECRET = 'turn-shared-secret-for-tests-0123456789';
const newCallId = () => `call_${randomBytes(9).toString('base64url')}`;
const newConversationId = () => randomBytes(16).toString('base64url');

interface Answer {
  status: number;
  body: { error?: { code: string; details?: unknown } } & Record<string, unknown>;
}
interface Event {
  event: string;
  body: Record<string, unknown>;
}

/** A raw authenticated WebSocket: requests by id, and every pushed event kept in order. */
class Signal {
  readonly events: Event[] = [];
  private nextId = 1;
  private readonly waiting = new Map<number, (a: Answer) => void>();
  private readonly eventListeners = new Set<(e: Event) => void>();
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return; // `deliver` frames of the conversation: not this test's business
      const frame = JSON.parse(data.toString()) as { id?: number; status?: number; body: unknown; event?: string };
      if (frame.event) {
        const e = { event: frame.event, body: frame.body as Record<string, unknown> };
        this.events.push(e);
        for (const l of this.eventListeners) l(e);
        return;
      }
      this.waiting.get(frame.id!)?.({ status: frame.status!, body: frame.body as Answer['body'] });
      this.waiting.delete(frame.id!);
    });
    this.closed = new Promise((r) => ws.on('close', (code) => r(code)));
  }

  static async open(url: string, token?: string): Promise<Signal> {
    const ws = new WebSocket(url.replace('http', 'ws') + '/v1/ws');
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    const s = new Signal(ws);
    if (token) {
      const hello = await s.request('hello', { token, protocol: 1 });
      assert.equal(hello.status, 200);
    }
    return s;
  }

  request(op: string, body: unknown): Promise<Answer> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.ws.send(JSON.stringify({ id, op, body }));
    });
  }

  /** Calls `listener` for every event from now on. */
  onEvent(listener: (e: Event) => void): void {
    this.eventListeners.add(listener);
  }

  async waitEvent(
    name: string,
    predicate: (body: Record<string, unknown>) => boolean = () => true,
    what = name,
  ): Promise<Record<string, unknown>> {
    const e = await until(() => this.events.find((x) => x.event === name && predicate(x.body)), 15_000, what);
    return e.body;
  }

  close(): void {
    this.ws.close();
  }
}

/** A call participant: werift media plus its signalling socket; answers every `call-offer`. */
class Participant {
  readonly media: SfuTestClient;
  offer: CallOffer | undefined;
  readonly answerErrors: Answer[] = [];

  constructor(
    readonly signal: Signal,
    readonly deviceId: string,
    video = false,
  ) {
    this.media = new SfuTestClient(deviceId, { video });
    signal.onEvent((e) => {
      if (e.event !== 'call-offer') return;
      const offer = callOfferSchema.parse(e.body);
      void this.answer(offer);
    });
  }

  async join(conversationId: string, callId: string): Promise<void> {
    const r = await this.signal.request('callJoin', { conversationId, callId });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await this.answer(callOfferSchema.parse(r.body));
  }

  private async answer(offer: CallOffer): Promise<void> {
    this.offer = offer;
    const answer = await this.media.answer({
      type: 'offer',
      sdp: offer.sdp,
      revision: offer.revision,
      tracks: offer.tracks,
    });
    const r = await this.signal.request('callAnswer', {
      callId: offer.callId,
      sdp: answer.sdp,
      revision: answer.revision,
    });
    if (r.status !== 200) this.answerErrors.push(r);
  }

  async close(): Promise<void> {
    await this.media.close();
  }
}

const errorOf = (a: Answer) => a.body.error?.code;
function assertError(a: Answer, code: keyof typeof ERRORS, what: string): void {
  assert.equal(errorOf(a), code, `${what}: ${JSON.stringify(a.body)}`);
  assert.equal(a.status, ERRORS[code].status, `${what} status`);
}

for (const { driver, skip } of drivers) {
  describe(`calls [${driver}]`, { skip }, () => {
    let t: TestServer;
    let closed = false;
    const ids: Record<'alice' | 'bob' | 'carol' | 'dave', { token: string; deviceId: string; accountId: string }> =
      {} as never;
    let group: string;
    const sockets: Signal[] = [];
    const participants: Participant[] = [];
    const signal = async (who: keyof typeof ids) => {
      const s = await Signal.open(t.url, ids[who].token);
      sockets.push(s);
      return s;
    };
    const participant = async (who: keyof typeof ids, video = false) => {
      const p = new Participant(await signal(who), ids[who].deviceId, video);
      participants.push(p);
      return p;
    };
    const room = (callId: string) => t.server.ctx.calls.sfu?.room(callId);

    before(async () => {
      t = await startServer(driver, {
        turnUrls: ['turn:127.0.0.1:3478?transport=udp', 'turns:turn.example.org:5349'],
        turnSecret: TURN_SECRET,
        stunUrls: ['stun:127.0.0.1:3478'],
      });
      const clients = {
        alice: await newClient(t.url),
        bob: await newClient(t.url),
        carol: await newClient(t.url),
        dave: await newClient(t.url),
      };
      group = await clients.alice.createGroup('Call', [clients.bob.self.accountId, clients.carol.self.accountId]);
      for (const [name, c] of Object.entries(clients)) {
        ids[name as keyof typeof ids] = {
          token: deviceToken(c),
          deviceId: c.self.deviceId,
          accountId: c.self.accountId,
        };
        // Signalling below uses raw sockets; a device's second socket would replace the SDK's.
        await c.close();
      }
    });
    after(async () => {
      for (const p of participants) await p.close().catch(() => undefined);
      for (const s of sockets) s.close();
      if (!closed) await t?.close();
    });

    it(
      'carries media between three participants through the SFU, with speaker and participant events',
      { timeout: 60_000 },
      async () => {
        const callId = newCallId();
        const a = await participant('alice');
        const b = await participant('bob', true);
        const c = await participant('carol');
        await a.join(group, callId);
        await b.join(group, callId);
        await c.join(group, callId);
        for (const p of [a, b, c]) await p.media.waitConnected(15_000);
        assert.deepEqual(
          new Set(room(callId)?.participants),
          new Set([ids.alice.deviceId, ids.bob.deviceId, ids.carol.deviceId]),
        );

        // Everyone learns the full list, with accounts and declared media.
        for (const p of [a, b, c]) {
          const ev = callParticipantsEvent.parse(
            await p.signal.waitEvent(
              'call-participants',
              (x) => (x.participants as unknown[]).length === 3,
              'three participants',
            ),
          );
          assert.equal(ev.conversationId, group);
          const byDevice = new Map(ev.participants.map((x) => [x.deviceId, x]));
          assert.equal(byDevice.get(ids.bob.deviceId)?.accountId, ids.bob.accountId);
          assert.equal(byDevice.get(ids.alice.deviceId)?.audio, true);
        }

        // Alice talks, the others are silent; Bob also sends video.
        const stopA = a.media.startAudio({ level: () => 10 });
        const stopB = b.media.startAudio({ level: () => 127 });
        const stopC = c.media.startAudio({ level: () => 127 });
        const videoTimer = setInterval(() => b.media.sendVideo(randomBytes(300)), 33);
        try {
          const ids3 = [a, b, c].map((p) => p.deviceId);
          for (const p of [a, b, c]) {
            for (const other of ids3.filter((x) => x !== p.deviceId)) {
              await p.media.waitFor(
                () => (p.media.receivedCount.get(other) ?? 0) >= 20,
                15_000,
                `${p.deviceId} hears ${other}`,
              );
            }
          }
          await c.media.waitFor(
            () => c.media.received.some((x) => x.publisherId === ids.bob.deviceId && x.kind === 'video'),
            15_000,
            'carol sees bob',
          );
          const speaker = callSpeakerEvent.parse(
            await b.signal.waitEvent('call-speaker', (x) => x.deviceId === ids.alice.deviceId, 'alice named speaker'),
          );
          assert.equal(speaker.accountId, ids.alice.accountId);
          assert.ok(Math.abs(speaker.at - Date.now()) < 30_000, 'speaker time is wall-clock');
          await c.signal.waitEvent('call-speaker', (x) => x.deviceId === ids.alice.deviceId, 'carol told too');
        } finally {
          stopA();
          stopB();
          stopC();
          clearInterval(videoTimer);
        }
        // Forwarded byte for byte: every payload a receiver got is one its publisher sent.
        const senders = new Map([a, b, c].map((p) => [p.deviceId, p.media]));
        for (const p of [a, b, c]) {
          for (const pkt of p.media.received)
            assert.ok(senders.get(pkt.publisherId)!.sentPayloads.has(pkt.payload.toString('hex')), 'payload unchanged');
        }

        // Carol hangs up: the others are told, and she leaves the room.
        const left = await c.signal.request('callLeave', { callId });
        assert.equal(left.status, 200);
        assert.deepEqual(new Set(room(callId)?.participants), new Set([ids.alice.deviceId, ids.bob.deviceId]));
        for (const p of [a, b]) {
          const ev = callParticipantsEvent.parse(
            await p.signal.waitEvent(
              'call-participants',
              (x) => (x.participants as unknown[]).length === 2,
              'carol left',
            ),
          );
          assert.ok(!ev.participants.some((x) => x.deviceId === ids.carol.deviceId));
        }
        // Bob's socket closes: he leaves every call.
        b.signal.close();
        await until(() => room(callId)?.participants.length === 1, 10_000, 'bob removed on close');
        await a.signal.waitEvent('call-participants', (x) => (x.participants as unknown[]).length === 1, 'bob left');
        // The renegotiations that followed were all answered in time.
        assert.deepEqual(
          [a, b, c].flatMap((p) => p.answerErrors),
          [],
        );
        // The last one out closes the room.
        assert.equal((await a.signal.request('callLeave', { callId })).status, 200);
        assert.equal(room(callId), undefined);
        assert.equal(t.server.ctx.calls.info(callId), undefined);
      },
    );

    it('hands out ICE servers with TURN credentials bound to the device that verify with the shared secret', async () => {
      const res = await fetch(`${t.url}/v1/calls/ice-servers`, {
        headers: { authorization: `Bearer ${ids.bob.token}` },
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as {
        iceServers: { urls: string[]; username?: string; credential?: string }[];
        ttlSeconds: number;
      };
      assert.equal(body.ttlSeconds, 3600);
      assert.deepEqual(body.iceServers[0], { urls: ['stun:127.0.0.1:3478'] });
      const turn = body.iceServers[1]!;
      assert.deepEqual(turn.urls, ['turn:127.0.0.1:3478?transport=udp', 'turns:turn.example.org:5349']);
      const [expiry, user] = turn.username!.split(':');
      assert.equal(user, ids.bob.deviceId);
      assert.ok(Math.abs(Number(expiry) - (Date.now() / 1000 + 3600)) < 60, 'expires in the configured lifetime');
      assert.equal(turn.credential, createHmac('sha1', TURN_SECRET).update(turn.username!).digest('base64'));
      // The same op over the WebSocket.
      const s = await signal('carol');
      const r = await s.request('iceServers', {});
      assert.equal(r.status, 200);
      const ws = r.body as unknown as typeof body;
      assert.equal(ws.iceServers[1]!.username!.split(':')[1], ids.carol.deviceId);
      assert.equal(
        ws.iceServers[1]!.credential,
        createHmac('sha1', TURN_SECRET).update(ws.iceServers[1]!.username!).digest('base64'),
      );
      const anon = await fetch(`${t.url}/v1/calls/ice-servers`);
      assert.equal(anon.status, 401);
      s.close();
    });

    it('refuses bad signalling with catalogued errors and leaves the room unchanged', { timeout: 60_000 }, async () => {
      const callId = newCallId();
      const a = await participant('alice');
      await a.join(group, callId);
      await a.media.waitConnected(15_000);
      const snapshot = () =>
        JSON.stringify({
          room: room(callId),
          info: t.server.ctx.calls.info(callId),
          rooms: t.server.ctx.calls.sfu?.listRooms().length,
        });
      const before = snapshot();

      // Unauthenticated.
      const anon = await Signal.open(t.url);
      sockets.push(anon);
      assertError(
        await anon.request('callJoin', { conversationId: group, callId }),
        'unauthenticated',
        'join before hello',
      );

      // A non-member of the conversation.
      const dave = await signal('dave');
      assertError(await dave.request('callJoin', { conversationId: group, callId }), 'not_in_call', 'non-member join');
      assert.equal(snapshot(), before);
      // A conversation that does not exist.
      assertError(
        await dave.request('callJoin', { conversationId: newConversationId(), callId: newCallId() }),
        'not_in_call',
        'unknown conversation',
      );
      // Foreign call signalling: Dave's own conversation, someone else's call id.
      const own = newConversationId();
      assert.equal((await dave.request('createConversation', { conversationId: own, kind: 'group' })).status, 200);
      assertError(await dave.request('callJoin', { conversationId: own, callId }), 'not_in_call', 'foreign call id');
      assert.equal(snapshot(), before);
      assert.equal(t.server.ctx.calls.info(callId)?.conversationId, group);

      // Signalling for a call the device is not in (running or not).
      const bob = await signal('bob');
      const offer = a.offer!;
      assertError(
        await bob.request('callAnswer', { callId, sdp: offer.sdp, revision: offer.revision }),
        'not_in_call',
        'answer without joining',
      );
      assertError(
        await bob.request('callCandidate', { callId, candidate: '' }),
        'not_in_call',
        'candidate without joining',
      );
      assertError(await bob.request('callLeave', { callId }), 'not_in_call', 'leave without joining');
      assertError(
        await bob.request('callAnswer', { callId: newCallId(), sdp: offer.sdp, revision: 0 }),
        'not_in_call',
        'answer for no call',
      );

      // Stale and invalid answers from a participant.
      assertError(
        await a.signal.request('callAnswer', { callId, sdp: offer.sdp, revision: offer.revision + 7 }),
        'call_negotiation_stale',
        'future revision',
      );
      assertError(
        await a.signal.request('callAnswer', { callId, sdp: offer.sdp, revision: offer.revision }),
        'call_negotiation_stale',
        'answered revision again',
      );
      assertError(
        await a.signal.request('callCandidate', { callId, candidate: 'candidate:nonsense' }),
        'call_sdp_invalid',
        'garbage candidate',
      );

      // Malformed bodies name the offending fields.
      const malformed: [string, unknown][] = [
        ['callJoin', { conversationId: 'short', callId: 'x' }],
        ['callJoin', { conversationId: group, callId: 'has spaces in it' }],
        ['callJoin', { conversationId: group, callId, audio: 'yes' }],
        ['callJoin', { conversationId: group, callId, extra: 1 }],
        ['callJoin', []],
        ['callAnswer', { callId, sdp: 5, revision: 0 }],
        ['callAnswer', { callId, sdp: 'v=0', revision: -1 }],
        ['callAnswer', { callId, sdp: 'x'.repeat(256 * 1024 + 1), revision: 0 }],
        ['callCandidate', { callId, candidate: 'candidate:1', sdpMLineIndex: 'zero' }],
        ['callLeave', { callId: 7 }],
        ['iceServers', { surprise: true }],
      ];
      for (const [op, body] of malformed) {
        const r = await a.signal.request(op, body);
        assertError(r, 'bad_request', `${op} ${JSON.stringify(body).slice(0, 80)}`);
        assert.ok(
          Array.isArray(r.body.error?.details) && (r.body.error.details as unknown[]).length > 0,
          `${op}: details name the fields`,
        );
      }
      assert.equal(snapshot(), before);
      assert.deepEqual(a.answerErrors, []);

      // The call still works after all that: Bob joins and hears Alice.
      const b = await participant('bob');
      await b.join(group, callId);
      await b.media.waitConnected(15_000);
      const stop = a.media.startAudio({ level: () => 20 });
      try {
        await b.media.waitFor(
          () => (b.media.receivedCount.get(ids.alice.deviceId) ?? 0) >= 10,
          15_000,
          'bob hears alice',
        );
      } finally {
        stop();
      }
      for (const s of [anon, dave, bob]) s.close();
    });

    // Revokes Bob's device: nothing after this may use Bob. Alice is still in the call of the test
    // before (another socket of hers would get its offers too), so Carol stays.
    it(
      'takes a revoked device out of its call at once and closes its socket with 4003',
      { timeout: 30_000 },
      async () => {
        const callId = newCallId();
        const a = await participant('carol');
        const b = await participant('bob');
        await a.join(group, callId);
        await b.join(group, callId);
        for (const p of [a, b]) await p.media.waitConnected(15_000);
        await a.signal.waitEvent('call-participants', (x) => (x.participants as unknown[]).length === 2, 'bob joined');
        assert.deepEqual(new Set(room(callId)?.participants), new Set([ids.carol.deviceId, ids.bob.deviceId]));
        assert.deepEqual(await revokeDevices(t.server.ctx, ids.bob.accountId, [ids.bob.deviceId], 'admin'), [
          ids.bob.deviceId,
        ]);
        // Already out when the revocation returns, not only once the socket has finished closing.
        assert.deepEqual(room(callId)?.participants, [ids.carol.deviceId]);
        assert.equal(await b.signal.closed, 4003);
        await a.signal.waitEvent('call-participants', (x) => (x.participants as unknown[]).length === 1, 'bob left');
        assert.equal((await a.signal.request('callLeave', { callId })).status, 200);
        assert.equal(room(callId), undefined);
      },
    );

    it('ends running calls with call-ended when the server shuts down', { timeout: 30_000 }, async () => {
      const callId = newCallId();
      const c = await participant('carol');
      await c.join(group, callId);
      closed = true;
      await t.close();
      const ended = await c.signal.waitEvent('call-ended', (x) => x.callId === callId);
      assert.deepEqual(ended, { callId, conversationId: group, reason: 'closed' });
      assert.equal(await c.signal.closed, 1012);
    });
  });
}

describe('calls turned off', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer('sqlite', { sfu: false });
  });
  after(async () => t?.close());

  it('answers calls_disabled and an empty ICE server list when nothing is configured', async () => {
    const alice = await newClient(t.url);
    const token = deviceToken(alice);
    await alice.close();
    const res = await fetch(`${t.url}/v1/calls/ice-servers`, { headers: { authorization: `Bearer ${token}` } });
    assert.deepEqual(await res.json(), { iceServers: [], ttlSeconds: 3600 });
    const s = await Signal.open(t.url, token);
    assertError(
      await s.request('callJoin', { conversationId: newConversationId(), callId: newCallId() }),
      'calls_disabled',
      'join',
    );
    assertError(await s.request('callLeave', { callId: newCallId() }), 'calls_disabled', 'leave');
    s.close();
  });
});
