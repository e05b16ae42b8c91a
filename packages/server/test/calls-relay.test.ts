/**
 * TURN relay for calls (C6): a real coturn on loopback, configured with the shared secret the
 * server mints credentials from, relays a participant that allows relay candidates only, using
 * exactly the ICE servers the `iceServers` op handed out. Media from another participant reaches
 * it through the SFU and the relay. On both storage drivers: the group, its members and the call's
 * admission come from storage.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import timersPromises from 'node:timers/promises';
import WebSocket from 'ws';
import { RTCPeerConnection } from 'werift';
import { callOfferSchema, iceServersResponse, type CallOffer } from '@parley/protocol';
import { SfuTestClient } from '@parley/sfu/testing';
import type { ParleyClient } from '@parley/sdk';
import {
  availableDrivers,
  newClient,
  startServer,
  until,
  startTurnServer,
  turnUnavailable,
  type TestServer,
  type TurnServer,
} from '@parley/testkit';
import { deviceToken } from '@parley/sdk/testing';

const SECRET = randomBytes(24).toString('hex');
const drivers = await availableDrivers();

// werift's TURN client refreshes its allocation in a loop that sleeps 5/6 of the lifetime (500 s)
// on a referenced timer that closing the peer connection does not clear, so this file's process
// would outlive its tests by minutes. Long sleeps (only that loop takes them) are unreferenced here.
const sleep = timersPromises.setTimeout;
timersPromises.setTimeout = ((ms?: number, value?: unknown, options?: { ref?: boolean; signal?: AbortSignal }) =>
  sleep(ms, value, (ms ?? 0) >= 60_000 ? { ...options, ref: false } : options)) as typeof sleep;
syncBuiltinESMExports();

/** A minimal signalling socket: requests by id; `call-offer` events go to `onOffer`. */
async function signal(url: string, token: string, onOffer: (o: CallOffer) => void) {
  const ws = new WebSocket(url.replace('http', 'ws') + '/v1/ws');
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('error', j);
  });
  let next = 1;
  const waiting = new Map<number, (a: { status: number; body: unknown }) => void>();
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const f = JSON.parse(data.toString()) as { id?: number; status?: number; body: unknown; event?: string };
    if (f.event === 'call-offer') onOffer(callOfferSchema.parse(f.body));
    else if (f.id !== undefined) waiting.get(f.id)?.({ status: f.status!, body: f.body });
  });
  const request = (op: string, body: unknown) =>
    new Promise<{ status: number; body: unknown }>((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      ws.send(JSON.stringify({ id, op, body }));
    });
  assert.equal((await request('hello', { token, protocol: 1 })).status, 200);
  return { ws, request };
}

