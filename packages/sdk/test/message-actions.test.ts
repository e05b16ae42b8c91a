/**
 * Message actions (C15) through real SDK clients against a real server, on SQLite and PostgreSQL:
 * reply with a quote, reactions (one per account, changed, taken back), edit with "edited", delete
 * for everyone (text and attachment key gone, quotes of it emptied, the blob deleted), delete for
 * this device only, forward of a text and of an attachment. Then what receivers refuse on their own
 * when a modified client sends it (edits and deletes of another's message, actions on unknown
 * messages, actions outside the window): nothing changes and `action-ignored` says why. The state
 * is read back from a reopened Node file store, as a restarted CLI or bot would.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  ParleyClient,
  isParleyError,
  type ClientEvents,
  type ClientOptions,
  type LocalMessage,
  type WebSocketCtor,
} from '@parley/sdk';
import { FileStore } from '@parley/sdk/node';
import { registerTestClient, sendRawContent, until } from '@parley/sdk/testing';
import { availableDrivers, startServer, type TestServer } from '@parley/testkit';
import { actionRefusal } from '../src/client/message-actions.ts';

const drivers = await availableDrivers();
const WS = WebSocket as unknown as WebSocketCtor;
type Client = ParleyClient & { phone: string };

/** The message `id` of `conv` as `c` stores it, once `check` holds. */
function stored(c: ParleyClient, conv: string, id: string, check: (m: LocalMessage) => boolean, what: string) {
  return until(async () => (await c.messages(conv)).find((m) => m.id === id && check(m)), 10_000, what);
}

