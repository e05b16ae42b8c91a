/**
 * Blocking and reporting (C15) through the SDK against a real server on SQLite and PostgreSQL: a
 * blocked account's direct messages, typing and call signalling are accepted from it but never
 * reach the blocker; it cannot start a new direct chat with the blocker; unblocking restores
 * delivery; in groups the blocker's device keeps a blocked member's messages collapsed and the
 * membership is unchanged; the block list is its owner's; reports store what the reporter's device
 * included, under a daily limit; revoked devices and strangers are refused. With two servers on
 * PostgreSQL and Redis, a block made through one is honoured at once by sends through the other
 * (block lists are cached only when a process is alone).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ParleyError, SAFETY_LIMITS } from '@parley/protocol';
import { randomBytes } from 'node:crypto';
import {
  availableDrivers,
  deleteKeys,
  newClient,
  redisProblem,
  REDIS_URL,
  startServer,
  testPrefix,
  until,
  type TestServer,
} from '@parley/testkit';
import { deviceToken } from '@parley/sdk/testing';
import type { ParleyClient } from '@parley/sdk';

const drivers = await availableDrivers();
const redisSkip = await redisProblem();

/** Every message text and typing event a client receives in a conversation, in order. */
function inbox(c: ParleyClient, conv: () => string) {
  const got: string[] = [];
  c.on('message', (m) => {
    if (m.conversationId === conv() && !m.outgoing) got.push(m.fromBlocked ? `hidden:${m.text}` : m.text);
  });
  c.on('typing', (e) => {
    if (e.conversationId === conv()) got.push(`typing:${e.typing}`);
  });
  return got;
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ParleyError, String(e));
    return e.code;
  }
  assert.fail('expected a refusal');
}

