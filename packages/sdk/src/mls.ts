/**
 * The SDK's MLS adapter (C2): turns the stored group blobs into `@parley/crypto` calls so the rest
 * of the SDK handles groups as opaque bytes. Every function is pure: it returns the next state and
 * the caller stores it only when the server accepted the change.
 */
import {
  addMembers,
  createDeviceIdentity,
  createGroup,
  decryptMessage,
  deserializeGroup,
  encryptMessage,
  findWelcomeBundle,
  generateKeyPackages,
  groupEpoch,
  groupIsActive,
  groupMembers,
  joinFromWelcome,
  processCommit,
  removeMembers,
  serializeGroup,
  updateKeys,
  type DeviceIdentity,
  type KeyPackageSecret,
} from '@parley/crypto';

/** The parts of the device record MLS needs. */
export interface MlsDevice {
  deviceId: string;
  signing: { publicKey: Uint8Array; privateKey: Uint8Array };
}

function identity(d: MlsDevice): DeviceIdentity {
  return createDeviceIdentity(d.deviceId, { publicKey: d.signing.publicKey, privateKey: d.signing.privateKey });
}

/** Make `count` one-time KeyPackages and, if asked, one last-resort KeyPackage. */
export async function makeKeyPackages(d: MlsDevice, count: number, withLastResort: boolean) {
  const id = identity(d);
  const oneTime = await generateKeyPackages(id, count);
  const last = withLastResort ? await generateKeyPackages(id, 1, { lastResort: true }) : null;
  return {
    oneTime: oneTime.publicKeyPackages,
    lastResort: last?.publicKeyPackages[0],
    secrets: [...oneTime.privateBundles, ...(last?.privateBundles ?? [])] as unknown[],
  };
}

/** A new group with this device as its only member, at epoch 0. */
export async function newGroup(d: MlsDevice, groupId: Uint8Array): Promise<Uint8Array> {
  return serializeGroup(await createGroup(identity(d), groupId));
}

/** Commit adding devices by their KeyPackages. */
export async function add(_d: MlsDevice, group: Uint8Array, keyPackages: Uint8Array[]) {
  const r = await addMembers(deserializeGroup(group), keyPackages);
  return { commit: r.commit, welcome: r.welcome, next: serializeGroup(r.next) };
}

/** Commit removing devices; `needsKeyUpdate` asks for a follow-up key update. */
export async function remove(_d: MlsDevice, group: Uint8Array, deviceIds: string[]) {
  const r = await removeMembers(deserializeGroup(group), deviceIds);
  return { commit: r.commit, next: serializeGroup(r.next), needsKeyUpdate: r.needsKeyUpdate };
}

/** Commit refreshing this device's path secrets (after a remove without an UpdatePath). */
export async function update(_d: MlsDevice, group: Uint8Array) {
  const r = await updateKeys(deserializeGroup(group));
  return { commit: r.commit, next: serializeGroup(r.next) };
}

/** Apply someone else's commit; `selfRemoved` when it removed this device. */
export async function applyCommit(
  _d: MlsDevice,
  group: Uint8Array,
  commit: Uint8Array,
): Promise<{ group: Uint8Array; selfRemoved: boolean }> {
  const r = await processCommit(deserializeGroup(group), commit);
  return { group: serializeGroup(r.next), selfRemoved: r.selfRemoved };
}

/** False once this device was removed from the group. */
export function isActive(group: Uint8Array): boolean {
  return groupIsActive(deserializeGroup(group));
}

/** Join from a Welcome with the matching KeyPackage secret; one-time secrets are used up. */
export async function join(d: MlsDevice, welcome: Uint8Array, secrets: unknown[]) {
  const bundles = secrets as KeyPackageSecret[];
  const used = findWelcomeBundle(welcome, bundles);
  const group = await joinFromWelcome(identity(d), welcome, bundles);
  const remainingSecrets = used && !used.lastResort ? bundles.filter((b) => b !== used) : bundles;
  return { group: serializeGroup(group), remainingSecrets: remainingSecrets as unknown[] };
}

/** Encrypt an application message. */
export async function encrypt(_d: MlsDevice, group: Uint8Array, plaintext: Uint8Array) {
  const r = await encryptMessage(deserializeGroup(group), plaintext);
  return { ciphertext: r.ciphertext, next: serializeGroup(r.next) };
}

/** Decrypt an application message. */
export async function decrypt(_d: MlsDevice, group: Uint8Array, ciphertext: Uint8Array) {
  const r = await decryptMessage(deserializeGroup(group), ciphertext);
  return { plaintext: r.plaintext, senderDeviceId: r.senderDeviceId, next: serializeGroup(r.next) };
}

/** The group's current epoch. */
export function epochOf(group: Uint8Array): number {
  return groupEpoch(deserializeGroup(group));
}

/** Device ids in the group. */
export function membersOf(group: Uint8Array): string[] {
  return groupMembers(deserializeGroup(group));
}
