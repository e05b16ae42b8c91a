/**
 * Key transparency on the device (C13): whenever the SDK learns or re-learns a contact's identity
 * key it fetches the binding's proof and checks, before trusting the key, that
 *   1. the tree head is signed by the log key: the one configured (`ktLogKey`) or, without one, the
 *      one this device pinned the first time; the label key is pinned the first time,
 *   2. the head is no older than the maximum age (`ktMaxHeadAgeMs`, default 24 h, by this device's clock),
 *   3. the label belongs to the account (label proof under the pinned label key),
 *   4. the leaf (label, key, version, time) is in the tree the head signs (inclusion proof),
 *   5. the leaf's key is the key the server served for the account,
 *   6. the account's version never goes back: not below the newest version this device verified,
 *      and the same version with the same key,
 *   7. the head extends the newest head this device saw before (consistency proof).
 * The same checks of keys, age and consistency back `auditLog`, the auditor of `parley audit-log`.
 * See docs/key-transparency.md.
 */
import {
  KT_MAX_HEAD_AGE_MS,
  ParleyError,
  fromB64,
  ktConsistencyResponse,
  ktHeadResponse,
  ktHeadsResponse,
  ktProofResponse,
  type KtHead,
  type KtProof,
} from '@parley/protocol';
import {
  ktBindingHash,
  verifyKtConsistency,
  verifyKtHead,
  verifyKtInclusion,
  verifyKtLabel,
  type KtSignedHead,
} from '@parley/crypto';
import type { z } from 'zod';
import type { DeviceStore } from './store/types.ts';
import { requestJson, type FetchLike } from './transport/http.ts';

/** The failed checks that are warned about (`key-transparency-warning`), not just thrown. */
const WARNING_CODES = [
  'kt_inclusion_failed',
  'kt_key_mismatch',
  'kt_inconsistent_head',
  'kt_log_key_mismatch',
  'kt_head_stale',
  'kt_version_rollback',
] as const;

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
    return requestJson(
      { baseUrl: this.baseUrl, token: this.token(), fetchImpl: this.fetchImpl, timeoutMs: this.timeoutMs },
      'GET',
      path,
      schema,
    );
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
  return {
    treeSize: h.treeSize,
    rootHash: fromB64(h.rootHash),
    timestamp: h.timestamp,
    signature: fromB64(h.signature),
  };
}

/**
 * Check that `newer` is an append-only extension of `older` (either may be the larger), fetching
 * the consistency proof. Throws `kt_inconsistent_head` otherwise.
 */
export async function checkConsistent(api: KtApi, older: KtHead, newer: KtHead): Promise<void> {
  const [a, b] = older.treeSize <= newer.treeSize ? [older, newer] : [newer, older];
  if (a.treeSize === b.treeSize) {
    if (a.rootHash !== b.rootHash)
      throw new ParleyError('kt_inconsistent_head', {
        message: `Two signed heads of size ${a.treeSize} have different roots: the log forked.`,
        details: { treeSize: a.treeSize },
      });
    return;
  }
  const { proof } = await api.consistency(a.treeSize, b.treeSize);
  if (
    !verifyKtConsistency(
      a.treeSize,
      b.treeSize,
      fromB64(a.rootHash),
      fromB64(b.rootHash),
      proof.map((p) => fromB64(p)),
    )
  ) {
    throw new ParleyError('kt_inconsistent_head', {
      message: `The log at size ${b.treeSize} does not extend the head of size ${a.treeSize}.`,
      details: { from: a.treeSize, to: b.treeSize },
    });
  }
}

/** What a device remembers of the log: the keys it pinned and the newest head it verified. */
interface KtState {
  logKey: string;
  labelKey: string;
  head: KtHead;
}

/** The newest binding this device verified for an account: a later proof may not go below it. */
interface SeenVersion {
  version: number;
  identityKey: string;
}

const STATE_KEY = 'kt-state';
const VERIFIED_KEY = 'kt-verified';
const VERSIONS_KEY = 'kt-versions';
/** A key verified this recently is not checked again (the server limits proofs per target). */
const RECHECK_MS = 10 * 60_000;

/** How the device checks the log: the keys it expects and how old a head may be. */
export interface KtCheckOptions {
  /**
   * The log's public key (unpadded base64url, as `GET /v1/kt/head` serves it), learned from the
   * operator out of band. Every head must be signed by it, the very first included. Without it the
   * first key seen is pinned (trust on first use).
   */
  logKey?: string;
  /** Refuse a head whose timestamp is older than this, by `now` (default `KT_MAX_HEAD_AGE_MS`, 24 h). */
  maxHeadAgeMs?: number;
  /** The clock heads are compared with (default `Date.now`). */
  now?: () => number;
}

/**
 * Check a log key against the configured and the pinned one.
 * @throws ParleyError `kt_log_key_mismatch`.
 */