for (const { driver, skip } of drivers) {
  describe(`message actions [${driver}]`, { skip }, () => {
    let t: TestServer;
    const clients: ParleyClient[] = [];
    const dirs: string[] = [];
    const make = async (opts: Partial<ClientOptions> & { store?: ClientOptions['store'] } = {}): Promise<Client> => {
      const c = await registerTestClient(t.url, { WebSocket: WS, ...opts });
      clients.push(c);
      return c;
    };
    /** A direct chat both sides hold, Bob's side accepted (he wrote back). */
    const chat = async (a: Client, b: Client) => {
      const conv = await a.startDirect(b.self.accountId);
      await until(() => b.conversations().some((c) => c.id === conv), 10_000, 'the peer has the chat');
      return conv;
    };

    before(async () => {
      t = await startServer(driver);
    });
    after(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      await t?.close();
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    });

    it('replies, reactions, edits and deletes reach the other side and stay in a reopened file store', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'parley-actions-'));
      dirs.push(dir);
      const alice = await make();
      const bob = await make({ store: new FileStore(dir) });
      const conv = await chat(alice, bob);
      const changes: ClientEvents['message-changed'][] = [];
      bob.on('message-changed', (e) => changes.push(e));

      const first = await alice.sendText(conv, 'Shall we meet at noon? 🕛 By the old clock tower.');
      await stored(bob, conv, first.id, () => true, 'bob has the first message');

      // Reply: the quote carries id, sender and the start of the text, written by the replier.
      const reply = await bob.reply(conv, first.id, 'Noon works');
      assert.deepEqual(reply.replyTo, {
        messageId: first.id,
        from: alice.self.accountId,
        excerpt: 'Shall we meet at noon? 🕛 By the old clock tower.',
      });
      await assert.rejects(bob.reply(conv, first.id, ''), (e) => isParleyError(e, 'bad_request'));
      const got = await stored(alice, conv, reply.id, () => true, 'alice has the reply');
      assert.equal(got.text, 'Noon works');
      assert.deepEqual(got.replyTo, reply.replyTo);

      // Reactions: one per account; a second one replaces the first; null takes it back.
      await bob.react(conv, first.id, '👍');
      await stored(alice, conv, first.id, (m) => m.reactions?.[0]?.emoji === '👍', 'alice sees 👍');
      await alice.react(conv, first.id, '🎉');
      await bob.react(conv, first.id, '❤️');
      const both = await stored(
        alice,
        conv,
        first.id,
        (m) => m.reactions?.length === 2 && m.reactions.some((r) => r.emoji === '❤️'),
        'two reactions',
      );
      assert.deepEqual(
        both.reactions?.map((r) => [r.from, r.emoji]).sort(),
        [
          [alice.self.accountId, '🎉'],
          [bob.self.accountId, '❤️'],
        ].sort(),
        'one reaction per account, the latest',
      );
      await bob.react(conv, first.id, null);
      const back = await stored(alice, conv, first.id, (m) => m.reactions?.length === 1, 'bob took his back');
      assert.deepEqual(
        back.reactions?.map((r) => r.emoji),
        ['🎉'],
      );
      await assert.rejects(bob.react(conv, first.id, 'ok'), (e) => isParleyError(e, 'bad_request'));

      // Edit: only the latest text, marked edited, on both sides.
      const edited = await alice.editMessage(conv, first.id, 'Shall we meet at one?');
      assert.equal(edited.text, 'Shall we meet at one?');
      assert.ok(edited.editedAt);
      const seenEdit = await stored(bob, conv, first.id, (m) => m.editedAt !== undefined, 'bob sees the edit');
      assert.equal(seenEdit.text, 'Shall we meet at one?');
      await assert.rejects(bob.editMessage(conv, first.id, 'mine now'), (e) =>
        isParleyError(e, 'message_action_refused'),
      );

      // Delete for everyone: text, reactions and the quote's excerpt are gone everywhere.
      await alice.deleteForEveryone(conv, first.id);
      const gone = await stored(bob, conv, first.id, (m) => m.deletedAt !== undefined, 'bob sees the delete');
      assert.equal(gone.text, '');
      assert.equal(gone.reactions, undefined);
      assert.equal(gone.editedAt, undefined);
      const quoted = await stored(bob, conv, reply.id, (m) => m.replyTo?.deleted === true, 'the reply lost its quote');
      assert.equal(quoted.replyTo?.excerpt, '');
      await stored(alice, conv, reply.id, (m) => m.replyTo?.deleted === true, "alice's copy of the reply too");
      await assert.rejects(alice.editMessage(conv, first.id, 'again'), (e) =>
        isParleyError(e, 'message_action_refused'),
      );
      await assert.rejects(bob.react(conv, first.id, '👍'), (e) => isParleyError(e, 'message_action_refused'));
      assert.deepEqual(
        [...new Set(changes.map((c) => c.change))].sort(),
        ['delete', 'edit', 'quote', 'reaction'],
        'bob was told of every change',
      );

      // Delete for me: gone from Bob's device only.
      const removed = bob.once('message-removed');
      await bob.deleteForMe(conv, reply.id);
      assert.deepEqual(await removed, { conversationId: conv, messageId: reply.id });
      assert.equal(
        (await bob.messages(conv)).some((m) => m.id === reply.id),
        false,
      );
      assert.equal(
        (await alice.messages(conv)).some((m) => m.id === reply.id),
        true,
        'alice keeps it',
      );
      await assert.rejects(bob.deleteForMe(conv, reply.id), (e) => isParleyError(e, 'message_not_found'));

      // A restarted process reads the same state from the file store.
      await bob.idle();
      const reopened = await ParleyClient.open({ store: new FileStore(dir), WebSocket: WS });
      const list = await reopened.messages(conv);
      const again = list.find((m) => m.id === first.id);
      assert.ok(again?.deletedAt);
      assert.equal(again.text, '');
      assert.equal(
        list.some((m) => m.id === reply.id),
        false,
      );
      assert.doesNotMatch(JSON.stringify(list), /noon|clock tower|one\?/i, 'no deleted text is left in the store');
    });

    it('deleting an attachment for everyone drops its key and its blob; forwarding copies it under a new key', async () => {
      const alice = await make();
      const bob = await make();
      const carol = await make();
      const conv = await chat(alice, bob);
      const toCarol = await chat(bob, carol);
      const photo = new Uint8Array(40_000).map((_, i) => (i * 7) % 251);
      const sent = await alice.sendMedia(conv, {
        bytes: photo,
        mimeType: 'image/png',
        kind: 'image',
        fileName: 'photo.png',
        caption: 'the view',
        thumbnail: { bytes: photo.slice(0, 500), mimeType: 'image/jpeg', width: 16, height: 12 },
      });
      const atBob = await stored(bob, conv, sent.id, (m) => !!m.attachment, 'bob has the photo');

      // Forward: a new blob with a new key, the same bytes, marked forwarded.
      const fwd = await bob.forward(conv, sent.id, toCarol);
      assert.equal(fwd.forwarded, true);
      const atCarol = await stored(carol, toCarol, fwd.id, (m) => !!m.attachment, 'carol has the forward');
      assert.equal(atCarol.forwarded, true);
      assert.equal(atCarol.text, 'the view');
      assert.notEqual(atCarol.attachment!.id, atBob.attachment!.id);
      assert.notEqual(atCarol.attachment!.key, atBob.attachment!.key);
      assert.deepEqual(await carol.downloadMedia(atCarol.attachment!), photo);
      assert.deepEqual(await carol.downloadMedia(atCarol.attachment!.thumbnail!), photo.slice(0, 500));
      // A text forwards as text.
      const text = await alice.sendText(conv, 'pass it on');
      await stored(bob, conv, text.id, () => true, 'bob has the text');
      const fwdText = await bob.forward(conv, text.id, toCarol);
      const fwdAtCarol = await stored(carol, toCarol, fwdText.id, () => true, 'carol has the text');
      assert.deepEqual([fwdAtCarol.text, fwdAtCarol.forwarded], ['pass it on', true]);
      await assert.rejects(bob.forward(conv, text.id, 'AAAAAAAAAAAAAAAAAAAAAA'), (e) =>
        isParleyError(e, 'conversation_not_found'),
      );

      // Delete for everyone: Bob's device forgets the key; the original blob is gone from the server.
      await alice.deleteForEveryone(conv, sent.id);
      const gone = await stored(bob, conv, sent.id, (m) => m.deletedAt !== undefined, 'bob sees the delete');
      assert.equal(gone.attachment, undefined);
      assert.equal(gone.text, '');
      assert.doesNotMatch(JSON.stringify(await bob.messages(conv)), new RegExp(atBob.attachment!.key));
      await assert.rejects(bob.downloadMedia(atBob.attachment!), (e) => isParleyError(e, 'blob_not_found'));
      // The forwarded copy lives on.
      assert.deepEqual(await carol.downloadMedia(atCarol.attachment!), photo);
    });

    it('receivers ignore, with a reason, what only a modified client would send', async () => {
      const alice = await make();
      // Bob's device allows edits for 1 s only, so a later edit is outside his window.
      const bob = await make({ messageActionWindows: { editMs: 1_000, deleteMs: 1_000 } });
      const conv = await chat(alice, bob);
      const ignored: ClientEvents['action-ignored'][] = [];
      alice.on('action-ignored', (e) => ignored.push(e));
      bob.on('action-ignored', (e) => ignored.push(e));
      const mine = await alice.sendText(conv, 'original words');
      await stored(bob, conv, mine.id, () => true, 'bob has it');

      // Bob's modified client edits and deletes Alice's message, and reacts to a message nobody has.
      await sendRawContent(bob, conv, { type: 'edit', messageId: mine.id, text: 'forged words' });
      await sendRawContent(bob, conv, { type: 'delete', messageId: mine.id });
      const unknown = 'm_AAAAAAAAAAAAAAAAAAAAAA';
      await sendRawContent(bob, conv, { type: 'message-reaction', messageId: unknown, emoji: '👍' });
      await until(() => ignored.length >= 3, 10_000, 'alice ignored three actions');
      assert.deepEqual(
        ignored.map((e) => [e.type, e.target, e.reason, e.from]),
        [
          ['edit', mine.id, 'only the sender may edit a message', bob.self.accountId],
          ['delete', mine.id, 'only the sender may delete a message', bob.self.accountId],
          ['message-reaction', unknown, 'unknown target message', bob.self.accountId],
        ],
      );
      const kept = (await alice.messages(conv)).find((m) => m.id === mine.id);
      assert.equal(kept?.text, 'original words');
      assert.equal(kept?.editedAt, undefined);
      assert.equal(kept?.deletedAt, undefined);

      // Outside Bob's window: Alice's own edit is refused on his device and changes nothing there.
      await new Promise((r) => setTimeout(r, 1_200));
      ignored.length = 0;
      await alice.editMessage(conv, mine.id, 'late words');
      const late = await until(() => ignored.find((e) => e.type === 'edit'), 10_000, 'bob ignored the late edit');
      assert.equal(late.reason, 'outside the edit window (1 s)');
      assert.equal((await bob.messages(conv)).find((m) => m.id === mine.id)?.text, 'original words');
    });
  });
}

