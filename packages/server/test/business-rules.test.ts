/**
 * The Business API's rules (C10, docs/business.md "Rules and limits"), on SQLite and PostgreSQL,
 * with the hosted business device and a real SDK user:
 * - the 24-hour customer-service window on a simulated clock: free-form sends are refused (131047,
 *   nothing sent) until the user writes, allowed for 24 hours after, refused again after that, and
 *   the user's next message reopens it; templates skip the window;
 * - the marketing opt-out said inside the chat: the business's webhook gets `user_preferences`, the
 *   number's MARKETING templates are refused (131050) while UTILITY ones are not, and a resume lifts it;
 * - the pair rate limit over HTTP (131056 with Retry-After);
 * - throughput (130429), pair and daily-user tiers (131048) decision by decision on a fake clock, with
 *   the in-process limiter and with the Redis limiter;
 * - two servers on PostgreSQL + Redis spending one budget.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { businessErrorBodySchema, businessSendResponse } from '@parley/protocol';
import type { ParleyClient, WebSocketCtor } from '@parley/sdk';
import { BusinessDeviceHost } from '@parley/sdk/node';
import {
  availableDrivers,
  deleteKeys,
  newClient,
  newPhone,
  redisProblem,
  REDIS_URL,
  startServer,
  testPrefix,
  until,
  type TestServer,
} from '@parley/testkit';
import { BusinessAccounts } from '../src/business/service.ts';
import { BusinessApiError } from '../src/business/errors.ts';
import { BusinessRules, CUSTOMER_SERVICE_WINDOW_MS, PAIR_REFILL_MS, TIER_PERIOD_MS } from '../src/business/rules.ts';
import { hosted } from '../src/business/runtime.ts';
import { createMemoryRateLimiter, createRedisRateLimiter, type RateLimiter } from '../src/limits/index.ts';
import type { BusinessNumberRow } from '../src/storage/business.ts';
import { startReceiver, values, type Receiver } from './webhook-receiver.ts';

const drivers = await availableDrivers();
const redisSkip = await redisProblem();
const host = () => new BusinessDeviceHost({ WebSocket: WebSocket as unknown as WebSocketCtor, keyPackageTarget: 12 });
const V = '/v21.0';

type Biz = Awaited<ReturnType<BusinessAccounts['create']>>;

/** POST a message body to a number's messages route. */
async function post(url: string, biz: Biz, body: Record<string, unknown>) {
  const res = await fetch(`${url}${V}/${biz.phoneNumberId}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${biz.accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messaging_product: 'whatsapp', ...body }),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as unknown };
}

const codeOf = (body: unknown) => businessErrorBodySchema.strict().parse(body).error.code;

/** The user opens a chat with the business and writes; resolves once the number's device has heard it. */
async function userWrites(t: TestServer, biz: Biz, user: ParleyClient, text: string): Promise<string> {
  const number = (await t.server.ctx.storage.business.getNumber(biz.phoneNumberId))!;
  await t.server.ctx.business.devices!.ensure(hosted(number));
  const conv = await user.startDirect(await user.lookupPhone(biz.phone));
  const before = await t.server.ctx.storage.businessRules.lastUserMessage(biz.phoneNumberId, user.self!.accountId);
  await user.sendText(conv, text);
  await until(
    async () => {
      const at = await t.server.ctx.storage.businessRules.lastUserMessage(biz.phoneNumberId, user.self!.accountId);
      return at !== null && at !== before;
    },
    20_000,
    'the business device heard the user',
  );
  return conv;
}

for (const { driver, skip } of drivers) {
  describe(`business rules on ${driver}`, { skip }, () => {
    let t: TestServer;
    let rx: Receiver;
    let biz: Biz;
    let user: ParleyClient & { phone: string };
    let skew = 0;

    before(async () => {
      rx = await startReceiver();
      t = await startServer(
        driver,
        { businessWebhookRetryMs: 100, businessPairBurst: 3 },
        { businessDevices: host(), now: () => Date.now() + skew },
      );
      const ctx = t.server.ctx;
      biz = await new BusinessAccounts(ctx.storage, ctx.secrets, ctx.now).create({
        name: 'Lucky Shrub',
        phone: newPhone(),
        webhookUrl: rx.url,
        verifyToken: rx.verifyToken,
      });
      user = await newClient(t.url);
    });
    after(async () => {
      await user?.close();
      await t?.close();
      await rx?.close();
    });

    it('keeps the 24-hour customer-service window on a simulated clock', { timeout: 120_000 }, async () => {
      const text = { to: user.phone.slice(1), type: 'text', text: { body: 'Hello from Lucky Shrub' } };
      // Never written: refused with the Cloud API's body, nothing reaches the user.
      const closed = await post(t.url, biz, text);
      assert.equal(closed.status, 400);
      assert.equal(codeOf(closed.body), 131047);
      const media = await post(t.url, biz, {
        to: user.phone.slice(1),
        type: 'image',
        image: { link: 'https://shrub.test/fern.jpg' },
      });
      assert.equal(codeOf(media.body), 131047, 'media is free-form too');
      // A number with no Parley account has no window either.
      assert.equal(codeOf((await post(t.url, biz, { ...text, to: '14155559999' })).body), 131047);
      assert.equal(user.conversations().length, 0, 'nothing was sent');

      const conv = await userWrites(t, biz, user, 'Is the fern in stock?');
      const open = await post(t.url, biz, text);
      assert.equal(open.status, 200, JSON.stringify(open.body));
      const wamid = businessSendResponse.parse(open.body).messages[0]!.id;
      await until(() => user.history.message(conv, wamid.split('.')[2]!), 15_000, 'the user got it');

      // 23 hours later the window is still open; a minute past 24 hours it is closed.
      skew += 23 * 3_600_000;
      assert.equal((await post(t.url, biz, text)).status, 200);
      skew += CUSTOMER_SERVICE_WINDOW_MS - 23 * 3_600_000 + 60_000;
      const late = await post(t.url, biz, text);
      assert.equal(late.status, 400);
      assert.equal(codeOf(late.body), 131047);
      // A reaction from the user opens nothing; their next message reopens the window.
      const msgs = await user.history.messages(conv);
      await user.react(conv, msgs.find((m) => !m.outgoing)!.id, '👍');
      // The webhook hears of it only after the rules have seen it.
      await until(
        () => values(rx).some((v) => JSON.stringify(v.messages ?? []).includes('"reaction"')),
        15_000,
        'the reaction reached the webhook',
      );
      assert.equal(codeOf((await post(t.url, biz, text)).body), 131047);
      await userWrites(t, biz, user, 'Back again');
      assert.equal((await post(t.url, biz, text)).status, 200);
    });

    it('refuses a burst to one user beyond the pair limit (131056) with Retry-After', async () => {
      const text = { to: user.phone.slice(1), type: 'text', text: { body: 'one more' } };
      // The pair budget (burst 3 here) was partly spent above; spend what is left, then one more.
      await t.server.ctx.limiter.reset(`business-pair:${biz.phoneNumberId}:${user.phone.slice(1)}`);
      for (let i = 0; i < 3; i++) assert.equal((await post(t.url, biz, text)).status, 200);
      const over = await post(t.url, biz, text);
      assert.equal(over.status, 429);
      assert.equal(codeOf(over.body), 131056);
      assert.ok(Number(over.retryAfter) >= 1);
    });

    it('takes the marketing opt-out from the chat, tells the webhook and refuses MARKETING templates', async () => {
      const ctx = t.server.ctx;
      const number = (await ctx.storage.business.getNumber(biz.phoneNumberId))!;
      const to = { accountId: user.self!.accountId, waId: user.phone.slice(1) };
      const rules = new BusinessRules(ctx.storage, createMemoryRateLimiter(), ctx.business.webhooks, ctx.now, {
        throughputPerSecond: 80,
        pairBurst: 45,
        dailyUsers: 250,
      });
      await rules.admit(number, to, { template: true, category: 'MARKETING' });
      const conv = user.conversations().find((c) => c.kind === 'direct')!.id;
      const windowBefore = await ctx.storage.businessRules.lastUserMessage(number.id, to.accountId);
      await user.setBusinessMarketing(conv, 'stop');
      const prefs = () =>
        values(rx).flatMap((v) => (v.user_preferences as Record<string, unknown>[] | undefined) ?? []);
      await until(() => prefs().length === 1, 15_000, 'the user_preferences webhook');
      const [stop] = prefs();
      assert.equal(stop!.value, 'stop');
      assert.equal(stop!.category, 'marketing_messages');
      assert.equal(stop!.wa_id, to.waId);
      const post1 = rx.posts.find((p) => JSON.stringify(p.json).includes('user_preferences'))!;
      assert.equal((post1.json.entry as { changes: { field: string }[] }[])[0]!.changes[0]!.field, 'user_preferences');
      // Not a message to the business: no inbound message webhook, and the window did not move.
      assert.ok(!values(rx).some((v) => JSON.stringify(v.messages ?? []).includes('promotional')));
      assert.equal(await ctx.storage.businessRules.lastUserMessage(number.id, to.accountId), windowBefore);

      await assert.rejects(
        rules.admit(number, to, { template: true, category: 'MARKETING' }),
        (e: unknown) => e instanceof BusinessApiError && e.toBody('x').error.code === 131050,
      );
      await rules.admit(number, to, { template: true, category: 'UTILITY' });
      await user.setBusinessMarketing(conv, 'resume');
      await until(() => prefs().length === 2, 15_000, 'the resume webhook');
      assert.equal(prefs()[1]!.value, 'resume');
      await rules.admit(number, to, { template: true, category: 'MARKETING' });
    });
  });
}

/** Throughput, pair and tier decisions on a fake clock, for one limiter. */
async function limitScenario(limiter: RateLimiter, clock: { t: number }, rulesOf: (l: RateLimiter) => BusinessRules) {
  const rules = rulesOf(limiter);
  const number: BusinessNumberRow = {
    id: String(100_000_000_000_000 + Math.floor(Math.random() * 1e12)),
    businessId: '1',
    phone: newPhone(),
    verifiedName: 'Shop',
    createdAt: 0,
  };
  const code = async (p: Promise<void>) => {
    try {
      await p;
      return 0;
    } catch (e) {
      assert.ok(e instanceof BusinessApiError, String(e));
      return e.toBody('x').error.code;
    }
  };
  const tpl = { template: true as const, category: 'UTILITY' as const };
  const user = (i: number) => ({ accountId: null, waId: `1415555${String(i).padStart(4, '0')}` });
  // Throughput 3/s: three sends pass, the fourth is refused, a third of a second later one more passes.
  for (let i = 0; i < 3; i++) assert.equal(await code(rules.admit(number, user(i), tpl)), 0);
  assert.equal(await code(rules.admit(number, user(3), tpl)), 130429);
  clock.t += 334;
  assert.equal(await code(rules.admit(number, user(3), tpl)), 0);
  // Pair burst 2 to user 0 (one spent above): one more passes, then 131056 until 6 s have passed.
  clock.t += 1000;
  assert.equal(await code(rules.admit(number, user(0), tpl)), 0);
  assert.equal(await code(rules.admit(number, user(0), tpl)), 131056);
  clock.t += PAIR_REFILL_MS;
  assert.equal(await code(rules.admit(number, user(0), tpl)), 0);
  // Tier of 5 users a day: users 0–3 are counted; one more new user passes, the next is refused,
  // a user already reached today still passes.
  clock.t += 1000;
  assert.equal(await code(rules.admit(number, user(4), tpl)), 0);
  clock.t += 1000;
  assert.equal(await code(rules.admit(number, user(5), tpl)), 131048);
  assert.equal(await code(rules.admit(number, user(2), tpl)), 0);
  // A fifth of a day later one place is back, and user 5 was not counted by the refusal.
  clock.t += TIER_PERIOD_MS / 5;
  assert.equal(await code(rules.admit(number, user(5), tpl)), 0);
  assert.equal(await code(rules.admit(number, user(6), tpl)), 131048);
}

describe('business limits decision by decision', () => {
  const drv = drivers[0]!;
  let t: TestServer;
  before(async () => {
    t = await startServer(drv.driver);
  });
  after(async () => {
    await t?.close();
  });
  const rulesFor = (clock: { t: number }) => (l: RateLimiter) =>
    new BusinessRules(t.server.ctx.storage, l, t.server.ctx.business.webhooks, () => clock.t, {
      throughputPerSecond: 3,
      pairBurst: 2,
      dailyUsers: 5,
    });

  it('in process', async () => {
    const clock = { t: 1_700_000_000_000 };
    const limiter = createMemoryRateLimiter({ now: () => clock.t });
    try {
      await limitScenario(limiter, clock, rulesFor(clock));
    } finally {
      await limiter.close();
    }
  });

  it('on Redis', { skip: redisSkip ? `Redis not reachable: ${redisSkip}` : false }, async () => {
    const clock = { t: 1_700_000_000_000 };
    const prefix = testPrefix();
    const limiter = createRedisRateLimiter({ url: REDIS_URL, prefix, now: () => clock.t });
    try {
      await limitScenario(limiter, clock, rulesFor(clock));
    } finally {
      await limiter.close();
      await deleteKeys(prefix);
    }
  });
});

const pgSkip = drivers.find((d) => d.driver === 'postgres')!.skip;
describe(
  'business limits across two servers on PostgreSQL + Redis',
  { skip: pgSkip || (redisSkip ? `Redis not reachable: ${redisSkip}` : false) },
  () => {
    let a: TestServer;
    let b: TestServer;
    let user: ParleyClient & { phone: string };
    let biz: Biz;
    const prefix = testPrefix();
    before(async () => {
      const secretKey = randomBytes(32).toString('base64');
      const shared = { redisUrl: REDIS_URL, redisPrefix: prefix, secretKey };
      a = await startServer(
        'postgres',
        { ...shared, businessPairBurst: 2, businessThroughputPerSecond: 1 },
        { businessDevices: host() },
      );
      b = await startServer('sqlite', {
        ...shared,
        databaseUrl: a.databaseUrl!,
        businessPairBurst: 2,
        businessThroughputPerSecond: 1,
      });
      const ctx = a.server.ctx;
      biz = await new BusinessAccounts(ctx.storage, ctx.secrets, ctx.now).create({ name: 'Shrub', phone: newPhone() });
      user = await newClient(a.url);
    });
    after(async () => {
      await user?.close();
      await b?.close();
      await a?.close();
      await deleteKeys(prefix);
    });

    it('spends one budget: the window learnt on one server holds on the other, the limits are shared', async () => {
      await userWrites(a, biz, user, 'hello');
      const number = (await b.server.ctx.storage.business.getNumber(biz.phoneNumberId))!;
      const to = { accountId: user.self!.accountId, waId: user.phone.slice(1) };
      const free = { template: false as const };
      // The window the first server's device learnt is open on the second.
      assert.equal(await b.server.ctx.business.rules.windowOpen(number, to.accountId), true);
      // One message a second per number: the first server's send spends it for the second too.
      const sent = await post(a.url, biz, { to: to.waId, type: 'text', text: { body: 'hi' } });
      assert.equal(sent.status, 200, JSON.stringify(sent.body));
      await assert.rejects(
        b.server.ctx.business.rules.admit(number, to, free),
        (e: unknown) => e instanceof BusinessApiError && e.kind === 'throughput_exceeded',
      );
      // Pair burst 2: one spent above; once the second has a throughput token it may send one more,
      // and then the first server refuses the pair.
      await until(
        async () => {
          try {
            await b.server.ctx.business.rules.admit(number, to, free);
            return true;
          } catch (e) {
            if (e instanceof BusinessApiError && e.kind === 'throughput_exceeded') return false;
            throw e;
          }
        },
        10_000,
        'a throughput token on the second server',
      );
      const over = await post(a.url, biz, { to: to.waId, type: 'text', text: { body: 'again' } });
      assert.equal(over.status, 429);
      assert.equal(codeOf(over.body), 131056);
    });
  },
);