for (const { driver, skip } of drivers) {
  describe(`blocking and reporting [${driver}]`, { skip }, () => {
    let t: TestServer;
    const clients: ParleyClient[] = [];
    const make = async () => {
      const c = await newClient(t.url);
      clients.push(c);
      return c;
    };
    const http = (token: string | null, method: string, path: string, body?: unknown) =>
      fetch(t.url + path, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    before(async () => {
      t = await startServer(driver);
    });
    after(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await t?.close();
    });

    it('a blocked account is accepted but never delivered in a direct chat, until unblocked', async () => {
      const alice = await make();
      const bob = await make();
      const bobId = await alice.lookupPhone(bob.phone);
      let conv = '';
      const got = inbox(bob, () => conv);
      conv = await alice.startDirect(bobId);
      await alice.sendText(conv, 'before');
      await until(() => got.includes('before'));

      await bob.block(alice.self.accountId);
      assert.equal(bob.isBlocked(alice.self.accountId), true);
      // Accepted: the sender sees its message sent (single tick) and learns nothing more.
      await alice.sendText(conv, 'while blocked');
      await alice.setTyping(conv, true);
      const sent = (await alice.messages(conv)).find((m) => m.text === 'while blocked');
      assert.equal(sent?.status, 'sent');

      await bob.unblock(alice.self.accountId);
      assert.equal(bob.isBlocked(alice.self.accountId), false);
      await alice.sendText(conv, 'after');
      await until(() => got.includes('after'));
      // Queues deliver in order: had anything sent while blocked been routed, it would be here first.
      assert.deepEqual(got, ['before', 'after']);
      assert.equal((await alice.messages(conv)).find((m) => m.text === 'while blocked')?.status, 'sent');
    });

    it('the server queues nothing for the blocker from a blocked account (and keeps routing the rest)', async () => {
      const alice = await make();
      const bob = await newClient(t.url, undefined, { connect: false });
      clients.push(bob);
      const conv = await alice.startDirect(await alice.lookupPhone(bob.phone));
      const bobDevice = bob.self.deviceId;
      const queued = async () =>
        (await t.server.ctx.storage.conversations.pendingDeliveries(bobDevice, 0, 100)).filter(
          (d) => d.message.kind === 'application',
        ).length;
      // The first message also shares Alice's profile key: count from after it.
      await alice.sendText(conv, 'first');
      const start = await queued();
      await alice.sendText(conv, 'one');
      assert.equal(await queued(), start + 1);
      await bob.block(alice.self.accountId);
      await alice.sendText(conv, 'two');
      await alice.setTyping(conv, true);
      assert.equal(await queued(), start + 1, 'nothing new is queued while blocked');
      await bob.unblock(alice.self.accountId);
      await alice.sendText(conv, 'three');
      assert.equal(await queued(), start + 2);
    });

    it('a blocked account cannot start a new direct chat with the blocker; the blocker still can', async () => {
      const alice = await make();
      const bob = await make();
      await bob.block(alice.self.accountId);
      const bobId = await alice.lookupPhone(bob.phone);
      assert.equal(await refusal(alice.startDirect(bobId)), 'recipient_unavailable');
      assert.equal(alice.conversations().filter((c) => c.active).length, 0, 'no half-made chat stays');
      await bob.unblock(alice.self.accountId);
      const conv = await alice.startDirect(bobId);
      await alice.sendText(conv, 'now we talk');
      await until(async () => (await bob.messages(conv)).find((m) => m.text === 'now we talk'));
    });

    it('in a group a blocked member stays a member; the blocker keeps its messages collapsed, others read them', async () => {
      const alice = await make();
      const bob = await make();
      const carol = await make();
      let conv = '';
      const bobGot = inbox(bob, () => conv);
      const carolGot = inbox(carol, () => conv);
      conv = await alice.createGroup('club', [
        await alice.lookupPhone(bob.phone),
        await alice.lookupPhone(carol.phone),
      ]);
      await bob.block(alice.self.accountId);
      await alice.sendText(conv, 'from alice');
      await carol.sendText(conv, 'from carol');
      await until(() => bobGot.includes('from carol') && carolGot.includes('from alice'));
      assert.deepEqual(bobGot, ['hidden:from alice', 'from carol']);
      const members = (await bob.api.getConversation(conv)).members.map((m) => m.accountId);
      assert.ok(members.includes(alice.self.accountId), 'membership is unchanged');
      assert.equal(bob.conversations().find((c) => c.id === conv)?.unread, 1, 'hidden messages are not unread');
    });

    it('the block list is its owner’s: listed newest first, for its devices only; bad targets are refused', async () => {
      const alice = await make();
      const bob = await make();
      const carol = await make();
      await bob.block(alice.self.accountId);
      await bob.block(carol.self.accountId);
      await bob.block(carol.self.accountId);
      const list = await bob.blockedAccounts();
      assert.deepEqual(
        new Set(list.map((b) => b.accountId)),
        new Set([alice.self.accountId, carol.self.accountId]),
        'listed once each',
      );
      assert.deepEqual(await alice.blockedAccounts(), [], "another account's list is empty: each reads its own");
      // There is no route to read someone else's list.
      const other = await http(deviceToken(alice), 'GET', `/v1/accounts/${bob.self.accountId}/blocked`);
      assert.equal(other.status, 404);
      assert.equal((await http(null, 'GET', '/v1/accounts/me/blocked')).status, 401);
      assert.equal(await refusal(bob.block(bob.self.accountId)), 'cannot_block_self');
      assert.equal(await refusal(bob.block('a_AAAAAAAAAAAAAAAAAAAAAA')), 'account_not_found');
      const bad = await http(deviceToken(bob), 'PUT', '/v1/accounts/me/blocked/not-an-id');
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'bad_request');
    });

    it('a revoked device can neither read nor change the block list, nor report', async () => {
      const bob = await make();
      const alice = await make();
      await bob.block(alice.self.accountId);
      const oldToken = deviceToken(bob);
      // Registering the number again revokes every earlier device of the account.
      const again = await newClient(t.url, bob.phone);
      clients.push(again);
      for (const [method, path, body] of [
        ['GET', '/v1/accounts/me/blocked', undefined],
        ['DELETE', `/v1/accounts/me/blocked/${alice.self.accountId}`, undefined],
        ['POST', '/v1/reports', { accountId: alice.self.accountId }],
      ] as const) {
        const r = await http(oldToken, method, path, body);
        assert.equal(r.status, 401, `${method} ${path}`);
      }
      assert.deepEqual(
        (await again.blockedAccounts()).map((b) => b.accountId),
        [alice.self.accountId],
        'the list stays with the account',
      );
    });

    it('a report stores the messages the reporter included, can block in the same step, and is limited per day', async () => {
      const spammer = await make();
      const bob = await make();
      const stranger = await make();
      const conv = await spammer.startDirect(await spammer.lookupPhone(bob.phone));
      for (let i = 1; i <= 7; i++) await spammer.sendText(conv, `buy now ${i}`);
      await until(async () => (await bob.messages(conv)).some((m) => m.text === 'buy now 7'));
      await bob.sendText(conv, 'stop it');
      const r = await bob.report({
        accountId: spammer.self.accountId,
        conversationId: conv,
        reason: 'spam',
        block: true,
      });
      assert.equal(r.blocked, true);
      assert.equal(bob.isBlocked(spammer.self.accountId), true);
      const stored = await t.server.ctx.storage.safety.getReport(r.reportId);
      assert.equal(stored?.reporterAccount, bob.self.accountId);
      assert.equal(stored?.reportedAccount, spammer.self.accountId);
      assert.equal(stored?.conversationId, conv);
      assert.deepEqual(
        stored?.messages.map((m) => m.text),
        ['buy now 3', 'buy now 4', 'buy now 5', 'buy now 6', 'buy now 7'],
        "the last five messages from others, never the reporter's own",
      );

      // A conversation the reporter is not in is refused; so is reporting oneself.
      assert.equal(
        await refusal(stranger.report({ accountId: spammer.self.accountId, conversationId: conv })),
        'conversation_not_found',
      );
      assert.equal(await refusal(stranger.report({ accountId: stranger.self.accountId })), 'cannot_block_self');
      const tooMany = await http(deviceToken(stranger), 'POST', '/v1/reports', {
        accountId: spammer.self.accountId,
        messages: Array.from({ length: SAFETY_LIMITS.reportMessages + 1 }, () => ({
          messageId: 'm_AAAAAAAAAAAAAAAAAAAAAA',
          sender: spammer.self.accountId,
          sentAt: 1,
          text: 'x',
        })),
      });
      assert.equal(tooMany.status, 400);

      // The daily limit counts every attempt, refused ones included.
      let code = '';
      for (let i = 0; i < SAFETY_LIMITS.reportsPerDay + 1 && !code; i++)
        code = await refusal(stranger.report({ accountId: spammer.self.accountId })).catch(() => '');
      assert.equal(code, 'rate_limited');
    });
  });
}

