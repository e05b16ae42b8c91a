/**
 * The web client's profile cache (`apps/web/src/contacts/profiles.ts`, C12) in Node, against real
 * parts: a `parley serve` process and SDK clients registered on it. The cache is given Bob's real
 * client; the only things the test adds are a spy around that client's `profileOf` (it counts and
 * calls through) and the cache's injectable clock, so that "10 minutes later" needs no 10 minutes.
 *
 * What is checked: Alice's profile shows nothing on Bob's side before she writes to him; her writing
 * makes the SDK's real `profile-key` event arrive and the cache fetches again right then, also when
 * a name is already shown (her device announces each change of her profile in the chats she shared
 * the key in); a version already fetched for (the same change arriving in another chat) costs
 * nothing; at most 4 fetches per account leave the
 * cache in any 10 minutes, and keys arriving while that budget is spent are fetched for once, when
 * the window allows; the server's own limit (PARLEY_PROFILE_FETCHES_PER_TARGET, 6 per requester
 * and target per 10 minutes) is never reached. Also: a key for a profile the page never showed
 * costs no fetch until it is shown, and keys arriving during a fetch cost one more fetch after it.
 * The browser side of the same flow is in `web-privacy.test.ts`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { isParleyError, type ClientEvents, type ParleyClient, type Profile, type WebSocketCtor } from '@parley/sdk';
import { registerTestClient, until } from '@parley/sdk/testing';
import { ProfileStore } from '@parley/web/testing';
import { DEV_OUTBOX_TOKEN, startServerProcess, type ServerProcess } from './helpers/server-process.ts';

type Client = ParleyClient & { phone: string };

/** The cache's budget: fetches per account and window. */
const BUDGET = 4;
const WINDOW_MS = 10 * 60_000;
/** The server's limit per requester and target in the same 10 minutes (set explicitly below). */
const SERVER_LIMIT = 6;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One call of `profileOf` the cache made: for whom, at what time of the cache's clock, and how the server answered. */
interface Fetch {
  accountId: string;
  at: number;
  /** `ok` once answered (a hidden profile is a `null` answer, also `ok`), else the error code. */
  outcome?: string;
}

/** A `profile-key` event the client emitted, and how many fetches the cache had made once it handled it. */
type KeyEvent = ClientEvents['profile-key'] & { fetchesThen: number };

/**
 * A `ProfileStore` on a real client, with a spy on the client's `profileOf` that records every call
 * and passes it through to the server, and a clock the test moves.
 */
function watchProfiles(client: Client) {
  const clock = { now: Date.now() };
  const fetches: Fetch[] = [];
  const keys: KeyEvent[] = [];
  const messages: ClientEvents['message'][] = [];
  /** The client's own `profileOf`, for the test's direct calls (not counted). */
  const direct = client.profileOf.bind(client);
  let hold: Promise<void> | undefined;
  client.profileOf = (accountId: string): Promise<Profile | null> => {
    const f: Fetch = { accountId, at: clock.now };
    fetches.push(f);
    const answer = direct(accountId).then(
      (p) => {
        f.outcome = 'ok';
        return p;
      },
      (err: unknown) => {
        f.outcome = isParleyError(err) ? err.code : String(err);
        throw err;
      },
    );
    // While held, the server's answer (already received) reaches the cache only on release: a slow network.
    const held = hold;
    return held ? answer.finally(() => held) : answer;
  };
  const store = new ProfileStore(client, () => clock.now);
  // Registered after the cache's own listener: by the time this runs, the cache has decided whether to fetch.
  client.on('profile-key', (e) => keys.push({ ...e, fetchesThen: fetches.length }));
  client.on('message', (m) => messages.push(m));
  return {
    clock,
    fetches,
    keys,
    messages,
    direct,
    store,
    /** Hold the answers of fetches started from now on until the returned function is called. */
    holdAnswers(): () => void {
      let release!: () => void;
      hold = new Promise<void>((r) => (release = r));
      return () => {
        hold = undefined;
        release();
      };
    },
  };
}

/** The most fetch times (cache clock) that fall into any one window of `WINDOW_MS`. */
function mostInAnyWindow(times: number[]): number {
  return Math.max(0, ...times.map((t) => times.filter((u) => u >= t && u < t + WINDOW_MS).length));
}

