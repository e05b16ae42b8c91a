/**
 * MLS conformance (issue 23, item 5): ts-mls, the MLS library behind `packages/crypto`, against the
 * IETF MLS working group's interoperability test vectors in `../shared/vectors/mls/` (beside the
 * repository's root). Only cipher suite 1 runs, the one Parley offers; cases for other suites are
 * counted as skipped. Each file prints one line:
 *
 *     # mls-vectors <file>: N passed, M skipped (other cipher suites)[, K not runnable (why)]
 *
 * Only ts-mls's public API is used (what its package index exports). Where a vector needs a
 * function ts-mls keeps internal, the case is "not runnable" and the line names the missing export;
 * the same table is in docs/protocol.md ("MLS conformance"). A file the public API cannot reach at
 * all still loads, so a missing or renamed vector file fails here.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  decode,
  encode,
  getCiphersuiteImpl,
  joinGroup,
  mlsMessageDecoder,
  mlsMessageEncoder,
  processMessage,
  unsafeTestingAuthenticationService,
  UsageError,
  wireformats,
  type ClientState,
  type KeyPackage,
  type MlsContext,
  type MlsFramedMessage,
  type MlsMessage,
  type Welcome,
} from 'ts-mls';
import { CIPHER_SUITE_NAME } from '../src/index.ts';

/** Parley's one cipher suite: MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519. */
const SUITE = 1;
const VECTORS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/vectors/mls');
const required = process.env.PARLEY_REQUIRE_SERVICES === '1' || process.env.CI === 'true';
const missing = existsSync(VECTORS) ? false : `MLS test vectors not found at ${VECTORS}`;
// Like the service-backed suites: skipped with a message locally, a failure in CI.
if (missing && required) throw new Error(`${missing} (required under PARLEY_REQUIRE_SERVICES=1 / CI=true)`);

type Case = Record<string, unknown> & { cipher_suite?: number };

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function load(name: string): Case[] {
  const parsed: unknown = JSON.parse(readFileSync(join(VECTORS, `${name}.json`), 'utf8'));
  assert.ok(Array.isArray(parsed) && parsed.length > 0, `${name}.json holds no cases`);
  return parsed as Case[];
}

function decodeMessage(bytesHex: string): MlsMessage {
  const m = decode(mlsMessageDecoder, hex(bytesHex));
  assert.ok(m, 'MLSMessage does not decode');
  return m;
}

/** A KeyPackage and a Welcome, each serialized as an MLSMessage. */
function joinInputs(keyPackageHex: string, welcomeHex: string): { keyPackage: KeyPackage; welcome: Welcome } {
  const kp = decodeMessage(keyPackageHex);
  const w = decodeMessage(welcomeHex);
  assert.ok(kp.wireformat === wireformats.mls_key_package, 'key_package is not an MLSMessage(KeyPackage)');
  assert.ok(w.wireformat === wireformats.mls_welcome, 'welcome is not an MLSMessage(Welcome)');
  return { keyPackage: kp.keyPackage, welcome: w.welcome };
}

/** A PublicMessage or PrivateMessage, serialized as an MLSMessage. */
function framedMessage(bytesHex: string): MlsFramedMessage {
  const m = decodeMessage(bytesHex);
  assert.ok(
    m.wireformat === wireformats.mls_public_message || m.wireformat === wireformats.mls_private_message,
    'not a PublicMessage or PrivateMessage',
  );
  return m;
}

/** What one file yielded; printed as the file's diagnostic line. */
interface Tally {
  passed: number;
  skipped: number;
  notRunnable?: { count: number; why: string };
  note?: string;
}

function report(t: TestContext, file: string, r: Tally): void {
  let line = `mls-vectors ${file}: ${r.passed} passed, ${r.skipped} skipped (other cipher suites)`;
  if (r.notRunnable) line += `, ${r.notRunnable.count} not runnable (${r.notRunnable.why})`;
  if (r.note) line += `; ${r.note}`;
  t.diagnostic(line);
}

/** Suite-1 cases and the count of the rest. Files without a suite (codec, tree math) are all "ours". */
function split(cases: Case[]): { ours: Case[]; skipped: number } {
  const ours = cases.filter((c) => c.cipher_suite === undefined || c.cipher_suite === SUITE);
  return { ours, skipped: cases.length - ours.length };
}

let context: Promise<MlsContext> | undefined;
/** A context with the vectors' identities accepted: they carry test credentials, not Parley's. */
function mlsContext(): Promise<MlsContext> {
  context ??= getCiphersuiteImpl(CIPHER_SUITE_NAME).then((cipherSuite) => ({
    cipherSuite,
    authService: unsafeTestingAuthenticationService,
  }));
  return context;
}

/**
 * Files whose every check needs functions ts-mls does not export from its index. They are loaded
 * and counted; each names what is missing (module in ts-mls's dist/src, then function).
 */
