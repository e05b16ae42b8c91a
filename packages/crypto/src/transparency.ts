/**
 * Key transparency (C13): the pure parts of Parley's append-only log of account → identity-key
 * bindings, shared by the server (building proofs), the SDK (checking them) and the auditor.
 *
 * Tree: RFC 9162 §2.1 Merkle tree hash over SHA-256, leaf = H(0x00 ‖ data), node = H(0x01 ‖ l ‖ r),
 * the root of the empty tree is H(""). Proof generation follows RFC 6962 §2.1.1–2.1.2 (PATH,
 * SUBPROOF) and verification RFC 9162 §2.1.3.2 and §2.1.4.2.
 *
 * Leaf data (Parley's own, version 1), 81 bytes:
 *   u8 1 ‖ label (32) ‖ identity key (32) ‖ u64 version ‖ u64 time (ms)
 * where `version` counts the bindings of that label (1 for the first key, 2 after a re-registration…).
 *
 * Signed tree head: Ed25519 (log key) over `"parley-kt-head-v1" ‖ u64 size ‖ root (32) ‖ u64 time`.
 *
 * Label: a verifiable keyed function of the account id standing in for a VRF (see
 * docs/key-transparency.md for what it does and does not give):
 *   proof = Ed25519-sign(label key, "parley-kt-label-v1" ‖ UTF-8 account id)   (64 bytes)
 *   label = SHA-256("parley-kt-label-out-v1" ‖ proof)
 * Anyone with the label public key checks the proof; without it (or the account id) a label says
 * nothing about whose binding it is.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesEqual, concatBytes, encodeU64, utf8 } from './bytes.ts';
import { sign, verifySignature } from './keys.ts';

/** Bytes of a hash, a label and an identity key in the log. */
export const KT_HASH_BYTES = 32;
const LEAF_FORMAT = 1;
const LEAF_BYTES = 1 + 32 + 32 + 8 + 8;
const HEAD_CONTEXT = utf8('parley-kt-head-v1');
const LABEL_CONTEXT = utf8('parley-kt-label-v1');
const LABEL_OUT_CONTEXT = utf8('parley-kt-label-out-v1');

/** The root hash of the empty tree, SHA-256 of nothing. */
export const KT_EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

/** One binding of a (hidden) account label to an identity key. */
export interface KtLeaf {
  label: Uint8Array;
  identityKey: Uint8Array;
  /** 1 for the label's first binding, then one more for each later key. */
  version: number;
  /** When the server appended it, ms since the epoch. */
  time: number;
}

/** A tree head as signed by the log key. */
export interface KtSignedHead {
  treeSize: number;
  rootHash: Uint8Array;
  /** ms since the epoch. */
  timestamp: number;
  signature: Uint8Array;
}

/** Hash of a leaf's data: H(0x00 ‖ data). */
export function ktLeafHash(data: Uint8Array): Uint8Array {
  return sha256(concatBytes(Uint8Array.of(0), data));
}

/** Hash of an inner node: H(0x01 ‖ left ‖ right). */
export function ktNodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concatBytes(Uint8Array.of(1), left, right));
}

/** The canonical 81-byte encoding of a leaf (what is hashed). */
export function encodeKtLeaf(leaf: KtLeaf): Uint8Array {
  if (leaf.label.length !== 32 || leaf.identityKey.length !== 32)
    throw new RangeError('label and identity key must be 32 bytes');
  const out = concatBytes(
    Uint8Array.of(LEAF_FORMAT),
    leaf.label,
    leaf.identityKey,
    encodeU64(BigInt(leaf.version)),
    encodeU64(BigInt(leaf.time)),
  );
  if (out.length !== LEAF_BYTES) throw new RangeError('leaf encoding has the wrong length');
  return out;
}

/** The leaf hash of a binding. */
export function ktBindingHash(leaf: KtLeaf): Uint8Array {
  return ktLeafHash(encodeKtLeaf(leaf));
}

/** Largest power of two strictly below n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * A tree as the proof builders see it: its size and the hash of any range of leaves [start, end).
 * The server answers ranges from a cache; tests pass a plain list (see {@link ktTreeOf}).
 */
