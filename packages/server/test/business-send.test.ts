/**
 * Sending through the Business API and its webhooks (C10, docs/business.md), on SQLite and
 * PostgreSQL, with the hosted business device (`@parley/sdk/node` `BusinessDeviceHost`) and a real
 * SDK user: every message type reaches the user as an MLS message from the business's device
 * (text, reply, reaction, location, contacts, buttons, list, media by link); the answer is the
 * Cloud API's; the user learns the platform holds the business's keys; the user's text, button
 * reply and reaction reach the webhook, as do the sent, delivered, read and failed statuses; every
 * POST's `X-Hub-Signature-256` checks out with node:crypto's HMAC over the received bytes, which are
 * ASCII only; unknown templates and unknown media ids are refused with their documented codes; the
 * device's stored state is sealed.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { businessErrorBodySchema, businessSendResponse } from '@parley/protocol';
import type { ParleyClient, WebSocketCtor } from '@parley/sdk';
import { BusinessDeviceHost } from '@parley/sdk/node';
import { availableDrivers, newClient, newPhone, startServer, until, type TestServer } from '@parley/testkit';
import { BusinessAccounts } from '../src/business/service.ts';
import { hosted } from '../src/business/runtime.ts';
import { signatureValid, startReceiver, values, type Receiver } from './webhook-receiver.ts';

const drivers = await availableDrivers();

const host = () => new BusinessDeviceHost({ WebSocket: WebSocket as unknown as WebSocketCtor, keyPackageTarget: 12 });

for (const { driver, skip } of drivers) {
  describe(`business sending and webhooks on ${driver}`, { skip }, () => {
    let t: TestServer;
    let rx: Receiver;
    let biz: Awaited<ReturnType<BusinessAccounts['create']>>;
    let user: ParleyClient & { phone: string };
    const V = '/v21.0';

    const post = async (body: unknown, token = biz.accessToken, id = biz.phoneNumberId) => {
      const res = await fetch(`${t.url}${V}/${id}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const send = async (body: Record<string, unknown>) => {
      const a = await post({
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: user.phone.slice(1),
        ...body,
      });
      assert.equal(a.status, 200, JSON.stringify(a.body));
      const parsed = businessSendResponse.strict().parse(a.body);
      assert.deepEqual(parsed.contacts, [{ input: user.phone.slice(1), wa_id: user.phone.slice(1) }]);
      return parsed.messages[0]!.id;
    };
    /** The user's copy of the message a wamid names. */
    const atUser = (wamid: string) =>
      until(
        async () => {
          const [, conv, id] = wamid.split('.');
          return user.history.message(conv!, id!);
        },
        15_000,
        `the user has ${wamid}`,
      );

    before(async () => {
      rx = await startReceiver();
      t = await startServer(driver, { businessWebhookRetryMs: 100 }, { businessDevices: host() });
      const ctx = t.server.ctx;
      biz = await new BusinessAccounts(ctx.storage, ctx.secrets, ctx.now).create({
        name: 'Lucky Shrub',
        phone: newPhone(),
        webhookUrl: rx.url,
        verifyToken: rx.verifyToken,
      });
      user = await newClient(t.url);
      // The customer-service window (docs/business.md "Rules and limits"): the user writes first.
      const number = (await ctx.storage.business.getNumber(biz.phoneNumberId))!;
      await ctx.business.devices!.ensure(hosted(number));
      await user.sendText(await user.startDirect(await user.lookupPhone(biz.phone)), 'Hi');
      await until(() => ctx.business.rules.windowOpen(number, user.self!.accountId), 20_000, 'the window is open');
    });
    after(async () => {
      await user?.close();
      await t?.close();
      await rx?.close();
    });

    it('sends every message type to a real user, who sees them from the business and learns who holds its keys', async () => {
      const hello = await send({ type: 'text', text: { body: 'Welcome to Lucky Shrub 🌱', preview_url: true } });
      const m1 = await atUser(hello);
      assert.equal(m1.text, 'Welcome to Lucky Shrub 🌱');
      assert.equal(m1.outgoing, false);
      const bizAccount = m1.from;
      assert.deepEqual(await user.businessInfo(bizAccount), { verifiedName: 'Lucky Shrub', keys: 'platform' });
      assert.equal(await user.businessInfo(user.self!.accountId), null);

      const loc = await atUser(
        await send({
          type: 'location',
          location: { latitude: '37.4847', longitude: -122.148, name: 'Shop', address: '1 Hacker Way' },
        }),
      );
      assert.deepEqual(loc.business, {
        kind: 'location',
        latitude: 37.4847,
        longitude: -122.148,
        name: 'Shop',
        address: '1 Hacker Way',
      });
      assert.match(loc.text, /Shop/);

      const card = await atUser(
        await send({
          type: 'contacts',
          contacts: [
            {
              name: { formatted_name: 'Ana Shrub', first_name: 'Ana' },
              phones: [{ phone: '+1 415 555 0100', type: 'WORK' }],
            },
          ],
        }),
      );
      assert.equal(card.business?.kind, 'contacts');
      assert.match(card.text, /Ana Shrub/);

      const buttons = await atUser(
        await send({
          type: 'interactive',
          interactive: {
            type: 'button',
            body: { text: 'Deliver today?' },
            action: {
              buttons: [
                { type: 'reply', reply: { id: 'yes', title: 'Yes' } },
                { type: 'reply', reply: { id: 'no', title: 'No' } },
              ],
            },
          },
        }),
      );
      assert.equal(buttons.business?.kind, 'buttons');

      const list = await atUser(
        await send({
          type: 'interactive',
          interactive: {
            type: 'list',
            header: { type: 'text', text: 'Plants' },
            body: { text: 'Pick one' },
            action: {
              button: 'Choose',
              sections: [{ title: 'Ferns', rows: [{ id: 'f1', title: 'Boston fern', description: 'Shade' }] }],
            },
          },
        }),
      );
      assert.equal(list.business?.kind, 'list');

      const img = await atUser(
        await send({ type: 'image', image: { link: 'https://shrub.test/fern.jpg', caption: 'Our fern' } }),
      );
      assert.deepEqual(img.business, {
        kind: 'media',
        mediaType: 'image',
        link: 'https://shrub.test/fern.jpg',
        caption: 'Our fern',
      });

      const reply = await atUser(
        await send({ type: 'text', text: { body: 'About that fern' }, context: { message_id: hello } }),
      );
      assert.equal(reply.replyTo?.messageId, m1.id);

      const reacted = await send({ type: 'reaction', reaction: { message_id: hello, emoji: '👍' } });
      assert.ok(reacted.startsWith('wamid.'));
      await until(
        async () => (await user.history.message(m1.conversationId, m1.id))?.reactions?.some((r) => r.emoji === '👍'),
        15_000,
        'reaction',
      );
    });

    it('hears the user: text, a button reply and a reaction reach the webhook, signed over ASCII-only bytes', async () => {
      const conv = user.conversations().find((c) => c.kind === 'direct')!;
      const msgs = await user.history.messages(conv.id);
      const buttons = msgs.find((m) => m.business?.kind === 'buttons')!;
      const said = await user.sendText(conv.id, 'Héllo, is the fern 🌿 in stock?');
      await user.sendBusiness(conv.id, {
        kind: 'interactive-reply',
        replyType: 'button_reply',
        messageId: buttons.id,
        id: 'yes',
        title: 'Yes',
      });
      await user.react(conv.id, msgs[0]!.id, '❤️');
      const inbound = () => values(rx).flatMap((v) => (v.messages as Record<string, unknown>[] | undefined) ?? []);
      // After the user's first "Hi", which opened the window.
      await until(() => inbound().length >= 4, 15_000, 'three more inbound webhook messages');
      const [text, tap, reaction] = inbound().slice(1);
      const wa = user.phone.slice(1);
      assert.deepEqual(text!.text, { body: 'Héllo, is the fern 🌿 in stock?' });
      assert.equal(text!.from, wa);
      assert.equal(text!.id, `wamid.${conv.id}.${said.id}`);
      assert.deepEqual(tap!.interactive, { type: 'button_reply', button_reply: { id: 'yes', title: 'Yes' } });
      assert.deepEqual(tap!.context, { from: biz.phone.slice(1), id: `wamid.${conv.id}.${buttons.id}` });
      assert.deepEqual(reaction!.reaction, { message_id: `wamid.${conv.id}.${msgs[0]!.id}`, emoji: '❤️' });
      const v = values(rx).find((x) => x.messages)!;
      assert.deepEqual(v.metadata, { display_phone_number: biz.phone.slice(1), phone_number_id: biz.phoneNumberId });
      assert.deepEqual(v.contacts, [{ profile: { name: wa }, wa_id: wa }]);
      for (const p of rx.posts) {
        assert.ok(signatureValid(biz.appSecret, p.raw, p.signature), 'signature checks out');
        assert.ok(!signatureValid('0'.repeat(32), p.raw, p.signature));
        assert.ok(
          [...p.raw].every((b) => b < 0x80),
          'the body is ASCII only',
        );
        assert.equal(p.json.object, 'whatsapp_business_account');
      }
      // The business marks the user's message read: the user sees it read.
      const read = await post({
        messaging_product: 'whatsapp',
        status: 'read',
        message_id: `wamid.${conv.id}.${said.id}`,
      });
      assert.deepEqual(read, { status: 200, body: { success: true } });
      await until(
        async () => (await user.history.message(conv.id, said.id))?.readBy.length,
        15_000,
        'read by the business',
      );
    });

    it('reports sent, delivered, read and failed statuses', async () => {
      const conv = user.conversations().find((c) => c.kind === 'direct')!;
      const wamid = await send({ type: 'text', text: { body: 'Your order shipped' } });
      const m = await atUser(wamid);
      await user.markRead(conv.id, [m.id]);
      const statusesOf = (id: string) =>
        values(rx)
          .flatMap((v) => (v.statuses as Record<string, unknown>[] | undefined) ?? [])
          .filter((s) => s.id === id)
          .map((s) => s.status);
      await until(() => ['sent', 'delivered', 'read'].every((s) => statusesOf(wamid).includes(s)), 15_000, 'statuses');
      assert.equal(statusesOf(wamid)[0], 'sent');
      // A number that is no Parley account never wrote, so its window is closed: 131047. (A template
      // to it gets an id and a failed status, 131026, by webhook.)
      const a = await post({ messaging_product: 'whatsapp', to: '14155559999', type: 'text', text: { body: 'hi' } });
      assert.equal(a.status, 400);
      assert.equal(businessErrorBodySchema.strict().parse(a.body).error.code, 131047);
    });

    it('refuses templates, uploaded media ids and messages it does not hold, changing nothing', async () => {
      const before = (await user.history.messages(user.conversations()[0]!.id)).length;
      const cases: [Record<string, unknown>, number, number][] = [
        [{ type: 'template', template: { name: 'hello_world', language: { code: 'en_US' } } }, 404, 132001],
        [{ type: 'image', image: { id: '1234567890' } }, 400, 131053],
        [{ type: 'text', text: { body: 'x' }, context: { message_id: 'wamid.nope' } }, 400, 100],
        [{ type: 'reaction', reaction: { message_id: 'wamid.AAAAAAAAAAAAAAAAAAAAAA.m_nope', emoji: '👍' } }, 400, 100],
        [
          {
            type: 'interactive',
            interactive: { type: 'button', body: { text: 'x' }, action: { buttons: [1, 2, 3, 4] } },
          },
          400,
          100,
        ],
        [{ type: 'text', text: { body: '' } }, 400, 100],
        [{ type: 'carrier-pigeon' }, 400, 100],
      ];
      for (const [body, status, code] of cases) {
        const a = await post({ messaging_product: 'whatsapp', to: user.phone.slice(1), ...body });
        assert.equal(a.status, status, JSON.stringify(body));
        assert.equal(businessErrorBodySchema.strict().parse(a.body).error.code, code, JSON.stringify(body));
      }
      // Another business: neither this number nor this number's messages are reachable with its token.
      const ctx = t.server.ctx;
      const other = await new BusinessAccounts(ctx.storage, ctx.secrets, ctx.now).create({
        name: 'Other',
        phone: newPhone(),
      });
      const hello = `wamid.${user.conversations()[0]!.id}.${(await user.history.messages(user.conversations()[0]!.id))[0]!.id}`;
      const text = { messaging_product: 'whatsapp', to: user.phone.slice(1), type: 'text', text: { body: 'x' } };
      const cross = await post(text, other.accessToken);
      assert.equal(cross.status, 400);
      assert.equal(businessErrorBodySchema.strict().parse(cross.body).error.error_subcode, 33);
      const foreign = await post({ ...text, context: { message_id: hello } }, other.accessToken, other.phoneNumberId);
      assert.equal(foreign.status, 400);
      assert.equal(businessErrorBodySchema.strict().parse(foreign.body).error.code, 100);
      const foreignRead = await post(
        { messaging_product: 'whatsapp', status: 'read', message_id: hello },
        other.accessToken,
        other.phoneNumberId,
      );
      assert.equal(foreignRead.status, 400);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await user.history.messages(user.conversations()[0]!.id)).length, before);
      assert.equal(user.conversations().length, 1, 'the other business opened no chat');
    });

    it('keeps the hosted device state sealed in storage', async () => {
      const ctx = t.server.ctx;
      const keys = await ctx.storage.businessMessages.deviceKeys(biz.phoneNumberId, '');
      assert.ok(keys.length > 0);
      for (const k of keys) {
        const v = Buffer.from((await ctx.storage.businessMessages.getDeviceValue(biz.phoneNumberId, k))!);
        assert.ok(
          !v.includes('accountId') && !v.includes('Lucky Shrub') && !v.includes('"$b"'),
          `value of ${k} is sealed`,
        );
      }
      const log = await new BusinessAccounts(ctx.storage, ctx.secrets, ctx.now).webhookLog(biz.businessId);
      assert.ok(log.length >= rx.posts.length);
      assert.ok(log.every((e) => (e as { state: string }).state === 'delivered'));
    });
  });
}
