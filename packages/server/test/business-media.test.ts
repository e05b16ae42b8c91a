/**
 * Business media (C10, docs/business.md "Media") on SQLite and PostgreSQL, with the hosted business
 * device and a real SDK user: a multipart upload answers a 16-digit id; the media read answers the
 * Cloud API's `{url, mime_type, sha256, file_size, id}`; the URL gives the exact bytes only with the
 * business's bearer token and its own signature; the blob store holds only ciphertext; a message
 * naming the id reaches the user as an end-to-end encrypted attachment with the same bytes; another
 * business reaches none of it; unsupported types, oversized files and malformed forms are refused
 * with their codes and store nothing; deleted and expired uploads are gone.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { businessErrorBodySchema, businessSendResponse } from '@parley/protocol';
import type { ParleyClient, WebSocketCtor } from '@parley/sdk';
import { BusinessDeviceHost } from '@parley/sdk/node';
import { availableDrivers, newClient, newPhone, startServer, until, type TestServer } from '@parley/testkit';
import { BusinessAccounts } from '../src/business/service.ts';
import { hosted } from '../src/business/runtime.ts';
import type { KyselyStorage } from '../src/storage/kysely-store.ts';

const drivers = await availableDrivers();

const host = () => new BusinessDeviceHost({ WebSocket: WebSocket as unknown as WebSocketCtor, keyPackageTarget: 12 });

/** A PNG signature and some bytes: the server checks the declared type, not the contents. */
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...randomBytes(2000)]);

