/**
 * Image generation through real SDK clients against a real server (C9): a provider key added on a
 * device stays there — the device calls the provider (a local OpenAI-compatible fake) itself and no
 * request to the Parley server, nor its data folder, holds the key or the prompt; the models list
 * says where each prompt goes; the pattern renderer runs on the device; a variant sent with
 * `sendImagined` reaches the other member as an image with its provenance label, also when it is
 * forwarded, and a delete for everyone drops the label with the attachment.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { generatedLabelText, type ParleyClient } from '@parley/sdk';
import { until } from '@parley/sdk/testing';
import { SAMPLE_PNG, json, startFake, type Fake } from '@parley/imagegen/testing';
import { newClient, startServer, type TestServer } from '@parley/testkit';

const KEY = 'sk-device-only-3f9a';
const PROMPT = 'a teapot shaped like a whale';

function allBytes(dir: string): Buffer {
  return Buffer.concat(
    readdirSync(dir).map((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? allBytes(p) : readFileSync(p);
    }),
  );
}

describe('image generation in the SDK', () => {
  let t: TestServer;
  let fake: Fake;
  const clients: ParleyClient[] = [];
  const toServer: string[] = [];
  before(async () => {
    t = await startServer('sqlite');
    fake = await startFake((hit, res) => {
      if (hit.headers.authorization !== `Bearer ${KEY}`) return json(res, 401, { error: { message: 'bad key' } });
      const n = (hit.body as { n: number }).n;
      json(res, 200, {
        data: Array.from({ length: n }, () => ({ b64_json: Buffer.from(SAMPLE_PNG).toString('base64') })),
      });
    });
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await t?.close();
    await fake?.close();
  });

  it(
    'keeps a device key on the device, calls the provider directly, and sends the image labelled',
    { timeout: 60_000 },
    async () => {
      // Every HTTP request the device makes to the Parley server, with its body.
      const recording: typeof fetch = async (input, init) => {
        toServer.push(`${String(input)} ${typeof init?.body === 'string' ? init.body : ''}`);
        return fetch(input, init);
      };
      const alice = await newClient(t.url, undefined, { fetch: recording });
      const bob = await newClient(t.url);
      clients.push(alice, bob);

      const id = await alice.addImageProvider({
        id: 'mine',
        provider: 'openai',
        baseUrl: fake.base,
        apiKey: KEY,
        model: 'image-model-1',
        displayName: 'My Image Model',
        maxVariantsPerJob: 4,
      });
      assert.equal(id, 'device:mine');
      // Listed without the server, the key only as a hint.
      const keys = await alice.imageProviders();
      assert.deepEqual(
        keys.map((k) => [k.id, k.provider, k.displayName]),
        [['device:mine', 'openai', 'My Image Model']],
      );
      assert.equal(JSON.stringify(keys).includes(KEY), false, 'the key in full');
      const models = await alice.imageModels();
      assert.deepEqual(
        models.map((m) => [m.id, m.where]),
        [
          ['device:mine', 'device'],
          ['pattern', 'offline'],
        ],
      );
      assert.match(models[0]!.notice, /straight to an OpenAI-compatible image service .*never sees it/);

      const progress: string[] = [];
      const variants = await alice.imagine({
        model: id,
        prompt: PROMPT,
        variants: 2,
        onProgress: (p) => progress.push(p.stage),
      });
      assert.equal(variants.length, 2);
      assert.deepEqual(variants[0]!.bytes, SAMPLE_PNG);
      assert.equal(variants[0]!.label.modelName, 'My Image Model');
      assert.equal(fake.hits.length, 1, 'the device called the provider itself');
      assert.equal((fake.hits[0]!.body as { prompt: string }).prompt, PROMPT);

      const conv = await alice.startDirect(bob.self.accountId);
      const sent = await alice.sendImagined(conv, variants[1]!);
      assert.equal(sent.generated?.provider, 'openai');
      await until(async () => (await bob.messages(conv)).some((m) => m.attachment), 15_000, 'bob gets the image');
      const got = (await bob.messages(conv)).find((m) => m.attachment)!;
      assert.equal(got.attachment!.kind, 'image');
      assert.equal(generatedLabelText(got.generated!), 'AI-generated · My Image Model');
      assert.deepEqual(await bob.downloadMedia(got.attachment!), SAMPLE_PNG);

      // Neither the key nor the prompt went to the Parley server, nor is in its data folder.
      assert.ok(toServer.length > 0);
      assert.equal(
        toServer.some((r) => r.includes(KEY) || r.includes(PROMPT)),
        false,
      );
      const stored = allBytes(t.dataDir);
      assert.equal(stored.includes(Buffer.from(KEY)), false);
      assert.equal(stored.includes(Buffer.from(PROMPT)), false);

      // The pattern renderer runs here too, labelled as no AI; a forward keeps the label.
      const [pattern] = await alice.imagine({ model: 'pattern', prompt: 'waves', width: 96, height: 64, seed: 3 });
      assert.equal(generatedLabelText(pattern!.label), 'Pattern — offline, not AI');
      const p = await alice.sendImagined(conv, pattern!);
      const fwd = await alice.forward(conv, p.id, conv);
      assert.equal(generatedLabelText(fwd.generated!), 'Pattern — offline, not AI');

      // A delete for everyone drops the label with the attachment.
      await alice.deleteForEveryone(conv, p.id);
      await until(
        async () => (await bob.messages(conv)).some((m) => m.id === p.id && m.deletedAt !== undefined),
        15_000,
        'deleted',
      );
      assert.equal((await bob.messages(conv)).find((m) => m.id === p.id)!.generated, undefined);

      await alice.removeImageProvider(id);
      assert.deepEqual(await alice.imageProviders(), []);
      assert.deepEqual(
        (await alice.imageModels()).map((m) => m.id),
        ['pattern'],
      );
    },
  );
});
