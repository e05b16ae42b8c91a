/**
 * Test helpers for @parley/crypto consumers (C13): a corpus of bad public keys and of malformed
 * KeyPackages, each with the exact catalogue code the validators must return. The server's test
 * suite feeds these through its endpoints; our own tests feed them to the validators directly.
 * Not for production use: it generates throwaway identities.
 */
import { ED25519_TORSION_SUBGROUP, ed25519, x25519 } from '@noble/curves/ed25519.js';
import type { ErrorCode } from '@parley/protocol';
import { bigToBytesLE, concatBytes, encodeU16, encodeVector } from './bytes.ts';
import { generateSigningKeyPair, sign } from './keys.ts';
import {
  parseKeyPackage,
  signContent,
  CIPHER_SUITE,
  MLS_VERSION,
  WIREFORMAT_KEY_PACKAGE,
  type ExpectedKeyPackageOwner,
} from './keypackage.ts';
import { createDeviceIdentity, generateKeyPackages, type DeviceIdentity } from './mls-identity.ts';

/** One bad public key and the code its validator must throw. */
export interface BadKey {
  name: string;
  kind: 'x25519' | 'ed25519';
  bytes: Uint8Array;
  expected: ErrorCode;
}

const Point = ed25519.Point;
const Fp = Point.Fp;
const P = Fp.ORDER;

function hex(h: string): Uint8Array {
  return Uint8Array.from(h.match(/../g)!.map((b) => parseInt(b, 16)));
}

function le(n: bigint): Uint8Array {
  return bigToBytesLE(n, 32);
}

/** Montgomery u of an Edwards point: u = (1 + y) / (1 − y). */
function edwardsToU(point: InstanceType<typeof Point>): bigint {
  const { y } = point.toAffine();
  return Fp.div(Fp.add(1n, y), Fp.sub(1n, y));
}

function isSquare(x: bigint): boolean {
  return x === 0n || Fp.pow(x, (P - 1n) / 2n) === 1n;
}

/** A point of order 8 (generator of the 8-torsion subgroup). */
function order8(): InstanceType<typeof Point> {
  return Point.fromBytes(hex(ED25519_TORSION_SUBGROUP[3]!), false);
}

function randomPrimeOrderPoint(): InstanceType<typeof Point> {
  return Point.fromBytes(ed25519.getPublicKey(ed25519.utils.randomSecretKey()), false);
}

/**
 * Every bad-key case we know: wrong lengths, all zero, all 8 Ed25519 torsion points, the X25519
 * small-order u values (0, 1, p − 1, both order-8 u), non-canonical encodings (u ≥ p, high bit,
 * y ≥ p, x = 0 with sign bit), points off the curve and on the X25519 twist, and mixed-order
 * points (a real key plus an order-8 point). Fresh random parts are drawn on each call.
 */
