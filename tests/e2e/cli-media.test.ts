/**
 * Media through the `parley` command (C4) against a real `parley serve` process: `send --file`
 * prints one JSON line with the attachment, `receive` prints the reference (never the key), and
 * `download` writes the decrypted file; bad input fails with one line and changes nothing.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerProcess } from './helpers/server-process.ts';
import { parley, serveWithProfiles } from './helpers/cli.ts';

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('parley CLI media', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'parley-cli-media-'));
  const data = join(tmp, 'data');
  let server: ServerProcess;
  const alice = join(tmp, 'alice');
  const bob = join(tmp, 'bob');
  const phones = { alice: '+12025550161', bob: '+12025550162' };

  before(async () => {
    server = await serveWithProfiles(data, [
      [alice, phones.alice],
      [bob, phones.bob],
    ]);
  });
  after(async () => {
    await server?.kill();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('sends a file, prints its reference on receive, and downloads it decrypted', { timeout: 120_000 }, async () => {
    const canary = Buffer.from(`CLI-MEDIA-CANARY-${Math.random().toString(36).slice(2)}`);
    const file = Buffer.concat([randomBytes(100_000), canary, randomBytes(50_000)]);
    const path = join(tmp, 'holiday.jpg');
    writeFileSync(path, file);

    const sent = await parley([
      '--profile',
      alice,
      'send',
      '--to',
      phones.bob,
      '--file',
      path,
      '--message',
      'from the beach',
    ]);
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal(sent.lines.length, 1, 'one JSON line');
    const line = sent.lines[0]!;
    assert.match(String(line.id), /^m_/);
    const att = line.attachment as Record<string, unknown>;
    assert.equal(att.kind, 'image');
    assert.equal(att.mimeType, 'image/jpeg');
    assert.equal(att.fileName, 'holiday.jpg');
    assert.equal(att.size, file.length + 16);
    assert.match(String(att.blobId), /^b_/);

    const got = await parley(['--profile', bob, 'receive', '--timeout', '2']);
    assert.equal(got.code, 0, got.stderr);
    const msg = got.lines.find((l) => l.id === line.id);
    assert.ok(msg, got.stdout);
    assert.equal(msg.text, 'from the beach');
    assert.deepEqual(msg.attachment, att, 'the receiver sees the same reference');
    assert.ok(
      !('key' in (msg.attachment as object)) && !('nonce' in (msg.attachment as object)),
      'keys are never printed',
    );

    const outPath = join(tmp, 'downloaded.jpg');
    const dl = await parley(['--profile', bob, 'download', '--message', String(line.id), '--out', outPath]);
    assert.equal(dl.code, 0, dl.stderr);
    assert.deepEqual(dl.lines[0], {
      id: line.id,
      out: outPath,
      bytes: file.length,
      mimeType: 'image/jpeg',
      kind: 'image',
      fileName: 'holiday.jpg',
    });
    assert.deepEqual(readFileSync(outPath), file);

    // The server's data folder (database and blob folder) holds none of the plaintext.
    const blobFiles = filesUnder(join(data, 'media'));
    assert.ok(blobFiles.length >= 1);
    for (const f of filesUnder(data)) assert.equal(readFileSync(f).includes(canary), false, `${f} holds plaintext`);
  });

  it(
    'fails with one line and sends nothing for a missing file, a bad kind or an unknown message',
    { timeout: 120_000 },
    async () => {
      const before = filesUnder(join(data, 'media')).length;
      const missing = await parley(['--profile', alice, 'send', '--to', phones.bob, '--file', join(tmp, 'nope.png')]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /^parley: cannot read --file .*ENOENT/);
      assert.equal(missing.stderr.trim().split('\n').length, 1);
      const path = join(tmp, 'note.txt');
      writeFileSync(path, 'hello');
      const badKind = await parley([
        '--profile',
        alice,
        'send',
        '--to',
        phones.bob,
        '--file',
        path,
        '--kind',
        'hologram',
      ]);
      assert.equal(badKind.code, 2);
      assert.match(badKind.stderr, /--kind must be/);
      const badMime = await parley([
        '--profile',
        alice,
        'send',
        '--to',
        phones.bob,
        '--file',
        path,
        '--mime',
        'not a type',
      ]);
      assert.equal(badMime.code, 1);
      assert.match(badMime.stderr, /^parley: bad_request/);
      assert.equal(filesUnder(join(data, 'media')).length, before, 'nothing was uploaded');

      const unknown = await parley([
        '--profile',
        bob,
        'download',
        '--message',
        'm_AAAAAAAAAAAAAAAAAAAAAA',
        '--out',
        join(tmp, 'x'),
      ]);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /^parley: not_found: No message/);
      assert.equal(existsSync(join(tmp, 'x')), false);
    },
  );
  it(
    'exports the chat as a zip with its JSON, page and decrypted photo; bad input leaves no file',
    { timeout: 120_000 },
    async () => {
      const photo = randomBytes(20_000);
      const path = join(tmp, 'sunset.png');
      writeFileSync(path, photo);
      const sent = await parley(['--profile', alice, 'send', '--to', phones.bob, '--file', path]);
      assert.equal(sent.code, 0, sent.stderr);

      const zip = join(tmp, 'with-bob.zip');
      const r = await parley(['--profile', alice, 'export', '--conversation', phones.bob, '--out', zip]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.lines.length, 1);
      const line = r.lines[0]!;
      assert.equal(line.out, zip);
      assert.equal(line.chats, 1);
      assert.equal(line.media, true);
      assert.ok(Number(line.mediaFiles) >= 2, 'the earlier photo and this one');
      assert.equal(line.bytes, statSync(zip).size);
      assert.equal(existsSync(`${zip}.partial`), false);
      // unzip (Info-ZIP), not the writer's own library, lists and tests the archive.
      const names = execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).trim().split('\n');
      execFileSync('unzip', ['-tq', zip]);
      assert.ok(names.includes('export.json') && names.includes('index.html'));
      const chatJson = names.find((n) => n.endsWith('/chat.json'))!;
      const chat = JSON.parse(execFileSync('unzip', ['-p', zip, chatJson], { encoding: 'utf8' })) as {
        messages: { id: string; attachment?: { file?: string } }[];
      };
      const mine = chat.messages.find((m) => m.id === sent.lines[0]!.id)!;
      const inZip = `${chatJson.slice(0, -'chat.json'.length)}${mine.attachment!.file}`;
      assert.deepEqual(execFileSync('unzip', ['-p', zip, inZip]), photo, 'the decrypted photo');

      const notZip = await parley(['--profile', alice, 'export', '--out', join(tmp, 'out.tar')]);
      assert.equal(notZip.code, 2);
      assert.match(notZip.stderr, /--out must name a \.zip file/);
      const nobody = join(tmp, 'nobody.zip');
      const unknown = await parley(['--profile', alice, 'export', '--conversation', 'group:c_nope', '--out', nobody]);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /^parley: conversation_not_found: /);
      assert.equal(unknown.stderr.trim().split('\n').length, 1);
      assert.equal(existsSync(nobody) || existsSync(`${nobody}.partial`), false, 'no file left behind');
    },
  );
});