for (const { driver, skip } of drivers) {
  describe(`business media on ${driver}`, { skip }, () => {
    let t: TestServer;
    let biz: Awaited<ReturnType<BusinessAccounts['create']>>;
    let other: Awaited<ReturnType<BusinessAccounts['create']>>;
    let user: ParleyClient & { phone: string };
    const V = '/v21.0';

    const upload = async (
      fields: Record<string, string | { bytes: Uint8Array; type: string; name: string }>,
      token = biz.accessToken,
      number = biz.phoneNumberId,
    ) => {
      const form = new FormData();
      for (const [k, v] of Object.entries(fields))
        if (typeof v === 'string') form.append(k, v);
        else form.append(k, new Blob([new Uint8Array(v.bytes)], { type: v.type }), v.name);
      const res = await fetch(`${t.url}${V}/${number}/media`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: form,
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const call = async (method: string, path: string, token: string | null = biz.accessToken, body?: unknown) => {
      const res = await fetch(path.startsWith('http') ? path : `${t.url}${V}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return res;
    };
    const codeOf = async (res: Response) => {
      const e = businessErrorBodySchema.strict().parse(await res.json()).error;
      return [res.status, e.code, e.error_subcode];
    };
    const rows = async () =>
      Number(
        (
          await (t.server.ctx.storage as KyselyStorage).db
            .selectFrom('business_media')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );

    before(async () => {
      t = await startServer(driver, {}, { businessDevices: host() });
      const ctx = t.server.ctx;
      const accounts = new BusinessAccounts(ctx.storage, ctx.secrets, ctx.now);
      biz = await accounts.create({ name: 'Lucky Shrub', phone: newPhone() });
      other = await accounts.create({ name: 'Other Shop', phone: newPhone() });
      user = await newClient(t.url);
      // The customer-service window (docs/business.md "Rules and limits"): the user writes first,
      // so media by id may be sent to them.
      const number = (await ctx.storage.business.getNumber(biz.phoneNumberId))!;
      await ctx.business.devices!.ensure(hosted(number));
      await user.sendText(await user.startDirect(await user.lookupPhone(biz.phone)), 'Hi');
      await until(() => ctx.business.rules.windowOpen(number, user.self!.accountId), 20_000, 'the window is open');
    });
    after(async () => {
      await user?.close();
      await t?.close();
    });

    it('uploads, reads, downloads with the token, sends by id as an encrypted attachment, deletes', async () => {
      const up = await upload({
        messaging_product: 'whatsapp',
        type: 'image/png',
        file: { bytes: PNG, type: 'image/png', name: 'plant.png' },
      });
      assert.equal(up.status, 200, JSON.stringify(up.body));
      assert.deepEqual(Object.keys(up.body), ['id']);
      const id = String(up.body.id);
      assert.match(id, /^\d{16}$/);

      const read = await call('GET', `/${id}?phone_number_id=${biz.phoneNumberId}`);
      assert.equal(read.status, 200);
      const info = (await read.json()) as Record<string, unknown>;
      assert.deepEqual(
        { ...info, url: undefined },
        {
          messaging_product: 'whatsapp',
          url: undefined,
          mime_type: 'image/png',
          sha256: createHash('sha256').update(PNG).digest('hex'),
          file_size: PNG.length,
          id,
        },
      );
      const url = String(info.url);
      assert.match(url, new RegExp(`^${t.url}${V}/${id}/download\\?expires=\\d+&signature=[0-9a-f]{64}$`));

      // The download needs the token of the business that uploaded it, and the URL as given.
      const got = await call('GET', url);
      assert.equal(got.status, 200);
      assert.equal(got.headers.get('content-type'), 'image/png');
      assert.deepEqual(new Uint8Array(await got.arrayBuffer()), PNG);
      assert.deepEqual(await codeOf(await call('GET', url, null)), [401, 190, undefined]);
      assert.deepEqual(await codeOf(await call('GET', url, other.accessToken)), [400, 100, 33]);
      assert.deepEqual(await codeOf(await call('GET', url.replace(/expires=\d+/, 'expires=99999999999999'))), [
        400,
        100,
        undefined,
      ]);
      assert.deepEqual(await codeOf(await call('GET', `/${id}`, other.accessToken)), [400, 100, 33]);
      assert.deepEqual(await codeOf(await call('DELETE', `/${id}`, other.accessToken)), [400, 100, 33]);

      // At rest the blob is ciphertext: the PNG's bytes are nowhere in it.
      const stored = await t.server.ctx.blobs.get(`business-media/${id}`);
      const chunks: Buffer[] = [];
      for await (const c of stored!) chunks.push(c as Buffer);
      const blob = Buffer.concat(chunks);
      assert.equal(blob.length, PNG.length + 28);
      assert.equal(blob.indexOf(Buffer.from(PNG.subarray(8, 40))), -1);

      // Sent by id: the user gets an ordinary encrypted attachment with the same bytes.
      const sent = await call('POST', `/${biz.phoneNumberId}/messages`, biz.accessToken, {
        messaging_product: 'whatsapp',
        to: user.phone.slice(1),
        type: 'image',
        image: { id, caption: 'Our new fern' },
      });
      assert.equal(sent.status, 200);
      const wamid = businessSendResponse.strict().parse(await sent.json()).messages[0]!.id;
      const [, conv, mid] = wamid.split('.');
      const m = await until(async () => user.history.message(conv!, mid!), 15_000, 'the image at the user');
      assert.ok(m.attachment);
      assert.equal(m.attachment.kind, 'image');
      assert.equal(m.attachment.fileName, 'plant.png');
      assert.equal(m.text, 'Our new fern');
      assert.deepEqual(await user.downloadMedia(m.attachment), PNG);

      // Another business cannot send it; an image message cannot carry a document.
      const foreign = await call('POST', `/${other.phoneNumberId}/messages`, other.accessToken, {
        messaging_product: 'whatsapp',
        to: user.phone.slice(1),
        type: 'image',
        image: { id },
      });
      assert.deepEqual(await codeOf(foreign), [400, 131053, undefined]);
      const pdf = await upload({
        messaging_product: 'whatsapp',
        type: 'application/pdf',
        file: { bytes: new Uint8Array([37, 80, 68, 70]), type: 'application/pdf', name: 'menu.pdf' },
      });
      const asImage = await call('POST', `/${biz.phoneNumberId}/messages`, biz.accessToken, {
        messaging_product: 'whatsapp',
        to: user.phone.slice(1),
        type: 'image',
        image: { id: pdf.body.id },
      });
      assert.deepEqual(await codeOf(asImage), [400, 131053, undefined]);

      // Deleted: gone from the read, the download and sending; the blob is gone too.
      assert.deepEqual(await (await call('DELETE', `/${id}`)).json(), { success: true });
      assert.deepEqual(await codeOf(await call('GET', `/${id}`)), [400, 100, 33]);
      assert.deepEqual(await codeOf(await call('GET', url)), [400, 100, 33]);
      assert.equal(await t.server.ctx.blobs.stat(`business-media/${id}`), null);

      // Expired (30 days after upload): as if it never existed, and swept at the next upload.
      await (t.server.ctx.storage as KyselyStorage).db
        .updateTable('business_media')
        .set({ expires_at: 1 })
        .where('id', '=', String(pdf.body.id))
        .execute();
      assert.deepEqual(await codeOf(await call('GET', `/${String(pdf.body.id)}`)), [400, 100, 33]);
      const again = await upload({
        messaging_product: 'whatsapp',
        type: 'text/plain',
        file: { bytes: new TextEncoder().encode('hello'), type: 'text/plain', name: 'a.txt' },
      });
      assert.equal(again.status, 200);
      assert.equal(await t.server.ctx.storage.businessMedia.getMedia(String(pdf.body.id)), null);
    });

    it('refuses bad uploads with their codes and stores nothing', async () => {
      const before = await rows();
      const file = { bytes: PNG, type: 'image/png', name: 'x.png' };
      const cases: [string, Record<string, string | typeof file>, number[], string?, string?][] = [
        ['an unsupported type', { messaging_product: 'whatsapp', type: 'image/gif', file }, [400, 131053]],
        [
          'an image over 5 MB',
          {
            messaging_product: 'whatsapp',
            type: 'image/png',
            file: { ...file, bytes: new Uint8Array(5 * 1024 * 1024 + 1) },
          },
          [400, 131053],
        ],
        ['no file', { messaging_product: 'whatsapp', type: 'image/png' }, [400, 131008]],
        ['no type', { messaging_product: 'whatsapp', file }, [400, 131008]],
        ['no messaging_product', { type: 'image/png', file }, [400, 100]],
        ['an unknown field', { messaging_product: 'whatsapp', type: 'image/png', file, colour: 'red' }, [400, 100]],
        [
          'an empty file',
          { messaging_product: 'whatsapp', type: 'image/png', file: { ...file, bytes: new Uint8Array(0) } },
          [400, 100],
        ],
        ['no token', { messaging_product: 'whatsapp', type: 'image/png', file }, [401, 190], ''],
        [
          'another business',
          { messaging_product: 'whatsapp', type: 'image/png', file },
          [400, 100],
          undefined,
          other.phoneNumberId,
        ],
      ];
      for (const [what, fields, want, token, number] of cases) {
        const a = await upload(fields, token ?? biz.accessToken, number ?? biz.phoneNumberId);
        assert.deepEqual([a.status, businessErrorBodySchema.strict().parse(a.body).error.code], want, what);
      }
      // Not multipart at all, and a form whose boundary never closes.
      const json = await call('POST', `/${biz.phoneNumberId}/media`, biz.accessToken, { file: 'x' });
      assert.deepEqual((await codeOf(json)).slice(0, 2), [400, 100]);
      const broken = await fetch(`${t.url}${V}/${biz.phoneNumberId}/media`, {
        method: 'POST',
        headers: { authorization: `Bearer ${biz.accessToken}`, 'content-type': 'multipart/form-data; boundary=xyz' },
        body: '--xyz\r\nContent-Disposition: form-data; name="type"\r\n\r\nimage/png',
      });
      assert.deepEqual((await codeOf(broken)).slice(0, 2), [400, 100]);
      assert.equal(await rows(), before);
      // A media id that was never uploaded; a 16-digit id never collides with a phone number's.
      assert.deepEqual(await codeOf(await call('GET', '/1234567890123456')), [400, 100, 33]);
      assert.equal((await call('GET', `/${biz.phoneNumberId}`)).status, 200);
    });
  });
}
