/**
 * Key transparency (C13), server side: the append-only Merkle log of account → identity-key
 * bindings, its signed tree heads and the proofs clients and auditors check. Leaves carry a hidden
 * label (a verifiable keyed function of the account id, see @parley/crypto `ktLabel`), never the
 * id, so the log cannot be read as a directory. Both keys (the head-signing log key and the label
 * key) are server secrets shared by every process through storage, encrypted there
 * (services/server-secrets.ts). See docs/key-transparency.md.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { KT_HEAD_REFRESH_MS, ParleyError } from '@parley/protocol';
import {
  ktBindingHash,
  ktConsistencyProof,
  ktInclusionProof,
  ktLabel,
  ktNodeHash,
  ktRoot,
  signKtHead,
  signingPublicKey,
  KT_EMPTY_ROOT,
  type KtTreeView,
} from '@parley/crypto';
import type { KtHeadRow, KtLeafRow, Storage } from '../storage/types.ts';
import type { ServerSecrets } from './server-secrets.ts';

const LOG_KEY = 'kt-log-key';
const LABEL_KEY = 'kt-label-key';
const PAGE = 1000;
/** First retry of a binding that failed at registration. */
const REPAIR_DELAY_MS = 2_000;

function isPowerOfTwo(n: number): boolean {
  let x = n;
  while (x > 1 && x % 2 === 0) x /= 2;
  return x === 1;
}

/**
 * Leaf hashes of the log held in memory, read from storage as it grows (other processes append
 * too). Complete, aligned subtrees never change in an append-only tree, so their hashes are kept:
 * a proof then costs O(log n) hashes.
 */
class TreeCache implements KtTreeView {
  private readonly leaves: Uint8Array[] = [];
  private readonly complete = new Map<string, Uint8Array>();

  constructor(private readonly storage: Storage) {}

  get size(): number {
    return this.leaves.length;
  }

  /** Read leaves appended since the last sync until at least `size` are known (all when omitted). */
  async sync(size = Number.MAX_SAFE_INTEGER): Promise<void> {
    while (this.leaves.length < size) {
      const rows = await this.storage.keyTransparency.listKtLeaves(this.leaves.length, PAGE);
      for (const r of rows) {
        if (r.index !== this.leaves.length) throw new Error(`key-transparency log has a gap at ${this.leaves.length}`);
        this.leaves.push(ktBindingHash(r));
      }
      if (rows.length < PAGE) break;
    }
    if (size !== Number.MAX_SAFE_INTEGER && this.leaves.length < size)
      throw new Error(`key-transparency log has ${this.leaves.length} leaves, a head claims ${size}`);
  }

  rangeHash(start: number, end: number): Uint8Array {
    const n = end - start;
    if (n === 0) return KT_EMPTY_ROOT;
    if (n === 1) return this.leaves[start]!;
    const cacheable = isPowerOfTwo(n) && start % n === 0;
    const key = `${start}:${n}`;
    if (cacheable) {
      const hit = this.complete.get(key);
      if (hit) return hit;
    }
    let k = 1;
    while (k * 2 < n) k *= 2;
    const h = ktNodeHash(this.rangeHash(start, start + k), this.rangeHash(start + k, end));
    if (cacheable) this.complete.set(key, h);
    return h;
  }
}

/** The key-transparency log of one server process (all processes share it through storage). */
export class KeyTransparency {
  private logKey: Uint8Array | null = null;
  private labelKey: Uint8Array | null = null;
  private readonly tree: TreeCache;
  /** Head publication runs one at a time in this process (storage settles races between processes). */
  private publishing: Promise<unknown> = Promise.resolve();
  /** The newest head signed again with a later time (see `currentHead`); never stored. */
  private refreshed: KtHeadRow | null = null;

  constructor(
    private readonly storage: Storage,
    private readonly secrets: ServerSecrets,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    this.tree = new TreeCache(storage);
  }

  /** Load (or make) the keys, publish a head covering every leaf, and log accounts missing from it. */
  async start(): Promise<void> {
    const random = () => new Uint8Array(randomBytes(32));
    [this.logKey, this.labelKey] = await Promise.all([
      this.secrets.getOrCreate(LOG_KEY, random),
      this.secrets.getOrCreate(LABEL_KEY, random),
    ]);
    await this.logMissing();
  }

  /**
   * Log every account whose current identity key has no leaf (accounts older than the log, a crash
   * between registering and logging, a binding that failed), then publish a head covering them.
   */
  async logMissing(): Promise<number> {
    let logged = 0;
    for (;;) {
      const missing = await this.storage.keyTransparency.listUnloggedAccounts(PAGE);
      for (const m of missing)
        await this.storage.keyTransparency.appendKtLeaf({
          label: this.label(m.accountId).label,
          identityKey: m.identityKey,
          time: this.now(),
        });
      logged += missing.length;
      if (missing.length < PAGE) break;
    }
    if (logged) this.log.info({ count: logged }, 'key transparency: logged missing bindings');
    await this.publishHead();
    return logged;
  }

  private repairTimer: ReturnType<typeof setTimeout> | null = null;

