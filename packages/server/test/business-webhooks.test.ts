/**
 * Durable webhook delivery (C10, docs/business.md "Webhooks"), on SQLite and PostgreSQL: while the
 * business's receiver is down (it never answers, then it fails), sends still answer and the user
 * still gets every message; the server restarts with events still queued (its hosted device
 * reopens from its sealed state); when the receiver recovers every event arrives exactly once, in
 * the order it happened in its conversation, each signed (checked with node:crypto's HMAC), and the
 * operator's delivery log shows the failed attempts before each delivery.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { businessSendResponse } from '@parley/protocol';
import type { ParleyClient, WebSocketCtor } from '@parley/sdk';
import { BusinessDeviceHost } from '@parley/sdk/node';
import { availableDrivers, newClient, newPhone, startServer, until, type TestServer } from '@parley/testkit';
import { buildServer, type ParleyServer } from '../src/index.ts';
import { BusinessAccounts } from '../src/business/service.ts';
import { hosted } from '../src/business/runtime.ts';
import { signatureValid, startReceiver, type Receiver } from './webhook-receiver.ts';

const drivers = await availableDrivers();
const host = () => new BusinessDeviceHost({ WebSocket: WebSocket as unknown as WebSocketCtor, keyPackageTarget: 12 });

/** What each accepted POST was about: its kind and the message id it names. */
function summary(r: Receiver): string[] {
  return r.posts.map((p) => {
    const v = (p.json.entry as { changes: { value: Record<string, unknown> }[] }[])[0]!.changes[0]!.value;
    const m = (v.messages as { id: string; text?: { body: string } }[] | undefined)?.[0];
    if (m) return `message:${m.text?.body ?? m.id}`;
    const s = (v.statuses as { id: string; status: string }[])[0]!;
    return `status:${s.status}:${s.id}`;
  });
}

for (const { driver, skip } of drivers) {
  describe(`business webhooks through an outage and a restart on ${driver}`, { skip }, () => {
    let t: TestServer;
    let restarted: ParleyServer | null = null;
    let rx: Receiver;
    let user: ParleyClient & { phone: string };

    before(async () => {
      rx = await startReceiver();
      t = await startServer(driver, { businessWebhookRetryMs: 200 }, { businessDevices: host() });
    });
    after(async () => {
      await user?.close();
      await restarted?.close();
      await t?.close();
      await rx?.close();
    });

    it('delivers every event once, in order per conversation, after the receiver recovers', async () => {
      const ctx = t.server.ctx;
      const accounts = new BusinessAccounts(ctx.storage, ctx.secrets, ctx.now);
      const biz = await accounts.create({
        name: 'Lucky Shrub',
        phone: newPhone(),
        webhookUrl: rx.url,
        verifyToken: rx.verifyToken,
      });
      user = await newClient(t.url);
      const send = async (url: string, body: string) => {
        const res = await fetch(`${url}/v21.0/${biz.phoneNumberId}/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${biz.accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ messaging_product: 'whatsapp', to: user.phone, type: 'text', text: { body } }),
        });
        assert.equal(res.status, 200);
        return businessSendResponse.parse(await res.json()).messages[0]!.id;
      };

      // Down: the receiver takes POSTs and never answers. Sending goes on regardless.
      rx.status = 0;
      // The customer-service window (docs/business.md "Rules and limits"): the user writes first.
      const number = (await ctx.storage.business.getNumber(biz.phoneNumberId))!;
      await ctx.business.devices!.ensure(hosted(number));
      await user.sendText(await user.startDirect(await user.lookupPhone(biz.phone)), 'Hi');
      await until(() => ctx.business.rules.windowOpen(number, user!.self!.accountId), 20_000, 'the window is open');
      const first = await send(t.url, 'Order 1 confirmed');
      const second = await send(t.url, 'Order 1 shipped');
      const conv = first.split('.')[1]!;
      await until(async () => (await user.history.messages(conv)).length >= 2, 15_000, 'the user has both');
      await user.sendText(conv, 'Thanks!');
      await user.sendText(conv, 'When will it arrive?');
      // Then failing outright: attempts are made and recorded as failures.
      rx.status = 503;
      await until(
        async () =>
          (await accounts.webhookLog(biz.businessId)).some(
            (e) => (e as { lastStatus: number | null }).lastStatus === 503,
          ),
        30_000,
        'a failed attempt in the log',
      );
      assert.equal(rx.posts.length, 0);

      // Restart with events still queued; the hosted device comes back from its sealed state.
      const config = ctx.config;
      const port = Number(new URL(t.url).port);
      await t.server.close();
      restarted = await buildServer(config, { businessDevices: host() });
      const url = await restarted.listen(port);
      const third = await send(url, 'Order 2 confirmed');
      await until(
        async () => (await user.history.messages(conv)).some((m) => m.text === 'Order 2 confirmed'),
        20_000,
        'after restart',
      );

      rx.status = 200;
      const log = () =>
        new BusinessAccounts(restarted!.ctx.storage, restarted!.ctx.secrets, restarted!.ctx.now).webhookLog(
          biz.businessId,
          1000,
        );
      await until(
        async () => (await log()).every((e) => (e as { state: string }).state === 'delivered') && rx.posts.length > 0,
        60_000,
        'every event delivered',
      );
      await new Promise((r) => setTimeout(r, 500));
      const entries = (await log()) as { state: string; attempts: number }[];
      // Exactly once: as many POSTs accepted as events queued, none repeated.
      assert.equal(rx.posts.length, entries.length);
      assert.equal(new Set(rx.posts.map((p) => p.raw.toString('hex'))).size, rx.posts.length);
      assert.ok(
        entries.some((e) => e.attempts > 1),
        'some were retried',
      );
      for (const p of rx.posts) assert.ok(signatureValid(biz.appSecret, p.raw, p.signature));
      // In order: the conversation's events arrive as they happened.
      const got = summary(rx).filter((s) => !s.startsWith('status:delivered') && !s.startsWith('status:read'));
      const idx = (s: string) => got.indexOf(s);
      for (const s of [
        `status:sent:${first}`,
        `status:sent:${second}`,
        'message:Thanks!',
        'message:When will it arrive?',
        `status:sent:${third}`,
      ])
        assert.ok(idx(s) >= 0, `${s} delivered`);
      assert.ok(idx(`status:sent:${first}`) < idx(`status:sent:${second}`));
      assert.ok(idx(`status:sent:${second}`) < idx('message:Thanks!'));
      assert.ok(idx('message:Thanks!') < idx('message:When will it arrive?'));
      assert.ok(idx('message:When will it arrive?') < idx(`status:sent:${third}`));
    });
  });
}
