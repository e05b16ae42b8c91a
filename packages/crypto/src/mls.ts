/**
 * MLS groups for Parley conversations (C2), wrapping ts-mls 2.0.0-rc.10 behind a small API.
 *
 * Members are devices (basic credential = UTF-8 device id). Every operation is pure: it returns a
 * new {@link MlsGroup} and never changes the one passed in, so the SDK adopts `next` only after the
 * server has accepted the commit (one commit per epoch; a refused commit just drops `next`).
 *
 * Wire formats (all RFC 9420 MLSMessage encodings):
 * - commits: PublicMessage framing, so the Delivery Service can read group id, epoch, sender and
 *   the Add/Remove proposals (it already knows membership; content stays encrypted elsewhere);
 * - Welcome: mls_welcome, whose GroupInfo carries the ratchet_tree extension, so a joiner needs
 *   nothing but the Welcome and its KeyPackage secret;
 * - application messages: PrivateMessage.
 */
import {
  contentTypes,
  createApplicationMessage,
  createCommit,
  createGroup as mlsCreateGroup,
  clientStateDecoder,
  clientStateEncoder,
  decode,
  defaultProposalTypes,
  encode,
  joinGroup,
  keyPackageEncoder,
  mlsMessageDecoder,
  mlsMessageEncoder,
  nodeTypes,
  processMessage,
  wireformats,
  proposalOrRefTypes,
  type ClientState,
  type KeyPackage,
  type LeafNode,
  type MlsMessage,
  type Proposal,
  type PublicMessage,
} from 'ts-mls';
import { ParleyError, fromB64 } from '@parley/protocol';
import { bytesEqual, concatBytes, encodeU16 } from './bytes.ts';
import { validateEd25519PublicKey, validateX25519PublicKey } from './keys.ts';
import { inspectKeyPackage } from './keypackage.ts';
import { credentialDeviceId, mlsContext, mlsFailure, type MlsOptions } from './mls-context.ts';
import {
  decodeKeyPackageMessage,
  newKeyPackage,
  openKeyPackageSecret,
  type DeviceIdentity,
  type KeyPackageSecret,
} from './mls-identity.ts';
import { decryptSenderLeafIndex } from './sender.ts';

/**
 * One device's view of one MLS group. Immutable; persist it with {@link serializeGroup}. The
 * wrapped ts-mls state is deliberately not part of the public API.
 */
export class MlsGroup {
  /** @internal */
  constructor(readonly state: ClientState) {}
}

/** What a commit changed, by device id. */
export interface MembershipChange {
  added: string[];
  removed: string[];
}

/** Result of {@link addMembers}. */
export interface AddMembersResult {
  /** Commit MLSMessage (PublicMessage) to send to the server for the current epoch. */
  commit: Uint8Array;
  /** Welcome MLSMessage for the added devices. */
  welcome: Uint8Array;
  /** Device ids added, in KeyPackage order. */
  added: string[];
  /** Group state after the commit; adopt it only once the server accepts the commit. */
  next: MlsGroup;
}

/** Result of {@link removeMembers}. */
export interface RemoveMembersResult {
  commit: Uint8Array;
  next: MlsGroup;
  /**
   * True when the commit carries no UpdatePath, so the removed devices could still derive the next
   * epoch's secrets. ts-mls 2.0.0-rc.10 only adds a path for two or more Removes (RFC 9420 §12.4
   * requires one for any Remove). When true, send {@link updateKeys} right after the server
   * accepts `commit`, before sending application messages.
   */
  needsKeyUpdate: boolean;
}

/** Result of {@link updateKeys}. */
export interface UpdateKeysResult {
  commit: Uint8Array;
  next: MlsGroup;
}

/** Result of {@link processCommit}. */
export interface ProcessCommitResult extends MembershipChange {
  next: MlsGroup;
  /** Epoch after the commit. */
  epoch: number;
  /** True when this device was removed: `next` can no longer send or receive. */
  selfRemoved: boolean;
}

/** Result of {@link encryptMessage}. */
export interface EncryptResult {
  /** PrivateMessage MLSMessage. */
  ciphertext: Uint8Array;
  next: MlsGroup;
}

