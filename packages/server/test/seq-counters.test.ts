/**
 * Per-conversation seqs stay gap-free and unique across sends, commits and restarts (C3). The
 * SQLite driver hands seqs out from memory and writes the counters back about once a second, so
 * these cases matter there most: a commit between sends, a clean close, and a crash that leaves
 * the counters behind the messages already stored (recovered from `seq_mark` at the next start).
 * The first case also runs on PostgreSQL, where every send updates the conversation row.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createSqliteStorage, type NewMessage, type Storage } from '../src/storage/index.ts';
import { crashSqliteStorage } from '../src/testing.ts';
import { availableDrivers, openStorage, rid, seedAccount } from '@parley/testkit';

type Member = Awaited<ReturnType<typeof seedAccount>>;

function msg(
  conversationId: string,
  from: Member,
  to: Member,
  kind: NewMessage['kind'] = 'application',
  epoch = 0,
): NewMessage {
  return {
    id: rid('m'),
    conversationId,
    kind,
    epoch,
    senderAccount: from.account.id,
    senderDevice: from.device.id,
    clientMessageId: `${Date.now().toString(36)}-${rid('c')}`,
    payload: new Uint8Array(randomBytes(40)),
    sentAt: Date.now(),
    recipients: [to.device.id],
  };
}

async function direct(s: Storage, a: Member): Promise<string> {
  const id = randomBytes(16).toString('base64url');
  await s.conversations.createConversation(
    { id, kind: 'direct', epoch: 0, createdAt: Date.now(), createdBy: a.account.id },
    a.device.id,
  );
  return id;
}

/** Seqs of everything queued for `device` in `conversationId`, in queue order. */
async function seqsFor(s: Storage, device: Member, conversationId: string): Promise<number[]> {
  const rows = await s.conversations.pendingDeliveries(device.device.id, 0, 1000);
  return rows.filter((r) => r.message.conversationId === conversationId).map((r) => r.message.seq);
}

const consecutive = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

for (const { driver, skip } of await availableDrivers()) {
  describe(`conversation seqs [${driver}]`, { skip }, () => {
    it('sends, a commit and more sends take consecutive seqs, whichever path wrote them', async () => {
      const { storage: s, cleanup } = await openStorage(driver);
      try {
        const alice = await seedAccount(s);
        const bob = await seedAccount(s);
        const conv = await direct(s, alice);
        await s.conversations.applyCommit({
          conversationId: conv,
          expectedEpoch: 0,
          commit: msg(conv, alice, bob, 'commit', 0),
          welcome: msg(conv, alice, bob, 'welcome', 0),
          adds: [{ accountId: bob.account.id, deviceId: bob.device.id }],
          removes: [],
        });
        await s.conversations.appendMessages([msg(conv, alice, bob), msg(conv, bob, bob)]);
        await s.conversations.appendMessages([msg(conv, alice, bob)]);
        // The commit path reads the counter the sends have moved (in memory on SQLite).
        const commit = await s.conversations.applyCommit({
          conversationId: conv,
          expectedEpoch: 1,
          commit: msg(conv, alice, bob, 'commit', 1),
          welcome: null,
          adds: [],
          removes: [],
        });
        const after = await s.conversations.appendMessages([msg(conv, bob, bob), msg(conv, alice, bob)]);
        assert.equal(commit.commit.message.seq, 6);
        assert.deepEqual(
          after.map((r) => r.message.seq),
          [7, 8],
        );
        assert.deepEqual(
          await seqsFor(s, bob, conv),
          consecutive(1, 8),
          'commit, welcome, sends, commit, sends: no gap, no repeat',
        );
        // A batch that fails as a whole hands out no seqs: the next send continues where it was.
        await assert.rejects(
          s.conversations.appendMessages([msg(conv, alice, bob), msg('no-such-conversation', alice, bob)]),
        );
        assert.deepEqual(
          (await s.conversations.appendMessages([msg(conv, alice, bob)])).map((r) => r.message.seq),
          [9],
        );
      } finally {
        await cleanup();
      }
    });
  });
}

describe('SQLite seq counters across restarts', () => {
  it('continue after a clean close and after a crash that left the counters unwritten', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-seq-'));
    const file = join(dir, 'parley.sqlite');
    try {
      let s = await createSqliteStorage({ file });
      const alice = await seedAccount(s);
      const bob = await seedAccount(s);
      const conv = await direct(s, alice);
      const other = await direct(s, alice);
      for (let i = 0; i < 5; i++) await s.conversations.appendMessages([msg(conv, alice, bob)]);
      await s.close();

      s = await createSqliteStorage({ file });
      assert.deepEqual(
        (await s.conversations.appendMessages([msg(conv, alice, bob)])).map((r) => r.message.seq),
        [6],
        'after a clean close',
      );
      for (let i = 0; i < 3; i++) await s.conversations.appendMessages([msg(conv, alice, bob), msg(other, alice, bob)]);
      // A crash: the process dies with the counters still in memory (written back only every
      // second), so the rows lag the stored messages. Nothing is written on the way down.
      await crashSqliteStorage(s);

      s = await createSqliteStorage({ file });
      const next = await s.conversations.appendMessages([msg(conv, alice, bob), msg(other, alice, bob)]);
      assert.deepEqual(
        next.map((r) => r.message.seq),
        [10, 4],
        'each conversation continues after its highest stored seq',
      );
      assert.deepEqual(await seqsFor(s, bob, conv), consecutive(1, 10));
      assert.deepEqual(await seqsFor(s, bob, other), consecutive(1, 4));
      await s.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
