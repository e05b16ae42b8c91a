/**
 * `parley link`, `parley link --uri`, `parley devices` and `parley devices unlink`, end to end
 * against a server process (C1): the existing profile prints a QR code (decoded here back to the
 * very URI it printed) and waits; a fresh profile links from the URI and gets the history from
 * before the link (`--history all`, C16); a bad `--history` is a usage error; it then reads what a contact
 * sends and what its sibling sent; both list the same devices; once unlinked, the linked profile's
 * next command fails with one line and a non-zero exit. A code used twice or a garbled one fails
 * the same way, and changes nothing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import jsQR from 'jsqr';
import { cliSuite, parley, parleyOk } from './helpers/cli.ts';
import { PARLEY_BIN, ROOT } from './helpers/server-process.ts';

/**
 * The module grid of a terminal QR code (two rows per line: `█` both light, `▀` light over dark,
 * `▄` dark over light, space both dark) as RGBA pixels for jsQR, with a light quiet zone.
 */
function decodeTerminalQr(text: string): string | null {
  const lines = text.split('\n').filter((l) => /^[█▀▄ ]+$/.test(l) && l.length > 10);
  const width = Math.max(...lines.map((l) => [...l].length));
  const rows: boolean[][] = [];
  for (const line of lines) {
    const chars = [...line.padEnd(width, '█')];
    rows.push(chars.map((c) => c === '█' || c === '▀'));
    rows.push(chars.map((c) => c === '█' || c === '▄'));
  }
  const scale = 4;
  const margin = 8;
  const w = (width + 2 * margin) * scale;
  const h = (rows.length + 2 * margin) * scale;
  const data = new Uint8ClampedArray(w * h * 4).fill(255);
  rows.forEach((row, y) =>
    row.forEach((light, x) => {
      if (light) return;
      for (let dy = 0; dy < scale; dy++)
        for (let dx = 0; dx < scale; dx++) {
          const i = (((y + margin) * scale + dy) * w + (x + margin) * scale + dx) * 4;
          data[i] = data[i + 1] = data[i + 2] = 0;
        }
    }),
  );
  return jsQR(data, w, h)?.data ?? null;
}

