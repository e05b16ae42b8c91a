/**
 * The audit chain (C14): every entry's hash covers the previous entry's hash and the entry's own
 * fields, so changing, removing or reordering any entry breaks every link after it. The verifier
 * recomputes the chain from the database and names the first entry that does not check out.
 */
import { createHash } from 'node:crypto';
import type { AdminVerifyResult } from '@parley/protocol';
import type { AdminStore, AuditFields, AuditRow } from '../storage/admin.ts';

/** The `prevHash` of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

export type { AuditFields } from '../storage/admin.ts';

/**
 * Canonical JSON of an entry without its hash: keys sorted, no whitespace, every field present
 * (null when empty), so the same entry always hashes the same on every driver and machine.
 */
export function canonicalEntry(e: Omit<AuditRow, 'hash'>): string {
  const fields = {
    action: e.action,
    admin: e.admin,
    prevHash: e.prevHash,
    reason: e.reason,
    role: e.role,
    seq: e.seq,
    target: e.target,
    time: e.time,
  };
  return JSON.stringify(fields);
}

/** hash = SHA-256(prevHash bytes ‖ UTF-8 canonical JSON), hex. */
export function entryHash(e: Omit<AuditRow, 'hash'>): string {
  return createHash('sha256').update(Buffer.from(e.prevHash, 'hex')).update(canonicalEntry(e), 'utf8').digest('hex');
}

/** The entry that follows `head` in the chain. */
export function chainEntry(head: { seq: number; hash: string } | null, f: AuditFields): AuditRow {
  const partial = { seq: (head?.seq ?? 0) + 1, prevHash: head?.hash ?? GENESIS_HASH, ...f };
  return { ...partial, hash: entryHash(partial) };
}

/** Recompute the whole chain, page by page; reports the first entry that is out of place or altered. */
export async function verifyChain(store: AdminStore, pageSize = 1000): Promise<AdminVerifyResult> {
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let entries = 0;
  for (;;) {
    const page = await store.listAudit(expectedSeq - 1, pageSize);
    for (const e of page) {
      if (e.seq !== expectedSeq)
        return {
          ok: false,
          entries,
          head: entries ? prevHash : null,
          firstBroken: { seq: expectedSeq, problem: 'seq_gap' },
        };
      if (e.prevHash !== prevHash)
        return {
          ok: false,
          entries,
          head: entries ? prevHash : null,
          firstBroken: { seq: e.seq, problem: 'prev_hash_mismatch' },
        };
      if (entryHash(e) !== e.hash)
        return {
          ok: false,
          entries,
          head: entries ? prevHash : null,
          firstBroken: { seq: e.seq, problem: 'hash_mismatch' },
        };
      prevHash = e.hash;
      expectedSeq++;
      entries++;
    }
    if (page.length < pageSize) break;
  }
  return { ok: true, entries, head: entries ? prevHash : null };
}