const NOT_RUNNABLE: Record<string, string> = {
  'tree-math': 'treemath.js root/left/right/parent/sibling are not exported',
  'crypto-basics':
    'the labelled primitives are not exported: refhash (crypto/hash.js), expandWithLabel, deriveSecret, ' +
    'deriveTreeSecret (crypto/kdf.js), signWithLabel/verifyWithLabel (crypto/signature.js), ' +
    'encryptWithLabel/decryptWithLabel (crypto/hpke.js)',
  'secret-tree':
    'createSecretTree, ratchetToGeneration/consumeRatchet (secretTree.js) and deriveTreeSecret (crypto/kdf.js) ' +
    'are not exported',
  'message-protection':
    'protect/unprotectPrivateMessage (messageProtection.js) and protectPublicMessage/unprotectPublicMessage ' +
    '(messageProtectionPublic.js) are not exported; processMessage needs a whole ClientState (ratchet tree, ' +
    'secret tree) that the vector does not give',
  'transcript-hashes':
    'createConfirmedHash/createInterimHash (transcriptHash.js), authenticatedContentDecoder ' +
    '(authenticatedContent.js) and verifyConfirmationTag (framedContent.js) are not exported',
  'tree-operations':
    'ratchetTreeDecoder (ratchetTree.js), proposalDecoder (proposal.js), treeHashRoot (treeHash.js) and the ' +
    'tree edits addLeafNodeMutable/updateLeafNodeMutable/removeLeafNodeMutable are not exported',
  'tree-validation':
    'ratchetTreeDecoder and resolution (ratchetTree.js), treeHash (treeHash.js) and validateRatchetTree ' +
    '(clientState.js) are not exported',
  treekem:
    'ratchetTreeDecoder (ratchetTree.js), updatePathDecoder/applyUpdatePath/createUpdatePath (updatePath.js) ' +
    'and pathToRoot/getCommitSecret (pathSecrets.js) are not exported',
  deserialization: 'varLenDataDecoder/determineLength (codec/variableLength.js) are not exported',
  psk_secret: 'computePskSecret (presharedkey.js) is not exported',
};

for (const [file, why] of Object.entries(NOT_RUNNABLE)) {
  test(`mls-vectors ${file}`, { skip: missing }, (t) => {
    const { ours, skipped } = split(load(file));
    report(t, file, { passed: 0, skipped, notRunnable: { count: ours.length, why } });
    // Nothing of this file was checked: the run reports it as skipped, never as passed.
    t.skip(`not runnable through ts-mls's public API (${ours.length} suite-1 cases)`);
  });
}

/** MLSMessage fields of messages.json: decoded with ts-mls and encoded again, byte for byte. */
const MESSAGE_FIELDS = [
  'mls_welcome',
  'mls_group_info',
  'mls_key_package',
  'public_message_application',
  'public_message_proposal',
  'public_message_commit',
  'private_message',
];
/** messages.json fields that are bare structs; ts-mls exports no decoder for them. */
const BARE_FIELDS: Record<string, string> = {
  ratchet_tree: 'ratchetTreeDecoder',
  group_secrets: 'groupSecretsDecoder',
  add_proposal: 'addDecoder',
  update_proposal: 'updateDecoder',
  remove_proposal: 'removeDecoder',
  pre_shared_key_proposal: 'pskDecoder',
  re_init_proposal: 'reinitDecoder',
  external_init_proposal: 'externalInitDecoder',
  group_context_extensions_proposal: 'groupContextExtensionsDecoder',
  commit: 'commitDecoder',
};

test('mls-vectors messages', { skip: missing }, (t) => {
  const { ours, skipped } = split(load('messages'));
  for (const [i, c] of ours.entries()) {
    assert.deepEqual(Object.keys(c).sort(), [...MESSAGE_FIELDS, ...Object.keys(BARE_FIELDS)].sort(), `case ${i}`);
    for (const field of MESSAGE_FIELDS) {
      const bytes = c[field] as string;
      assert.equal(toHex(encode(mlsMessageEncoder, decodeMessage(bytes))), bytes, `case ${i} ${field}`);
    }
  }
  report(t, 'messages', {
    passed: ours.length,
    skipped,
    note:
      `per case the ${MESSAGE_FIELDS.length} MLSMessage fields round-trip byte for byte; the other ` +
      `${Object.keys(BARE_FIELDS).length} (${Object.keys(BARE_FIELDS).join(', ')}) are not runnable: ` +
      `${Object.values(BARE_FIELDS).join(', ')} are not exported`,
  });
});