export function badKeyCorpus(): BadKey[] {
  const out: BadKey[] = [];
  const add = (kind: BadKey['kind'], name: string, bytes: Uint8Array, expected: ErrorCode) =>
    out.push({ kind, name, bytes, expected });
  const realX = x25519.getPublicKey(x25519.utils.randomSecretKey());
  const realEd = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
  for (const kind of ['x25519', 'ed25519'] as const) {
    const real = kind === 'x25519' ? realX : realEd;
    add(kind, `${kind} 31 bytes`, real.slice(0, 31), 'key_wrong_length');
    add(kind, `${kind} 33 bytes`, concatBytes(real, Uint8Array.of(0)), 'key_wrong_length');
    add(kind, `${kind} empty`, new Uint8Array(0), 'key_wrong_length');
    add(kind, `${kind} 64 bytes`, concatBytes(real, real), 'key_wrong_length');
    add(kind, `${kind} all zero`, new Uint8Array(32), 'key_all_zero');
  }

  // --- X25519
  add('x25519', 'x25519 u=1 (order 4)', le(1n), 'key_small_order');
  add('x25519', 'x25519 u=p-1 (order 4 on the twist)', le(P - 1n), 'key_small_order');
  const t8 = order8();
  const u8a = edwardsToU(t8);
  const u8b = edwardsToU(t8.multiply(3n));
  add('x25519', 'x25519 order-8 u (a)', le(u8a), 'key_small_order');
  add('x25519', 'x25519 order-8 u (b)', le(u8b), 'key_small_order');
  add('x25519', 'x25519 u=p (non-canonical 0)', le(P), 'key_non_canonical');
  add('x25519', 'x25519 u=p+1 (non-canonical 1)', le(P + 1n), 'key_non_canonical');
  add('x25519', 'x25519 u=2^255-1', le((1n << 255n) - 1n), 'key_non_canonical');
  add('x25519', 'x25519 u=p+u8 (non-canonical order 8)', le(P + u8a), 'key_non_canonical');
  const highBit = realX.slice();
  highBit[31] = highBit[31]! | 0x80;
  add('x25519', 'x25519 real key with high bit set', highBit, 'key_non_canonical');
  const allOnes = new Uint8Array(32).fill(0xff);
  add('x25519', 'x25519 all 0xff', allOnes, 'key_non_canonical');
  let twist = 2n;
  while (isSquare(Fp.add(Fp.add(Fp.mul(Fp.sqr(twist), twist), Fp.mul(486662n, Fp.sqr(twist))), twist))) twist++;
  add('x25519', `x25519 twist point u=${twist}`, le(twist), 'key_invalid_point');
  const mixed = randomPrimeOrderPoint().add(t8);
  add('x25519', 'x25519 mixed order (key + order-8 point)', le(edwardsToU(mixed)), 'key_mixed_order');
  add(
    'x25519',
    'x25519 mixed order (key + order-2 point)',
    le(edwardsToU(randomPrimeOrderPoint().add(t8.multiply(4n)))),
    'key_mixed_order',
  );

  // --- Ed25519
  ED25519_TORSION_SUBGROUP.forEach((h, i) => {
    const bytes = hex(h);
    add(
      'ed25519',
      `ed25519 torsion point ${i}`,
      bytes,
      bytes.every((b) => b === 0) ? 'key_all_zero' : 'key_small_order',
    );
  });
  add('ed25519', 'ed25519 y=p (non-canonical 0)', le(P), 'key_non_canonical');
  add('ed25519', 'ed25519 y=p+1 (non-canonical identity)', le(P + 1n), 'key_non_canonical');
  add('ed25519', 'ed25519 y=2^255-1', le((1n << 255n) - 1n), 'key_non_canonical');
  const negZeroIdentity = le(1n);
  negZeroIdentity[31] = 0x80;
  add('ed25519', 'ed25519 identity with sign bit (x=-0)', negZeroIdentity, 'key_non_canonical');
  const negZeroMinus1 = le(P - 1n);
  negZeroMinus1[31] = negZeroMinus1[31]! | 0x80;
  add('ed25519', 'ed25519 (0,-1) with sign bit (x=-0)', negZeroMinus1, 'key_non_canonical');
  let y = 2n;
  for (; ; y++) {
    try {
      Point.fromBytes(le(y), false);
    } catch {
      break;
    }
  }
  add('ed25519', `ed25519 not on curve y=${y}`, le(y), 'key_invalid_point');
  add(
    'ed25519',
    'ed25519 mixed order (key + order-8 point)',
    randomPrimeOrderPoint().add(t8).toBytes(),
    'key_mixed_order',
  );
  add(
    'ed25519',
    'ed25519 mixed order (key + order-4 point)',
    randomPrimeOrderPoint().add(t8.multiply(2n)).toBytes(),
    'key_mixed_order',
  );
  add(
    'ed25519',
    'ed25519 mixed order (key + order-2 point)',
    randomPrimeOrderPoint().add(t8.multiply(4n)).toBytes(),
    'key_mixed_order',
  );
  return out;
}

/** Fresh valid keys of both kinds, for "accepts real keys" checks. */
export function goodKeys(count = 8): { kind: 'x25519' | 'ed25519'; bytes: Uint8Array }[] {
  const out: { kind: 'x25519' | 'ed25519'; bytes: Uint8Array }[] = [];
  for (let i = 0; i < count; i++) {
    out.push({ kind: 'x25519', bytes: x25519.getPublicKey(x25519.utils.randomSecretKey()) });
    out.push({ kind: 'ed25519', bytes: ed25519.getPublicKey(ed25519.utils.randomSecretKey()) });
  }
  return out;
}

/** A random, well-formed device id (`d_` + 22 base64url characters). */
export function randomDeviceId(): string {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(22));
  return 'd_' + Array.from(bytes, (b) => abc[b & 63]).join('');
}

/** A fresh device identity with a random id and signing key. */
export function testDeviceIdentity(deviceId = randomDeviceId()): DeviceIdentity {
  return createDeviceIdentity(deviceId, generateSigningKeyPair());
}

/**
 * Re-encode a KeyPackage MLSMessage with some fields replaced and re-sign the KeyPackageTBS with
 * `signingPrivateKey`, so only the intended defect remains (the leaf node and its signature are
 * kept unless `leafNode` is given).
 */
