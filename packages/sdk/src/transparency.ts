/**
 * Key transparency on the device (C13): whenever the SDK learns or re-learns a contact's identity
 * key it fetches the binding's proof and checks, before trusting the key, that
 *   1. the tree head is signed by the log key this device pinned the first time (trust on first use),
 *   2. the label belongs to the account (label proof under the pinned label key),
 *   3. the leaf (label, key, version, time) is in the tree the head signs (inclusion proof),
 *   4. the leaf's key is the key the server served for the account,
 *   5. the head extends the newest head this device saw before (consistency proof).
 * The same checks back `auditLog`, the auditor of `parley audit-log`. See docs/key-transparency.md.
 */
import {
  ParleyError, fromB64, ktConsistencyResponse, ktHeadResponse, ktHeadsResponse, ktProofResponse,
  type KtHead, type KtProof,
} from '@parley/protocol';
import { ktBindingHash, verifyKtConsistency, verifyKtHead, verifyKtInclusion, verifyKtLabel, type KtSignedHead } from '@parley/crypto';
import type { z } from 'zod';
import type { DeviceStore } from './store/types.ts';
import { requestJson, type FetchLike } from './transport/http.ts';

/** The failed checks that are warned about (`key-transparency-warning`), not just thrown. */
const WARNING_CODES = ['kt_inclusion_failed', 'kt_key_mismatch', 'kt_inconsistent_head'] as const;

/** What the `key-transparency-warning` event carries. */
export interface KeyTransparencyWarning {
  /** The account whose binding failed a check; absent for a check of the log as a whole. */
  accountId?: string;
  code: (typeof WARNING_CODES)[number];
  message: string;
}

/** True for an error a failed key-transparency check throws (one of the warning codes). */
export function isKtWarning(e: unknown): e is ParleyError & { code: KeyTransparencyWarning['code'] } {
  return e instanceof ParleyError && (WARNING_CODES as readonly string[]).includes(e.code);
}

/** The result of a successful binding check. */
export interface BindingCheck {
  accountId: string;
  identityKey: string;
  /** How many keys the account has had (1 for its first). */
  version: number;
  treeSize: number;
}

/** Typed calls to the key-transparency HTTP API (heads and consistency need no token). */
export class KtApi {
  constructor(
    readonly baseUrl: string,
    private readonly token: () => string | undefined = () => undefined,
    private readonly fetchImpl: FetchLike = (i, init) => fetch(i, init),
    /** The deadline of each request, in ms (default 30 s; 0 or `Infinity`: none). */
    readonly timeoutMs?: number,
  ) {}

  private get<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>> {
    return requestJson({ baseUrl: this.baseUrl, token: this.token(), fetchImpl: this.fetchImpl, timeoutMs: this.timeoutMs }, 'GET', path, schema);
  }

  head() {
    return this.get('/v1/kt/head', ktHeadResponse);
  }
  heads(from: number) {
    return this.get(`/v1/kt/heads?from=${from}`, ktHeadsResponse);
  }
  consistency(from: number, to: number) {
    return this.get(`/v1/kt/consistency?from=${from}&to=${to}`, ktConsistencyResponse);
  }
  proof(accountId: string) {
    return this.get(`/v1/kt/proof/${encodeURIComponent(accountId)}`, ktProofResponse);
  }
}

/** A wire head as the crypto functions take it. */
export function decodeKtHead(h: KtHead): KtSignedHead {
  return { treeSize: h.treeSize, rootHash: fromB64(h.rootHash), timestamp: h.timestamp, signature: fromB64(h.signature) };
}

/**
 * Check that `newer` is an append-only extension of `older` (either may be the larger), fetching
 * the consistency proof. Throws `kt_inconsistent_head` otherwise.
 */
export async function checkConsistent(api: KtApi, older: KtHead, newer: KtHead): Promise<void> {
  const [a, b] = older.treeSize <= newer.treeSize ? [older, newer] : [newer, older];
  if (a.treeSize === b.treeSize) {
    if (a.rootHash !== b.rootHash) throw new ParleyError('kt_inconsistent_head', { message: `Two signed heads of size ${a.treeSize} have different roots: the log forked.`, details: { treeSize: a.treeSize } });
    return;
  }
  const { proof } = await api.consistency(a.treeSize, b.treeSize);
  if (!verifyKtConsistency(a.treeSize, b.treeSize, fromB64(a.rootHash), fromB64(b.rootHash), proof.map((p) => fromB64(p)))) {
    throw new ParleyError('kt_inconsistent_head', { message: `The log at size ${b.treeSize} does not extend the head of size ${a.treeSize}.`, details: { from: a.treeSize, to: b.treeSize } });
  }
}

/** What a device remembers of the log: the keys it pinned and the newest head it verified. */
interface KtState {
  logKey: string;
  labelKey: string;
  head: KtHead;
}

const STATE_KEY = 'kt-state';
const VERIFIED_KEY = 'kt-verified';
/** A key verified this recently is not checked again (the server limits proofs per target). */
const RECHECK_MS = 10 * 60_000;

/** The device-side checker; one per client, state in the device store. */
export class KeyTransparencyChecker {
  constructor(
    private readonly api: KtApi,
    private readonly store: DeviceStore,
  ) {}