describe('web profile cache against a real server and SDK clients', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-web-profile-cache-'));
  let server: ServerProcess;
  const clients: Client[] = [];
  const client = async () => {
    const c = await registerTestClient(server.url, {
      outboxToken: DEV_OUTBOX_TOKEN,
      WebSocket: WebSocket as unknown as WebSocketCtor,
    });
    clients.push(c);
    return c;
  };
  /** Wait until `c` holds every one of these conversations (it got the invitations). */
  const hasChats = (c: Client, ids: string[]) =>
    until(
      () => ids.every((id) => c.conversations().some((conv) => conv.id === id)),
      20_000,
      `${ids.length} chat(s) on the recipient's side`,
    );

  before(async () => {
    server = await startServerProcess({
      PARLEY_DATA_DIR: join(tmp, 'data'),
      PARLEY_PROFILE_FETCHES_PER_TARGET: String(SERVER_LIMIT),
    });
  });

  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await server?.kill();
    rmSync(tmp, { recursive: true, force: true });
  });

  it(
    'fetches on each profile-key event within 4 per 10 minutes, a key over budget once the window allows, and never reaches the server limit',
    { timeout: 180_000 },
    async () => {
      const alice = await client();
      const bob = await client();
      const aliceId = alice.self.accountId;
      await alice.setProfile({ name: 'Alice Liddell' });
      // Five chats with Bob, in none of which Alice has written yet.
      const chats = [await alice.startDirect(bob.self.accountId)];
      for (let i = 2; i <= 5; i++) chats.push(await alice.createGroup(`Chat ${i}`, [bob.self.accountId]));
      await hasChats(bob, chats);
      const bobs = watchProfiles(bob);
      const { store, clock, fetches, keys } = bobs;
      const startedAt = Date.now();

      // Before Alice writes, Bob's cache shows nothing of her: the server hides her profile.
      assert.equal(store.get(aliceId), undefined, 'nothing known before anything asked');
      store.want(aliceId);
      assert.equal(fetches.length, 1, 'the chat on screen asks for the profile');
      await until(() => store.get(aliceId) !== undefined, 10_000, 'the first answer');
      assert.equal(store.get(aliceId), null, 'hidden: Alice has not written to Bob');
      assert.equal(fetches[0]!.outcome, 'ok');
      clock.now += 1000;
      store.want(aliceId);
      assert.equal(fetches.length, 1, 'a fresh answer comes from the cache, not the server');

      // Alice writes: the profile-key event arrives and the cache fetches right then (not minutes later).
      await alice.sendText(chats[0]!, 'Hello Bob, it is Alice');
      await until(() => store.get(aliceId)?.name === 'Alice Liddell', 10_000, "Alice's name in Bob's cache");
      assert.equal(keys.length, 1);
      assert.equal(keys[0]!.accountId, aliceId);
      assert.equal(keys[0]!.conversationId, chats[0]);
      assert.equal(keys[0]!.fetchesThen, 2, 'fetched on the event');
      assert.equal(fetches.length, 2);

      // Alice renames herself: her device announces the change in the chat she wrote in (the same
      // key with a new version), a second event, fetched again although a name shows.
      clock.now += 1000;
      await alice.setProfile({ name: 'Alice Pleasance' });
      await until(() => store.get(aliceId)?.name === 'Alice Pleasance', 10_000, "Alice's new name in Bob's cache");
      assert.equal(keys.length, 2);
      assert.equal(keys[1]!.conversationId, chats[0], 'announced where the key was shared');
      assert.equal(keys[1]!.fetchesThen, 3, 'fetched on the announcement');
      assert.equal(fetches.length, 3);

      // She writes in a second chat: the key arrives there with the version just fetched for, which
      // costs nothing.
      clock.now += 1000;
      await alice.sendText(chats[1]!, 'Now in a second chat');
      await until(() => keys.length === 3, 10_000, 'the key in the second chat');
      assert.equal(keys[2]!.conversationId, chats[1]);
      assert.equal(keys[2]!.fetchesThen, 3, 'a version already fetched for is not fetched again');

      // She changes her about: announced in both chats; the first is the fourth fetch of the window,
      // the last the budget allows, and the second (same version) costs nothing.
      clock.now += 1000;
      const answered = store.getVersion();
      await alice.setProfile({ about: 'Curiouser and curiouser' });
      await until(() => keys.length === 5 && store.getVersion() > answered, 10_000, 'the fourth answer');
      assert.deepEqual(
        keys.slice(3).map((k) => k.fetchesThen),
        [BUDGET, BUDGET],
        'the fourth fetch in 10 minutes is still within the budget, and only one',
      );
      assert.equal(store.get(aliceId)?.name, 'Alice Pleasance');

      // The budget is spent. Alice renames herself again (announced in both chats) and writes in two
      // more chats, 1.5 s (cache clock) before the oldest fetch leaves the window: no event is fetched for.
      clock.now = fetches[0]!.at + WINDOW_MS - 1500;
      await alice.setProfile({ name: 'Alice Hargreaves' });
      await until(() => keys.length === 7, 10_000, 'the rename announced in both chats');
      await alice.sendText(chats[3]!, 'A fourth chat');
      await until(() => keys.length === 8, 10_000, 'the key in the fourth chat');
      await alice.sendText(chats[4]!, 'A fifth chat');
      await until(() => keys.length === 9, 10_000, 'the key in the fifth chat');
      assert.deepEqual(
        keys.slice(5).map((k) => k.fetchesThen),
        [BUDGET, BUDGET, BUDGET, BUDGET],
        'over budget: no fetch on any event',
      );
      // Real seconds pass (the cache's retry timer fires, more than once) while its clock says the window still holds 4.
      await sleep(3500);
      assert.equal(fetches.length, BUDGET, 'nothing fetched while the window does not allow');
      assert.equal(store.get(aliceId)?.name, 'Alice Pleasance', 'the shown name stays until a fetch is allowed');

      // The oldest fetch leaves the window: the keys that waited are fetched for, once.
      clock.now += 2000;
      await until(
        () => store.get(aliceId)?.name === 'Alice Hargreaves',
        10_000,
        "Alice's latest name once the window allows",
      );
      assert.equal(fetches.length, BUDGET + 1, 'the keys over budget cost one fetch');
      assert.ok(fetches[BUDGET]!.at >= fetches[0]!.at + WINDOW_MS, 'not before the oldest fetch left the window');
      await sleep(2500);
      clock.now += 30 * 60_000;
      await sleep(2500);
      assert.equal(fetches.length, BUDGET + 1, 'and only once');
      assert.ok(fetches.every((f) => f.accountId === aliceId));
      assert.ok(
        mostInAnyWindow(fetches.map((f) => f.at)) <= BUDGET,
        `at most ${BUDGET} fetches in any 10 minutes: ${fetches.map((f) => f.at - fetches[0]!.at).join(', ')}`,
      );

      // The server's limit was never reached: it answered every fetch, and it still has room for the
      // rest of its 6 (which the test now spends directly, to see the limit is really in force).
      assert.deepEqual(
        fetches.map((f) => f.outcome),
        fetches.map(() => 'ok'),
        'no fetch of the cache was refused',
      );
      let allowed = 0;
      let refused: unknown;
      for (let i = 0; i < 2 * SERVER_LIMIT && refused === undefined; i++) {
        try {
          await bobs.direct(aliceId);
          allowed++;
        } catch (e) {
          refused = e;
        }
      }
      assert.ok(
        isParleyError(refused) && refused.isRateLimited(),
        `the server's limit is in force: ${String(refused)}`,
      );
      // The server's bucket refills one fetch per 100 s; the test is usually far quicker than that.
      const refilled = Math.floor((Date.now() - startedAt) / (WINDOW_MS / SERVER_LIMIT));
      const left = SERVER_LIMIT - fetches.length;
      assert.ok(left >= 1, 'the cache stays below the server limit');
      assert.ok(
        allowed >= left && allowed <= left + refilled,
        `the server had ${allowed} fetches left (expected ${left}, +${refilled} refilled)`,
      );
    },
  );

  it('a key for a profile the page never showed costs no fetch until it is shown', { timeout: 60_000 }, async () => {
    const carol = await client();
    const dave = await client();
    const carolId = carol.self.accountId;
    await carol.setProfile({ name: 'Carol' });
    const chat = await carol.startDirect(dave.self.accountId);
    await hasChats(dave, [chat]);
    const { store, fetches, keys, messages } = watchProfiles(dave);

    await carol.sendText(chat, 'Hi Dave');
    await until(() => messages.some((m) => m.text === 'Hi Dave'), 10_000, "Carol's message at Dave's");
    assert.equal(keys.length, 1, 'the profile-key event came');
    assert.equal(keys[0]!.accountId, carolId);
    assert.deepEqual(fetches, [], 'nothing on screen asked for Carol: neither the key nor the message fetched');
    assert.equal(store.get(carolId), undefined);

    store.want(carolId);
    assert.equal(fetches.length, 1, 'fetched when shown');
    await until(() => store.get(carolId) !== undefined, 10_000, "Carol's profile");
    assert.deepEqual(store.get(carolId), { name: 'Carol' }, 'readable with the key that came earlier');
  });

  it('keys arriving during a fetch cost one more fetch after it', { timeout: 60_000 }, async () => {
    const erin = await client();
    const frank = await client();
    const erinId = erin.self.accountId;
    await erin.setProfile({ name: 'Erin' });
    const chats = [
      await erin.startDirect(frank.self.accountId),
      await erin.createGroup('Book club', [frank.self.accountId]),
    ];
    await hasChats(frank, chats);
    const franks = watchProfiles(frank);
    const { store, fetches, keys } = franks;

    // Frank's page asks for Erin; the server answers (hidden: she has not written), but the answer is
    // slow to reach the cache, and meanwhile Erin writes in both chats.
    const release = franks.holdAnswers();
    store.want(erinId);
    assert.equal(fetches.length, 1);
    await until(() => fetches[0]!.outcome, 10_000, 'the server answered the first fetch');
    await erin.sendText(chats[0]!, 'Hello Frank');
    await erin.sendText(chats[1]!, 'Hello book club');
    await until(() => keys.length === 2, 10_000, 'two profile-key events');
    assert.deepEqual(
      keys.map((k) => k.fetchesThen),
      [1, 1],
      'one fetch at a time: none started during the first',
    );
    assert.equal(store.get(erinId), undefined, 'the first answer has not reached the cache yet');

    const answered = store.getVersion();
    release();
    await until(() => store.get(erinId)?.name === 'Erin', 10_000, "Erin's name after the second fetch");
    assert.ok(store.getVersion() >= answered + 2, 'the stale answer, then the fresh one');
    await sleep(1000);
    assert.equal(fetches.length, 2, 'the keys that came meanwhile cost one fetch');
    assert.deepEqual(
      fetches.map((f) => f.outcome),
      ['ok', 'ok'],
    );
  });
});