export function patchKeyPackage(
  bytes: Uint8Array,
  signingPrivateKey: Uint8Array,
  patch: { initKey?: Uint8Array; cipherSuite?: number; leafNode?: Uint8Array },
): Uint8Array {
  const kp = parseKeyPackage(bytes);
  const tbs = concatBytes(
    encodeU16(MLS_VERSION),
    encodeU16(patch.cipherSuite ?? kp.cipherSuite),
    encodeVector(patch.initKey ?? kp.initKey),
    patch.leafNode ?? kp.leafNode,
    kp.extensions,
  );
  const signature = sign(signingPrivateKey, signContent('KeyPackageTBS', tbs));
  return concatBytes(encodeU16(MLS_VERSION), encodeU16(WIREFORMAT_KEY_PACKAGE), tbs, encodeVector(signature));
}

/** One malformed KeyPackage and the code inspectKeyPackage must throw for `owner`. */
export interface BadKeyPackage {
  name: string;
  bytes: Uint8Array;
  expected: ErrorCode;
}

/** The device that "uploads" the KeyPackages in {@link badKeyPackages}, plus one good KeyPackage. */
export interface KeyPackageCorpus {
  identity: DeviceIdentity;
  owner: ExpectedKeyPackageOwner;
  valid: Uint8Array;
  cases: BadKeyPackage[];
}

/**
 * Malformed KeyPackages for one device (`owner`): init key = encryption key, 31-byte and
 * small-order init keys, bad KeyPackage and leaf signatures, another device's credential, a
 * foreign signature key, an unsupported cipher suite, truncated and trailing bytes, garbage.
 * Pass a registered device's identity to upload them to a real server.
 */
export async function badKeyPackages(identity: DeviceIdentity = testDeviceIdentity()): Promise<KeyPackageCorpus> {
  const owner = { deviceId: identity.deviceId, signingKey: identity.signingKey.publicKey };
  const { publicKeyPackages } = await generateKeyPackages(identity, 2);
  const valid = publicKeyPackages[0]!;
  const base = publicKeyPackages[1]!;
  const priv = identity.signingKey.privateKey;
  const parsed = parseKeyPackage(base);
  const cases: BadKeyPackage[] = [];
  const add = (name: string, bytes: Uint8Array, expected: ErrorCode) => cases.push({ name, bytes, expected });

  add(
    'init key equals encryption key',
    patchKeyPackage(base, priv, { initKey: parsed.encryptionKey }),
    'keypackage_init_equals_encryption',
  );
  add('31-byte init key', patchKeyPackage(base, priv, { initKey: parsed.initKey.slice(0, 31) }), 'key_wrong_length');
  add(
    '33-byte init key',
    patchKeyPackage(base, priv, { initKey: concatBytes(parsed.initKey, Uint8Array.of(1)) }),
    'key_wrong_length',
  );
  add('small-order init key (u=1)', patchKeyPackage(base, priv, { initKey: le(1n) }), 'key_small_order');
  add('all-zero init key', patchKeyPackage(base, priv, { initKey: new Uint8Array(32) }), 'key_all_zero');
  const badSig = base.slice();
  badSig[badSig.length - 1] = badSig[badSig.length - 1]! ^ 0x01;
  add('bad KeyPackage signature', badSig, 'signature_invalid');
  const leaf = parsed.leafNode.slice();
  leaf[leaf.length - 1] = leaf[leaf.length - 1]! ^ 0x01;
  add('bad leaf node signature', patchKeyPackage(base, priv, { leafNode: leaf }), 'signature_invalid');
  add(
    'unsupported cipher suite',
    patchKeyPackage(base, priv, { cipherSuite: CIPHER_SUITE + 1 }),
    'keypackage_malformed',
  );
  const foreign = testDeviceIdentity();
  add(
    "another device's KeyPackage",
    (await generateKeyPackages(foreign, 1)).publicKeyPackages[0]!,
    'keypackage_wrong_credential',
  );
  const sameIdOtherKey = createDeviceIdentity(identity.deviceId, generateSigningKeyPair());
  add(
    'right device id, foreign signing key',
    (await generateKeyPackages(sameIdOtherKey, 1)).publicKeyPackages[0]!,
    'keypackage_wrong_credential',
  );
  add('truncated', base.slice(0, base.length - 10), 'keypackage_malformed');
  add('trailing bytes', concatBytes(base, Uint8Array.of(0)), 'keypackage_malformed');
  add('empty', new Uint8Array(0), 'keypackage_malformed');
  add('random bytes', globalThis.crypto.getRandomValues(new Uint8Array(300)), 'keypackage_malformed');
  const notKp = base.slice();
  notKp[3] = 1; // wire_format public_message
  add('wrong wire format', notKp, 'keypackage_malformed');
  return { identity, owner, valid, cases };
}
