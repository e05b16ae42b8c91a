/**
 * Chat export (C16) from real SDK clients against a real server: the zip holds the manifest, each
 * chat's JSON (replies, reactions, edits, deletes, attachments) and readable HTML, and the decrypted
 * media; Python's zipfile, a reader independent of the writer, checks every entry's CRC. A hostile
 * message stays text in the HTML. One chat, a time limit and an export without media do what they
 * say; an unknown chat fails before anything is written.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import WebSocket from 'ws';
import {
  EXPORT_FORMAT,
  exportChats,
  exportFileName,
  exportChatsToBytes,
  isParleyError,
  type ExportedChat,
  type ExportManifest,
  type ParleyClient,
  type WebSocketCtor,
} from '@parley/sdk';
import { registerTestClient, until } from '@parley/sdk/testing';
import { startServer, type TestServer } from '@parley/testkit';

const WS = WebSocket as unknown as WebSocketCtor;

/** Python's own zip reader: the names in the archive, after checking every entry's CRC. */
function independentlyRead(bytes: Uint8Array): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'parley-export-'));
  try {
    const file = join(dir, 'x.zip');
    writeFileSync(file, bytes);
    const script =
      'import sys, zipfile, json\nz = zipfile.ZipFile(sys.argv[1])\nbad = z.testzip()\nprint(json.dumps({"bad": bad, "names": z.namelist()}))';
    const out = JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' })) as {
      bad: string | null;
      names: string[];
    };
    assert.equal(out.bad, null, 'every entry passes its CRC check');
    return out.names;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('chat export', () => {
  let t: TestServer;
  let alice: ParleyClient;
  let bob: ParleyClient;
  let direct: string;
  let group: string;
  const photo = new Uint8Array(30_000).map((_, i) => (i * 13) % 251);
  const hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>';

  before(async () => {
    t = await startServer('sqlite');
    alice = await registerTestClient(t.url, { WebSocket: WS });
    bob = await registerTestClient(t.url, { WebSocket: WS });
    await alice.setProfile({ name: 'Alice Liddell' });
    direct = await alice.startDirect(bob.self.accountId);
    const first = await alice.sendText(direct, 'Hello Bob');
    await until(async () => (await bob.messages(direct)).some((m) => m.id === first.id), 10_000, 'bob has it');
    const answer = await bob.reply(direct, first.id, 'Hi Alice');
    // Alice has the reply before she writes on, so her history's order is fixed.
    await until(async () => (await alice.messages(direct)).some((m) => m.id === answer.id), 10_000, 'alice has it');
    await alice.react(direct, first.id, '👍');
    const typo = await alice.sendText(direct, 'See you at 5');
    await alice.editMessage(direct, typo.id, 'See you at 6');
    const oops = await alice.sendText(direct, 'wrong chat, sorry');
    await alice.deleteForEveryone(direct, oops.id);
    await alice.sendText(direct, hostile);
    await alice.sendMedia(direct, {
      bytes: photo,
      mimeType: 'image/png',
      kind: 'image',
      fileName: '../../evil name.png',
    });
    group = await alice.createGroup('Book club', [bob.self.accountId]);
    await alice.sendText(group, 'Chapter 3 tonight');
    await until(
      async () => (await bob.messages(direct)).some((m) => m.attachment) && answer.id,
      10_000,
      'bob has the photo',
    );
  });
  after(async () => {
    await alice?.close().catch(() => undefined);
    await bob?.close().catch(() => undefined);
    await t?.close();
  });

  it('packs every chat with JSON, readable pages and decrypted media', { timeout: 60_000 }, async () => {
    const progress: number[] = [];
    const { bytes, manifest } = await exportChatsToBytes(alice, { onProgress: (p) => progress.push(p.mediaDone) });
    const names = independentlyRead(bytes);
    const files = unzipSync(bytes);
    assert.deepEqual(Object.keys(files).sort(), [...names].sort());

    const top = JSON.parse(strFromU8(files['export.json']!)) as ExportManifest;
    assert.deepEqual(top, manifest);
    assert.equal(top.format, EXPORT_FORMAT);
    assert.equal(top.account.accountId, alice.self.accountId);
    assert.equal(top.account.name, 'Alice Liddell');
    assert.equal(top.chats.length, 2);
    assert.ok(files['index.html'], 'an index page');
    for (const name of names) assert.ok(!name.includes('..') && !name.startsWith('/'), `a safe path: ${name}`);

    const entry = top.chats.find((c) => c.id === direct)!;
    const chat = JSON.parse(strFromU8(files[`chats/${entry.folder}/chat.json`]!)) as ExportedChat;
    assert.equal(chat.kind, 'direct');
    const texts = chat.messages.map((m) => m.text ?? null);
    assert.deepEqual(texts.slice(0, 3), ['Hello Bob', 'Hi Alice', 'See you at 6']);
    const [hello, hi, edited, deleted] = chat.messages;
    assert.deepEqual(
      hello!.reactions?.map((r) => [r.from, r.emoji]),
      [[alice.self.accountId, '👍']],
    );
    assert.equal(hi!.from, bob.self.accountId);
    assert.equal(hi!.replyTo?.id, hello!.id);
    assert.equal(hi!.replyTo?.excerpt, 'Hello Bob');
    assert.ok(edited!.editedAt, 'the edit is marked');
    assert.ok(deleted!.deletedAt && deleted!.text === undefined, 'a deleted message keeps nothing but its time');
    const att = chat.messages.find((m) => m.attachment)!.attachment!;
    assert.equal(att.size, photo.length);
    assert.equal(att.fileName, '../../evil name.png', 'the JSON keeps the name as sent');
    assert.match(att.file!, /^media\/\d{4}-evil-name\.png$/, 'the file in the zip has a safe name');
    assert.deepEqual(files[`chats/${entry.folder}/${att.file}`], photo, 'the decrypted photo');
    assert.equal(entry.mediaFiles, 1);
    assert.equal(progress.at(-1), 1, 'progress reached the one media file');

    const html = strFromU8(files[`chats/${entry.folder}/chat.html`]!);
    assert.ok(!html.includes('<script>alert'), 'no script from a message');
    assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'), 'the hostile text, escaped');
    assert.ok(html.includes('See you at 6') && html.includes('This message was deleted'));
    assert.ok(html.includes(`<img src="${att.file}"`), 'the photo shown from the zip');
    assert.match(html, /Content-Security-Policy/);

    const groupEntry = top.chats.find((c) => c.id === group)!;
    assert.equal(groupEntry.title, 'Book club');
    const groupChat = JSON.parse(strFromU8(files[`chats/${groupEntry.folder}/chat.json`]!)) as ExportedChat;
    // The system line for adding Bob, then the message.
    assert.deepEqual(
      groupChat.messages.map((m) => m.text ?? m.system?.kind),
      ['added', 'Chapter 3 tonight'],
    );
    assert.deepEqual(groupChat.messages[0]!.system, {
      kind: 'added',
      by: alice.self.accountId,
      member: bob.self.accountId,
    });
    const groupHtml = strFromU8(files[`chats/${groupEntry.folder}/chat.html`]!);
    assert.ok(groupHtml.includes('Alice Liddell added '), 'the system line in words');
    assert.deepEqual(
      groupChat.members.map((m) => m.accountId).sort(),
      [alice.self.accountId, bob.self.accountId].sort(),
    );
  });

  it('exports one chat, a time window, or no media, as asked', { timeout: 60_000 }, async () => {
    const one = await exportChatsToBytes(bob, { conversationId: direct, media: false });
    assert.deepEqual(
      one.manifest.chats.map((c) => c.id),
      [direct],
    );
    const files = unzipSync(one.bytes);
    const chat = JSON.parse(strFromU8(files[`chats/${one.manifest.chats[0]!.folder}/chat.json`]!)) as ExportedChat;
    const att = chat.messages.find((m) => m.attachment)!.attachment!;
    assert.equal(att.error, 'not_included');
    assert.equal(att.file, undefined);
    assert.equal(Object.keys(files).filter((n) => n.includes('/media/')).length, 0, 'no media files');
    assert.equal(one.manifest.media, false);

    const future = await exportChatsToBytes(alice, { since: Date.now() + 60_000, media: false });
    assert.ok(future.manifest.since);
    assert.deepEqual(
      future.manifest.chats.map((c) => c.messages),
      [0, 0],
      'nothing sent after the limit',
    );
  });

  it('refuses an unknown chat before writing anything', async () => {
    let written = 0;
    await assert.rejects(
      exportChats(alice, { conversationId: 'c_nope', write: () => void written++ }),
      (e) => isParleyError(e) && e.code === 'conversation_not_found',
    );
    assert.equal(written, 0);
  });
});

describe('export file names', () => {
  it('keep letters, digits, dots, dashes and underscores, never a path or ..', () => {
    assert.equal(exportFileName('Café menu.pdf'), 'Cafe-menu.pdf');
    assert.equal(exportFileName('../../etc/passwd'), 'etc-passwd');
    assert.equal(exportFileName('..\\..\\boot.ini'), 'boot.ini');
    assert.equal(exportFileName('a_ON5LCz…'), 'a_ON5LCz');
    assert.equal(exportFileName('...'), 'file');
    assert.equal(exportFileName('名前'), 'file');
    assert.equal(exportFileName('x'.repeat(200)).length, 60);
  });
});
