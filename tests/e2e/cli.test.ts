/**
 * The `parley` command end to end (C1–C3): registration, 1:1 and group sends, receive with JSON
 * lines, replies addressed by the `conversation` field, and one-line errors with non-zero exits.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerProcess } from './helpers/server-process.ts';
import { parley, serveWithProfiles, type Run } from './helpers/cli.ts';

describe('parley CLI', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-cli-'));
  let server: ServerProcess;
  const alice = join(tmp, 'alice');
  const bob = join(tmp, 'bob');
  const carol = join(tmp, 'carol');
  const phones = { alice: '+12025550141', bob: '+12025550142', carol: '+12025550143' };

  before(async () => {
    server = await serveWithProfiles(
      join(tmp, 'data'),
      [
        [alice, phones.alice],
        [bob, phones.bob],
        [carol, phones.carol],
      ],
      { PARLEY_REGISTRATION_PER_NUMBER: '3' },
    );
  });
  after(async () => {
    await server?.kill();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('sends 1:1, receives JSON lines and replies by the conversation address', { timeout: 120_000 }, async () => {
    const sent = await parley(['--profile', alice, 'send', '--to', phones.bob, '--message', 'hello from the cli']);
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal(sent.lines.length, 1);
    assert.match(String(sent.lines[0]!.id), /^m_/);

    const got = await parley(['--profile', bob, 'receive', '--timeout', '2']);
    assert.equal(got.code, 0, got.stderr);
    const msg = got.lines.find((l) => l.text === 'hello from the cli');
    assert.ok(msg, got.stdout);
    assert.equal(msg.id, sent.lines[0]!.id);
    for (const k of ['id', 'conversation', 'from', 'text', 'sentAt']) assert.ok(k in msg, `field ${k}`);
    assert.equal(typeof msg.sentAt, 'number');

    const reply = await parley(['--profile', bob, 'send', '--to', String(msg.conversation), '--message', 'hi alice']);
    assert.equal(reply.code, 0, reply.stderr);
    const back = await parley(['--profile', alice, 'receive', '--timeout', '2']);
    const line = back.lines.find((l) => l.text === 'hi alice');
    assert.ok(line, back.stdout);
    assert.equal(line.from, phones.bob, 'alice knows bob by number');
    // Nothing is printed twice.
    const again = await parley(['--profile', alice, 'receive', '--timeout', '1']);
    assert.equal(again.lines.filter((l) => l.text === 'hi alice').length, 0);
  });

  it('creates a group and delivers to every member', { timeout: 120_000 }, async () => {
    const g = await parley([
      '--profile',
      alice,
      'group',
      'create',
      '--name',
      'CLI crew',
      '--members',
      `${phones.bob},${phones.carol}`,
    ]);
    assert.equal(g.code, 0, g.stderr);
    assert.equal(g.lines.length, 1);
    const id = String(g.lines[0]!.group);
    assert.match(id, /^[A-Za-z0-9_-]{22}$/);
    const s = await parley(['--profile', alice, 'send', '--to', `group:${id}`, '--message', 'group hello']);
    assert.equal(s.code, 0, s.stderr);
    for (const p of [bob, carol]) {
      const r = await parley(['--profile', p, 'receive', '--timeout', '2']);
      const line = r.lines.find((l) => l.text === 'group hello');
      assert.ok(line, `${p}: ${r.stdout} ${r.stderr}`);
      assert.equal(line.conversation, `group:${id}`);
    }
  });

  it('fails with one line on stderr and a non-zero status', { timeout: 60_000 }, async () => {
    const usage = await parley(['--profile', alice, 'send', '--to', phones.bob]);
    assert.equal(usage.code, 2);
    assert.equal(usage.stderr.trim().split('\n').length, 1);
    assert.match(usage.stderr, /--message is required/);

    const unknown = await parley(['--profile', alice, 'send', '--to', '+12025550177', '--message', 'x']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^parley: account_not_found/);
    assert.equal(unknown.stderr.trim().split('\n').length, 1);

    const unregistered = await parley(['--profile', join(tmp, 'nobody'), 'send', '--to', phones.bob, '--message', 'x']);
    assert.notEqual(unregistered.code, 0);
    assert.equal(unregistered.stderr.trim().split('\n').length, 1);

    const limited: Run[] = [];
    for (let i = 0; i < 4; i++)
      limited.push(
        await parley(['--profile', join(tmp, 'spam'), 'register', '--server', server.url, '--phone', '+12025550150']),
      );
    const last = limited.at(-1)!;
    assert.equal(last.code, 1);
    assert.match(last.stderr, /rate_limited.*retry after \d+ s/);
    assert.equal(last.stdout, '');
  });
});