/** Result of {@link decryptMessage}. */
export interface DecryptResult {
  plaintext: Uint8Array;
  /** Device id of the sender, taken from the leaf that signed the message. */
  senderDeviceId: string;
  /** Epoch the message was sent in. */
  epoch: number;
  next: MlsGroup;
}

function leaves(state: ClientState): { leafIndex: number; leaf: LeafNode }[] {
  const out: { leafIndex: number; leaf: LeafNode }[] = [];
  state.ratchetTree.forEach((node, i) => {
    if (node && node.nodeType === nodeTypes.leaf) out.push({ leafIndex: i / 2, leaf: node.leaf });
  });
  return out;
}

function leafDeviceId(tree: ClientState['ratchetTree'], leafIndex: number): string | undefined {
  const node = tree[leafIndex * 2];
  return node && node.nodeType === nodeTypes.leaf ? credentialDeviceId(node.leaf.credential) : undefined;
}

/** The device ids of the group's members, in leaf order. */
export function groupMembers(group: MlsGroup): string[] {
  return leaves(group.state).map((l) => credentialDeviceId(l.leaf.credential) ?? '');
}

/** The group's current epoch. */
export function groupEpoch(group: MlsGroup): number {
  return Number(group.state.groupContext.epoch);
}

/** The group id bytes (Parley uses 16 random bytes, base64url = conversation id). */
export function groupId(group: MlsGroup): Uint8Array {
  return group.state.groupContext.groupId.slice();
}

/** False once this device has been removed from the group (or the group awaits re-init). */
export function groupIsActive(group: MlsGroup): boolean {
  return group.state.groupActiveState.kind === 'active';
}

/** Persistable form of a group (ts-mls state encoding, versioned by a 2-byte prefix). */
export function serializeGroup(group: MlsGroup): Uint8Array {
  return concatBytes(encodeU16(STATE_FORMAT), encode(clientStateEncoder, group.state));
}

const STATE_FORMAT = 1;

/** Restore a group from {@link serializeGroup} output; throws `bad_request` on corrupt input. */
export function deserializeGroup(bytes: Uint8Array): MlsGroup {
  if (bytes.length < 2 || ((bytes[0]! << 8) | bytes[1]!) !== STATE_FORMAT)
    throw new ParleyError('bad_request', { message: 'unknown group state format' });
  let state: ClientState | undefined;
  try {
    state = decode(clientStateDecoder, bytes.subarray(2));
  } catch {
    state = undefined;
  }
  if (!state) throw new ParleyError('bad_request', { message: 'corrupt group state' });
  return new MlsGroup(state);
}

function decodeMessage(bytes: Uint8Array, what: string): MlsMessage {
  let msg: MlsMessage | undefined;
  try {
    msg = decode(mlsMessageDecoder, bytes);
  } catch {
    msg = undefined;
  }
  if (!msg) throw new ParleyError('bad_request', { message: `${what} is not an MLS message` });
  return msg;
}

/** Create a one-member group with this device as creator. */
export async function createGroup(identity: DeviceIdentity, id: Uint8Array): Promise<MlsGroup> {
  const { publicPackage, privatePackage } = await newKeyPackage(identity);
  try {
    const state = await mlsCreateGroup({
      context: await mlsContext(),
      groupId: id.slice(),
      keyPackage: publicPackage,
      privateKeyPackage: privatePackage,
    });
    return new MlsGroup(state);
  } catch (e) {
    throw mlsFailure(e, 'group creation');
  }
}

/**
 * A removed device's state must not be fed to ts-mls again: besides being meaningless, processing
 * a later commit with it sends the library into runaway allocation (observed with rc.10).
 */
function assertActive(group: MlsGroup): void {
  if (!groupIsActive(group))
    throw new ParleyError('not_member', { message: 'This device is no longer a member of the group.' });
}

async function commitWith(group: MlsGroup, proposals: Proposal[], opts: MlsOptions) {
  assertActive(group);
  try {
    return await createCommit({
      context: await mlsContext(opts),
      state: group.state,
      extraProposals: proposals,
      ratchetTreeExtension: true,
      wireAsPublicMessage: true,
    });
  } catch (e) {
    throw mlsFailure(e, 'commit');
  }
}

