/** Key-transparency tree, proofs, heads and labels (C13), checked against hand-built trees. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  KT_EMPTY_ROOT,
  encodeKtLeaf,
  generateSigningKeyPair,
  ktBindingHash,
  ktConsistencyProof,
  ktInclusionProof,
  ktLabel,
  ktLeafHash,
  ktRoot,
  ktTreeOf,
  signKtHead,
  verifyKtConsistency,
  verifyKtHead,
  verifyKtInclusion,
  verifyKtLabel,
} from '../src/index.ts';

const sha = (...parts: Uint8Array[]) => new Uint8Array(createHash('sha256').update(Buffer.concat(parts)).digest());
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** RFC 6962 MTH written out independently of the module: the reference the module must match. */
function referenceRoot(data: Uint8Array[]): Uint8Array {
  if (data.length === 0) return sha();
  if (data.length === 1) return sha(Uint8Array.of(0), data[0]!);
  let k = 1;
  while (k << 1 < data.length) k <<= 1;
  return sha(Uint8Array.of(1), referenceRoot(data.slice(0, k)), referenceRoot(data.slice(k)));
}

const leafData = (i: number) => Uint8Array.from([i & 0xff, (i >> 8) & 0xff, 0x5a]);
const flip = (b: Uint8Array, at = 0) => {
  const c = Uint8Array.from(b);
  c[at % c.length] = c[at % c.length]! ^ 1;
  return c;
};

