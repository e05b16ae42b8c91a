/**
 * Message templates (C10, docs/business.md "Templates") on SQLite and PostgreSQL, with the hosted
 * business device and a real SDK user: the `message_templates` edge creates (PENDING, or REJECTED
 * at once by the automatic check), lists (filters, fields, paging) and deletes templates; another
 * business's id and a duplicate name and language are refused; the operator's review moves a
 * template through APPROVED, PAUSED and DISABLED with an audit entry each and a signed
 * `message_template_status_update` webhook; a `template` message is checked against the approved
 * template (132000, 132001, 132005, 132007, 132012, 132015, 132016, 131008) and the user receives it
 * filled in, with header, body, footer and buttons; a refused send reaches nobody.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { businessErrorBodySchema, businessSendResponse } from '@parley/protocol';
import type { ParleyClient, WebSocketCtor } from '@parley/sdk';
import { BusinessDeviceHost } from '@parley/sdk/node';
import { availableDrivers, newClient, newPhone, startServer, until, type TestServer } from '@parley/testkit';
import { BusinessAccounts } from '../src/business/service.ts';
import { reviewTemplate, TemplateReviewError } from '../src/business/templates.ts';
import { signatureValid, startReceiver, type Receiver } from './webhook-receiver.ts';

const drivers = await availableDrivers();

const host = () => new BusinessDeviceHost({ WebSocket: WebSocket as unknown as WebSocketCtor, keyPackageTarget: 12 });

/** A template with every kind of part and parameters in header, body and a URL button. */
const ORDER_SHIPPED = {
  name: 'order_shipped',
  language: 'en_US',
  category: 'UTILITY',
  components: [
    { type: 'HEADER', format: 'TEXT', text: 'Order {{1}}', example: { header_text: ['#1234'] } },
    {
      type: 'BODY',
      text: 'Hello {{1}}, your order of {{2}} ships on {{3}}. Thank you!',
      example: { body_text: [['Ana', '$12.50', 'May 3']] },
    },
    { type: 'FOOTER', text: 'Lucky Shrub' },
    {
      type: 'BUTTONS',
      buttons: [
        { type: 'QUICK_REPLY', text: 'Stop updates' },
        {
          type: 'URL',
          text: 'Track',
          url: 'https://shrub.example/track/{{1}}',
          example: ['https://shrub.example/track/A1'],
        },
        { type: 'COPY_CODE', example: 'SAVE10' },
      ],
    },
  ],
};

const GOOD_SEND = {
  name: 'order_shipped',
  language: { code: 'en_US' },
  components: [
    { type: 'header', parameters: [{ type: 'text', text: '#77' }] },
    {
      type: 'body',
      parameters: [
        { type: 'text', text: 'Ana' },
        { type: 'currency', currency: { fallback_value: '$12.50', code: 'USD', amount_1000: 12500 } },
        { type: 'date_time', date_time: { fallback_value: 'May 3' } },
      ],
    },
    { type: 'button', sub_type: 'quick_reply', index: 0, parameters: [{ type: 'payload', payload: 'stop-77' }] },
    { type: 'button', sub_type: 'url', index: '1', parameters: [{ type: 'text', text: 'A77' }] },
    { type: 'button', sub_type: 'copy_code', index: 2, parameters: [{ type: 'coupon_code', coupon_code: 'SAVE10' }] },
  ],
};