/**
 * Add devices by their KeyPackage MLSMessages (as claimed from the server). Each KeyPackage is
 * fully checked with {@link inspectKeyPackage} first (ts-mls alone would accept some bad ones); a
 * device that is already a member, or named twice, is `member_conflict`.
 */
export async function addMembers(
  group: MlsGroup,
  keyPackages: Uint8Array[],
  opts: MlsOptions = {},
): Promise<AddMembersResult> {
  if (keyPackages.length === 0) throw new ParleyError('bad_request', { message: 'no KeyPackages to add' });
  const present = new Set(groupMembers(group));
  const added: string[] = [];
  const proposals: Proposal[] = [];
  for (const bytes of keyPackages) {
    const info = inspectKeyPackage(bytes);
    if (present.has(info.credentialIdentity))
      throw new ParleyError('member_conflict', { details: { deviceId: info.credentialIdentity } });
    present.add(info.credentialIdentity);
    added.push(info.credentialIdentity);
    proposals.push({ proposalType: defaultProposalTypes.add, add: { keyPackage: decodeKeyPackageMessage(bytes) } });
  }
  const result = await commitWith(group, proposals, opts);
  if (!result.welcome) throw new ParleyError('internal', { message: 'commit with adds produced no Welcome' });
  return {
    commit: encode(mlsMessageEncoder, result.commit),
    welcome: encode(mlsMessageEncoder, result.welcome),
    added,
    next: new MlsGroup(result.newState),
  };
}

/** Remove devices by id; a device that is not a member is `member_conflict`. */
export async function removeMembers(
  group: MlsGroup,
  deviceIds: string[],
  opts: MlsOptions = {},
): Promise<RemoveMembersResult> {
  if (deviceIds.length === 0) throw new ParleyError('bad_request', { message: 'no devices to remove' });
  const byId = new Map(leaves(group.state).map((l) => [credentialDeviceId(l.leaf.credential), l.leafIndex] as const));
  const proposals: Proposal[] = [];
  for (const id of new Set(deviceIds)) {
    const leafIndex = byId.get(id);
    if (leafIndex === undefined) throw new ParleyError('member_conflict', { details: { deviceId: id } });
    proposals.push({ proposalType: defaultProposalTypes.remove, remove: { removed: leafIndex } });
  }
  const result = await commitWith(group, proposals, opts);
  const needsKeyUpdate =
    result.commit.wireformat === wireformats.mls_public_message &&
    result.commit.publicMessage.content.contentType === contentTypes.commit &&
    result.commit.publicMessage.content.commit.path === undefined;
  return { commit: encode(mlsMessageEncoder, result.commit), next: new MlsGroup(result.newState), needsKeyUpdate };
}

/**
 * Commit with no proposals: refreshes this device's leaf and path keys (post-compromise security)
 * and starts an epoch that removed devices cannot derive. Adopt `next` once the server accepts it.
 */
export async function updateKeys(group: MlsGroup, opts: MlsOptions = {}): Promise<UpdateKeysResult> {
  const result = await commitWith(group, [], opts);
  return { commit: encode(mlsMessageEncoder, result.commit), next: new MlsGroup(result.newState) };
}

function checkLeafKeys(leaf: LeafNode): void {
  validateX25519PublicKey(leaf.hpkePublicKey);
  validateEd25519PublicKey(leaf.signaturePublicKey);
}

/** C13 checks on everything a commit would put into the tree (keys ts-mls does not judge). */
function checkCommitKeys(pm: PublicMessage): void {
  if (pm.content.contentType !== contentTypes.commit) return;
  const commit = pm.content.commit;
  for (const p of commit.proposals) {
    if (p.proposalOrRefType !== proposalOrRefTypes.proposal) continue;
    const proposal = p.proposal;
    if (proposal.proposalType === defaultProposalTypes.add) {
      const kp = (proposal as { add: { keyPackage: KeyPackage } }).add.keyPackage;
      const bytes = concatBytes(encodeU16(1), encodeU16(wireformats.mls_key_package), encode(keyPackageEncoder, kp));
      inspectKeyPackage(bytes);
    } else if (proposal.proposalType === defaultProposalTypes.update) {
      checkLeafKeys((proposal as { update: { leafNode: LeafNode } }).update.leafNode);
    }
  }
  if (commit.path) {
    checkLeafKeys(commit.path.leafNode);
    for (const node of commit.path.nodes) validateX25519PublicKey(node.hpkePublicKey);
  }
}