for (const { driver, skip } of drivers)
  describe(`calls through a TURN relay (coturn) on ${driver}`, { skip: skip || turnUnavailable() }, () => {
    let t: TestServer;
    let turn: TurnServer | undefined;
    let dir: string;
    const closers: (() => unknown)[] = [];

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'parley-turn-'));
      const relayLow = 40000 + Math.floor(Math.random() * 20000);
      // No system config file (-n), and --verbose for the allocation lines checked at the end.
      turn = await startTurnServer({
        dir,
        secret: SECRET,
        args: ['-n', '--no-stdout-log', '--verbose', `--min-port=${relayLow}`, `--max-port=${relayLow + 200}`],
      });
      t = await startServer(driver, { turnUrls: [turn.url], turnSecret: SECRET });
    });
    after(async () => {
      for (const c of closers.reverse()) await c();
      await turn?.stop();
      await t?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('relays a relay-only participant with the credentials from iceServers', { timeout: 60_000 }, async () => {
      const alice = await newClient(t.url);
      const bob = await newClient(t.url);
      const group = await alice.createGroup('Relay', [bob.self.accountId]);
      const ids = {
        alice: { token: deviceToken(alice), deviceId: alice.self.deviceId },
        bob: { token: deviceToken(bob), deviceId: bob.self.deviceId },
      };
      await alice.close();
      await bob.close();
      const callId = `relay_${randomBytes(8).toString('hex')}`;

      // Alice: an ordinary participant (host candidates), sending audio.
      const a = new SfuTestClient(ids.alice.deviceId);
      closers.push(() => a.close());
      const sa = await signal(
        t.url,
        ids.alice.token,
        (o) => void a.answer({ type: 'offer', ...o }).then((ans) => sa.request('callAnswer', { callId, ...ans })),
      );
      closers.push(() => sa.ws.close());

      // Bob: relay candidates only, with the ICE servers the server handed out.
      const received = new Map<string, number>();
      const listening = new Set<string>();
      const answers: string[] = [];
      const sb = await signal(
        t.url,
        ids.bob.token,
        (o) => void answerAsBob(o).then((sdp) => sb.request('callAnswer', { callId, sdp, revision: o.revision })),
      );
      closers.push(() => sb.ws.close());
      const ice = iceServersResponse.parse((await sb.request('iceServers', {})).body);
      assert.equal(ice.iceServers.length, 1);
      assert.ok(ice.iceServers[0]!.username?.endsWith(`:${ids.bob.deviceId}`));
      const pc = new RTCPeerConnection({
        iceServers: ice.iceServers,
        iceTransportPolicy: 'relay',
        bundlePolicy: 'max-bundle',
        iceUseIpv6: false,
      });
      closers.push(() => pc.close());
      async function answerAsBob(offer: CallOffer): Promise<string> {
        // As in the test client: never let werift recycle an inactive transceiver for another kind.
        for (const tr of pc.getTransceivers()) tr.usedForSender = true;
        await pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
        for (const track of offer.tracks) {
          const tr = pc.getTransceivers().find((x) => x.mid === track.mid)!;
          if (track.role === 'publish') {
            tr.setDirection('inactive'); // Bob only listens
            continue;
          }
          const remote = tr.receiver.tracks[0];
          if (!remote || listening.has(track.mid)) continue;
          listening.add(track.mid);
          remote.onReceiveRtp.subscribe(() =>
            received.set(track.participantId, (received.get(track.participantId) ?? 0) + 1),
          );
        }
        await pc.setLocalDescription(await pc.createAnswer());
        const sdp = pc.localDescription!.sdp;
        answers.push(sdp);
        return sdp;
      }

      const joinA = await sa.request('callJoin', { conversationId: group, callId });
      assert.equal(joinA.status, 200, JSON.stringify(joinA.body));
      const offerA = callOfferSchema.parse(joinA.body);
      const ansA = await a.answer({ type: 'offer', ...offerA });
      assert.equal((await sa.request('callAnswer', { callId, ...ansA })).status, 200);
      await a.waitConnected(15_000);

      const joinB = await sb.request('callJoin', { conversationId: group, callId, audio: false });
      assert.equal(joinB.status, 200, JSON.stringify(joinB.body));
      const offerB = callOfferSchema.parse(joinB.body);
      const first = await sb.request('callAnswer', {
        callId,
        sdp: await answerAsBob(offerB),
        revision: offerB.revision,
      });
      assert.equal(first.status, 200, JSON.stringify(first.body));

      // Bob offers the SFU nothing but relayed addresses on coturn.
      const candidates = answers[0]!.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:'));
      assert.ok(candidates.length > 0, 'bob gathered candidates');
      for (const c of candidates) assert.match(c, /typ relay/, c);
      await until(() => pc.connectionState === 'connected', 20_000, 'bob connected through the relay');

      const stop = a.startAudio({ level: () => 20 });
      try {
        await until(() => (received.get(ids.alice.deviceId) ?? 0) >= 20, 20_000, 'bob hears alice through the relay');
      } finally {
        stop();
      }
      // coturn accepted the minted username (expiry:deviceId) for Bob's allocation. (Its first
      // Allocate is answered 401 with a nonce, as TURN's long-term credentials always start.)
      const log = turn!.logs();
      const username = ice.iceServers[0]!.username!;
      assert.ok(
        log.includes(`user <${username}>: incoming packet ALLOCATE processed, success`),
        "coturn allocated for bob's minted credentials",
      );
      assert.ok(
        log.includes(`user <${username}>: incoming packet CHANNEL_BIND processed, success`),
        'coturn relays to the SFU',
      );
    });
  });