/** `parley --profile DIR link` running: its first stdout line, then its end. */
function startLink(profile: string) {
  const child = spawn(
    process.execPath,
    [PARLEY_BIN, '--profile', profile, 'link', '--history', 'all', '--timeout', '90'],
    { cwd: ROOT },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const done = new Promise<{ code: number | null; lines: Record<string, unknown>[]; stderr: string }>((resolve) =>
    child.once('close', (code) =>
      resolve({
        code,
        stderr,
        lines: stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      }),
    ),
  );
  const waiting = new Promise<{ uri: string; stderr: string }>((resolve, reject) => {
    const check = () => {
      const first = stdout.split('\n')[0];
      if (stdout.includes('\n') && first) resolve({ uri: String((JSON.parse(first) as { uri: string }).uri), stderr });
    };
    child.stdout.on('data', check);
    child.once('close', () => reject(new Error(`parley link ended: ${stderr}`)));
  });
  return { waiting, done };
}

describe('parley CLI: linking a device', () => {
  const { tmp, profiles, phones } = cliSuite('link', { alice: '+12025550171', bob: '+12025550172' });
  const laptop = join(tmp, 'laptop');

  it('links from the printed code, delivers to both, lists devices, unlinks', { timeout: 240_000 }, async () => {
    await parleyOk(['--profile', profiles.alice, 'send', '--to', phones.bob, '--message', 'before']);
    await parleyOk(['--profile', profiles.bob, 'receive', '--timeout', '2']);

    const run = startLink(profiles.alice);
    const { uri, stderr } = await run.waiting;
    assert.match(uri, /^parley:\/\/link\?/);
    assert.equal(decodeTerminalQr(stderr), uri, 'the terminal QR holds the printed URI');

    const joined = await parleyOk(['--profile', laptop, 'link', '--uri', uri, '--name', 'Laptop', '--timeout', '60']);
    const done = await run.done;
    assert.equal(done.code, 0, done.stderr);
    const linked = done.lines.at(-1)!;
    assert.equal(linked.status, 'linked');
    assert.equal(linked.deviceId, joined.lines[0]!.deviceId);
    assert.equal(linked.conversations, 1);
    // `--history all`: the message from before the link is on the laptop, as sent by this account.
    assert.equal(linked.historyMessages, 1);
    assert.equal(joined.lines[0]!.historyMessages, 1);
    const old = await parleyOk(['--profile', laptop, 'search', 'before']);
    assert.ok(old.lines.some((l) => l.text === 'before' && l.outgoing === true));
    const badChoice = await parley(['--profile', profiles.alice, 'link', '--history', 'week']);
    assert.equal(badChoice.code, 2);
    assert.match(badChoice.stderr, /--history takes none, 30d or all/);
    const whoami = await parleyOk(['--profile', profiles.alice, 'whoami']);
    assert.equal(joined.lines[0]!.accountId, whoami.lines[0]!.accountId);

    // The used code links nothing more.
    const again = await parley(['--profile', join(tmp, 'second'), 'link', '--uri', uri, '--timeout', '20']);
    assert.equal(again.code, 1);
    assert.match(again.stderr.trim(), /^parley: link_used: /);
    assert.equal(again.stderr.trim().split('\n').length, 1);
    const garbled = await parley(['--profile', join(tmp, 'third'), 'link', '--uri', 'parley://link?v=1&id=x']);
    assert.equal(garbled.code, 1);
    assert.match(garbled.stderr, /^parley: bad_request: /);

    // A contact's message reaches the laptop; what the laptop sends shows on the phone as its own.
    await parleyOk(['--profile', profiles.bob, 'send', '--to', phones.alice, '--message', 'hello both']);
    const onLaptop = await parleyOk(['--profile', laptop, 'receive', '--timeout', '3']);
    assert.ok(onLaptop.lines.some((l) => l.text === 'hello both'));
    await parleyOk(['--profile', laptop, 'send', '--to', phones.bob, '--message', 'from the laptop']);
    const onBob = await parleyOk(['--profile', profiles.bob, 'receive', '--timeout', '2']);
    assert.ok(onBob.lines.some((l) => l.text === 'from the laptop' && l.fromAccount === whoami.lines[0]!.accountId));
    const onPhone = await parleyOk(['--profile', profiles.alice, 'receive', '--timeout', '2']);
    assert.ok(onPhone.lines.some((l) => l.text === 'hello both'));
    // `receive` prints incoming messages only; the phone holds the laptop's as sent by this account.
    const chat = await parleyOk(['--profile', profiles.alice, 'search', 'laptop']);
    assert.ok(chat.lines.some((l) => l.text === 'from the laptop' && l.outgoing === true));

    // Both profiles list the same two devices; the contact sees them in the signed list.
    const fromPhone = await parleyOk(['--profile', profiles.alice, 'devices']);
    const fromLaptop = await parleyOk(['--profile', laptop, 'devices']);
    const ids = (r: typeof fromPhone) => r.lines.map((l) => String(l.deviceId)).sort();
    assert.deepEqual(ids(fromPhone), ids(fromLaptop));
    assert.equal(fromPhone.lines.length, 2);
    assert.equal(fromLaptop.lines.find((l) => l.current)?.deviceId, linked.deviceId);
    assert.equal(fromPhone.lines.find((l) => l.deviceId === linked.deviceId)?.name, 'Laptop');
    const seen = await parleyOk(['--profile', profiles.bob, 'devices', '--account', phones.alice]);
    assert.deepEqual(seen.lines.map((l) => String(l.deviceId)).sort(), ids(fromPhone));
    assert.ok(seen.lines.every((l) => l.signed === true));

    // Unlink from the phone: the laptop's next command is refused with one line.
    const gone = await parleyOk([
      '--profile',
      profiles.alice,
      'devices',
      'unlink',
      '--device',
      String(linked.deviceId),
    ]);
    assert.equal(gone.lines[0]!.unlinked, true);
    const refused = await parley(['--profile', laptop, 'send', '--to', phones.bob, '--message', 'after']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr.trim(), /^parley: unauthenticated: /);
    assert.equal(refused.stderr.trim().split('\n').length, 1);
    assert.equal((await parleyOk(['--profile', profiles.alice, 'devices'])).lines.length, 1);
  });
});