for (const { driver, skip } of drivers) {
  describe(`business templates on ${driver}`, { skip }, () => {
    let t: TestServer;
    let rx: Receiver;
    let biz: Awaited<ReturnType<BusinessAccounts['create']>>;
    let other: Awaited<ReturnType<BusinessAccounts['create']>>;
    let user: ParleyClient & { phone: string };
    const V = '/v21.0';

    const api = async (method: string, path: string, body?: unknown, token = biz.accessToken) => {
      const res = await fetch(`${t.url}${V}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const errorCode = (a: { status: number; body: unknown }) => {
      const e = businessErrorBodySchema.strict().parse(a.body).error;
      return [a.status, e.code, e.error_subcode];
    };
    const sendTemplate = (template: unknown) =>
      api('POST', `/${biz.phoneNumberId}/messages`, {
        messaging_product: 'whatsapp',
        to: user.phone.slice(1),
        type: 'template',
        template,
      });
    const templateEvents = () =>
      rx.posts.flatMap((p) =>
        (p.json.entry as { changes: { field: string; value: Record<string, unknown> }[] }[]).flatMap((e) =>
          e.changes.filter((c) => c.field === 'message_template_status_update').map((c) => c.value),
        ),
      );

    before(async () => {
      rx = await startReceiver();
      t = await startServer(driver, { businessWebhookRetryMs: 100 }, { businessDevices: host() });
      const ctx = t.server.ctx;
      const accounts = new BusinessAccounts(ctx.storage, ctx.secrets, ctx.now);
      biz = await accounts.create({
        name: 'Lucky Shrub',
        phone: newPhone(),
        webhookUrl: rx.url,
        verifyToken: rx.verifyToken,
      });
      other = await accounts.create({ name: 'Other Shop', phone: newPhone() });
      user = await newClient(t.url);
    });
    after(async () => {
      await user?.close();
      await t?.close();
      await rx?.close();
    });

    it('creates, lists and deletes templates on the business edge, refusing duplicates and other businesses', async () => {
      const created = await api('POST', `/${biz.businessId}/message_templates`, ORDER_SHIPPED);
      assert.equal(created.status, 200, JSON.stringify(created.body));
      assert.deepEqual(Object.keys(created.body).sort(), ['category', 'id', 'status']);
      assert.equal(created.body.status, 'PENDING');
      assert.match(String(created.body.id), /^\d{15}$/);

      // The same name in another language is another template; the same name and language is refused.
      const es = await api('POST', `/${biz.businessId}/message_templates`, {
        ...ORDER_SHIPPED,
        language: 'es',
        components: [{ type: 'BODY', text: 'Hola, su pedido ya salió. ¡Gracias por su compra!' }],
      });
      assert.equal(es.status, 200);
      assert.deepEqual(
        errorCode(await api('POST', `/${biz.businessId}/message_templates`, ORDER_SHIPPED)),
        [400, 100, 2388024],
      );

      // The automatic check rejects a body that is only parameters, at once.
      const bad = await api('POST', `/${biz.businessId}/message_templates`, {
        name: 'anything_goes',
        language: 'en',
        category: 'MARKETING',
        components: [{ type: 'BODY', text: '{{1}} {{2}}', example: { body_text: [['a', 'b']] } }],
      });
      assert.equal(bad.status, 200);
      assert.equal(bad.body.status, 'REJECTED');

      const list = await api('GET', `/${biz.businessId}/message_templates`);
      const data = list.body.data as Record<string, unknown>[];
      assert.deepEqual(data.map((d) => d.name).sort(), ['anything_goes', 'order_shipped', 'order_shipped']);
      const mine = data.find((d) => d.id === created.body.id)!;
      assert.deepEqual(mine.components, ORDER_SHIPPED.components);
      assert.equal(mine.category, 'UTILITY');
      assert.equal(mine.language, 'en_US');
      assert.match(String(data.find((d) => d.name === 'anything_goes')!.rejected_reason), /^INVALID_FORMAT/);

      const filtered = await api('GET', `/${biz.businessId}/message_templates?status=REJECTED&fields=name,status`);
      assert.deepEqual(filtered.body.data, [{ name: 'anything_goes', status: 'REJECTED', id: bad.body.id }]);
      const page1 = await api('GET', `/${biz.businessId}/message_templates?limit=2`);
      assert.equal((page1.body.data as unknown[]).length, 2);
      const after = (page1.body.paging as { cursors: { after: string } }).cursors.after;
      const page2 = await api('GET', `/${biz.businessId}/message_templates?limit=2&after=${after}`);
      assert.equal((page2.body.data as unknown[]).length, 1);

      // Another business sees none of them and cannot delete them; its own edge is empty.
      assert.deepEqual(
        errorCode(await api('GET', `/${biz.businessId}/message_templates`, undefined, other.accessToken)),
        [400, 100, 33],
      );
      assert.deepEqual(
        errorCode(
          await api('DELETE', `/${biz.businessId}/message_templates?name=anything_goes`, undefined, other.accessToken),
        ),
        [400, 100, 33],
      );
      assert.deepEqual(
        (await api('GET', `/${other.businessId}/message_templates`, undefined, other.accessToken)).body,
        { data: [] },
      );

      assert.deepEqual((await api('DELETE', `/${biz.businessId}/message_templates?name=anything_goes`)).body, {
        success: true,
      });
      assert.deepEqual(errorCode(await api('DELETE', `/${biz.businessId}/message_templates?name=anything_goes`)), [
        404,
        132001,
        undefined,
      ]);
      // By id: only the Spanish one goes.
      assert.equal(
        (await api('DELETE', `/${biz.businessId}/message_templates?name=order_shipped&hsm_id=${String(es.body.id)}`))
          .status,
        200,
      );
      const left = (await api('GET', `/${biz.businessId}/message_templates`)).body.data as { id: string }[];
      assert.deepEqual(
        left.map((d) => d.id),
        [created.body.id],
      );
    });

    it('review: approve, pause, disable, each audited and announced by a signed status webhook', async () => {
      const ctx = t.server.ctx;
      const [tpl] = await ctx.storage.businessTemplates.listTemplates(biz.businessId, { name: 'order_shipped' }, 10);
      assert.ok(tpl);
      // Not yet approved: a send is refused as if the template did not exist.
      assert.deepEqual(errorCode(await sendTemplate(GOOD_SEND)), [404, 132001, undefined]);
      // Another business's review target is not found; a step the states do not allow is refused.
      await assert.rejects(
        reviewTemplate(ctx.storage, ctx.now(), {
          businessId: other.businessId,
          templateId: tpl.id,
          status: 'APPROVED',
          reason: null,
        }),
        (e: unknown) => e instanceof TemplateReviewError && e.code === 'template_not_found',
      );
      await assert.rejects(
        reviewTemplate(ctx.storage, ctx.now(), {
          businessId: biz.businessId,
          templateId: tpl.id,
          status: 'PAUSED',
          reason: null,
        }),
        (e: unknown) => e instanceof TemplateReviewError && e.code === 'review_not_allowed',
      );
      const approved = await reviewTemplate(ctx.storage, ctx.now(), {
        businessId: biz.businessId,
        templateId: tpl.id,
        status: 'APPROVED',
        reason: null,
      });
      assert.equal(approved.status, 'APPROVED');
      const audit = await ctx.storage.admin.listAudit(0, 1000, { action: 'business.template.review' });
      assert.ok(audit.some((e) => e.target === `template:${tpl.id}` && /PENDING -> APPROVED/.test(e.reason ?? '')));
      const event = await until(
        async () => templateEvents().find((v) => v.event === 'APPROVED' && v.message_template_id === Number(tpl.id)),
        10_000,
        'the APPROVED webhook',
      );
      assert.deepEqual(event, {
        event: 'APPROVED',
        message_template_id: Number(tpl.id),
        message_template_name: 'order_shipped',
        message_template_language: 'en_US',
        reason: null,
      });
      const post = rx.posts.find((p) => p.raw.includes('message_template_status_update'))!;
      assert.ok(signatureValid(biz.appSecret, post.raw, post.signature));
      // The automatic rejection was announced too.
      assert.ok(templateEvents().some((v) => v.event === 'REJECTED' && v.message_template_name === 'anything_goes'));
    });

    it('sends an approved template filled in, and refuses each mismatch with its code, reaching nobody', async () => {
      const sent = await sendTemplate(GOOD_SEND);
      assert.equal(sent.status, 200, JSON.stringify(sent.body));
      const wamid = businessSendResponse.strict().parse(sent.body).messages[0]!.id;
      const [, conv, id] = wamid.split('.');
      const m = await until(async () => user.history.message(conv!, id!), 15_000, 'the template at the user');
      assert.deepEqual(m.business, {
        kind: 'template',
        name: 'order_shipped',
        language: 'en_US',
        header: { format: 'text', text: 'Order #77' },
        body: 'Hello Ana, your order of $12.50 ships on May 3. Thank you!',
        footer: 'Lucky Shrub',
        buttons: [
          { type: 'quick_reply', text: 'Stop updates', payload: 'stop-77' },
          { type: 'url', text: 'Track', url: 'https://shrub.example/track/A77' },
          { type: 'copy_code', code: 'SAVE10' },
        ],
      });
      assert.match(m.text, /Hello Ana, your order of \$12\.50 ships on May 3/);
      assert.match(m.text, /\[Track: https:\/\/shrub\.example\/track\/A77\]/);

      const before = (await user.history.messages(conv!)).length;
      const body = GOOD_SEND.components[1]!;
      const withBody = (parameters: unknown[]) =>
        GOOD_SEND.components.map((c) => (c === body ? { type: 'body', parameters } : c));
      const cases: [string, unknown, number[]][] = [
        ['unknown name', { ...GOOD_SEND, name: 'nope' }, [404, 132001]],
        ['unknown language', { ...GOOD_SEND, language: { code: 'fr' } }, [404, 132001]],
        ['too few body parameters', { ...GOOD_SEND, components: withBody(body.parameters.slice(0, 2)) }, [400, 132000]],
        [
          'too many body parameters',
          { ...GOOD_SEND, components: withBody([...body.parameters, { type: 'text', text: 'x' }]) },
          [400, 132000],
        ],
        [
          'a newline in a body parameter',
          { ...GOOD_SEND, components: withBody([{ type: 'text', text: 'A\nB' }, ...body.parameters.slice(1)]) },
          [400, 132007],
        ],
        [
          'an image where the body has text',
          {
            ...GOOD_SEND,
            components: withBody([
              { type: 'image', image: { link: 'https://x.example/a.png' } },
              ...body.parameters.slice(1),
            ]),
          },
          [400, 132012],
        ],
        [
          'a body too long once filled in',
          {
            ...GOOD_SEND,
            components: withBody([{ type: 'text', text: 'x'.repeat(1020) }, ...body.parameters.slice(1)]),
          },
          [400, 132005],
        ],
        [
          'a button index the template does not have',
          {
            ...GOOD_SEND,
            components: [...GOOD_SEND.components, { type: 'button', sub_type: 'url', index: 5, parameters: [] }],
          },
          [400, 132012],
        ],
        [
          'no coupon code for the copy-code button',
          {
            ...GOOD_SEND,
            components: GOOD_SEND.components.filter((c) => !('sub_type' in c && c.sub_type === 'copy_code')),
          },
          [400, 131008],
        ],
        [
          'no URL parameter',
          { ...GOOD_SEND, components: GOOD_SEND.components.filter((c) => !('sub_type' in c && c.sub_type === 'url')) },
          [400, 132000],
        ],
        ['a wrongly typed parameter', { ...GOOD_SEND, components: withBody([{ type: 'text', text: 7 }]) }, [400, 100]],
      ];
      for (const [what, template, want] of cases)
        assert.deepEqual(errorCode(await sendTemplate(template)).slice(0, 2), want, what);

      // Paused, then disabled: refused with their own codes.
      const ctx = t.server.ctx;
      const [tpl] = await ctx.storage.businessTemplates.listTemplates(biz.businessId, { name: 'order_shipped' }, 10);
      const step = (status: 'PAUSED' | 'DISABLED') =>
        reviewTemplate(ctx.storage, ctx.now(), {
          businessId: biz.businessId,
          templateId: tpl!.id,
          status,
          reason: 'LOW_QUALITY',
        });
      await step('PAUSED');
      assert.deepEqual(errorCode(await sendTemplate(GOOD_SEND)).slice(0, 2), [400, 132015]);
      await step('DISABLED');
      assert.deepEqual(errorCode(await sendTemplate(GOOD_SEND)).slice(0, 2), [400, 132016]);
      await until(
        async () => templateEvents().find((v) => v.event === 'DISABLED' && v.reason === 'LOW_QUALITY'),
        10_000,
        'the DISABLED webhook',
      );
      // Another business cannot send this business's template, even by its name.
      const cross = await api(
        'POST',
        `/${other.phoneNumberId}/messages`,
        { messaging_product: 'whatsapp', to: user.phone.slice(1), type: 'template', template: GOOD_SEND },
        other.accessToken,
      );
      assert.deepEqual(errorCode(cross).slice(0, 2), [404, 132001]);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await user.history.messages(conv!)).length, before);
    });

    it('a user who stopped promotional messages gets no MARKETING template (131050) but UTILITY ones, until they resume', async () => {
      const ctx = t.server.ctx;
      const promo = {
        name: 'spring_sale',
        language: 'en_US',
        category: 'MARKETING',
        components: [{ type: 'BODY', text: 'Ferns are 20% off this week, {{1}}.', example: { body_text: [['Ana']] } }],
      };
      const created = await api('POST', `/${biz.businessId}/message_templates`, promo);
      assert.equal(created.status, 200, JSON.stringify(created.body));
      await reviewTemplate(ctx.storage, ctx.now(), {
        businessId: biz.businessId,
        templateId: String(created.body.id),
        status: 'APPROVED',
        reason: null,
      });
      const sale = {
        name: 'spring_sale',
        language: { code: 'en_US' },
        components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }] }],
      };
      const utility = {
        name: 'stock_note',
        language: 'en_US',
        category: 'UTILITY',
        components: [{ type: 'BODY', text: 'Your fern is back in stock, {{1}}.', example: { body_text: [['Ana']] } }],
      };
      const u = await api('POST', `/${biz.businessId}/message_templates`, utility);
      assert.equal(u.status, 200, JSON.stringify(u.body));
      await reviewTemplate(ctx.storage, ctx.now(), {
        businessId: biz.businessId,
        templateId: String(u.body.id),
        status: 'APPROVED',
        reason: null,
      });
      const stock = {
        name: 'stock_note',
        language: { code: 'en_US' },
        components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }] }],
      };

      const number = (await ctx.storage.business.getNumber(biz.phoneNumberId))!;
      const conv = await user.startDirect(await user.lookupPhone(biz.phone));
      await user.setBusinessMarketing(conv, 'stop');
      await until(
        () => ctx.storage.businessRules.marketingOptedOut(number.id, user.self!.accountId),
        20_000,
        'the stop reaches the platform',
      );
      const count = async () => (await user.history.messages(conv)).length;
      const before = await count();
      assert.deepEqual(errorCode(await sendTemplate(sale)), [400, 131050, undefined]);
      const ok = await sendTemplate(stock);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      await until(async () => (await count()) === before + 1, 15_000, 'the UTILITY template at the user');
      assert.ok(!(await user.history.messages(conv)).some((m) => /Ferns are 20% off/.test(m.text ?? '')));

      await user.setBusinessMarketing(conv, 'resume');
      await until(
        async () => !(await ctx.storage.businessRules.marketingOptedOut(number.id, user.self!.accountId)),
        20_000,
        'the resume reaches the platform',
      );
      const again = await sendTemplate(sale);
      assert.equal(again.status, 200, JSON.stringify(again.body));
      await until(
        async () =>
          (await user.history.messages(conv)).some((m) => /Ferns are 20% off this week, Ana/.test(m.text ?? '')),
        15_000,
        'the MARKETING template after resuming',
      );
    });
  });
}