const pgSkip = drivers.find((d) => d.driver === 'postgres')!.skip;
describe(
  'blocking across two servers on PostgreSQL + Redis',
  { skip: pgSkip || (redisSkip ? `Redis not reachable: ${redisSkip}` : false) },
  () => {
    let a: TestServer;
    let b: TestServer;
    const prefix = testPrefix();
    const clients: ParleyClient[] = [];
    before(async () => {
      const secretKey = randomBytes(32).toString('base64');
      a = await startServer('postgres', { redisUrl: REDIS_URL, redisPrefix: prefix, secretKey });
      b = await startServer('sqlite', {
        databaseUrl: a.databaseUrl!,
        redisUrl: REDIS_URL,
        redisPrefix: prefix,
        secretKey,
      });
    });
    after(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await b?.close();
      await a?.close();
      await deleteKeys(prefix);
    });

    it('a block made through one server stops sends through the other at once, and unblocking restores them', async () => {
      const alice = await newClient(a.url);
      // Bob's device stays offline: what the servers queue for it is read from the shared database.
      const bob = await newClient(b.url, undefined, { connect: false });
      clients.push(alice, bob);
      const conv = await alice.startDirect(await alice.lookupPhone(bob.phone));
      await alice.sendText(conv, 'first');
      const queued = async () =>
        (await a.server.ctx.storage.conversations.pendingDeliveries(bob.self.deviceId, 0, 100)).filter(
          (d) => d.message.kind === 'application',
        ).length;
      const start = await queued();
      await bob.block(alice.self.accountId);
      await alice.sendText(conv, 'blocked across');
      assert.equal(await queued(), start, 'nothing queued through the other server');
      await bob.unblock(alice.self.accountId);
      await alice.sendText(conv, 'unblocked across');
      assert.equal(await queued(), start + 1);
      await bob.block(alice.self.accountId);
      await alice.sendText(conv, 'blocked again');
      assert.equal(await queued(), start + 1, 'no stale copy of the list on either server');
    });
  },
);