function epochMismatch(messageEpoch: bigint, group: MlsGroup): ParleyError {
  return new ParleyError('stale_epoch', {
    details: { messageEpoch: Number(messageEpoch), groupEpoch: groupEpoch(group) },
  });
}

/**
 * Apply a commit (PublicMessage MLSMessage) another member sent through the server. A commit for a
 * different epoch is `stale_epoch`; bad keys in it get their key_* code; anything else ts-mls
 * refuses is `bad_request`. Do not feed back this device's own commits: adopt `next` instead.
 */
export async function processCommit(
  group: MlsGroup,
  commitBytes: Uint8Array,
  opts: MlsOptions = {},
): Promise<ProcessCommitResult> {
  assertActive(group);
  const msg = decodeMessage(commitBytes, 'commit');
  if (
    msg.wireformat !== wireformats.mls_public_message ||
    msg.publicMessage.content.contentType !== contentTypes.commit
  ) {
    throw new ParleyError('bad_request', { message: 'expected a commit in a PublicMessage' });
  }
  const content = msg.publicMessage.content;
  if (!bytesEqual(content.groupId, group.state.groupContext.groupId))
    throw new ParleyError('bad_request', { message: 'commit is for another group' });
  if (content.epoch !== group.state.groupContext.epoch) throw epochMismatch(content.epoch, group);
  checkCommitKeys(msg.publicMessage);
  const before = groupMembers(group);
  // A commit that removes this device carries an UpdatePath this device has no place in (RFC 9420
  // requires a path for every Remove). Its only effect here is "you are out": record that without
  // running the path, which the removed leaf cannot (and must not) decrypt.
  const self = ownDeviceId(group);
  const removesMe =
    content.contentType === contentTypes.commit &&
    content.commit.proposals.some(
      (p) =>
        p.proposalOrRefType === proposalOrRefTypes.proposal &&
        p.proposal.proposalType === defaultProposalTypes.remove &&
        (p.proposal as { remove: { removed: number } }).remove.removed === group.state.privatePath.leafIndex,
    );
  if (removesMe) {
    const next = new MlsGroup({ ...group.state, groupActiveState: { kind: 'removedFromGroup' } });
    return {
      next,
      epoch: groupEpoch(group) + 1,
      added: [],
      removed: self !== undefined ? [self] : [],
      selfRemoved: true,
    };
  }
  let result;
  try {
    result = await processMessage({ context: await mlsContext(opts), state: group.state, message: msg });
  } catch (e) {
    throw mlsFailure(e, 'commit');
  }
  if (result.kind !== 'newState' || result.actionTaken !== 'accept')
    throw new ParleyError('bad_request', { message: 'commit not applied' });
  const next = new MlsGroup(result.newState);
  const after = groupMembers(next);
  const selfRemoved = !groupIsActive(next);
  const removed = before.filter((d) => !after.includes(d));
  // A removed member's state may still list its own leaf; report the removal either way.
  if (selfRemoved && self !== undefined && !removed.includes(self)) removed.push(self);
  return { next, epoch: groupEpoch(next), added: after.filter((d) => !before.includes(d)), removed, selfRemoved };
}

function ownDeviceId(group: MlsGroup): string | undefined {
  return leafDeviceId(group.state.ratchetTree, group.state.privatePath.leafIndex);
}

/** Find which private bundle a Welcome was encrypted to, if any. */
export function findWelcomeBundle(welcomeBytes: Uint8Array, bundles: KeyPackageSecret[]): KeyPackageSecret | undefined {
  const msg = decodeMessage(welcomeBytes, 'welcome');
  if (msg.wireformat !== wireformats.mls_welcome) return undefined;
  for (const s of msg.welcome.secrets) {
    const hit = bundles.find((b) => bytesEqual(fromB64(b.ref), s.newMember));
    if (hit) return hit;
  }
  return undefined;
}