describe('actionRefusal (the rule both sides apply)', () => {
  const windows = { editMs: 24 * 3_600_000, deleteMs: 48 * 3_600_000 };
  const base: LocalMessage = {
    id: 'm_AAAAAAAAAAAAAAAAAAAAAA',
    conversationId: 'c',
    from: 'a_alice',
    fromDevice: 'd_1',
    text: 'hi',
    sentAt: 0,
    serverTime: 1_000,
    outgoing: false,
    status: 'delivered',
    deliveredTo: [],
    readBy: [],
  };
  const members = ['a_alice', 'a_bob'];
  it('lets the sender edit within 24 h and delete within 48 h, and no one else', () => {
    const at = 1_000 + 24 * 3_600_000;
    assert.equal(actionRefusal(base, { action: 'edit', from: 'a_alice', at, members, windows }), null);
    assert.equal(
      actionRefusal(base, { action: 'edit', from: 'a_alice', at: at + 1, members, windows }),
      'outside the edit window (24 h)',
    );
    assert.equal(actionRefusal(base, { action: 'delete', from: 'a_alice', at: at + 1, members, windows }), null);
    assert.equal(
      actionRefusal(base, { action: 'delete', from: 'a_alice', at: 1_001 + 48 * 3_600_000, members, windows }),
      'outside the delete window (48 h)',
    );
    assert.equal(
      actionRefusal(base, { action: 'edit', from: 'a_bob', at, members, windows }),
      'only the sender may edit a message',
    );
  });
  it('refuses non-members, deleted targets, call entries and unsent messages', () => {
    const at = 2_000;
    assert.equal(
      actionRefusal(base, { action: 'reaction', from: 'a_mallory', at, members, windows }),
      'sender is not a member of the conversation',
    );
    assert.equal(actionRefusal(base, { action: 'reaction', from: 'a_bob', at, members, windows }), null);
    assert.equal(
      actionRefusal({ ...base, deletedAt: 1_500 }, { action: 'reaction', from: 'a_bob', at, members, windows }),
      'target message was deleted',
    );
    assert.equal(
      actionRefusal({ ...base, serverTime: undefined }, { action: 'reaction', from: 'a_bob', at, members, windows }),
      'target message is not stored by the server yet',
    );
    const callLog = { ...base, callLog: {} as NonNullable<LocalMessage['callLog']> };
    assert.equal(
      actionRefusal(callLog, { action: 'edit', from: 'a_alice', at, members, windows }),
      'a call entry cannot be edited',
    );
    assert.equal(
      actionRefusal(callLog, { action: 'forward', from: 'a_alice', at, members, windows }),
      'a call entry cannot be forwarded',
    );
    assert.equal(
      actionRefusal(undefined, { action: 'edit', from: 'a_alice', at, members, windows }),
      'unknown target message',
    );
  });
});