  /**
   * A binding could not be logged at registration: try again shortly (and keep trying), so other
   * devices are not refused the account's key (`kt_not_logged`) until the next restart.
   */
  repairSoon(delayMs = REPAIR_DELAY_MS): void {
    if (this.repairTimer) return;
    this.repairTimer = setTimeout(() => {
      this.repairTimer = null;
      this.logMissing().catch((err: unknown) => {
        this.log.error({ err }, 'key transparency: repair failed; retrying');
        this.repairSoon(Math.min(delayMs * 2, 60_000));
      });
    }, delayMs);
    this.repairTimer.unref();
  }

  /** Stop a pending repair (shutdown). */
  stop(): void {
    if (this.repairTimer) clearTimeout(this.repairTimer);
    this.repairTimer = null;
  }

  private keys(): { logKey: Uint8Array; labelKey: Uint8Array } {
    if (!this.logKey || !this.labelKey)
      throw new ParleyError('unavailable', { message: 'Key transparency is starting.' });
    return { logKey: this.logKey, labelKey: this.labelKey };
  }

  /** The Ed25519 public keys that sign tree heads and labels. */
  publicKeys(): { logKey: Uint8Array; labelKey: Uint8Array } {
    const k = this.keys();
    return { logKey: signingPublicKey(k.logKey), labelKey: signingPublicKey(k.labelKey) };
  }

  /** The hidden label of an account and its proof. */
  label(accountId: string): { label: Uint8Array; proof: Uint8Array } {
    return ktLabel(this.keys().labelKey, accountId);
  }

  /** Log that `accountId` now has `identityKey`, and publish a head that covers it. */
  async bind(accountId: string, identityKey: Uint8Array): Promise<{ leaf: KtLeafRow; head: KtHeadRow }> {
    const label = this.label(accountId).label;
    // Re-registering with the same key binds nothing new.
    const current = await this.storage.keyTransparency.latestKtLeaf(label);
    const same = current !== null && Buffer.from(current.identityKey).equals(identityKey);
    const leaf = same
      ? current
      : await this.storage.keyTransparency.appendKtLeaf({ label, identityKey, time: this.now() });
    return { leaf, head: await this.publishHead() };
  }

  /** The newest head, publishing one first when leaves were appended after it. */
  async publishHead(): Promise<KtHeadRow> {
    const run = this.publishing.then(async () => {
      const size = await this.storage.keyTransparency.ktLeafCount();
      const latest = await this.storage.keyTransparency.latestKtHead();
      if (latest && latest.treeSize >= size) return latest;
      await this.tree.sync(size);
      const head = signKtHead(this.keys().logKey, {
        treeSize: size,
        rootHash: ktRoot(this.tree, size),
        timestamp: this.now(),
      });
      // Another process may have published this size first: its head stands.
      return this.storage.keyTransparency.putKtHead(head);
    });
    this.publishing = run.catch(() => undefined);
    return run;
  }

  /** The newest published head (publishing one if none exists yet). */
  async latestHead(): Promise<KtHeadRow> {
    return (await this.storage.keyTransparency.latestKtHead()) ?? this.publishHead();
  }

  /**
   * The head to serve (GET /v1/kt/head and every proof): the newest published head, signed again
   * with the current time once it is `KT_HEAD_REFRESH_MS` old. Devices and auditors refuse heads
   * older than their maximum age (default 24 h), and a log may go long without a registration, so
   * without this an honest but quiet log would look frozen. A re-signed head has the same size and
   * root as the stored one, so it is not stored (`kt_heads` keeps one head per size, the history
   * auditors walk); each process re-signs on its own, at most once per `KT_HEAD_REFRESH_MS`.
   */
  async currentHead(): Promise<KtHeadRow> {
    const latest = await this.latestHead();
    const now = this.now();
    const r = this.refreshed;
    if (
      r &&
      r.treeSize === latest.treeSize &&
      Buffer.from(r.rootHash).equals(latest.rootHash) &&
      r.timestamp > latest.timestamp
    ) {
      if (now - r.timestamp < KT_HEAD_REFRESH_MS) return r;
    } else if (now - latest.timestamp < KT_HEAD_REFRESH_MS) return latest;
    this.refreshed = signKtHead(this.keys().logKey, {
      treeSize: latest.treeSize,
      rootHash: latest.rootHash,
      timestamp: now,
    });
    return this.refreshed;
  }

  /** The account's newest binding with its inclusion proof against a head that covers it. */
  async proof(
    accountId: string,
  ): Promise<{ label: Uint8Array; labelProof: Uint8Array; leaf: KtLeafRow; inclusion: Uint8Array[]; head: KtHeadRow }> {
    const { label, proof } = this.label(accountId);
    const leaf = await this.storage.keyTransparency.latestKtLeaf(label);
    if (!leaf) throw new ParleyError('kt_not_logged');
    let head = await this.currentHead();
    if (head.treeSize <= leaf.index) {
      await this.publishHead();
      head = await this.currentHead();
    }
    await this.tree.sync(head.treeSize);
    return { label, labelProof: proof, leaf, inclusion: ktInclusionProof(this.tree, leaf.index, head.treeSize), head };
  }

  /** The consistency proof between two tree sizes, both at most the newest head's. */
  async consistency(from: number, to: number): Promise<Uint8Array[]> {
    const head = await this.latestHead();
    if (from > to || to > head.treeSize)
      throw new ParleyError('kt_tree_size_invalid', { details: { from, to, treeSize: head.treeSize } });
    await this.tree.sync(to);
    return ktConsistencyProof(this.tree, from, to);
  }
}
