/**
 * Link previews made on the sending device (C15), against local HTTP pages: Open Graph tags, then
 * `<title>` and the description tag, with entities decoded; the image fetched and carried as bytes;
 * no preview for a page that is not HTML, too big, too slow (given up at the deadline), an error,
 * or another scheme; an image too big is left out. Then through a real server: the preview travels
 * inside the encrypted text message and the receiver has it with the image bytes, having fetched
 * nothing; a preview that names an image by address instead of bytes is not valid content.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { linkPreviewSchema, textContent, fromB64 } from '@parley/protocol';
import { ParleyClient, makeLinkPreview, previewableLink, type WebSocketCtor } from '@parley/sdk';
import { registerTestClient, until } from '@parley/sdk/testing';
import { startServer, type TestServer } from '@parley/testkit';

const WS = WebSocket as unknown as WebSocketCtor;
/** A 1×1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

describe('link previews', () => {
  let site: Server;
  let base = '';
  const hits: string[] = [];
  let t: TestServer;
  const clients: ParleyClient[] = [];

  before(async () => {
    site = createServer((req, res) => {
      hits.push(req.url ?? '');
      const html = (body: string) => {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(body);
      };
      switch (req.url) {
        case '/og':
          return html(
            `<html><head><title>Ignored</title><meta property="og:title" content="Trail &amp; lake &#8211; guide">` +
              `<meta property="og:description" content='A  walk\nround the lake'><meta property="og:image" content="/img.png"></head></html>`,
          );
        case '/title':
          return html(
            '<html><head><title>\n Only &lt;a&gt; title </title><meta name="description" content="Plain"></head>',
          );
        case '/no-title':
          return html('<html><body>nothing</body></html>');
        case '/big-image':
          return html('<meta property="og:title" content="Big"><meta property="og:image" content="/huge.png">');
        case '/js-image':
          return html(
            '<meta property="og:title" content="JS"><meta property="og:image" content="javascript:alert(1)">',
          );
        case '/img.png':
          res.writeHead(200, { 'content-type': 'image/png' });
          return res.end(PNG);
        case '/huge.png':
          res.writeHead(200, { 'content-type': 'image/png' });
          return res.end(Buffer.alloc(200_000, 1));
        case '/text':
          res.writeHead(200, { 'content-type': 'text/plain' });
          return res.end('<title>not html</title>');
        case '/oversized':
          // No length given: the cap is found while reading.
          res.writeHead(200, { 'content-type': 'text/html' });
          res.write('<title>Big page</title>');
          for (let i = 0; i < 700; i++) res.write('x'.repeat(1024));
          return res.end();
        case '/slow':
          res.writeHead(200, { 'content-type': 'text/html' });
          res.write('<html><head>');
          return; // never finished
        case '/redirect':
          res.writeHead(302, { location: '/og' });
          return res.end();
        default:
          res.writeHead(404, { 'content-type': 'text/html' });
          return res.end('<title>Not found</title>');
      }
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    t = await startServer('sqlite');
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await t?.close();
    site.closeAllConnections();
    await new Promise((r) => site.close(r));
  });

  it('reads Open Graph tags, then the title, and carries the image as bytes', async () => {
    const og = await makeLinkPreview(`${base}/og`);
    assert.ok(og);
    assert.equal(og.url, `${base}/og`);
    assert.equal(og.title, 'Trail & lake – guide');
    assert.equal(og.description, 'A walk round the lake');
    assert.deepEqual(og.image && { type: og.image.type, bytes: Buffer.from(fromB64(og.image.data)) }, {
      type: 'image/png',
      bytes: PNG,
    });
    assert.deepEqual(await makeLinkPreview(`${base}/title`), {
      url: `${base}/title`,
      title: 'Only <a> title',
      description: 'Plain',
    });
    assert.equal((await makeLinkPreview(`${base}/redirect`))?.title, 'Trail & lake – guide');
    // An image too big for the message (and no way to shrink it here) is left out; so is a javascript: one.
    assert.deepEqual(await makeLinkPreview(`${base}/big-image`), { url: `${base}/big-image`, title: 'Big' });
    assert.deepEqual(await makeLinkPreview(`${base}/js-image`), { url: `${base}/js-image`, title: 'JS' });
    // With a shrinker (a browser draws it smaller), the big image comes as its smaller copy.
    const shrunk = await makeLinkPreview(`${base}/big-image`, {
      shrinkImage: async () => ({ bytes: new Uint8Array(PNG), type: 'image/png' }),
    });
    assert.equal(shrunk?.image?.type, 'image/png');
  });

  it('makes no preview of pages it should not read, and gives up at the deadline', async () => {
    for (const path of ['/text', '/oversized', '/no-title', '/missing'])
      assert.equal(await makeLinkPreview(`${base}${path}`), null, path);
    for (const url of ['javascript:alert(1)', 'file:///etc/passwd', 'data:text/html,<title>x</title>', 'ftp://x.y/'])
      assert.equal(await makeLinkPreview(url), null, url);
    const slow = makeLinkPreview(`${base}/slow`, { timeoutMs: 300 });
    // Resolves (to null) once the deadline passed, instead of waiting for a page that never ends.
    assert.equal(await slow, null);
    assert.equal(previewableLink('see www.example.org and https://example.com'), 'https://www.example.org/');
    assert.equal(previewableLink('javascript:alert(1)'), null);
  });

  it('travels inside the encrypted message and the receiver fetches nothing', async () => {
    const make = async () => {
      const c = await registerTestClient(t.url, { WebSocket: WS });
      clients.push(c);
      return c;
    };
    const [alice, bob] = [await make(), await make()];
    const conv = await alice.startDirect(bob.self.accountId);
    const preview = await makeLinkPreview(`${base}/og`);
    assert.ok(preview);
    const before = hits.length;
    const sent = await alice.sendText(conv, `look ${base}/og`, { preview });
    assert.deepEqual(sent.preview, preview);
    const got = await until(
      async () => (await bob.messages(conv)).find((m) => m.id === sent.id),
      10_000,
      'bob has the message',
    );
    assert.deepEqual(got.preview, preview);
    assert.equal(hits.length, before, 'nobody fetched the page or the image again');
    // A preview pointing at an image by address is not valid content: receivers drop it.
    assert.equal(
      linkPreviewSchema.safeParse({ ...preview, image: { type: 'image/png', data: `${base}/img.png` } }).success,
      false,
    );
    assert.equal(
      textContent.safeParse({ type: 'text', text: 'x', preview: { url: 'javascript:x', title: 't' } }).success,
      false,
    );
  });
});