export function checkLogKey(
  logKey: string,
  expected: { configured?: string | undefined; pinned?: string | undefined },
  details: Record<string, unknown> = {},
): void {
  if (expected.configured !== undefined && logKey !== expected.configured) {
    throw new ParleyError('kt_log_key_mismatch', {
      message: `The log is signed with ${logKey}, not with the configured log key ${expected.configured}.`,
      details: { ...details, logKey, expected: expected.configured },
    });
  }
  if (expected.pinned !== undefined && logKey !== expected.pinned) {
    throw new ParleyError('kt_log_key_mismatch', {
      message: `The log is signed with ${logKey}, not with the log key pinned when it was first seen (${expected.pinned}).`,
      details: { ...details, logKey, expected: expected.pinned },
    });
  }
}

/**
 * Check that a (verified) head is no older than `maxAgeMs` at `now`. A head from the future (a
 * clock ahead of this one) passes: what this guards against is a log frozen in the past.
 * @throws ParleyError `kt_head_stale`.
 */
export function checkHeadAge(head: KtHead, now: number, maxAgeMs: number, details: Record<string, unknown> = {}): void {
  if (now - head.timestamp > maxAgeMs) {
    throw new ParleyError('kt_head_stale', {
      message: `The newest tree head (size ${head.treeSize}) was signed at ${new Date(head.timestamp).toISOString()}, more than ${Math.round(maxAgeMs / 60_000)} minutes ago.`,
      details: { ...details, treeSize: head.treeSize, timestamp: head.timestamp, maxAgeMs },
    });
  }
}

/** The device-side checker; one per client, state in the device store. */
export class KeyTransparencyChecker {
  private readonly maxHeadAgeMs: number;
  private readonly now: () => number;

