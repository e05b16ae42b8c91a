/**
 * `parley search` end to end (C15): messages this profile decrypted are found ignoring case and
 * accents, newest first, one JSON line each naming the chat, the sender, the time and where the
 * query matched; `--conversation` keeps to one chat and never starts one; a missing query is a
 * usage error. `send --link-preview` makes the preview on the sending device and `receive` shows it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cliSuite, parley, parleyOk } from './helpers/cli.ts';

describe('parley search', () => {
  const { profiles, phones } = cliSuite('search', {
    alice: '+12025550171',
    bob: '+12025550172',
    carol: '+12025550173',
  });
  const { alice, bob, carol } = profiles;

  it('prints one line per matching message, in all chats or one', { timeout: 180_000 }, async () => {
    const run = parleyOk;
    await run(['--profile', alice, 'send', '--to', phones.bob, '--message', 'Coffee at the Café Müller?']);
    await run(['--profile', carol, 'send', '--to', phones.bob, '--message', 'the CAFE is closed today']);
    await run(['--profile', bob, 'receive', '--timeout', '1']);

    const all = await run(['--profile', bob, 'search', 'cafe']);
    assert.deepEqual(
      all.lines.map((l) => [l.text, l.matches]),
      [
        ['the CAFE is closed today', [[4, 8]]],
        ['Coffee at the Café Müller?', [[14, 18]]],
      ],
    );
    // Bob's device does not know the senders' numbers: it names them by account, as `receive` does.
    assert.equal(all.lines[0]!.from, `account:${String(all.lines[0]!.fromAccount)}`);
    assert.notEqual(all.lines[0]!.conversationId, all.lines[1]!.conversationId);
    assert.equal(all.lines[0]!.outgoing, false);
    assert.equal(typeof all.lines[0]!.sentAt, 'number');

    const one = await run(['--profile', bob, 'search', 'MULLER', '--conversation', phones.alice]);
    assert.deepEqual(
      one.lines.map((l) => l.text),
      ['Coffee at the Café Müller?'],
    );
    assert.equal(one.lines[0]!.conversationId, all.lines[1]!.conversationId);
    const none = await run(['--profile', bob, 'search', 'closed', '--conversation', phones.alice]);
    assert.equal(none.lines.length, 0);

    const usage = await parley(['--profile', bob, 'search']);
    assert.equal(usage.code, 2);
    // No chat with Carol on Alice's device: an error, and no chat is started.
    const missing = await parley(['--profile', alice, 'search', 'cafe', '--conversation', phones.carol]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /conversation_not_found/);
  });

  it(
    'send --link-preview fetches the page on this device and receive shows the preview',
    { timeout: 120_000 },
    async () => {
      const site = createServer((req, res) => {
        if (req.url === '/trail')
          return res
            .writeHead(200, { 'content-type': 'text/html' })
            .end('<title>Lake &amp; trail</title><meta name="description" content="Ten km">');
        res.writeHead(404).end();
      });
      await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(site.address() as AddressInfo).port}/trail`;
      try {
        const sent = await parley([
          '--profile',
          alice,
          'send',
          '--to',
          phones.bob,
          '--message',
          `see ${url}`,
          '--link-preview',
        ]);
        assert.equal(sent.code, 0, sent.stderr);
        assert.deepEqual(sent.lines[0]!.preview, { url, title: 'Lake & trail', description: 'Ten km' });
        const got = await parley(['--profile', bob, 'receive', '--timeout', '1']);
        assert.equal(got.code, 0, got.stderr);
        const line = got.lines.find((l) => l.text === `see ${url}`);
        assert.deepEqual(line?.preview, { url, title: 'Lake & trail', description: 'Ten km' });
      } finally {
        site.closeAllConnections();
        await new Promise((r) => site.close(r));
      }
    },
  );
});
