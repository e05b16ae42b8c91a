/**
 * `parley backup create` and `parley backup restore` end to end against a server process (C16):
 * Bob backs up with a passphrase file and with a recovery key, registers his number again in a
 * fresh profile, is refused for a wrong passphrase and a truncated file (nothing restored), restores
 * with the recovery key, finds his old messages, and is back in the chat once Alice adds him again.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliSuite, parley, registerProfile } from './helpers/cli.ts';

describe('parley CLI: encrypted backup and restore', () => {
  const s = cliSuite('backup', { alice: '+12025550181', bob: '+12025550182' });

  const ok = async (profile: string, args: string[], env?: Record<string, string>) => {
    const r = await parley(['--profile', profile, ...args], env);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const received = async (profile: string) =>
    (await ok(profile, ['receive', '--timeout', '2'])).lines.map((l) => String(l.text));

  it(
    'backs up, refuses bad input, restores on a new profile and chats again once added back',
    { timeout: 240_000 },
    async () => {
      const { alice, bob } = s.profiles;
      await ok(alice, ['send', '--to', s.phones.bob, '--message', 'The lighthouse key is under the mat']);
      assert.deepEqual(await received(bob), ['The lighthouse key is under the mat']);
      await ok(bob, ['send', '--to', s.phones.alice, '--message', 'Got it']);
      const convId = String((await ok(bob, ['conversations'])).lines[0]!.id);

      const passFile = join(s.tmp, 'pass.txt');
      writeFileSync(passFile, 'seven salty sailors\n');
      const viaFile = join(s.tmp, 'bob-pass.parleybackup');
      const made = (await ok(bob, ['backup', 'create', '--out', viaFile, '--passphrase-file', passFile])).lines;
      assert.equal(made.length, 1, 'one JSON line');
      assert.equal(made[0]!.kdf, 'argon2id');
      assert.equal(made[0]!.conversations, 1);
      assert.equal(made[0]!.bytes, readFileSync(viaFile).length);
      const viaKey = join(s.tmp, 'bob-key.parleybackup');
      const keyed = (await ok(bob, ['backup', 'create', '--out', viaKey, '--recovery-key'])).lines[0]!;
      assert.match(String(keyed.recoveryKey), /^(\d{4} ){15}\d{4}$/);
      // No secret, no backup; and a passphrase is never required on the command line.
      const noSecret = await parley(['--profile', bob, 'backup', 'create', '--out', join(s.tmp, 'x')]);
      assert.equal(noSecret.code, 2, noSecret.stderr);

      // Bob's number registers again on a fresh profile.
      const bob2 = join(s.tmp, 'bob2');
      await registerProfile(s.server().url, bob2, s.phones.bob);

      const wrong = await parley(['--profile', bob2, 'backup', 'restore', '--in', viaFile], {
        PARLEY_BACKUP_PASSPHRASE: 'seven salty sailor',
      });
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /^parley: backup_wrong_secret/);
      const cut = join(s.tmp, 'cut.parleybackup');
      const whole = readFileSync(viaFile);
      writeFileSync(cut, whole.subarray(0, whole.length - 7));
      const truncated = await parley([
        '--profile',
        bob2,
        'backup',
        'restore',
        '--in',
        cut,
        '--passphrase-file',
        passFile,
      ]);
      assert.equal(truncated.code, 1);
      assert.match(truncated.stderr, /^parley: backup_truncated/);
      const flipped = Buffer.from(whole);
      flipped[200]! ^= 1;
      writeFileSync(cut, flipped);
      const tampered = await parley([
        '--profile',
        bob2,
        'backup',
        'restore',
        '--in',
        cut,
        '--passphrase-file',
        passFile,
      ]);
      assert.match(tampered.stderr, /^parley: backup_tampered/);
      assert.deepEqual((await ok(bob2, ['conversations'])).lines, [], 'nothing restored by a refused file');

      const restored = (
        await ok(bob2, ['backup', 'restore', '--in', viaKey], { PARLEY_BACKUP_RECOVERY_KEY: String(keyed.recoveryKey) })
      ).lines;
      assert.equal(restored.length, 1);
      assert.deepEqual(restored[0]!.awaitingRejoin, [convId]);
      const hits = (await ok(bob2, ['search', 'lighthouse'])).lines;
      assert.equal(hits.length, 1);
      const listed = (await ok(bob2, ['conversations'])).lines[0]!;
      assert.equal(listed.awaitingRejoin, true);
      assert.equal(listed.active, false);
      const early = await parley(['--profile', bob2, 'send', '--to', s.phones.alice, '--message', 'hello?']);
      assert.equal(early.code, 1);
      assert.match(early.stderr, /^parley: not_member/);

      // Alice adds Bob's account back to their chat: his new profile reads and writes in it again.
      await ok(alice, ['group', 'add', '--group', convId, '--members', s.phones.bob]);
      await ok(alice, ['send', '--to', s.phones.bob, '--message', 'Welcome back']);
      assert.deepEqual(await received(bob2), ['Welcome back']);
      await ok(bob2, ['send', '--to', s.phones.alice, '--message', 'Restored and back']);
      assert.ok((await received(alice)).includes('Restored and back'));
      const after = (await ok(bob2, ['conversations'])).lines;
      assert.equal(after.length, 1, 'the restored chat, not a second one');
      assert.equal(after[0]!.active, true);
      assert.equal(after[0]!.awaitingRejoin, undefined);
    },
  );
});