  constructor(
    private readonly api: KtApi,
    private readonly store: DeviceStore,
    private readonly opts: KtCheckOptions = {},
  ) {
    this.maxHeadAgeMs = opts.maxHeadAgeMs ?? KT_MAX_HEAD_AGE_MS;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Check that the log binds `accountId` to `identityKey` (base64url) in a fresh head, signed by
   * the expected log key and consistent with every head seen before, at a version no lower than
   * the last one verified. Skips the fetch when this exact key was verified in the last minutes.
   * @throws ParleyError `kt_inconsistent_head`, `kt_inclusion_failed`, `kt_key_mismatch`,
   *   `kt_log_key_mismatch`, `kt_head_stale` or `kt_version_rollback`.
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
    checkLogKey(proof.logKey, { configured: this.opts.logKey, pinned: state?.logKey }, { accountId });
    if (state && state.labelKey !== proof.labelKey) {
      throw new ParleyError('kt_inconsistent_head', {
        message: "The server's label key changed since this device first saw it.",
        details: { accountId },
      });
    }
    if (proof.accountId !== accountId)
      throw new ParleyError('kt_inclusion_failed', {
        message: 'The proof is for another account.',
        details: { accountId },
      });
    if (!verifyKtHead(fromB64(proof.logKey), decodeKtHead(proof.head))) {
      throw new ParleyError('kt_inconsistent_head', {
        message: `The tree head of size ${proof.head.treeSize} is not signed by the log key.`,
        details: { accountId, treeSize: proof.head.treeSize },
      });
    }
    checkHeadAge(proof.head, this.now(), this.maxHeadAgeMs, { accountId });
    const label = fromB64(proof.label);
    if (!verifyKtLabel(fromB64(proof.labelKey), accountId, label, fromB64(proof.labelProof))) {
      throw new ParleyError('kt_inclusion_failed', {
        message: `The log label offered for ${accountId} is not that account's label.`,
        details: { accountId },
      });
    }
    const leafHash = ktBindingHash({
      label,
      identityKey: fromB64(proof.leaf.identityKey),
      version: proof.leaf.version,
      time: proof.leaf.time,
    });
    if (
      !verifyKtInclusion(
        leafHash,
        proof.leaf.index,
        proof.head.treeSize,
        proof.inclusion.map((p) => fromB64(p)),
        fromB64(proof.head.rootHash),
      )
    ) {
      throw new ParleyError('kt_inclusion_failed', {
        message: `The binding of ${accountId} is not in the log the server signed.`,
        details: { accountId, index: proof.leaf.index },
      });
    }
    if (proof.leaf.identityKey !== identityKey) {
      throw new ParleyError('kt_key_mismatch', {
        message: `The server serves an identity key for ${accountId} that its log does not bind to the account.`,
        details: { accountId, served: identityKey, logged: proof.leaf.identityKey },
      });
    }
    const versions = (await this.store.get<Record<string, SeenVersion>>(VERSIONS_KEY)) ?? {};
    const seen = versions[accountId];
    // An older leaf is still in the log, so its proofs verify: only remembering the newest version
    // stops a server from showing a device an account's earlier key again.
    if (
      seen &&
      (proof.leaf.version < seen.version ||
        (proof.leaf.version === seen.version && proof.leaf.identityKey !== seen.identityKey))
    ) {
      throw new ParleyError('kt_version_rollback', {
        message: `The log shows version ${proof.leaf.version} of ${accountId}'s key, but this device already verified version ${seen.version}${proof.leaf.version === seen.version ? ' with another key' : ''}.`,
        details: { accountId, version: proof.leaf.version, seen: seen.version },
      });
    }
    if (state) await checkConsistent(this.api, state.head, proof.head);
    const newest = !state || proof.head.treeSize >= state.head.treeSize ? proof.head : state.head;
    await this.store.set(STATE_KEY, { logKey: proof.logKey, labelKey: proof.labelKey, head: newest } satisfies KtState);
    // Read again: another check may have recorded a version while this one was verifying.
    const latest = (await this.store.get<Record<string, SeenVersion>>(VERSIONS_KEY)) ?? {};
    if (!latest[accountId] || latest[accountId].version < proof.leaf.version) {
      latest[accountId] = { version: proof.leaf.version, identityKey: proof.leaf.identityKey };
      await this.store.set(VERSIONS_KEY, latest);
    }
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

/** What the auditor expects of the log, beyond what it can check on its own. */
export interface AuditOptions extends KtCheckOptions {
  /**
   * What an earlier run recorded (the result's `logKey` and `head`): the log key must be the same
   * and the log must extend that head.
   */
  pinned?: { logKey: string; head: KtHead };
}

/** What a clean audit found. */
export interface AuditResult {
  heads: number;
  treeSize: number;
  logKey: string;
  /** The newest head checked (the served, possibly re-signed head), for the next run's `pinned`. */
  head: KtHead;
}

/**
 * The auditor (`parley audit-log`): check the log key against the configured and pinned one,
 * fetch every published head, check every signature under the log key, and the consistency proof
 * between each consecutive pair and between the first and the last. Then check the head the
 * server serves now: signed by the key, no older than the maximum age, and extending both the
 * last published head and the head an earlier run pinned. `onHead` sees each head once it passed.
 * @throws ParleyError `kt_log_key_mismatch` before any head is fetched, `kt_inconsistent_head`
 *   naming the first bad head, or `kt_head_stale`.
 */
export async function auditLog(
  api: KtApi,
  onHead: (h: AuditedHead) => void = () => undefined,
  opts: AuditOptions = {},
): Promise<AuditResult> {
  const served = await api.head();
  const { logKey } = served;
  checkLogKey(logKey, { configured: opts.logKey, pinned: opts.pinned?.logKey });
  const key = fromB64(logKey);
  let first: KtHead | null = null;
  let previous: KtHead | null = null;
  let count = 0;
  for (let from: number | null = 0; from !== null;) {
    const page: { heads: KtHead[]; next: number | null } = await api.heads(from);
    for (const h of page.heads) {
      if (!verifyKtHead(key, decodeKtHead(h))) {
        throw new ParleyError('kt_inconsistent_head', {
          message: `Head of size ${h.treeSize} (root ${h.rootHash}) is not signed by the log key ${logKey}.`,
          details: { treeSize: h.treeSize },
        });
      }
      if (previous) {
        if (h.treeSize <= previous.treeSize)
          throw new ParleyError('kt_inconsistent_head', {
            message: `Head of size ${h.treeSize} comes after a head of size ${previous.treeSize}.`,
            details: { treeSize: h.treeSize },
          });
        await checkConsistent(api, previous, h).catch((e: unknown) => {
          throw new ParleyError('kt_inconsistent_head', {
            message: `Head of size ${h.treeSize} (root ${h.rootHash}) is not consistent with head ${previous!.treeSize}: ${(e as Error).message}`,
            details: { treeSize: h.treeSize, previous: previous!.treeSize },
          });
        });
      }
      onHead({
        treeSize: h.treeSize,
        rootHash: h.rootHash,
        timestamp: h.timestamp,
        extends: previous?.treeSize ?? null,
      });
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
      throw new ParleyError('kt_inconsistent_head', {
        message: `The last head (size ${l.treeSize}) is not consistent with the first (size ${f.treeSize}): ${(e as Error).message}`,
        details: { treeSize: l.treeSize, first: f.treeSize },
      });
    });
  }
  const current = served.head;
  if (!verifyKtHead(key, decodeKtHead(current))) {
    throw new ParleyError('kt_inconsistent_head', {
      message: `The served head of size ${current.treeSize} is not signed by the log key ${logKey}.`,
      details: { treeSize: current.treeSize },
    });
  }
  checkHeadAge(current, (opts.now ?? Date.now)(), opts.maxHeadAgeMs ?? KT_MAX_HEAD_AGE_MS);
  for (const [older, what] of [
    [previous, 'the last published head'],
    [opts.pinned?.head ?? null, 'the head pinned by an earlier run'],
  ] as const) {
    if (!older) continue;
    await checkConsistent(api, older, current).catch((e: unknown) => {
      throw new ParleyError('kt_inconsistent_head', {
        message: `The served head (size ${current.treeSize}) is not consistent with ${what} (size ${older.treeSize}): ${(e as Error).message}`,
        details: { treeSize: current.treeSize, previous: older.treeSize },
      });
    });
  }
  const newest = previous && previous.treeSize > current.treeSize ? previous : current;
  return { heads: count, treeSize: previous?.treeSize ?? 0, logKey, head: newest };
}
