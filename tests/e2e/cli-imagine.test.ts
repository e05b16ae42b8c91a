/**
 * Image generation through the `parley` command (C9) against a real `parley serve` with one hosted
 * model on a local fake of an OpenAI-compatible image service: `models` prints one line per model
 * saying where the prompt goes, `imagine` sends the picked variant (pattern renderer on the device,
 * or the hosted model) and prints it with its label, `receive` on the other side shows the label;
 * usage errors and refused jobs are one line, non-zero, and send nothing.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SAMPLE_PNG, json, startFake, type Fake } from '@parley/imagegen/testing';
import type { ServerProcess } from './helpers/server-process.ts';
import { parley, parleyOk, serveWithProfiles } from './helpers/cli.ts';

/** Every file under `dir`, read whole. */
function allBytes(dir: string): Buffer {
  const parts: Buffer[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    parts.push(statSync(p).isDirectory() ? allBytes(p) : readFileSync(p));
  }
  return Buffer.concat(parts);
}

describe('parley CLI imagine', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-cli-imagine-'));
  const alice = join(tmp, 'alice');
  const bob = join(tmp, 'bob');
  const phones = { alice: '+12025550181', bob: '+12025550182' };
  let server: ServerProcess;
  let fake: Fake;

  before(async () => {
    fake = await startFake((hit, res) => {
      const body = hit.body as { prompt: string; n: number };
      if (hit.headers.authorization !== 'Bearer sk-cli') return json(res, 401, { error: { message: 'bad key' } });
      json(res, 200, {
        data: Array.from({ length: body.n }, () => ({ b64_json: Buffer.from(SAMPLE_PNG).toString('base64') })),
      });
    });
    const models = [
      {
        id: 'studio',
        provider: 'openai',
        baseUrl: fake.base,
        apiKey: 'sk-cli',
        model: 'image-model-1',
        displayName: 'Studio Image',
        maxVariantsPerJob: 4,
        dailyQuota: 3,
        costPerImage: 0.04,
      },
    ];
    server = await serveWithProfiles(
      join(tmp, 'data'),
      [
        [alice, phones.alice],
        [bob, phones.bob],
      ],
      { PARLEY_IMAGEGEN_MODELS: JSON.stringify(models) },
    );
  });
  after(async () => {
    await server?.kill();
    await fake?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('lists the models with where the prompt goes', { timeout: 60_000 }, async () => {
    const r = await parleyOk(['--profile', alice, 'models']);
    assert.deepEqual(
      r.lines.map((l) => [l.id, l.where]),
      [
        ['studio', 'server'],
        ['pattern', 'offline'],
      ],
    );
    assert.match(String(r.lines[0]!.notice), /leaves end-to-end encryption.*OpenAI-compatible/);
    assert.equal(r.lines[0]!.leftToday, 3);
    assert.equal(r.lines[1]!.name, 'Pattern — offline, not AI');
    assert.match(String(r.lines[1]!.notice), /Nothing leaves this device/);
  });

  it(
    'sends a picked pattern variant and a hosted image with their labels; the receiver sees them',
    { timeout: 120_000 },
    async () => {
      const pattern = await parleyOk([
        '--profile',
        alice,
        'imagine',
        '--to',
        phones.bob,
        '--prompt',
        'a red fox',
        '--variants',
        '2',
        '--pick',
        '2',
        '--seed',
        '7',
        '--size',
        '128x96',
      ]);
      assert.equal(pattern.lines.length, 1);
      const p = pattern.lines[0]!;
      assert.equal(p.label, 'Pattern — offline, not AI');
      assert.equal((p.generated as { seed: number }).seed, 8);
      assert.equal(p.variants, 2);
      const hosted = await parleyOk([
        '--profile',
        alice,
        'imagine',
        '--to',
        phones.bob,
        '--prompt',
        'a lighthouse',
        '--model',
        'studio',
      ]);
      const h = hosted.lines[0]!;
      assert.equal(h.label, 'AI-generated · Studio Image');
      assert.equal((h.generated as { provider: string }).provider, 'openai');
      assert.ok(fake.hits.some((x) => (x.body as { prompt?: string }).prompt === 'a lighthouse'));

      const got = await parleyOk(['--profile', bob, 'receive', '--timeout', '2']);
      const labels = got.lines.filter((l) => l.label).map((l) => [l.id, l.label]);
      assert.deepEqual(labels, [
        [p.id, 'Pattern — offline, not AI'],
        [h.id, 'AI-generated · Studio Image'],
      ]);
      assert.equal((got.lines.find((l) => l.id === h.id)!.attachment as { kind: string }).kind, 'image');
    },
  );

  it(
    'answers usage errors and refused jobs with one line, non-zero, and sends nothing',
    { timeout: 120_000 },
    async () => {
      const usage: string[][] = [
        ['imagine', '--to', phones.bob],
        ['imagine', '--to', phones.bob, '--prompt', 'x', '--variants', '9'],
        ['imagine', '--to', phones.bob, '--prompt', 'x', '--variants', '2', '--pick', '3'],
        ['imagine', '--to', phones.bob, '--prompt', 'x', '--size', 'big'],
        ['imagine', '--to', phones.bob, '--prompt', 'x', '--seed', '-1'],
      ];
      for (const args of usage) {
        const r = await parley(['--profile', alice, ...args]);
        assert.equal(r.code, 2, args.join(' '));
        assert.equal(r.stdout, '');
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      }
      const refused: [string[], RegExp][] = [
        [['--prompt', 'x', '--model', 'nope'], /image_model_unknown/],
        [['--prompt', '   ', '--model', 'studio'], /image_prompt_invalid/],
        [['--prompt', 'x'.repeat(4001)], /image_prompt_invalid/],
        // Two images are left of the quota of 3: asking for 4 is refused, nothing charged.
        [['--prompt', 'four', '--model', 'studio', '--variants', '4'], /image_quota_spent.*retry after/],
      ];
      for (const [args, pattern] of refused) {
        const r = await parley(['--profile', alice, 'imagine', '--to', phones.bob, ...args]);
        assert.equal(r.code, 1, args.join(' '));
        assert.equal(r.stdout, '');
        assert.match(r.stderr.trim(), pattern);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      }
      const left = await parleyOk(['--profile', alice, 'models']);
      assert.equal(left.lines[0]!.leftToday, 2);
      const got = await parleyOk(['--profile', bob, 'receive', '--timeout', '2']);
      assert.equal(got.lines.filter((l) => l.label).length, 0, 'something was sent');
    },
  );
  it(
    'keeps a device key on the profile only: add, list and remove print it masked; imagine calls the provider itself',
    { timeout: 120_000 },
    async () => {
      const key = 'sk-own-cli-key-1234';
      const own = await startFake((hit, res) => {
        if (hit.headers.authorization !== `Bearer ${key}`) return json(res, 401, { error: { message: 'bad key' } });
        json(res, 200, { data: [{ b64_json: Buffer.from(SAMPLE_PNG).toString('base64') }] });
      });
      try {
        const usage: string[][] = [
          ['imagine', 'keys', 'add', '--provider', 'nope', '--key', 'k'],
          ['imagine', 'keys', 'add', '--provider', 'a1111', '--key', 'k'],
          ['imagine', 'keys', 'add', '--provider', 'openai'],
          ['imagine', 'keys', 'add', '--provider', 'openai', '--key', 'k', '--base-url', 'ftp://x'],
          [
            'imagine',
            'keys',
            'add',
            '--provider',
            'comfyui',
            '--key',
            'k',
            '--base-url',
            'http://127.0.0.1:1',
            '--model',
            'm',
          ],
          ['imagine', 'keys', 'add', '--provider', 'openai', '--key', 'k', '--id', 'no spaces'],
          ['imagine', 'keys', 'remove'],
          ['imagine', 'keys', 'frob'],
        ];
        for (const args of usage) {
          const r = await parley(['--profile', alice, ...args]);
          assert.equal(r.code, 2, args.join(' '));
          assert.equal(r.stdout, '');
          assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        }
        const add = await parleyOk([
          '--profile',
          alice,
          'imagine',
          'keys',
          'add',
          '--provider',
          'openai',
          '--key',
          key,
          '--base-url',
          own.base,
          '--model',
          'own-model',
          '--name',
          'Own Model',
          '--id',
          'own',
        ]);
        assert.equal(add.lines.length, 1);
        assert.deepEqual(add.lines[0], {
          status: 'added',
          id: 'device:own',
          provider: 'openai',
          baseUrl: own.base,
          model: 'own-model',
          name: 'Own Model',
          key: '…1234',
          storedOn: 'this device',
        });
        const list = await parleyOk(['--profile', alice, 'imagine', 'keys', 'list']);
        assert.deepEqual(
          list.lines.map((l) => [l.id, l.key, l.name]),
          [['device:own', '…1234', 'Own Model']],
        );
        for (const r of [add, list]) assert.ok(!r.stdout.includes(key) && !r.stderr.includes(key), 'the key in full');
        const models = await parleyOk(['--profile', alice, 'models']);
        const line = models.lines.find((l) => l.id === 'device:own')!;
        assert.equal(line.where, 'device');
        assert.match(
          String(line.notice),
          /this device sends it with your key straight to .*the Parley server never sees it/,
        );

        const sent = await parleyOk([
          '--profile',
          alice,
          'imagine',
          '--to',
          phones.bob,
          '--prompt',
          'my own harbour',
          '--model',
          'device:own',
        ]);
        assert.equal(sent.lines[0]!.label, 'AI-generated · Own Model');
        assert.equal((own.hits[0]?.body as { prompt?: string }).prompt, 'my own harbour');
        assert.equal(
          fake.hits.some((h) => (h.body as { prompt?: string }).prompt === 'my own harbour'),
          false,
          'the hosted provider saw it',
        );
        assert.equal(allBytes(join(tmp, 'data')).includes(Buffer.from(key)), false, 'the key reached the server');
        const got = await parleyOk(['--profile', bob, 'receive', '--timeout', '2']);
        assert.deepEqual(
          got.lines.filter((l) => l.label).map((l) => l.label),
          ['AI-generated · Own Model'],
        );

        const removed = await parleyOk(['--profile', alice, 'imagine', 'keys', 'remove', '--id', 'own']);
        assert.deepEqual(removed.lines, [{ status: 'removed', id: 'device:own' }]);
        assert.equal((await parleyOk(['--profile', alice, 'imagine', 'keys', 'list'])).lines.length, 0);
        const again = await parley(['--profile', alice, 'imagine', 'keys', 'remove', '--id', 'own']);
        assert.equal(again.code, 1);
        assert.match(again.stderr.trim(), /^parley: image_model_unknown: No key device:own on this device\.$/);
      } finally {
        await own.close();
      }
    },
  );
});