test('mls-vectors key-schedule', { skip: missing }, async (t) => {
  const { ours, skipped } = split(load('key-schedule'));
  const { cipherSuite: cs } = await mlsContext();
  for (const [i, c] of ours.entries()) {
    const epochs = c.epochs as { external_secret: string; external_pub: string }[];
    assert.ok(epochs.length > 0);
    for (const [n, e] of epochs.entries()) {
      // external_pub = KEM.DeriveKeyPair(external_secret).public, through the suite's HPKE.
      const pair = await cs.hpke.deriveKeyPair(hex(e.external_secret));
      assert.equal(toHex(await cs.hpke.exportPublicKey(pair.publicKey)), e.external_pub, `case ${i} epoch ${n}`);
    }
  }
  report(t, 'key-schedule', {
    passed: ours.length,
    skipped,
    note:
      'checked: external_pub of every epoch; not runnable: the epoch secrets (initializeEpoch in ' +
      'keySchedule.js is not exported) and the exporter (mlsExporter takes its label as a string, the ' +
      "vectors' labels are bytes that are not UTF-8)",
  });
});

test('mls-vectors welcome', { skip: missing }, async (t) => {
  const { ours, skipped } = split(load('welcome'));
  const ctx = await mlsContext();
  for (const [i, c] of ours.entries()) {
    const { keyPackage, welcome } = joinInputs(c.key_package as string, c.welcome as string);
    // joinGroup decrypts the GroupSecrets with init_priv and then the GroupInfo (a failure there is a
    // CodecError), and only then asks for the tree, which this vector does not carry: reaching that
    // point shows both decryptions worked. The signature and confirmation-tag checks come after it.
    await assert.rejects(
      joinGroup({
        context: ctx,
        welcome,
        keyPackage,
        privateKeys: {
          initPrivateKey: hex(c.init_priv as string),
          hpkePrivateKey: new Uint8Array(32),
          signaturePrivateKey: new Uint8Array(32),
        },
      }),
      (e: unknown) => e instanceof UsageError && /No RatchetTree/.test(e.message),
      `case ${i}`,
    );
  }
  report(t, 'welcome', {
    passed: 0,
    skipped,
    notRunnable: {
      count: ours.length,
      why:
        'joinGroup needs a ratchet tree, which the vector does not give; GroupSecrets and GroupInfo do ' +
        'decrypt, but verifyGroupInfoSignature (groupInfo.js) and verifyGroupInfoConfirmationTag ' +
        '(framedContent.js) are not exported',
    },
  });
});

interface PassiveCase {
  external_psks: { psk_id: string; psk: string }[];
  key_package: string;
  signature_priv: string;
  encryption_priv: string;
  init_priv: string;
  welcome: string;
  ratchet_tree: string | null;
  initial_epoch_authenticator: string;
  epochs: { proposals: string[]; commit: string; epoch_authenticator: string }[];
}

/** Join from the Welcome, then apply each epoch's proposals and commit; epoch authenticators must match. */
async function followAlong(c: PassiveCase, label: string): Promise<void> {
  const base = await mlsContext();
  // ts-mls looks external PSKs up by the base64 of their id.
  const externalPsks = Object.fromEntries(
    c.external_psks.map((p) => [Buffer.from(p.psk_id, 'hex').toString('base64'), hex(p.psk)]),
  );
  const ctx: MlsContext = { ...base, externalPsks };
  const { keyPackage, welcome } = joinInputs(c.key_package, c.welcome);
  let state: ClientState = await joinGroup({
    context: ctx,
    welcome,
    keyPackage,
    privateKeys: {
      initPrivateKey: hex(c.init_priv),
      hpkePrivateKey: hex(c.encryption_priv),
      signaturePrivateKey: hex(c.signature_priv),
    },
  });
  assert.equal(toHex(state.keySchedule.epochAuthenticator), c.initial_epoch_authenticator, `${label}: after join`);
  for (const [n, epoch] of c.epochs.entries()) {
    for (const bytes of [...epoch.proposals, epoch.commit]) {
      const message = framedMessage(bytes);
      state = (await processMessage({ context: ctx, state, message })).newState;
    }
    assert.equal(toHex(state.keySchedule.epochAuthenticator), epoch.epoch_authenticator, `${label} epoch ${n}`);
  }
}

for (const name of ['welcome', 'handling-commit', 'random']) {
  const file = `passive-client-${name}`;
  test(`mls-vectors ${file}`, { skip: missing }, async (t) => {
    const { ours, skipped } = split(load(file));
    const cases = ours as unknown as PassiveCase[];
    // A tree given beside the Welcome is raw bytes; joinGroup takes a decoded tree only.
    const withTree = cases.filter((c) => c.ratchet_tree !== null);
    const runnable = cases.filter((c) => c.ratchet_tree === null);
    for (const [i, c] of runnable.entries()) await followAlong(c, `${file} case ${i}`);
    const epochs = runnable.reduce((sum, c) => sum + c.epochs.length, 0);
    report(t, file, {
      passed: runnable.length,
      skipped,
      ...(withTree.length > 0 && {
        notRunnable: {
          count: withTree.length,
          why: 'the ratchet tree comes beside the Welcome and ratchetTreeDecoder (ratchetTree.js) is not exported',
        },
      }),
      note: `initial and ${epochs} later epoch authenticators equal`,
    });
  });
}
