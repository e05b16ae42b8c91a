/**
 * `parley send --reply-to`, `react`, `edit`, `delete` and `forward` end to end (C15), one process
 * per call against a real server: each prints one JSON line, and `receive` shows the reply with
 * its quote, the reaction, the edit and the deletion on the other side. A refused action exits 1
 * with one line naming `message_action_refused`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliSuite, parley, parleyOk } from './helpers/cli.ts';

describe('parley message actions', () => {
  const { profiles, phones } = cliSuite('actions', {
    alice: '+12025550161',
    bob: '+12025550162',
    carol: '+12025550163',
  });
  const { alice, bob, carol } = profiles;

  it('replies, reacts, edits, forwards and deletes, and receive shows each', { timeout: 180_000 }, async () => {
    const run = parleyOk;
    const sent = await run(['--profile', alice, 'send', '--to', phones.bob, '--message', 'Lunch today?']);
    const id = String(sent.lines[0]!.id);
    await run(['--profile', bob, 'receive', '--timeout', '1']);

    const reply = await run([
      '--profile',
      bob,
      'send',
      '--to',
      phones.alice,
      '--message',
      'Yes please',
      '--reply-to',
      id,
    ]);
    assert.equal(reply.lines.length, 1);
    assert.equal(reply.lines[0]!.replyTo, id);
    const react = await run(['--profile', bob, 'react', '--to', phones.alice, '--message', id, '--emoji', '👍']);
    assert.equal(react.lines.length, 1);
    assert.equal(react.lines[0]!.message, id);
    assert.equal(react.lines[0]!.conversation, phones.alice);
    assert.deepEqual(
      (react.lines[0]!.reactions as { from: string; emoji: string }[]).map((r) => [r.from, r.emoji]),
      [[phones.bob, '👍']],
    );
    const edit = await run([
      '--profile',
      alice,
      'edit',
      '--to',
      phones.bob,
      '--message',
      id,
      '--text',
      'Lunch at one?',
    ]);
    assert.equal(edit.lines.length, 1);
    assert.equal(edit.lines[0]!.text, 'Lunch at one?');
    assert.equal(typeof edit.lines[0]!.editedAt, 'number');

    // Alice sees the reply with its quote, and Bob's reaction to her message.
    const atAlice = await run(['--profile', alice, 'receive', '--timeout', '1']);
    const replyLine = atAlice.lines.find((l) => l.text === 'Yes please');
    assert.deepEqual(replyLine?.replyTo, { message: id, from: phones.alice, excerpt: 'Lunch today?' }, atAlice.stdout);
    const reactionLine = atAlice.lines.find((l) => l.change === 'reaction');
    assert.equal(reactionLine?.message, id, atAlice.stdout);
    assert.deepEqual(
      (reactionLine!.reactions as { from: string; emoji: string }[]).map((r) => [r.from, r.emoji]),
      [[phones.bob, '👍']],
    );

    // Bob forwards the edited text to Carol, then sees the edit.
    const fwd = await run(['--profile', bob, 'forward', '--message', id, '--to', phones.carol]);
    assert.equal(fwd.lines[0]!.forwardedFrom, id);
    assert.equal(fwd.lines[0]!.conversation, phones.carol);
    const atBob = await run(['--profile', bob, 'receive', '--timeout', '1']);
    const editLine = atBob.lines.find((l) => l.change === 'edit');
    assert.deepEqual([editLine?.message, editLine?.text], [id, 'Lunch at one?'], atBob.stdout);
    const atCarol = await run(['--profile', carol, 'receive', '--timeout', '1']);
    const forwarded = atCarol.lines.find((l) => l.text === 'Lunch at one?');
    assert.equal(forwarded?.forwarded, true, atCarol.stdout);

    // Only the sender deletes for everyone; Bob is refused with one line.
    const refused = await parley(['--profile', bob, 'delete', '--to', phones.alice, '--message', id, '--for-everyone']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^parley: message_action_refused: Refused: only the sender may delete a message/);
    assert.equal(refused.stderr.trim().split('\n').length, 1);
    const del = await run(['--profile', alice, 'delete', '--to', phones.bob, '--message', id, '--for-everyone']);
    assert.equal(del.lines[0]!.deleted, 'for-everyone');
    const gone = await run(['--profile', bob, 'receive', '--timeout', '1']);
    assert.deepEqual(
      gone.lines.map((l) => [l.change, l.message]),
      [['delete', id]],
      'only the deletion is new',
    );

    // Delete for me: gone from Bob's device only.
    const mine = await run(['--profile', bob, 'delete', '--to', phones.alice, '--message', String(reply.lines[0]!.id)]);
    assert.equal(mine.lines[0]!.deleted, 'for-me');

    const usage = await parley(['--profile', bob, 'react', '--to', phones.alice, '--message', id]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /react needs --emoji E or --remove/);
  });
});