export interface KtTreeView {
  readonly size: number;
  rangeHash(start: number, end: number): Uint8Array;
}

/** A tree view over a list of leaf hashes (computes every range afresh: for tests and small logs). */
export function ktTreeOf(leafHashes: Uint8Array[]): KtTreeView {
  const rangeHash = (start: number, end: number): Uint8Array => {
    const n = end - start;
    if (n === 0) return KT_EMPTY_ROOT;
    if (n === 1) return leafHashes[start]!;
    const k = split(n);
    return ktNodeHash(rangeHash(start, start + k), rangeHash(start + k, end));
  };
  return { size: leafHashes.length, rangeHash };
}

/** The Merkle tree hash (root) of the first `size` leaves of a tree. */
export function ktRoot(tree: KtTreeView, size = tree.size): Uint8Array {
  return tree.rangeHash(0, size);
}

/** The audit path of leaf `index` in the tree of the first `size` leaves (RFC 6962 PATH). */
export function ktInclusionProof(tree: KtTreeView, index: number, size = tree.size): Uint8Array[] {
  if (!Number.isInteger(index) || index < 0 || index >= size || size > tree.size)
    throw new RangeError('leaf index outside the tree');
  const path = (m: number, start: number, end: number): Uint8Array[] => {
    const n = end - start;
    if (n <= 1) return [];
    const k = split(n);
    return m < k
      ? [...path(m, start, start + k), tree.rangeHash(start + k, end)]
      : [...path(m - k, start + k, end), tree.rangeHash(start, start + k)];
  };
  return path(index, 0, size);
}

/** The consistency proof from size `first` to size `second` (RFC 6962 PROOF; empty when first is 0 or equals second). */
export function ktConsistencyProof(tree: KtTreeView, first: number, second = tree.size): Uint8Array[] {
  if (!Number.isInteger(first) || !Number.isInteger(second) || first < 0 || first > second || second > tree.size)
    throw new RangeError('tree sizes out of order');
  if (first === 0 || first === second) return [];
  const sub = (m: number, start: number, end: number, whole: boolean): Uint8Array[] => {
    const n = end - start;
    if (m === n) return whole ? [] : [tree.rangeHash(start, end)];
    const k = split(n);
    return m <= k
      ? [...sub(m, start, start + k, whole), tree.rangeHash(start + k, end)]
      : [...sub(m - k, start + k, end, false), tree.rangeHash(start, start + k)];
  };
  return sub(first, 0, second, true);
}

const lsb = (x: number): boolean => x % 2 === 1;
const half = (x: number): number => Math.floor(x / 2);

/**
 * The path walk both verifiers share (RFC 9162 §2.1.3.2 and §2.1.4.2): from node `fn` of last node
 * `sn`, each proof hash is either the left sibling (`left`) or the right one (`right`) of the node
 * built so far. True when the walk ends exactly at the root (`sn` reaches 0 with the last hash).
 */