  /**
   * Check that the log binds `accountId` to `identityKey` (base64url) in a head consistent with
   * every head seen before. Skips the fetch when this exact key was verified in the last minutes.
   * @throws ParleyError `kt_inconsistent_head`, `kt_inclusion_failed` or `kt_key_mismatch`.
   */
  async checkBinding(accountId: string, identityKey: string, opts: { force?: boolean } = {}): Promise<BindingCheck> {
    const verified = (await this.store.get<Record<string, BindingCheck & { at: number }>>(VERIFIED_KEY)) ?? {};
    const last = verified[accountId];
    if (!opts.force && last && last.identityKey === identityKey && Date.now() - last.at < RECHECK_MS) return last;
    // No binding yet (`kt_not_logged`, e.g. a registration the server is still logging) fails
    // closed like any other error: the key is not used, and the caller may retry shortly.
    const proof: KtProof = await this.api.proof(accountId);
    const result = await this.verifyProof(accountId, identityKey, proof);
    verified[accountId] = { ...result, at: Date.now() };
    await this.store.set(VERIFIED_KEY, verified);
    return result;
  }

  private async verifyProof(accountId: string, identityKey: string, proof: KtProof): Promise<BindingCheck> {
    const state = await this.store.get<KtState>(STATE_KEY);
    if (state && (state.logKey !== proof.logKey || state.labelKey !== proof.labelKey)) {
      throw new ParleyError('kt_inconsistent_head', { message: 'The server\'s key-transparency keys changed since this device first saw them.', details: { accountId } });
    }
    if (proof.accountId !== accountId) throw new ParleyError('kt_inclusion_failed', { message: 'The proof is for another account.', details: { accountId } });
    if (!verifyKtHead(fromB64(proof.logKey), decodeKtHead(proof.head))) {
      throw new ParleyError('kt_inconsistent_head', { message: `The tree head of size ${proof.head.treeSize} is not signed by the log key.`, details: { accountId, treeSize: proof.head.treeSize } });
    }
    const label = fromB64(proof.label);
    if (!verifyKtLabel(fromB64(proof.labelKey), accountId, label, fromB64(proof.labelProof))) {
      throw new ParleyError('kt_inclusion_failed', { message: `The log label offered for ${accountId} is not that account's label.`, details: { accountId } });
    }
    const leafHash = ktBindingHash({ label, identityKey: fromB64(proof.leaf.identityKey), version: proof.leaf.version, time: proof.leaf.time });
    if (!verifyKtInclusion(leafHash, proof.leaf.index, proof.head.treeSize, proof.inclusion.map((p) => fromB64(p)), fromB64(proof.head.rootHash))) {
      throw new ParleyError('kt_inclusion_failed', { message: `The binding of ${accountId} is not in the log the server signed.`, details: { accountId, index: proof.leaf.index } });
    }
    if (proof.leaf.identityKey !== identityKey) {
      throw new ParleyError('kt_key_mismatch', { message: `The server serves an identity key for ${accountId} that its log does not bind to the account.`, details: { accountId, served: identityKey, logged: proof.leaf.identityKey } });
    }
    if (state) await checkConsistent(this.api, state.head, proof.head);
    const newest = !state || proof.head.treeSize >= state.head.treeSize ? proof.head : state.head;
    await this.store.set(STATE_KEY, { logKey: proof.logKey, labelKey: proof.labelKey, head: newest } satisfies KtState);
    return { accountId, identityKey, version: proof.leaf.version, treeSize: proof.head.treeSize };
  }
}

/** One head the auditor checked. */
export interface AuditedHead {
  treeSize: number;
  rootHash: string;
  timestamp: number;
  /** The size of the head before it that it was proven to extend (null for the first). */
  extends: number | null;
}

/**
 * The auditor (`parley audit-log`): fetch every published head, check every signature under the
 * log key, and the consistency proof between each consecutive pair and between the first and the
 * last. `onHead` sees each head once it passed.
 * @throws ParleyError `kt_inconsistent_head` naming the first bad head.
 */
export async function auditLog(api: KtApi, onHead: (h: AuditedHead) => void = () => undefined): Promise<{ heads: number; treeSize: number; logKey: string }> {
  const { logKey } = await api.head();
  const key = fromB64(logKey);
  let first: KtHead | null = null;
  let previous: KtHead | null = null;
  let count = 0;
  for (let from: number | null = 0; from !== null;) {
    const page: { heads: KtHead[]; next: number | null } = await api.heads(from);
    for (const h of page.heads) {
      if (!verifyKtHead(key, decodeKtHead(h))) {
        throw new ParleyError('kt_inconsistent_head', { message: `Head of size ${h.treeSize} (root ${h.rootHash}) is not signed by the log key ${logKey}.`, details: { treeSize: h.treeSize } });
      }
      if (previous) {
        if (h.treeSize <= previous.treeSize) throw new ParleyError('kt_inconsistent_head', { message: `Head of size ${h.treeSize} comes after a head of size ${previous.treeSize}.`, details: { treeSize: h.treeSize } });
        await checkConsistent(api, previous, h).catch((e: unknown) => {
          throw new ParleyError('kt_inconsistent_head', { message: `Head of size ${h.treeSize} (root ${h.rootHash}) is not consistent with head ${previous!.treeSize}: ${(e as Error).message}`, details: { treeSize: h.treeSize, previous: previous!.treeSize } });
        });
      }
      onHead({ treeSize: h.treeSize, rootHash: h.rootHash, timestamp: h.timestamp, extends: previous?.treeSize ?? null });
      first ??= h;
      previous = h;
      count++;
    }
    from = page.next;
  }
  if (first && previous && first !== previous) {
    const f = first;
    const l = previous;
    await checkConsistent(api, f, l).catch((e: unknown) => {
      throw new ParleyError('kt_inconsistent_head', { message: `The last head (size ${l.treeSize}) is not consistent with the first (size ${f.treeSize}): ${(e as Error).message}`, details: { treeSize: l.treeSize, first: f.treeSize } });
    });
  }
  return { heads: count, treeSize: previous?.treeSize ?? 0, logKey };
}