test('roots match the RFC 6962 reference test vectors (sizes 1-8)', () => {
  const inputs = [
    '',
    '00',
    '10',
    '2021',
    '3031',
    '40414243',
    '5051525354555657',
    '606162636465666768696a6b6c6d6e6f',
  ].map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
  const expected = [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
    '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
    'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
    '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
  ];
  const tree = ktTreeOf(inputs.map(ktLeafHash));
  for (let n = 1; n <= 8; n++) assert.equal(hex(ktRoot(tree, n)), expected[n - 1], `root of ${n}`);
  assert.equal(hex(ktRoot(ktTreeOf([]))), hex(KT_EMPTY_ROOT));
  assert.equal(hex(KT_EMPTY_ROOT), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

test('every leaf of every tree of 1..33 leaves has a verifying inclusion proof, and tampering fails', () => {
  const data = Array.from({ length: 33 }, (_, i) => leafData(i));
  const tree = ktTreeOf(data.map(ktLeafHash));
  for (let n = 1; n <= 33; n++) {
    const root = referenceRoot(data.slice(0, n));
    assert.deepEqual(ktRoot(tree, n), root, `root of ${n}`);
    for (let i = 0; i < n; i++) {
      const leaf = ktLeafHash(data[i]!);
      const path = ktInclusionProof(tree, i, n);
      assert.ok(verifyKtInclusion(leaf, i, n, path, root), `inclusion ${i} of ${n}`);
      assert.equal(verifyKtInclusion(flip(leaf), i, n, path, root), false, 'changed leaf');
      assert.equal(verifyKtInclusion(leaf, i, n, path, flip(root)), false, 'changed root');
      assert.equal(verifyKtInclusion(leaf, i, n, [...path, root], root), false, 'extra path element');
      assert.equal(verifyKtInclusion(leaf, n, n, path, root), false, 'index at size');
      if (n > 1) {
        assert.equal(verifyKtInclusion(leaf, (i + 1) % n, n, path, root), false, 'other index');
        assert.equal(verifyKtInclusion(leaf, i, n, path.slice(0, -1), root), false, 'short path');
        path.forEach((_, j) => {
          const bad = path.map((p, x) => (x === j ? flip(p, i) : p));
          assert.equal(verifyKtInclusion(leaf, i, n, bad, root), false, `changed path element ${j}`);
        });
        if (n < 33)
          assert.equal(verifyKtInclusion(leaf, i, n + 1, path, ktRoot(tree, n + 1)), false, 'proof for another size');
      }
    }
  }
  assert.throws(() => ktInclusionProof(tree, 5, 5), RangeError);
  assert.equal(verifyKtInclusion(ktLeafHash(data[0]!), -1, 3, [], KT_EMPTY_ROOT), false);
});

test('every pair of sizes 0..33 has a verifying consistency proof, and tampering fails', () => {
  const data = Array.from({ length: 33 }, (_, i) => leafData(i));
  const tree = ktTreeOf(data.map(ktLeafHash));
  const roots = Array.from({ length: 34 }, (_, n) => referenceRoot(data.slice(0, n)));
  for (let m = 0; m <= 33; m++) {
    for (let n = m; n <= 33; n++) {
      const proof = ktConsistencyProof(tree, m, n);
      assert.ok(verifyKtConsistency(m, n, roots[m]!, roots[n]!, proof), `consistency ${m} -> ${n}`);
      if (m === 0) continue;
      assert.equal(verifyKtConsistency(m, n, flip(roots[m]!), roots[n]!, proof), false, `changed old root ${m}->${n}`);
      assert.equal(verifyKtConsistency(m, n, roots[m]!, flip(roots[n]!), proof), false, `changed new root ${m}->${n}`);
      if (m === n) continue;
      assert.equal(verifyKtConsistency(n, m, roots[n]!, roots[m]!, proof), false, 'sizes swapped');
      assert.equal(verifyKtConsistency(m, n, roots[m]!, roots[n]!, proof.slice(0, -1)), false, 'short proof');
      assert.equal(verifyKtConsistency(m, n, roots[m]!, roots[n]!, [...proof, roots[0]!]), false, 'long proof');
      proof.forEach((_, j) => {
        const bad = proof.map((p, x) => (x === j ? flip(p, m + n) : p));
        assert.equal(verifyKtConsistency(m, n, roots[m]!, roots[n]!, bad), false, `changed element ${j} of ${m}->${n}`);
      });
    }
  }
  // A log that rewrote history: same sizes, a changed old leaf.
  const rewritten = ktTreeOf(data.map((d, i) => ktLeafHash(i === 3 ? flip(d) : d)));
  assert.equal(
    verifyKtConsistency(8, 20, roots[8]!, ktRoot(rewritten, 20), ktConsistencyProof(rewritten, 8, 20)),
    false,
  );
  assert.equal(verifyKtConsistency(0, 5, flip(KT_EMPTY_ROOT), roots[5]!, []), false, 'size 0 needs the empty root');
  assert.throws(() => ktConsistencyProof(tree, 4, 3), RangeError);
});

test('signed tree heads verify under the log key only, and any changed field fails', () => {
  const log = generateSigningKeyPair();
  const other = generateSigningKeyPair();
  const head = signKtHead(log.privateKey, {
    treeSize: 7,
    rootHash: sha(Uint8Array.of(7)),
    timestamp: 1_700_000_000_000,
  });
  assert.ok(verifyKtHead(log.publicKey, head));
  assert.equal(verifyKtHead(other.publicKey, head), false);
  assert.equal(verifyKtHead(log.publicKey, { ...head, treeSize: 8 }), false);
  assert.equal(verifyKtHead(log.publicKey, { ...head, rootHash: flip(head.rootHash) }), false);
  assert.equal(verifyKtHead(log.publicKey, { ...head, timestamp: head.timestamp + 1 }), false);
  assert.equal(verifyKtHead(log.publicKey, { ...head, signature: flip(head.signature, 40) }), false);
  assert.equal(verifyKtHead(log.publicKey, { ...head, signature: head.signature.slice(1) }), false);
  const empty = signKtHead(log.privateKey, { treeSize: 0, rootHash: KT_EMPTY_ROOT, timestamp: 1 });
  assert.ok(verifyKtHead(log.publicKey, empty));
  assert.equal(
    verifyKtHead(
      log.publicKey,
      signKtHead(log.privateKey, { treeSize: 0, rootHash: sha(Uint8Array.of(1)), timestamp: 1 }),
    ),
    false,
    'empty tree with a non-empty root',
  );
});

test('labels are deterministic, verifiable with the label key, and bound to the account id', () => {
  const key = generateSigningKeyPair();
  const a = ktLabel(key.privateKey, 'a_AAAAAAAAAAAAAAAAAAAAAA');
  assert.deepEqual(ktLabel(key.privateKey, 'a_AAAAAAAAAAAAAAAAAAAAAA'), a, 'same account, same label');
  const b = ktLabel(key.privateKey, 'a_BBBBBBBBBBBBBBBBBBBBBB');
  assert.notDeepEqual(a.label, b.label);
  assert.ok(verifyKtLabel(key.publicKey, 'a_AAAAAAAAAAAAAAAAAAAAAA', a.label, a.proof));
  assert.equal(verifyKtLabel(key.publicKey, 'a_BBBBBBBBBBBBBBBBBBBBBB', a.label, a.proof), false, 'other account');
  assert.equal(verifyKtLabel(key.publicKey, 'a_AAAAAAAAAAAAAAAAAAAAAA', b.label, a.proof), false, 'other label');
  assert.equal(
    verifyKtLabel(generateSigningKeyPair().publicKey, 'a_AAAAAAAAAAAAAAAAAAAAAA', a.label, a.proof),
    false,
    'other key',
  );
  assert.equal(
    verifyKtLabel(key.publicKey, 'a_AAAAAAAAAAAAAAAAAAAAAA', a.label, flip(a.proof, 10)),
    false,
    'changed proof',
  );
  // Without the key, the label is not a plain hash of the id.
  assert.notDeepEqual(a.label, sha(Buffer.from('a_AAAAAAAAAAAAAAAAAAAAAA')));
});

test('leaf encoding is fixed-size and covers every field', () => {
  const leaf = {
    label: sha(Uint8Array.of(1)),
    identityKey: sha(Uint8Array.of(2)),
    version: 1,
    time: 1_700_000_000_000,
  };
  assert.equal(encodeKtLeaf(leaf).length, 81);
  const h = ktBindingHash(leaf);
  assert.notDeepEqual(ktBindingHash({ ...leaf, version: 2 }), h);
  assert.notDeepEqual(ktBindingHash({ ...leaf, time: leaf.time + 1 }), h);
  assert.notDeepEqual(ktBindingHash({ ...leaf, identityKey: flip(leaf.identityKey) }), h);
  assert.notDeepEqual(ktBindingHash({ ...leaf, label: flip(leaf.label) }), h);
  assert.throws(() => encodeKtLeaf({ ...leaf, label: leaf.label.slice(1) }), RangeError);
});
