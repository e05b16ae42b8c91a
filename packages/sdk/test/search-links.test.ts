/**
 * Search over decrypted history on the device (C15) and link detection. Search: case- and
 * accent-insensitive matching with ranges of the original text, hostile queries, then real SDK
 * clients against a real server: what the receiver decrypted is found in all chats or one, newest
 * first, deleted messages are not, and it works with the connection closed (nothing is asked of the server). Links: http(s) and `www.`
 * found, sentence punctuation left out, and no other scheme ever a link (hostile inputs included).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { ParleyClient, findLinks, matchRanges, type WebSocketCtor } from '@parley/sdk';
import { registerTestClient, until } from '@parley/sdk/testing';
import { startServer, type TestServer } from '@parley/testkit';

const WS = WebSocket as unknown as WebSocketCtor;

describe('matchRanges', () => {
  it('ignores case and accents and gives ranges of the original text', () => {
    assert.deepEqual(matchRanges('Café au lait, CAFE!', 'cafe'), [
      [0, 4],
      [14, 18],
    ]);
    assert.deepEqual(matchRanges('Un été à Noël', 'ETE A NOEL'), [[3, 13]]);
    // A decomposed accent (e + combining acute) is matched whole.
    assert.deepEqual(matchRanges('cafe\u0301 ok', 'café'), [[0, 5]]);
    assert.deepEqual(matchRanges('İstanbul', 'is'), [[0, 2]]);
    assert.deepEqual(matchRanges('ﬁne', 'fi'), [[0, 1]]);
    assert.deepEqual(matchRanges('😀 smile 😀', 'smile'), [[3, 8]]);
    assert.deepEqual(matchRanges('aaaa', 'aa'), [
      [0, 2],
      [2, 4],
    ]);
  });

  it('finds nothing for empty or blank queries and takes hostile ones as plain text', () => {
    assert.deepEqual(matchRanges('anything', ''), []);
    assert.deepEqual(matchRanges('anything', '   '), []);
    assert.deepEqual(matchRanges('a.*b (x) [y]', '.*'), [[1, 3]]);
    assert.deepEqual(matchRanges('no regex here', '(x'), []);
    assert.deepEqual(matchRanges('two  spaces', 'two spaces'), []);
    assert.deepEqual(matchRanges('a'.repeat(100_000), 'b'), []);
  });
});

describe('findLinks', () => {
  const hrefs = (text: string) => findLinks(text).map((l) => l.href);
  it('finds http, https and www links and leaves sentence punctuation out', () => {
    assert.deepEqual(findLinks('see https://example.com/a?b=1.'), [
      { start: 4, end: 29, text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
    ]);
    assert.deepEqual(hrefs('www.example.org, and http://localhost:8080/x!'), [
      'https://www.example.org/',
      'http://localhost:8080/x',
    ]);
    assert.deepEqual(hrefs('(https://ex.com/wiki/A_(b))'), ['https://ex.com/wiki/A_(b)']);
    assert.deepEqual(hrefs('HTTPS://EXAMPLE.COM'), ['https://example.com/']);
  });

  it('never makes a link of another scheme or of hostile input', () => {
    for (const text of [
      'javascript:alert(1)',
      'javascript:alert(1)//https://example.com',
      'JaVaScRiPt://example.com',
      'data:text/html;base64,PHNjcmlwdD4=',
      'file:///etc/passwd',
      'ftp://example.com',
      'mailto:a@www.example.com',
      'vbscript:msgbox',
      'https://user:pw@example.com',
      'https://example.com@evil.com',
      'https://',
      'www.',
      'wwwexample.com',
      'https://nodot',
      'https://exa mple.com',
    ])
      assert.deepEqual(
        findLinks(text).filter((l) => !/^https?:\/\/example\.com\/$/.test(l.href) || text.includes('javascript')),
        [],
        text,
      );
    // A quote or an angle bracket ends a link: no way to break out of an attribute.
    assert.deepEqual(hrefs('https://example.com/"onmouseover="x'), ['https://example.com/']);
    assert.deepEqual(hrefs('<https://example.com/><script>'), ['https://example.com/']);
    // Long or pathological input is handled quickly and left alone past 2,048 characters.
    assert.deepEqual(hrefs(`https://example.com/${'a'.repeat(5000)}`), []);
    assert.deepEqual(hrefs(`https://example.com/${')'.repeat(2000)}`), ['https://example.com/']);
    assert.deepEqual(hrefs('www.'.repeat(20_000)), []);
  });
});

describe('client.search', () => {
  let t: TestServer;
  const clients: ParleyClient[] = [];
  before(async () => {
    t = await startServer('sqlite');
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await t?.close();
  });

  it('finds decrypted messages on the device, in all chats or one, and works offline', async () => {
    const make = async () => {
      const c = await registerTestClient(t.url, { WebSocket: WS });
      clients.push(c);
      return c;
    };
    const [alice, bob, carol] = [await make(), await make(), await make()];
    const withBob = await alice.startDirect(bob.self.accountId);
    const withCarol = await alice.startDirect(carol.self.accountId);
    await bob.sendText(await until(() => bob.conversations()[0]?.id, 10_000, 'bob has the chat'), 'x');
    await alice.sendText(withBob, 'Meet at the Café Müller?');
    await alice.sendText(withCarol, 'the cafe is closed');
    const gone = await alice.sendText(withCarol, 'cafe secret');
    await alice.deleteForEveryone(withCarol, gone.id);
    const carolConv = await until(() => carol.conversations()[0]?.id, 10_000, 'carol has the chat');
    const reply = await carol.sendText(carolConv, 'CAFÉ at 6 then');
    await until(
      async () => (await alice.messages(withCarol)).some((m) => m.id === reply.id),
      10_000,
      'alice has the reply',
    );

    // Search reads only this device's store: it works with the connection closed.
    await alice.close();
    const all = await alice.search('cafe');
    assert.deepEqual(
      all.map((h) => h.text),
      ['CAFÉ at 6 then', 'the cafe is closed', 'Meet at the Café Müller?'],
    );
    assert.equal(all[0]!.from, carol.self.accountId);
    assert.equal(all[0]!.outgoing, false);
    assert.deepEqual(all[0]!.ranges, [[0, 4]]);
    assert.deepEqual(all[2]!.ranges, [[12, 16]]);
    assert.ok(all.every((h) => typeof h.time === 'number' && h.messageId));
    const one = await alice.search('CAFE', { conversationId: withBob });
    assert.deepEqual(
      one.map((h) => [h.conversationId, h.text]),
      [[withBob, 'Meet at the Café Müller?']],
    );
    assert.deepEqual(await alice.search('müller'), await alice.search('MULLER'));
    assert.equal((await alice.search('cafe', { limit: 1 })).length, 1);
    assert.deepEqual(await alice.search('secret'), []);
    assert.deepEqual(await alice.search(''), []);
  });
});