/**
 * Join a group from a Welcome MLSMessage, using whichever of `bundles` it was encrypted to (see
 * {@link findWelcomeBundle} to learn which one to delete). The ratchet tree comes from the
 * Welcome's ratchet_tree extension; every key in it is validated before the state is returned.
 */
export async function joinFromWelcome(
  identity: DeviceIdentity,
  welcomeBytes: Uint8Array,
  bundles: KeyPackageSecret[],
  opts: MlsOptions = {},
): Promise<MlsGroup> {
  const msg = decodeMessage(welcomeBytes, 'welcome');
  if (msg.wireformat !== wireformats.mls_welcome)
    throw new ParleyError('bad_request', { message: 'expected a Welcome' });
  const bundle = findWelcomeBundle(welcomeBytes, bundles);
  if (!bundle) throw new ParleyError('bad_request', { message: "Welcome is not for any of this device's KeyPackages" });
  const { keyPackage, privateKeys } = openKeyPackageSecret(bundle);
  let state: ClientState;
  try {
    state = await joinGroup({ context: await mlsContext(opts), welcome: msg.welcome, keyPackage, privateKeys });
  } catch (e) {
    throw mlsFailure(e, 'Welcome');
  }
  const group = new MlsGroup(state);
  if (ownDeviceId(group) !== identity.deviceId)
    throw new ParleyError('bad_request', { message: 'joined leaf does not carry this device id' });
  for (const node of state.ratchetTree) {
    if (!node) continue;
    if (node.nodeType === nodeTypes.leaf) checkLeafKeys(node.leaf);
    else validateX25519PublicKey(node.parent.hpkePublicKey);
  }
  return group;
}

/** Encrypt an application message to the group (PrivateMessage MLSMessage). */
export async function encryptMessage(group: MlsGroup, plaintext: Uint8Array): Promise<EncryptResult> {
  assertActive(group);
  try {
    const r = await createApplicationMessage({ context: await mlsContext(), state: group.state, message: plaintext });
    return { ciphertext: encode(mlsMessageEncoder, r.message), next: new MlsGroup(r.newState) };
  } catch (e) {
    throw mlsFailure(e, 'encryption');
  }
}

/**
 * Decrypt an application message (PrivateMessage MLSMessage) from another member. Messages from
 * the few previous epochs ts-mls retains still decrypt; older ones are `stale_epoch`.
 */
export async function decryptMessage(group: MlsGroup, ciphertext: Uint8Array): Promise<DecryptResult> {
  assertActive(group);
  const msg = decodeMessage(ciphertext, 'ciphertext');
  if (
    msg.wireformat !== wireformats.mls_private_message ||
    msg.privateMessage.contentType !== contentTypes.application
  ) {
    throw new ParleyError('bad_request', { message: 'expected an application PrivateMessage' });
  }
  const pm = msg.privateMessage;
  const state = group.state;
  if (!bytesEqual(pm.groupId, state.groupContext.groupId))
    throw new ParleyError('bad_request', { message: 'message is for another group' });
  const epochData =
    pm.epoch === state.groupContext.epoch
      ? { senderDataSecret: state.keySchedule.senderDataSecret, ratchetTree: state.ratchetTree }
      : state.historicalReceiverData.get(pm.epoch);
  if (!epochData) throw epochMismatch(pm.epoch, group);
  const leafIndex = decryptSenderLeafIndex({ ...pm, senderDataSecret: epochData.senderDataSecret });
  const senderDeviceId = leafIndex === undefined ? undefined : leafDeviceId(epochData.ratchetTree, leafIndex);
  if (senderDeviceId === undefined) throw new ParleyError('bad_request', { message: 'cannot identify the sender' });
  let r;
  try {
    r = await processMessage({ context: await mlsContext(), state, message: msg });
  } catch (e) {
    throw mlsFailure(e, 'message');
  }
  if (r.kind !== 'applicationMessage') throw new ParleyError('bad_request', { message: 'not an application message' });
  return { plaintext: r.message, senderDeviceId, epoch: Number(pm.epoch), next: new MlsGroup(r.newState) };
}