function walkPath(
  fn: number,
  sn: number,
  path: Uint8Array[],
  left: (c: Uint8Array) => void,
  right: (c: Uint8Array) => void,
): boolean {
  for (const c of path) {
    if (sn === 0) return false;
    if (lsb(fn) || fn === sn) {
      left(c);
      while (!lsb(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      right(c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0;
}

/**
 * RFC 9162 §2.1.3.2: true when `path` proves that the leaf with hash `leafHash` sits at `index` in
 * the tree of `size` leaves whose root is `root`. Never throws.
 */
export function verifyKtInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  path: Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  if (
    leafHash.length !== KT_HASH_BYTES ||
    root.length !== KT_HASH_BYTES ||
    path.some((p) => p.length !== KT_HASH_BYTES)
  )
    return false;
  let r = leafHash;
  const reachesRoot = walkPath(
    index,
    size - 1,
    path,
    (c) => (r = ktNodeHash(c, r)),
    (c) => (r = ktNodeHash(r, c)),
  );
  return reachesRoot && bytesEqual(r, root);
}

/**
 * RFC 9162 §2.1.4.2: true when `path` proves the tree of `first` leaves with root `firstRoot` is a
 * prefix of the tree of `second` leaves with root `secondRoot`. A tree of size 0 is a prefix of
 * every tree (its root must be the empty root); equal sizes need equal roots and an empty path.
 * Never throws.
 */
export function verifyKtConsistency(
  first: number,
  second: number,
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
  path: Uint8Array[],
): boolean {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second) return false;
  if (
    firstRoot.length !== KT_HASH_BYTES ||
    secondRoot.length !== KT_HASH_BYTES ||
    path.some((p) => p.length !== KT_HASH_BYTES)
  )
    return false;
  if (first === 0) return path.length === 0 && bytesEqual(firstRoot, KT_EMPTY_ROOT);
  if (first === second) return path.length === 0 && bytesEqual(firstRoot, secondRoot);
  if (path.length === 0) return false;
  // A power-of-two first tree is a complete subtree: its root is the proof's implicit first node.
  const proof = isPowerOfTwo(first) ? [firstRoot, ...path] : path;
  let fn = first - 1;
  let sn = second - 1;
  while (lsb(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = proof[0]!;
  let sr = proof[0]!;
  const reachesRoot = walkPath(
    fn,
    sn,
    proof.slice(1),
    (c) => {
      fr = ktNodeHash(c, fr);
      sr = ktNodeHash(c, sr);
    },
    (c) => (sr = ktNodeHash(sr, c)),
  );
  return reachesRoot && bytesEqual(fr, firstRoot) && bytesEqual(sr, secondRoot);
}

function isPowerOfTwo(n: number): boolean {
  let x = n;
  while (x > 1 && x % 2 === 0) x /= 2;
  return x === 1;
}

/** The bytes a tree head's signature covers. */
export function ktHeadMessage(head: Omit<KtSignedHead, 'signature'>): Uint8Array {
  return concatBytes(HEAD_CONTEXT, encodeU64(BigInt(head.treeSize)), head.rootHash, encodeU64(BigInt(head.timestamp)));
}

/** Sign a tree head with the log's Ed25519 private key (32-byte seed). */
export function signKtHead(logPrivateKey: Uint8Array, head: Omit<KtSignedHead, 'signature'>): KtSignedHead {
  return { ...head, signature: sign(logPrivateKey, ktHeadMessage(head)) };
}

/** True when the head is well formed and signed by `logPublicKey`. Never throws. */
export function verifyKtHead(logPublicKey: Uint8Array, head: KtSignedHead): boolean {
  if (
    !Number.isSafeInteger(head.treeSize) ||
    head.treeSize < 0 ||
    !Number.isSafeInteger(head.timestamp) ||
    head.timestamp < 0
  )
    return false;
  if (head.rootHash.length !== KT_HASH_BYTES) return false;
  if (head.treeSize === 0 && !bytesEqual(head.rootHash, KT_EMPTY_ROOT)) return false;
  return verifySignature(logPublicKey, ktHeadMessage(head), head.signature);
}

function labelMessage(accountId: string): Uint8Array {
  return concatBytes(LABEL_CONTEXT, utf8(accountId));
}

function labelOf(proof: Uint8Array): Uint8Array {
  return sha256(concatBytes(LABEL_OUT_CONTEXT, proof));
}

/** The hidden label of an account and the proof that it was computed with the label key. */
export function ktLabel(labelPrivateKey: Uint8Array, accountId: string): { label: Uint8Array; proof: Uint8Array } {
  const proof = sign(labelPrivateKey, labelMessage(accountId));
  return { label: labelOf(proof), proof };
}

/** True when `label` is the account's label under the label key `labelPublicKey`. Never throws. */
export function verifyKtLabel(
  labelPublicKey: Uint8Array,
  accountId: string,
  label: Uint8Array,
  proof: Uint8Array,
): boolean {
  if (label.length !== 32 || proof.length !== 64) return false;
  if (!verifySignature(labelPublicKey, labelMessage(accountId), proof)) return false;
  return bytesEqual(labelOf(proof), label);
}
