/**
 * The offline pattern renderer and the checks every request passes first (C9): same prompt and
 * seed give the same PNG bytes, another seed another image; the PNG is real (signature, IHDR size,
 * CRCs, inflated pixels); bad prompts, sizes and models are catalogued before any call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, inflateSync } from 'node:zlib';
import { ParleyError } from '@parley/protocol';
import {
  PATTERN_LABEL,
  PatternProvider,
  checkRequest,
  encodePng,
  pngC2pa,
  pngChunks,
  pngSize,
  retryAfterMs,
  sameSite,
  sizeForRatio,
} from '@parley/imagegen';

const provider = new PatternProvider();

test('the pattern renderer is deterministic in prompt and seed and says it is not AI', async () => {
  assert.equal(provider.label, 'Pattern — offline, not AI');
  assert.equal(provider.models()[0]!.displayName, PATTERN_LABEL);
  const a = await provider.generate({ prompt: 'a quiet harbour', model: 'pattern', seed: 5, width: 320, height: 200 });
  const b = await provider.generate({ prompt: 'a quiet harbour', model: 'pattern', seed: 5, width: 320, height: 200 });
  const c = await provider.generate({ prompt: 'a quiet harbour', model: 'pattern', seed: 6, width: 320, height: 200 });
  const d = await provider.generate({ prompt: 'a loud harbour', model: 'pattern', seed: 5, width: 320, height: 200 });
  assert.deepEqual(a.images[0]!.bytes, b.images[0]!.bytes);
  assert.notDeepEqual(a.images[0]!.bytes, c.images[0]!.bytes);
  assert.notDeepEqual(a.images[0]!.bytes, d.images[0]!.bytes);
  assert.equal(a.seed, 5);
  assert.equal(a.provider, 'pattern');
  const img = a.images[0]!;
  assert.equal(img.mimeType, 'image/png');
  assert.deepEqual([img.width, img.height], [320, 200]);
  assert.deepEqual(pngSize(img.bytes), { width: 320, height: 200 });
  const text = pngChunks(img.bytes)
    .filter((ch) => ch.type === 'tEXt')
    .map((ch) => Buffer.from(ch.data).toString('latin1'));
  assert.ok(
    text.some((t) => t.includes('offline, not AI')),
    'the file itself carries the label',
  );
});

test('the PNG is well formed: chunk CRCs hold and the pixels inflate to the declared size', async () => {
  const r = await provider.generate({
    prompt: 'grid check',
    model: 'pattern',
    seed: 1,
    width: 96,
    height: 64,
    variants: 4,
  });
  assert.equal(r.images.length, 4);
  assert.deepEqual(
    r.images.map((i) => i.seed),
    [1, 2, 3, 4],
  );
  assert.equal(new Set(r.images.map((i) => Buffer.from(i.bytes).toString('hex'))).size, 4, 'four different variants');
  const bytes = r.images[0]!.bytes;
  const chunks = pngChunks(bytes);
  assert.deepEqual(
    chunks.map((ch) => ch.type).filter((t) => t !== 'tEXt'),
    ['IHDR', 'IDAT', 'IEND'],
  );
  const idat = chunks.find((ch) => ch.type === 'IDAT')!;
  assert.equal(inflateSync(idat.data).length, 64 * (96 * 3 + 1));
  // Every CRC checked against an independent implementation (node:zlib's).
  const view = Buffer.from(bytes);
  for (let at = 8; at < view.length;) {
    const len = view.readUInt32BE(at);
    assert.equal(crc32(view.subarray(at + 4, at + 8 + len)), view.readUInt32BE(at + 8 + len));
    at += 12 + len;
  }
});

test('a large request is drawn at most 1024 pixels a side, keeping its ratio', async () => {
  const r = await provider.generate({ prompt: 'wide', model: 'pattern', seed: 2, aspectRatio: '16:9' });
  const [w, h] = sizeForRatio('16:9');
  assert.ok(w > h);
  assert.ok(r.images[0]!.width! <= 1024 && r.images[0]!.height! <= 1024);
});

test('a C2PA manifest store in a PNG caBX chunk is found', () => {
  const base = encodePng(2, 2, new Uint8Array(12));
  const manifest = new TextEncoder().encode('jumbf manifest store');
  // Insert a caBX chunk after IHDR (CRC is not checked by the reader).
  const chunk = Buffer.alloc(12 + manifest.length);
  chunk.writeUInt32BE(manifest.length, 0);
  chunk.write('caBX', 4, 'latin1');
  Buffer.from(manifest).copy(chunk, 8);
  const withC2pa = Buffer.concat([Buffer.from(base.subarray(0, 33)), chunk, Buffer.from(base.subarray(33))]);
  assert.deepEqual(pngC2pa(withC2pa), manifest);
  assert.equal(pngC2pa(base), undefined);
});

test('requests are checked before any call: prompt, size, variants, seed, model, input image', async () => {
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e instanceof ParleyError ? e.code : String(e);
    }
    return 'no error';
  };
  const models = provider.models();
  assert.equal(
    code(() => checkRequest({ prompt: '   ', model: 'pattern' }, models)),
    'image_prompt_invalid',
  );
  assert.equal(
    code(() => checkRequest({ prompt: 'x'.repeat(4001), model: 'pattern' }, models)),
    'image_prompt_invalid',
  );
  assert.equal(
    code(() => checkRequest({ prompt: 'ok', model: 'pattern', variants: 5 }, models)),
    'image_request_invalid',
  );
  assert.equal(
    code(() => checkRequest({ prompt: 'ok', model: 'pattern', width: 8000, height: 100 }, models)),
    'image_request_invalid',
  );
  assert.equal(
    code(() => checkRequest({ prompt: 'ok', model: 'pattern', width: 512 }, models)),
    'image_request_invalid',
  );
  assert.equal(
    code(() => checkRequest({ prompt: 'ok', model: 'pattern', seed: -1 }, models)),
    'image_request_invalid',
  );
  assert.equal(
    code(() => checkRequest({ prompt: 'ok', model: 'pattern', aspectRatio: 'wide' }, models)),
    'image_request_invalid',
  );
  assert.equal(
    code(() => checkRequest({ prompt: 'ok', model: 'midjourney' }, models)),
    'image_model_unknown',
  );
  assert.equal(
    code(() =>
      checkRequest(
        { prompt: 'ok', model: 'pattern', inputImage: { bytes: new Uint8Array(4), mimeType: 'image/png' } },
        models,
      ),
    ),
    'image_request_invalid',
  );
  const ok = checkRequest({ prompt: '  trimmed  ', model: 'pattern' }, models).req;
  assert.equal(ok.prompt, 'trimmed');
  assert.ok(Number.isInteger(ok.seed) && ok.seed >= 0 && ok.seed <= 0xffffffff, 'a seed is chosen when none is given');
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(
    provider.generate({ prompt: 'x', model: 'pattern' }, { signal: ac.signal }),
    (e: ParleyError) => e.code === 'image_generation_canceled',
  );
});

test('a provider key goes only to its own site', () => {
  assert.equal(sameSite('https://api.us1.bfl.ai/v1/get_result?id=1', 'https://api.bfl.ai'), true);
  assert.equal(sameSite('https://queue.fal.run/x/requests/1/status', 'https://queue.fal.run'), true);
  assert.equal(sameSite('https://evil.example/poll', 'https://api.bfl.ai'), false);
  assert.equal(sameSite('http://api.bfl.ai/poll', 'https://api.bfl.ai'), false);
  assert.equal(sameSite('http://127.0.0.1:8188/history', 'http://127.0.0.1:8188'), true);
  assert.equal(sameSite('http://127.0.0.2:8188/history', 'http://127.0.0.1:8188'), false);
});

test('Retry-After is read as seconds or as an HTTP date', () => {
  assert.equal(retryAfterMs('120'), 120_000);
  assert.equal(retryAfterMs('1.5'), 1500);
  const later = retryAfterMs(new Date(Date.now() + 60_000).toUTCString())!;
  assert.ok(later > 50_000 && later <= 60_000, `about a minute: ${later}`);
  assert.equal(retryAfterMs(new Date(Date.now() - 60_000).toUTCString()), 0);
  assert.equal(retryAfterMs('soon'), undefined);
  assert.equal(retryAfterMs(null), undefined);
});
