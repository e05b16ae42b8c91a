/**
 * The SQLite driver keeps its WAL bounded under a steady stream of writes (C19). Checkpoints run
 * on a worker thread in PASSIVE mode, which alone never finishes while writes keep coming, so the
 * WAL would grow without end (it reached 960 MB in a one-minute benchmark); once the worker reports
 * a large WAL, writes pause while it runs one more checkpoint, and the WAL starts over.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createSqliteStorage, type NewMessage } from '../src/storage/index.ts';
import { sqliteFileOf } from '../src/testing.ts';
import { openStorage, rid, seedAccount } from '@parley/testkit';

test(
  'the WAL stays bounded while messages are written without pause, and nothing is lost',
  { timeout: 120_000 },
  async () => {
    const { storage: s, cleanup } = await openStorage('sqlite');
    const file = sqliteFileOf(s);
    try {
      const alice = await seedAccount(s);
      const bob = await seedAccount(s);
      const convs = Array.from({ length: 200 }, () => rid('c').slice(2, 24));
      for (const id of convs)
        await s.conversations.createConversation(
          { id, kind: 'direct', epoch: 0, createdAt: Date.now(), createdBy: alice.account.id },
          alice.device.id,
        );
      const payload = new Uint8Array(randomBytes(300));
      let largest = 0;
      const total = 12_000;
      // One message per transaction, as under light load: each commit writes every page it touched
      // to the WAL (tens of KB), so without the bound this would leave a WAL of several hundred MB.
      for (let i = 0; i < total; i++) {
        const m: NewMessage = {
          id: rid('m'),
          conversationId: convs[i % convs.length]!,
          kind: 'application',
          epoch: 0,
          senderAccount: alice.account.id,
          senderDevice: alice.device.id,
          clientMessageId: `${Date.now().toString(36)}${i}`,
          payload,
          sentAt: Date.now(),
          recipients: [bob.device.id],
        };
        await s.conversations.appendMessages([m]);
        // The worker's reports arrive between event-loop turns, as they do in the server.
        if (i % 20 === 0) {
          await new Promise((r) => setTimeout(r, 1));
          if (existsSync(`${file}-wal`)) largest = Math.max(largest, statSync(`${file}-wal`).size);
        }
      }
      assert.ok(largest > 0, 'the WAL was used');
      assert.ok(largest < 96 * 1024 * 1024, `WAL peaked at ${(largest / 2 ** 20).toFixed(0)} MB`);
      assert.equal(await s.conversations.countPendingDeliveries(bob.device.id), total, 'every message is queued');
    } finally {
      await cleanup();
    }
  },
);

test(
  'the checkpoint worker starts and copies the WAL into the database file while the writer is idle',
  { timeout: 30_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-ckpt-'));
    const file = join(dir, 'parley.sqlite');
    const s = await createSqliteStorage({ file });
    try {
      await s.migrate();
      // The writer never checkpoints by itself (wal_autocheckpoint = 0, and a few hundred frames is
      // far below the reset threshold), so until a worker pass runs the database file stays as it was.
      const before = statSync(file).size;
      const alice = await seedAccount(s);
      const bob = await seedAccount(s);
      const id = rid('c').slice(2, 24);
      await s.conversations.createConversation(
        { id, kind: 'direct', epoch: 0, createdAt: Date.now(), createdBy: alice.account.id },
        alice.device.id,
      );
      const payload = new Uint8Array(randomBytes(2000));
      for (let i = 0; i < 50; i++) {
        await s.conversations.appendMessages([
          {
            id: rid('m'),
            conversationId: id,
            kind: 'application',
            epoch: 0,
            senderAccount: alice.account.id,
            senderDevice: alice.device.id,
            clientMessageId: `ck${i}`,
            payload,
            sentAt: Date.now(),
            recipients: [bob.device.id],
          },
        ]);
      }
      // Only a worker that loaded and runs its periodic passes grows the file; without one this waits
      // until the test times out.
      while (statSync(file).size <= before + 50 * 2000) await new Promise((r) => setTimeout(r, 50));
      assert.ok(statSync(file).size > before + 50 * 2000, 'the messages reached the database file');
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
